// Lists of leads: the overview (the funnel, whom to call first, recent moves, top accounts)
// and one stage's leads.

import { LABEL, STAGES, append, bar, cause, duration, h, leadLink, link, on, percent,
  stageBadge, table, timeEl, waiting } from './dom.js';
import { ApiError, SLA_KEY, api, panel, problem, query, slaHours } from './api.js';
import { render } from './view.js';
import { accountsTable } from './accounts.js';

const RECENT_DAYS = 7;

// ---- Overview.

export async function overview() {
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

// ---- A stage's leads.

export async function stagePage(stage) {
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
