// The leadscore dashboard: reads the JSON API of this origin with the API key typed once
// (kept in sessionStorage for the tab). Everything shown is built with createElement and
// text nodes: what a lead sent is never parsed as markup. No framework, nothing fetched
// from elsewhere; the Content-Security-Policy allows this file only.
'use strict';

(function () {
  const KEY = 'leadscore.apiKey';
  const SLA_KEY = 'leadscore.slaHours';
  const SVG_NS = 'http://www.w3.org/2000/svg';
  const STAGES = ['visitor', 'lead', 'mql', 'sql', 'opportunity', 'customer', 'evangelist'];
  const LABEL = {
    visitor: 'Visitor', lead: 'Lead', mql: 'MQL', sql: 'SQL',
    opportunity: 'Opportunity', customer: 'Customer', evangelist: 'Evangelist',
  };
  // The qualification API's sales actions; `reason` when the move is backward.
  const ACTIONS = [
    { action: 'accept', label: 'Accept (to SQL)' },
    { action: 'reject', label: 'Reject (back to lead)', reason: true },
    { action: 'opportunity', label: 'Open an opportunity' },
    { action: 'won', label: 'Deal won (customer)' },
    { action: 'lost', label: 'Deal lost', reason: true },
    { action: 'disqualify', label: 'Disqualify', reason: true },
    { action: 'evangelist', label: 'Evangelist' },
  ];
  // How a sales action's signal reads in a stage history.
  const SALES_WORDS = {
    sales_accepted: 'accepted', sales_rejected: 'rejected', bant_reported: 'BANT reported',
    opportunity_opened: 'opportunity opened', deal_won: 'deal won', deal_lost: 'deal lost',
    disqualified: 'disqualified', evangelist_confirmed: 'evangelist',
  };
  const RECENT_DAYS = 7;

  // ---- DOM: elements and text nodes only.

  function append(el, children) {
    for (const child of children) {
      if (child === null || child === undefined || child === false) continue;
      if (Array.isArray(child)) append(el, child);
      else if (child instanceof Node) el.appendChild(child);
      else el.appendChild(document.createTextNode(String(child)));
    }
    return el;
  }

  function attrs(el, list) {
    for (const [name, value] of Object.entries(list || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (/^on/i.test(name)) throw new Error('event handlers are added with addEventListener');
      el.setAttribute(name, value === true ? '' : String(value));
    }
    return el;
  }

  function h(tag, list, ...children) {
    return append(attrs(document.createElement(tag), list), children);
  }

  function svg(tag, list, ...children) {
    return append(attrs(document.createElementNS(SVG_NS, tag), list), children);
  }

  function on(el, event, handler) {
    el.addEventListener(event, handler);
    return el;
  }

  function link(hash, ...children) {
    return h('a', { href: hash }, ...children);
  }

  function leadLink(id, text) {
    return link('#/lead/' + encodeURIComponent(id), text || id);
  }

  /** A horizontal bar: `share` of the width (0..1), drawn as an SVG rectangle. */
  function bar(share, kind, label) {
    const pct = Math.max(0, Math.min(1, Number(share) || 0)) * 100;
    return svg('svg', { class: 'bar', role: 'img', 'aria-label': label || '', focusable: 'false' },
      svg('rect', { class: 'track', x: 0, y: 0, width: '100%', height: '100%', rx: 3 }),
      svg('rect', { class: 'fill ' + (kind || ''), x: 0, y: 0, width: pct.toFixed(1) + '%', height: '100%', rx: 3 }));
  }

  function stageBadge(stage) {
    return h('span', { class: 'badge stage-' + stage }, LABEL[stage] || stage);
  }

  /** A table; `rows` are arrays of cells, each a node, text or {value, num}. On a phone each
   *  row stacks, and each cell is labelled with its column (data-label). */
  function table(headers, rows, caption) {
    const head = h('tr', null, headers.map((t) => h('th', { scope: 'col', class: t.num ? 'num' : null }, t.text || t)));
    const body = rows.map((cells) => h('tr', null, cells.map((cell, i) => {
      const header = headers[i];
      const num = header && header.num;
      return h('td', { class: num ? 'num' : null, 'data-label': header.text || header }, cell);
    })));
    return h('div', { class: 'table-wrap' },
      h('table', { class: 'cards' },
        caption ? h('caption', { class: 'visually-hidden' }, caption) : null,
        h('thead', null, head), h('tbody', null, body)));
  }

  function facts(pairs) {
    return h('dl', { class: 'facts' }, pairs.filter((p) => p[1] !== null && p[1] !== undefined && p[1] !== '')
      .map(([k, v]) => [h('dt', null, k), h('dd', null, v)]));
  }

  function say(text) {
    document.getElementById('status').textContent = text;
  }

  // ---- Times.

  function when(rfc3339) {
    if (!rfc3339) return '';
    const d = new Date(rfc3339);
    if (Number.isNaN(d.getTime())) return String(rfc3339);
    return d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
  }

  function timeEl(rfc3339) {
    return h('time', { datetime: rfc3339 || '' }, when(rfc3339));
  }

  function duration(ms) {
    const hours = Math.max(0, ms) / 3600000;
    if (hours < 1) return Math.round(hours * 60) + ' min';
    if (hours < 48) return Math.round(hours) + ' h';
    return Math.floor(hours / 24) + ' d ' + Math.round(hours % 24) + ' h';
  }

  function slaHours() {
    const n = Number(sessionStorage.getItem(SLA_KEY));
    return Number.isInteger(n) && n > 0 && n <= 8760 ? n : 48;
  }

  function percent(share) {
    if (share === null || share === undefined) return '–';
    return (share * 100).toFixed(share > 0 && share < 0.1 ? 1 : 0) + '%';
  }

  // ---- The API.

  class ApiError extends Error {
    constructor(status, code, message, detail, retryAfter) {
      super(message);
      this.status = status;
      this.code = code;
      this.detail = detail || {};
      this.retryAfter = retryAfter;
    }
  }

  class NeedKey extends Error {}

  async function api(path, method, body) {
    const key = sessionStorage.getItem(KEY);
    if (!key) {
      showKey('');
      throw new NeedKey('no key');
    }
    const headers = { authorization: 'Bearer ' + key, accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    let response;
    try {
      response = await fetch(path, {
        method: method || 'GET',
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        cache: 'no-cache',
        credentials: 'omit',
        referrerPolicy: 'no-referrer',
      });
    } catch (e) {
      throw new ApiError(0, 'network', 'The API could not be reached (' + e.message + ').');
    }
    let json = null;
    try {
      json = await response.json();
    } catch (_) {
      json = null;
    }
    if (response.ok) return json;
    const error = (json && json.error) || {};
    const failure = new ApiError(response.status, error.code || 'http_' + response.status,
      error.message || response.statusText || 'request failed', error, response.headers.get('retry-after'));
    if (response.status === 401) {
      sessionStorage.removeItem(KEY);
      showKey('The API refused the key: ' + failure.message);
      throw new NeedKey(failure.message);
    }
    throw failure;
  }

  function query(params) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) if (v !== null && v !== undefined) q.set(k, v);
    return q.toString();
  }

  /** What went wrong, in words, with a retry button where waiting helps. */
  function problem(error, retry) {
    if (error instanceof NeedKey) return h('p', { class: 'muted' }, 'Waiting for an API key.');
    const box = h('div', { class: 'alert', role: 'alert' });
    if (error.status === 503) {
      const wait = error.retryAfter ? ' in ' + error.retryAfter + ' s' : ' in a moment';
      append(box, [h('p', null, 'Temporarily unavailable (storage or a service it needs). Retry' + wait + '.')]);
    } else if (error.status === 403) {
      append(box, [h('p', null, 'This key may not do that: ' + error.message)]);
    } else if (error.status === 0) {
      append(box, [h('p', null, error.message)]);
    } else {
      append(box, [h('p', null, 'Error ' + error.status + ' (' + error.code + '): ' + error.message)]);
    }
    if (retry) append(box, [on(h('button', { type: 'button', class: 'quiet' }, 'Retry'), 'click', retry)]);
    return box;
  }

  /** A section that loads on its own: one failing leaves the others. */
  function panel(title, load, options) {
    const id = 'p-' + title.toLowerCase().replace(/[^a-z]+/g, '-');
    const body = h('div', null, h('p', { class: 'muted' }, 'Loading…'));
    const section = h('section', { class: 'panel', 'aria-labelledby': id },
      h('h2', { id }, title), body);
    const run = async () => {
      body.replaceChildren(h('p', { class: 'muted' }, 'Loading…'));
      try {
        body.replaceChildren(await load());
      } catch (e) {
        if (options && options.missing && e.status === 404) body.replaceChildren(h('p', { class: 'muted' }, options.missing));
        else body.replaceChildren(problem(e, run));
      }
    };
    run();
    return section;
  }

  // ---- The key.

  function showKey(message) {
    document.getElementById('key-panel').hidden = false;
    document.getElementById('view').replaceChildren();
    document.getElementById('forget-key').hidden = true;
    document.getElementById('key-message').textContent = message || '';
    document.getElementById('key-input').focus();
  }

  function hideKey() {
    document.getElementById('key-panel').hidden = true;
    document.getElementById('forget-key').hidden = false;
  }

  // ---- Overview.

  async function overview() {
    const sla = h('form', { class: 'inline-form', 'aria-label': 'SLA' },
      h('label', { for: 'sla-hours' }, 'SLA (hours)'),
      h('input', { id: 'sla-hours', type: 'number', min: 1, max: 8760, step: 1, value: slaHours(), inputmode: 'numeric' }),
      h('button', { type: 'submit', class: 'quiet' }, 'Apply'));
    on(sla, 'submit', (e) => {
      e.preventDefault();
      const n = Number(sla.querySelector('input').value);
      if (Number.isInteger(n) && n > 0 && n <= 8760) sessionStorage.setItem(SLA_KEY, String(n));
      render();
    });
    return h('div', null,
      h('div', { class: 'row' }, h('h1', { tabindex: -1 }, 'Overview'), sla),
      h('div', { class: 'grid' },
        panel('Funnel', funnelPanel),
        panel('Call first', callFirst)),
      h('div', { class: 'grid' },
        panel('Recent stage changes', recentChanges),
        panel('Top accounts', () => accountsTable({ sort: 'score', limit: 10 }, false),
          { missing: 'This server does not list accounts yet.' })));
  }

  async function funnelPanel() {
    const insights = await api('insights?' + query({ sla_hours: slaHours() }));
    const funnel = insights.funnel || { stages: [], steps: [] };
    const counts = new Map(funnel.stages.map((s) => [s.stage, s.leads]));
    const max = Math.max(1, ...funnel.stages.map((s) => s.leads));
    const list = h('ol', { class: 'funnel' });
    for (const stage of STAGES) {
      const n = counts.get(stage) || 0;
      const step = funnel.steps.find((s) => s.to === stage);
      if (step) {
        append(list, [h('li', { class: 'step' },
          '↓ ' + percent(step.share) + ' of ' + step.reached_from + ' who reached ' + LABEL[step.from] +
          ' reached ' + LABEL[step.to] + ' (' + step.reached_to + ')')]);
      }
      append(list, [h('li', null, link('#/stage/' + stage,
        h('span', null, LABEL[stage]),
        bar(n / max, '', n + ' ' + LABEL[stage]),
        h('span', { class: 'count' }, String(n))))]);
    }
    const s = insights.sla || {};
    return h('div', null, list,
      h('p', null, 'SLA ' + (s.hours || slaHours()) + ' h: ', h('strong', { class: s.breached ? 'over' : 'ok' }, String(s.breached || 0)),
        ' MQL' + (s.breached === 1 ? '' : 's') + ' never worked within it, ' + (s.pending || 0) + ' still within it, of ' +
        (s.mql_leads || 0) + '.'),
      insights.read && !insights.read.complete ? h('p', { class: 'notice' }, insights.read.note) : null,
      h('p', null, link('#/insights', 'All insights')));
  }

  /** Time in the stage, from the move's event time as the insights' SLA counts it. */
  function waiting(lead, now) {
    const since = Date.parse(lead.stage_entered_at || lead.stage_recorded_at);
    return Number.isNaN(since) ? 0 : now - since;
  }

  function slaCell(ms) {
    const limit = slaHours() * 3600000;
    const share = ms / limit;
    const kind = share >= 1 ? 'over' : share >= 0.75 ? 'near' : 'ok';
    const words = share >= 1 ? 'over SLA by ' + duration(ms - limit) : duration(limit - ms) + ' left';
    return h('div', null, h('span', { class: kind }, duration(ms) + ' · ' + words), bar(share, kind, words));
  }

  async function listStage(stage, extra) {
    const page = await api('leads?' + query(Object.assign({ stage, limit: 100 }, extra || {})));
    return page.leads || [];
  }

  async function callFirst() {
    const [sqls, mqls] = await Promise.all([listStage('sql'), listStage('mql')]);
    const now = Date.now();
    const limit = slaHours() * 3600000;
    // SQLs first; then whoever has waited past the SLA; then the best scores.
    const rank = (l) => [l.stage === 'sql' ? 0 : 1, waiting(l, now) >= limit ? 0 : 1, -l.score.total];
    const leads = sqls.concat(mqls).sort((a, b) => {
      const x = rank(a);
      const y = rank(b);
      for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return x[i] - y[i];
      return 0;
    });
    if (leads.length === 0) return h('p', { class: 'muted' }, 'No SQL or MQL waiting.');
    const shown = leads.slice(0, 25);
    return h('div', null,
      table(['Lead', 'Stage', { text: 'Score', num: true }, 'Grade', 'Waiting vs SLA'],
        shown.map((l) => [leadLink(l.id, l.email || l.id), stageBadge(l.stage), String(l.score.total),
          l.score.grade, slaCell(waiting(l, now))]), 'SQLs and MQLs to call first'),
      leads.length > shown.length ? h('p', { class: 'muted' }, (leads.length - shown.length) + ' more: see ',
        link('#/stage/sql', 'SQLs'), ' and ', link('#/stage/mql', 'MQLs'), '.') : null);
  }

  async function recentChanges() {
    const since = new Date(Date.now() - RECENT_DAYS * 86400000).toISOString().replace(/\.\d+Z$/, 'Z');
    const lists = await Promise.all(STAGES.slice(1).map((s) => listStage(s, { changed_since: since })));
    const moves = [];
    for (const lead of lists.flat()) {
      const last = (lead.stage_history || [])[lead.stage_history.length - 1];
      if (last) moves.push({ lead, move: last });
    }
    moves.sort((a, b) => Date.parse(b.move.recorded_at) - Date.parse(a.move.recorded_at));
    if (moves.length === 0) return h('p', { class: 'muted' }, 'No stage change in the last ' + RECENT_DAYS + ' days.');
    return table(['When', 'Lead', 'Move', 'Why'], moves.slice(0, 20).map(({ lead, move }) => [
      timeEl(move.recorded_at), leadLink(lead.id, lead.email || lead.id),
      h('span', null, stageBadge(move.from), ' → ', stageBadge(move.to)), cause(move.cause)]),
    'Stage changes of the last ' + RECENT_DAYS + ' days');
  }

  function cause(c) {
    if (!c) return '';
    if (c.type === 'rule') return h('span', null, 'rule ', h('code', null, c.rule));
    const who = (c.actor || '') + ': ' + (SALES_WORDS[c.action] || c.action || '');
    return h('span', null, who, c.reason ? ' (' + c.reason + ')' : '');
  }

  // ---- A stage's leads.

  async function stagePage(stage) {
    if (!LABEL[stage]) throw new ApiError(404, 'not_found', 'no stage ' + stage);
    const body = h('tbody');
    const more = h('button', { type: 'button', class: 'quiet', hidden: true }, 'More');
    const note = h('div');
    let cursor = null;
    const now = Date.now();
    const load = async () => {
      more.disabled = true;
      try {
        const page = await api('leads?' + query({ stage, limit: 50, cursor }));
        for (const l of page.leads) {
          const row = [leadLink(l.id, l.email || l.id), String(l.score.total), l.score.grade,
            timeEl(l.stage_entered_at), duration(waiting(l, now))];
          const labels = ['Lead', 'Score', 'Grade', 'In stage since', 'Waiting'];
          append(body, [h('tr', null, row.map((c, i) => h('td', { 'data-label': labels[i], class: i === 1 ? 'num' : null }, c)))]);
        }
        cursor = page.next;
        more.hidden = !cursor;
        if (!body.firstChild) note.replaceChildren(h('p', { class: 'muted' }, 'No lead is ' + LABEL[stage] + ' now.'));
      } catch (e) {
        note.replaceChildren(problem(e, load));
      }
      more.disabled = false;
    };
    on(more, 'click', load);
    await load();
    return h('section', { class: 'panel' },
      h('h1', { tabindex: -1 }, LABEL[stage] + 's'),
      h('p', { class: 'muted' }, 'In the order their move here was recorded.'),
      h('div', { class: 'table-wrap' }, h('table', { class: 'cards' },
        h('thead', null, h('tr', null, ['Lead', 'Score', 'Grade', 'In stage since', 'Waiting'].map((t, i) =>
          h('th', { scope: 'col', class: i === 1 ? 'num' : null }, t)))), body)),
      note, more);
  }

  // ---- A lead.

  async function leadPage(id, flash) {
    const lead = await api('leads/' + encodeURIComponent(id) + '?timeline=true');
    document.title = 'leadscore · ' + (lead.email || lead.id);
    const s = lead.score;
    return h('div', null,
      h('section', { class: 'panel' },
        h('h1', { tabindex: -1 }, lead.email || lead.id),
        flash ? h('p', { class: 'success', role: 'status' }, flash) : null,
        h('div', { class: 'scoreline' },
          h('span', null, 'Stage ', h('strong', { id: 'lead-stage', class: 'badge stage-' + lead.stage }, LABEL[lead.stage] || lead.stage)),
          h('span', null, h('span', { class: 'big' }, String(s.total)), ' points'),
          h('span', null, 'Grade ', h('strong', null, s.grade)),
          h('span', null, 'Fit ' + s.fit + ' · Engagement ' + s.engagement),
          lead.pql ? h('span', { class: 'badge' }, 'PQL') : null,
          lead.disqualified ? h('span', { class: 'badge over' }, 'Disqualified') : null),
        facts([
          ['Lead id', h('code', null, lead.id)],
          ['In stage since', timeEl(lead.stage_entered_at)],
          ['First seen', timeEl(lead.first_seen)],
          ['Last seen', timeEl(lead.last_seen)],
        ])),
      h('div', { class: 'grid' },
        h('section', { class: 'panel', 'aria-labelledby': 'h-call' },
          h('h2', { id: 'h-call' }, 'Qualification call (BANT)'), bantFacts(lead.bant), bantForm(lead)),
        h('section', { class: 'panel', 'aria-labelledby': 'h-decision' },
          h('h2', { id: 'h-decision' }, 'Sales decision'), decisionForm(lead))),
      h('div', { class: 'grid' },
        h('section', { class: 'panel', 'aria-labelledby': 'h-why' },
          h('h2', { id: 'h-why' }, 'Why this score'), explanation(lead)),
        h('section', { class: 'panel', 'aria-labelledby': 'h-history' },
          h('h2', { id: 'h-history' }, 'Stage history'), history(lead.stage_history))),
      h('div', { class: 'grid' },
        h('section', { class: 'panel', 'aria-labelledby': 'h-timeline' },
          h('h2', { id: 'h-timeline' }, 'Timeline'), timeline(lead.timeline)),
        h('section', { class: 'panel', 'aria-labelledby': 'h-profile' },
          h('h2', { id: 'h-profile' }, 'Profile and signals'), profile(lead))));
  }

  function bantFacts(bant) {
    const line = (name, a) => [name, a ? h('span', null, String(a.value) + ' ',
      h('span', { class: a.met ? 'ok' : 'near' }, a.met ? '(met)' : '(not met)'),
      h('span', { class: 'muted' }, ' · ' + a.source + ', ' + when(a.at))) : h('span', { class: 'muted' }, 'not asked yet')];
    return h('div', null, facts([
      line('Budget', bant.budget), line('Authority', bant.authority),
      line('Need', bant.need), line('Timeline (months)', bant.timeline),
    ]), h('p', null, bant.complete ? h('strong', { class: 'ok' }, 'BANT complete') : 'BANT not complete'));
  }

  /** A client id for the qualification API, kept for retries of one submission. */
  function clientId() {
    const bytes = new Uint8Array(12);
    crypto.getRandomValues(bytes);
    return 'dash-' + Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  }

  function field(id, label, input, hint) {
    input.id = id;
    return h('div', null, h('label', { for: id }, label, hint ? h('span', { class: 'hint' }, ' ' + hint) : null), input);
  }

  function bantForm(lead) {
    const form = h('form', { class: 'stack', id: 'bant-form', novalidate: true },
      h('div', { class: 'fields' },
        field('bant-budget', 'Budget', h('input', { name: 'budget', type: 'number', min: 0, step: 1, inputmode: 'numeric' })),
        field('bant-authority', 'Authority', h('input', { name: 'authority', type: 'text', maxlength: 200 }), '(their role)'),
        field('bant-need', 'Need', h('input', { name: 'need', type: 'text', maxlength: 500 })),
        field('bant-timeline', 'Timeline', h('input', { name: 'timeline', type: 'number', min: 0, max: 120, step: 1, inputmode: 'numeric' }), '(months)')),
      h('p', { class: 'error', role: 'alert' }),
      h('div', null, h('button', { type: 'submit' }, 'Save the call')));
    let id = clientId();
    on(form, 'submit', async (e) => {
      e.preventDefault();
      const v = (name) => form.elements[name].value.trim();
      const bant = {};
      if (v('budget') !== '') bant.budget = Number(v('budget'));
      if (v('authority') !== '') bant.authority = v('authority');
      if (v('need') !== '') bant.need = v('need');
      if (v('timeline') !== '') bant.timeline = Number(v('timeline'));
      const message = form.querySelector('.error');
      if (Object.keys(bant).length === 0) {
        message.textContent = 'Fill in at least one answer.';
        return;
      }
      for (const n of ['budget', 'timeline']) {
        if (n in bant && !(Number.isInteger(bant[n]) && bant[n] >= 0)) {
          message.textContent = n + ' must be a whole number.';
          return;
        }
      }
      await qualify(lead, form, { id, action: 'bant', bant }, () => { id = clientId(); });
    });
    return form;
  }

  function decisionForm(lead) {
    const select = h('select', { name: 'action' }, ACTIONS.map((a) => h('option', { value: a.action }, a.label)));
    const form = h('form', { class: 'stack', id: 'decision-form', novalidate: true },
      field('decision-action', 'Action', select),
      field('decision-reason', 'Reason', h('input', { name: 'reason', type: 'text', maxlength: 500 }), '(needed to move back)'),
      h('p', { class: 'error', role: 'alert' }),
      h('div', null, h('button', { type: 'submit' }, 'Record the decision')));
    let id = clientId();
    on(select, 'change', () => { id = clientId(); });
    on(form, 'submit', async (e) => {
      e.preventDefault();
      const action = select.value;
      const reason = form.elements.reason.value.trim();
      const spec = ACTIONS.find((a) => a.action === action);
      if (spec && spec.reason && !reason) {
        form.querySelector('.error').textContent = 'Give a reason: ' + action + ' moves the lead back.';
        return;
      }
      const body = { id, action };
      if (reason) body.reason = reason;
      await qualify(lead, form, body, () => { id = clientId(); });
    });
    return form;
  }

  async function qualify(lead, form, body, done) {
    const button = form.querySelector('button[type=submit]');
    const message = form.querySelector('.error');
    message.textContent = '';
    for (const old of document.querySelectorAll('#view .success')) old.remove();
    button.disabled = true;
    say('Saving…');
    try {
      const after = await api('leads/' + encodeURIComponent(lead.id) + '/qualification', 'POST', body);
      done();
      const moved = after.stage !== lead.stage;
      const flash = moved ? 'Saved: the lead moved from ' + LABEL[lead.stage] + ' to ' + LABEL[after.stage] + '.'
        : 'Saved: the lead stays ' + LABEL[after.stage] + '.';
      say(flash);
      await show(() => leadPage(lead.id, flash));
    } catch (e) {
      if (e instanceof NeedKey) return;
      if (e.status === 409) {
        const allowed = (e.detail.allowed || []).join(', ') || 'none';
        message.textContent = e.message + '. Allowed now: ' + allowed + '.';
      } else if (e.status === 503) {
        message.textContent = 'Temporarily unavailable; nothing was saved. Submit again' +
          (e.retryAfter ? ' in ' + e.retryAfter + ' s' : '') + ' (the same submission is not counted twice).';
      } else {
        message.textContent = e.message;
      }
      say(message.textContent);
      button.disabled = false;
    }
  }

  function explanation(lead) {
    const lines = lead.explanation || [];
    if (lines.length === 0) return h('p', { class: 'muted' }, 'No points yet.');
    const max = Math.max(1, ...lines.map((l) => Math.abs(l.points)));
    return h('div', { class: 'table-wrap' }, h('table', { class: 'cards' },
      h('caption', { class: 'visually-hidden' }, 'Every rule\'s points, summing to the total'),
      h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Rule'), h('th', { scope: 'col', class: 'num' }, 'Points'), h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, 'Share')))),
      h('tbody', null, lines.map((l) => h('tr', null,
        h('td', { 'data-label': 'Rule' }, h('code', null, l.rule)),
        h('td', { class: 'num', 'data-label': 'Points' }, (l.points > 0 ? '+' : '') + l.points),
        h('td', { 'data-label': '' }, bar(Math.abs(l.points) / max, l.points < 0 ? 'negative' : '', l.points + ' points'))))),
      h('tfoot', null, h('tr', null, h('td', null, 'Total'), h('td', { class: 'num' }, String(lead.score.total)), h('td')))));
  }

  function history(moves) {
    if (!moves || moves.length === 0) return h('p', { class: 'muted' }, 'No stage change yet.');
    return table(['When', 'Move', 'Why', 'Recorded'], moves.slice().reverse().map((m) => [
      timeEl(m.at), h('span', null, stageBadge(m.from), ' → ', stageBadge(m.to)), cause(m.cause), timeEl(m.recorded_at)]),
    'Stage changes, newest first');
  }

  function timeline(events) {
    if (events === undefined) return h('p', { class: 'muted' }, 'This server does not give the timeline of events.');
    if (events.length === 0) return h('p', { class: 'muted' }, 'No event.');
    return h('ol', { class: 'timeline', id: 'timeline' }, events.map((e) => h('li', null,
      timeEl(e.at), h('strong', null, e.signal),
      e.source ? h('span', { class: 'muted' }, 'from ' + e.source) : null,
      e.asset ? h('span', null, e.asset) : null,
      e.bot ? h('span', { class: 'badge near' }, 'bot: not scored') : null,
      h('code', { class: 'muted' }, e.event))));
  }

  function profile(lead) {
    const p = lead.profile || {};
    const name = [p.first_name, p.last_name].filter(Boolean).join(' ');
    const pairs = [
      ['Name', name], ['Job title', p.job_title], ['Function', p.job_function],
      ['Seniority', p.seniority], ['Company', p.company], ['Company size', p.company_size],
      ['Industry', p.industry], ['Country', p.country], ['Phone', p.phone],
    ];
    for (const [k, v] of Object.entries(p.custom || {})) pairs.push([k, v]);
    const signals = Object.entries(lead.signals || {});
    return h('div', { id: 'profile' }, facts(pairs.map(([k, v]) => [k, v === undefined || v === null ? null : String(v)])),
      h('h3', null, 'Signals'),
      signals.length ? table(['Signal', { text: 'Count', num: true }], signals.map(([k, n]) => [k, String(n)]))
        : h('p', { class: 'muted' }, 'None.'));
  }

  // ---- Accounts and segments.

  async function accountsTable(params, paged) {
    const page = await api('accounts?' + query(params));
    const accounts = page.accounts || [];
    if (accounts.length === 0) return h('p', { class: 'muted' }, 'No account yet (accounts are built off the ingest path).');
    return h('div', null,
      table(['Account', { text: 'Score', num: true }, 'Contacts', 'Stage', 'Missing roles'], accounts.map((a) => [
        link('#/account/' + encodeURIComponent(a.domain), a.domain), String(a.score),
        (a.engaged_contacts || 0) + ' engaged of ' + (a.contacts || 0), a.stage ? stageBadge(a.stage) : '',
        (a.missing_roles || []).join(', ')])),
      paged && page.next ? h('p', { class: 'muted' }, 'More accounts follow (the API pages them).') : null,
      paged ? null : h('p', null, link('#/accounts', 'All accounts')));
  }

  async function accountsPage() {
    return h('div', null, h('h1', { tabindex: -1 }, 'Accounts'),
      panel('By score', () => accountsTable({ sort: 'score', limit: 50 }, true),
        { missing: 'This server does not list accounts yet.' }));
  }

  async function accountPage(domain) {
    const a = await api('accounts/' + encodeURIComponent(domain));
    return h('section', { class: 'panel' },
      h('h1', { tabindex: -1 }, a.domain),
      facts([
        ['Score', String(a.score)], ['Fit', a.fit === undefined ? null : String(a.fit)],
        ['Engagement', a.engagement === undefined ? null : String(a.engagement)],
        ['Contacts', (a.engaged_contacts || 0) + ' engaged of ' + (a.contacts || 0)],
        ['Stage', a.stage ? stageBadge(a.stage) : null],
        ['Roles', (a.roles || []).join(', ')], ['Missing roles', (a.missing_roles || []).join(', ')],
      ]),
      h('h2', null, 'Leads'),
      table(['Lead', 'Stage', { text: 'Score', num: true }, 'Grade', 'Roles', 'Engaged'], (a.leads || []).map((l) => [
        leadLink(l.lead), stageBadge(l.stage), String(l.score), l.grade, (l.roles || []).join(', '), l.engaged ? 'yes' : 'no'])));
  }

  async function segmentsPage() {
    const list = await api('segments');
    const segments = list.segments || [];
    return h('section', { class: 'panel' }, h('h1', { tabindex: -1 }, 'Segments'),
      segments.length === 0 ? h('p', { class: 'muted' }, 'No segment in the rules file ([segments.<name>]).')
        : table(['Segment', 'Description'], segments.map((s) => [link('#/segment/' + encodeURIComponent(s.name), s.name), s.description || ''])));
  }

  async function segmentPage(name) {
    const body = h('div');
    const more = h('button', { type: 'button', class: 'quiet', hidden: true }, 'More');
    let cursor = null;
    const load = async () => {
      more.disabled = true;
      try {
        const page = await api('segments/' + encodeURIComponent(name) + '?' + query({ limit: 50, cursor }));
        append(body, [table(['Lead', 'Stage', { text: 'Score', num: true }, 'Grade'], (page.leads || []).map((l) => [
          leadLink(l.lead, l.email || l.lead), stageBadge(l.stage), String(l.score), l.grade]))]);
        cursor = page.next;
        more.hidden = !cursor;
      } catch (e) {
        append(body, [problem(e, load)]);
      }
      more.disabled = false;
    };
    on(more, 'click', load);
    await load();
    return h('section', { class: 'panel' }, h('h1', { tabindex: -1 }, 'Segment ' + name), body, more);
  }

  // ---- Insights.

  async function insightsPage() {
    const i = await api('insights?' + query({ sla_hours: slaHours() }));
    const f = i.funnel;
    const months = (i.trends && i.trends.months) || [];
    return h('div', null,
      h('h1', { tabindex: -1 }, 'Insights'),
      h('p', { class: 'muted' }, i.leads + ' leads analysed as of ' + when(i.as_of) + '. Read: ' + ((i.read && i.read.note) || '') + '.'),
      h('div', { class: 'grid' },
        h('section', { class: 'panel' }, h('h2', null, 'Conversion between stages'),
          table(['From', 'To', { text: 'Reached', num: true }, { text: 'Share', num: true }], f.steps.map((s) => [
            stageBadge(s.from), stageBadge(s.to), s.reached_to + ' of ' + s.reached_from, percent(s.share)]))),
        h('section', { class: 'panel' }, h('h2', null, 'Time in stage (days)'),
          table(['Stage', { text: 'Stays', num: true }, { text: 'Median', num: true }, { text: '90th pct', num: true }],
            f.time_in_stage.map((t) => [stageBadge(t.stage), t.stays + (t.ongoing ? ' (' + t.ongoing + ' ongoing)' : ''),
              t.median_days === null ? '–' : t.median_days.toFixed(1), t.p90_days === null ? '–' : t.p90_days.toFixed(1)])))),
      h('div', { class: 'grid' },
        h('section', { class: 'panel' }, h('h2', null, 'SLA: MQLs not worked within ' + i.sla.hours + ' h'),
          h('p', null, i.sla.breached + ' breached, ' + i.sla.pending + ' pending, of ' + i.sla.mql_leads + ' MQLs.'),
          i.sla.first.length ? table(['MQL since', 'Lead', 'Still MQL'], i.sla.first.map((b) => [timeEl(b.mql_at), leadLink(b.lead), b.still_mql ? 'yes' : 'no'])) : null),
        h('section', { class: 'panel' }, h('h2', null, 'Which signals convert MQL → SQL'),
          h('p', { class: 'muted' }, 'Baseline ' + percent(i.signals.baseline.rate) + ' of ' + i.signals.baseline.leads + ' MQLs whose ' + i.signals.within_days + '-day window has closed.'),
          i.signals.signals.length ? table(['Signal', { text: 'With', num: true }, { text: 'Without', num: true }, { text: 'Lift', num: true }],
            i.signals.signals.map((s) => [s.signal + (s.defines_sql ? ' (defines SQL)' : ''),
              percent(s.with.rate) + ' of ' + s.with.leads, percent(s.without.rate) + ' of ' + s.without.leads,
              s.lift === null ? '–' : s.lift.toFixed(2) + '×'])) : h('p', { class: 'muted' }, 'Not enough history yet.'))),
      months.length ? h('section', { class: 'panel' }, h('h2', null, 'New leads, MQLs and SQLs by month'), monthsChart(months),
        table(['Month', { text: 'New leads', num: true }, { text: 'MQLs', num: true }, { text: 'SQLs', num: true }],
          months.map((m) => [m.month, String(m.new_leads), String(m.mqls), String(m.sqls)]))) : null);
  }

  function monthsChart(months) {
    const shown = months.slice(-12);
    const max = Math.max(1, ...shown.map((m) => m.new_leads));
    const width = 100 / shown.length;
    return svg('svg', { class: 'chart', viewBox: '0 0 100 60', preserveAspectRatio: 'none', role: 'img', 'aria-label': 'New leads per month' },
      shown.map((m, k) => {
        const height = (m.new_leads / max) * 50;
        return svg('rect', { x: (k * width + width * 0.15).toFixed(2), y: (55 - height).toFixed(2), width: (width * 0.7).toFixed(2), height: height.toFixed(2) },
          svg('title', null, m.month + ': ' + m.new_leads + ' new leads'));
      }));
  }

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

  let generation = 0;

  async function show(build) {
    const mine = ++generation;
    const view = document.getElementById('view');
    try {
      const content = await build();
      if (mine !== generation) return;
      view.replaceChildren(content);
    } catch (e) {
      if (mine !== generation || e instanceof NeedKey) return;
      view.replaceChildren(h('section', { class: 'panel' }, h('h1', { tabindex: -1 }, 'Could not load this page'), problem(e, render)));
    }
    const heading = view.querySelector('h1');
    if (heading) heading.focus();
  }

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
}());
