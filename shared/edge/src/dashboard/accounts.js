// Accounts (leads grouped by company domain) and segments (the rules file's named lists).

import { append, facts, h, leadLink, link, on, stageBadge, table } from './dom.js';
import { api, panel, problem, query } from './api.js';

export async function accountsTable(params, paged) {
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

export async function accountsPage() {
  return h('div', null, h('h1', { tabindex: -1 }, 'Accounts'),
    panel('By score', () => accountsTable({ sort: 'score', limit: 50 }, true),
      { missing: 'This server does not list accounts yet.' }));
}

export async function accountPage(domain) {
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

export async function segmentsPage() {
  const list = await api('segments');
  const segments = list.segments || [];
  return h('section', { class: 'panel' }, h('h1', { tabindex: -1 }, 'Segments'),
    segments.length === 0 ? h('p', { class: 'muted' }, 'No segment in the rules file ([segments.<name>]).')
      : table(['Segment', 'Description'], segments.map((s) => [link('#/segment/' + encodeURIComponent(s.name), s.name), s.description || ''])));
}

export async function segmentPage(name) {
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
