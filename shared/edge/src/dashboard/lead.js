// One lead's page: score and stage, the BANT call and sales decision forms (the
// qualification API), why this score, the stage history, the timeline and the profile.

import { LABEL, bar, cause, facts, h, on, say, stageBadge, table, timeEl, when } from './dom.js';
import { NeedKey, api } from './api.js';
import { show } from './view.js';

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

export async function leadPage(id, flash) {
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
