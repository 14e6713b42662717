// Building the page: elements and text nodes only (createElement, createTextNode, plain
// attributes), so what a lead sent is shown as text and never parsed as markup. Also the
// stages' names and how times, shares and a move's cause read.

const SVG_NS = 'http://www.w3.org/2000/svg';
export const STAGES = ['visitor', 'lead', 'mql', 'sql', 'opportunity', 'customer', 'evangelist'];
export const LABEL = {
  visitor: 'Visitor', lead: 'Lead', mql: 'MQL', sql: 'SQL',
  opportunity: 'Opportunity', customer: 'Customer', evangelist: 'Evangelist',
};

// ---- DOM: elements and text nodes only.

export function append(el, children) {
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

export function h(tag, list, ...children) {
  return append(attrs(document.createElement(tag), list), children);
}

export function svg(tag, list, ...children) {
  return append(attrs(document.createElementNS(SVG_NS, tag), list), children);
}

export function on(el, event, handler) {
  el.addEventListener(event, handler);
  return el;
}

export function link(hash, ...children) {
  return h('a', { href: hash }, ...children);
}

export function leadLink(id, text) {
  return link('#/lead/' + encodeURIComponent(id), text || id);
}

/** A horizontal bar: `share` of the width (0..1), drawn as an SVG rectangle. */
export function bar(share, kind, label) {
  const pct = Math.max(0, Math.min(1, Number(share) || 0)) * 100;
  return svg('svg', { class: 'bar', role: 'img', 'aria-label': label || '', focusable: 'false' },
    svg('rect', { class: 'track', x: 0, y: 0, width: '100%', height: '100%', rx: 3 }),
    svg('rect', { class: 'fill ' + (kind || ''), x: 0, y: 0, width: pct.toFixed(1) + '%', height: '100%', rx: 3 }));
}

export function stageBadge(stage) {
  return h('span', { class: 'badge stage-' + stage }, LABEL[stage] || stage);
}

/** A table; `rows` are arrays of cells, each a node, text or {value, num}. On a phone each
 *  row stacks, and each cell is labelled with its column (data-label). */
export function table(headers, rows, caption) {
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

export function facts(pairs) {
  return h('dl', { class: 'facts' }, pairs.filter((p) => p[1] !== null && p[1] !== undefined && p[1] !== '')
    .map(([k, v]) => [h('dt', null, k), h('dd', null, v)]));
}

export function say(text) {
  document.getElementById('status').textContent = text;
}

// ---- Times.

export function when(rfc3339) {
  if (!rfc3339) return '';
  const d = new Date(rfc3339);
  if (Number.isNaN(d.getTime())) return String(rfc3339);
  return d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

export function timeEl(rfc3339) {
  return h('time', { datetime: rfc3339 || '' }, when(rfc3339));
}

export function duration(ms) {
  const hours = Math.max(0, ms) / 3600000;
  if (hours < 1) return Math.round(hours * 60) + ' min';
  if (hours < 48) return Math.round(hours) + ' h';
  return Math.floor(hours / 24) + ' d ' + Math.round(hours % 24) + ' h';
}

export function percent(share) {
  if (share === null || share === undefined) return '–';
  return (share * 100).toFixed(share > 0 && share < 0.1 ? 1 : 0) + '%';
}

// ---- Stage moves.

/** Time in the stage, from the move's event time as the insights' SLA counts it. */
export function waiting(lead, now) {
  const since = Date.parse(lead.stage_entered_at || lead.stage_recorded_at);
  return Number.isNaN(since) ? 0 : now - since;
}

// How a sales action's signal reads in a stage history.
const SALES_WORDS = {
  sales_accepted: 'accepted', sales_rejected: 'rejected', bant_reported: 'BANT reported',
  opportunity_opened: 'opportunity opened', deal_won: 'deal won', deal_lost: 'deal lost',
  disqualified: 'disqualified', evangelist_confirmed: 'evangelist',
};

export function cause(c) {
  if (!c) return '';
  if (c.type === 'rule') return h('span', null, 'rule ', h('code', null, c.rule));
  const who = (c.actor || '') + ': ' + (SALES_WORDS[c.action] || c.action || '');
  return h('span', null, who, c.reason ? ' (' + c.reason + ')' : '');
}
