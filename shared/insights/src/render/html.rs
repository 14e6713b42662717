//! The reports as one self-contained HTML page each: inline CSS and SVG, no script, nothing
//! fetched. Every string from the data is escaped.

use super::svg::{self, Series, COLOURS};
use super::table::escape;
use super::text::{replay_sections, sections, signal_notes};
use crate::{Insights, Replay};
use std::fmt::Write;

const STYLE: &str = "body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:980px;\
color:#1f2937;padding:0 1em}h1{font-size:1.5em}h2{font-size:1.15em;margin-top:2em;\
border-bottom:1px solid #e5e7eb}table{border-collapse:collapse;margin:.6em 0}\
th,td{padding:.2em .7em;border-bottom:1px solid #f1f5f9;text-align:left}\
th{background:#f8fafc}td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}\
p.note{color:#4b5563;max-width:60em}svg{display:block;margin:.6em 0;max-width:100%;height:auto}\
svg text.l{font-size:12px;fill:#1f2937}svg text.s{font-size:11px;fill:#4b5563}\
svg .grid{stroke:#e5e7eb}svg .base{stroke:#6b7280;stroke-dasharray:4 3}";

fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{}</title><style>{STYLE}</style></head><body>\n{body}</body></html>\n",
        escape(title)
    )
}

fn h2(out: &mut String, title: &str) {
    let _ = writeln!(out, "<h2>{}</h2>", escape(title));
}

fn note(out: &mut String, text: &str) {
    let _ = writeln!(out, "<p class=\"note\">{}</p>", escape(text));
}

/// The insights report as one HTML page: funnel chart, lift chart, monthly lines, tables.
pub fn insights_html(r: &Insights) -> String {
    let s = sections(r);
    let mut b = String::new();
    let title = format!("Lead insights as of {}", r.as_of);
    let _ = writeln!(b, "<h1>{}</h1>", escape(&title));
    note(&mut b, &format!("{} leads, rules {}.", r.leads, r.rules));
    h2(&mut b, "Funnel");
    b.push_str(&svg::funnel(&r.funnel.steps));
    b.push_str(&s.steps.html());
    b.push_str(&s.stages.html());
    h2(&mut b, "Time in stage (days)");
    note(
        &mut b,
        &format!(
            "Per stay, from the move into the stage to the next move, in event time. A lead \
             still in a stage counts up to {}, so these are lower bounds where many stays are \
             still open.",
            r.as_of
        ),
    );
    b.push_str(&s.time.html());
    h2(
        &mut b,
        &format!("SLA: MQLs not worked within {} hours", r.sla.hours),
    );
    note(
        &mut b,
        &format!(
            "{} of {} leads that reached MQL had no move and no sales action within {} hours \
             ({} more are still within it). The oldest first:",
            r.sla.breached, r.sla.mql_leads, r.sla.hours, r.sla.pending
        ),
    );
    if !s.sla.is_empty() {
        b.push_str(&s.sla.html());
    }
    h2(
        &mut b,
        &format!(
            "MQL \u{2192} SQL within {} days, by signal",
            r.signals.within_days
        ),
    );
    for n in signal_notes(&r.signals) {
        note(&mut b, &n);
    }
    if !r.signals.signals.is_empty() {
        b.push_str(&svg::lift(&r.signals));
        note(
            &mut b,
            "Thick bars: the per-rate interval; thin bars: the joint interval. * the signal \
             makes a lead SQL by itself (a hand-raise): 100% by definition.",
        );
    }
    b.push_str(&s.signals.html());
    h2(&mut b, "By month (UTC)");
    let labels: Vec<String> = r.trends.months.iter().map(|m| m.month.clone()).collect();
    let series = |name, colour, f: &dyn Fn(&crate::MonthTrend) -> u64| Series {
        name,
        colour,
        values: r.trends.months.iter().map(|m| f(m) as f64).collect(),
    };
    if !labels.is_empty() {
        let funnel = [
            series("new leads", COLOURS[0], &|m| m.new_leads),
            series("MQLs", COLOURS[1], &|m| m.mqls),
            series("SQLs", COLOURS[2], &|m| m.sqls),
        ];
        b.push_str(&svg::lines(
            "Leads, MQLs and SQLs per month",
            &labels,
            &funnel,
        ));
        let events = [series("events", COLOURS[4], &|m| m.events.values().sum())];
        b.push_str(&svg::lines("Events per month", &labels, &events));
    }
    b.push_str(&s.months.html());
    for (title, t) in &s.content {
        h2(&mut b, title);
        b.push_str(&t.html());
    }
    page(&title, &b)
}

/// The replay report as one HTML page: stage and score bars before and after, tables.
pub fn replay_html(r: &Replay) -> String {
    let s = replay_sections(r);
    let mut b = String::new();
    let title = format!("Rules replay as of {}", r.as_of);
    let _ = writeln!(b, "<h1>{}</h1>", escape(&title));
    note(
        &mut b,
        &format!(
            "{} leads folded under rules {} (before) and {} (after).",
            r.leads, r.old_rules, r.new_rules
        ),
    );
    h2(&mut b, "Leads per stage now");
    let labels: Vec<String> = r.stages.iter().map(|x| x.stage.to_string()).collect();
    let pair = |before: Vec<f64>, after: Vec<f64>| {
        [
            Series {
                name: "before",
                colour: COLOURS[5],
                values: before,
            },
            Series {
                name: "after",
                colour: COLOURS[1],
                values: after,
            },
        ]
    };
    let stages = pair(
        r.stages.iter().map(|x| x.before as f64).collect(),
        r.stages.iter().map(|x| x.after as f64).collect(),
    );
    b.push_str(&svg::bars(
        "Leads per stage, before and after",
        &labels,
        &stages,
    ));
    b.push_str(&s.stages.html());
    h2(&mut b, "Who reaches MQL and SQL");
    b.push_str(&s.changes.html());
    for (t, table) in &s.lists {
        let _ = writeln!(b, "<h3>{}</h3>", escape(t));
        b.push_str(&table.html());
    }
    h2(&mut b, "Scores");
    let labels: Vec<String> = r
        .scores
        .before
        .buckets
        .iter()
        .map(|x| super::bucket(x.low, x.high))
        .collect();
    let counts = |s: &crate::ScoreSummary| s.buckets.iter().map(|x| x.leads as f64).collect();
    let scores = pair(counts(&r.scores.before), counts(&r.scores.after));
    b.push_str(&svg::bars(
        "Leads per score bucket, before and after",
        &labels,
        &scores,
    ));
    b.push_str(&s.scores.html());
    h2(&mut b, "Against real SQL outcomes");
    note(
        &mut b,
        &format!(
            "{} leads have a real SQL outcome (a sales acceptance, an opportunity, a won deal or \
             a hand-raise). Share: of those, how many each rules file made MQL before it; \
             precision: of the leads each made MQL (window closed), how many had one.",
            r.backtest.leads_with_outcome
        ),
    );
    b.push_str(&s.backtest.html());
    page(&title, &b)
}
