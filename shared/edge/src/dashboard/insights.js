// The insights page: conversion between stages, time in stage, the SLA, which signals
// convert, and new leads by month.

import { h, leadLink, percent, stageBadge, svg, table, timeEl, when } from './dom.js';
import { api, query, slaHours } from './api.js';

export async function insightsPage() {
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
        h('p', { class: 'muted' }, 'Baseline ' + percent(i.signals.baseline.rate) + ' of ' + i.signals.baseline.leads + ' MQLs whose ' + i.signals.within_days + '-day window has closed (' + i.signals.open + ' still open and ' + i.signals.sql_without_mql + ' hand-raises that skipped MQL are not counted).'),
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
