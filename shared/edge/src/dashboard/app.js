// The leadscore dashboard: reads the JSON API of this origin with the API key typed once
// (kept in sessionStorage for the tab). Everything shown is built with createElement and
// text nodes (dom.js): what a lead sent is never parsed as markup. No framework, nothing
// fetched from elsewhere: the Content-Security-Policy allows this origin's scripts only, this
// module (the entry: routes and start) and the modules it imports by relative path. Modules
// run strict, once the page is parsed (index.html loads this one with type="module").

import { h, link, on } from './dom.js';
import { KEY, hideKey, showKey } from './api.js';
import { setRender, show } from './view.js';
import { overview, stagePage } from './lists.js';
import { leadPage } from './lead.js';
import { accountPage, accountsPage, segmentPage, segmentsPage } from './accounts.js';
import { insightsPage } from './insights.js';

// ---- Routing: #/, #/stage/sql, #/lead/ld_..., #/accounts, #/account/acme.com, ...

const ROUTES = [
  [/^#\/?$/, overview],
  [/^#\/stage\/([a-z_]+)$/, stagePage],
  [/^#\/lead\/([^/]+)$/, leadPage],
  [/^#\/accounts$/, accountsPage],
  [/^#\/account\/([^/]+)$/, accountPage],
  [/^#\/segments$/, segmentsPage],
  [/^#\/segment\/([^/]+)$/, segmentPage],
  [/^#\/insights$/, insightsPage],
];

function render() {
  const hash = location.hash || '#/';
  if (!hash.startsWith('#/')) return; // an in-page anchor (the skip link)
  for (const a of document.querySelectorAll('.top nav a')) {
    if (a.getAttribute('href') === hash) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  if (!sessionStorage.getItem(KEY)) {
    showKey('');
    return;
  }
  hideKey();
  document.title = 'leadscore';
  let args = null;
  let page = null;
  for (const [pattern, build] of ROUTES) {
    const m = hash.match(pattern);
    if (!m) continue;
    try {
      args = m.slice(1).map(decodeURIComponent);
      page = build;
    } catch (_) {
      page = null;
    }
    break;
  }
  if (!page) {
    show(async () => h('section', { class: 'panel' }, h('h1', { tabindex: -1 }, 'No such page'), h('p', null, link('#/', 'Back to the overview'))));
    return;
  }
  document.getElementById('view').replaceChildren(h('p', { class: 'muted' }, 'Loading…'));
  show(() => page(...args));
}

function start() {
  setRender(render);
  on(document.getElementById('key-form'), 'submit', (e) => {
    e.preventDefault();
    const input = document.getElementById('key-input');
    const key = input.value.trim();
    if (!key) return;
    sessionStorage.setItem(KEY, key);
    input.value = '';
    render();
  });
  on(document.getElementById('forget-key'), 'click', () => {
    sessionStorage.removeItem(KEY);
    showKey('Key forgotten.');
  });
  on(window, 'hashchange', render);
  render();
}

start();
