//! The reports as aligned text for a terminal.

use super::table::Table;
use super::{bucket, days, interval, number, pct, ratio, ratio_range};
use crate::{Insights, Replay, SignalReport, Trends};
use std::fmt::Write;

/// The sections of an insights report as tables; the HTML page shows the same ones.
pub(crate) struct Sections {
    pub stages: Table,
    pub steps: Table,
    pub time: Table,
    pub sla: Table,
    pub signals: Table,
    pub months: Table,
    pub content: Vec<(String, Table)>,
}

pub(crate) fn sections(r: &Insights) -> Sections {
    let mut stages = Table::new(&["stage", "leads now"]);
    for s in &r.funnel.stages {
        stages.row(vec![s.stage.to_string(), s.leads.to_string()]);
    }
    let mut steps = Table::new(&["step", "reached first", "then second", "share"]);
    for s in &r.funnel.steps {
        steps.row(vec![
            format!("{} -> {}", s.from, s.to),
            s.reached_from.to_string(),
            s.reached_to.to_string(),
            pct(s.share),
        ]);
    }
    let mut time = Table::new(&["stage", "stays", "still in it", "median days", "p90 days"]);
    for s in r.funnel.time_in_stage.iter().filter(|s| s.stays > 0) {
        time.row(vec![
            s.stage.to_string(),
            s.stays.to_string(),
            s.ongoing.to_string(),
            days(s.median_days),
            days(s.p90_days),
        ]);
    }
    let mut sla = Table::new(&["lead", "MQL at", "still MQL"]).text_column(1);
    for b in &r.sla.first {
        let still = if b.still_mql { "yes" } else { "no" };
        sla.row(vec![b.lead.to_string(), b.mql_at.to_string(), still.into()]);
    }
    Sections {
        stages,
        steps,
        time,
        sla,
        signals: signal_table(&r.signals),
        months: month_table(&r.trends),
        content: content_tables(&r.trends),
    }
}

fn signal_table(s: &SignalReport) -> Table {
    let level = format!("{:.0}%", s.confidence * 100.0);
    let joint = format!("joint {:.2}%", s.simultaneous_confidence * 100.0);
    let mut t = Table::new(&[
        "signal", "with", "rate", &level, &joint, "without", "rate", &level, &joint, "lift",
        &level, "note",
    ])
    .text_column(11);
    for c in &s.signals {
        t.row(vec![
            c.signal.to_string(),
            format!("{}/{}", c.with.converted, c.with.leads),
            pct(c.with.rate),
            interval(c.with.interval),
            interval(c.with.simultaneous),
            format!("{}/{}", c.without.converted, c.without.leads),
            pct(c.without.rate),
            interval(c.without.interval),
            interval(c.without.simultaneous),
            ratio(c.lift),
            ratio_range(c.lift_interval),
            if c.defines_sql {
                "defines SQL: 100% by definition".into()
            } else {
                String::new()
            },
        ]);
    }
    t
}

fn month_table(trends: &Trends) -> Table {
    let mut t = Table::new(&[
        "month",
        "new leads",
        "MQLs",
        "SQLs",
        "events",
        "most frequent",
    ])
    .text_column(5);
    for m in &trends.months {
        let mut top: Vec<_> = m.events.iter().collect();
        top.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        let most = top
            .iter()
            .take(3)
            .map(|(s, n)| format!("{s} {n}"))
            .collect::<Vec<_>>()
            .join(", ");
        t.row(vec![
            m.month.clone(),
            m.new_leads.to_string(),
            m.mqls.to_string(),
            m.sqls.to_string(),
            m.events.values().sum::<u64>().to_string(),
            most,
        ]);
    }
    t
}

fn content_tables(trends: &Trends) -> Vec<(String, Table)> {
    trends
        .content
        .iter()
        .filter(|d| !d.values.is_empty())
        .map(|d| {
            let mut t = Table::new(&["value", "events", "leads", "MQL->SQL", "rate", "interval"]);
            for v in &d.values {
                let c = &v.mql_to_sql;
                t.row(vec![
                    v.value.clone(),
                    v.events.to_string(),
                    v.leads.to_string(),
                    format!("{}/{}", c.converted, c.leads),
                    pct(c.rate),
                    interval(c.interval),
                ]);
            }
            let title = format!(
                "By {} (top {} of {} by events)",
                d.kind.as_str(),
                d.values.len(),
                d.distinct
            );
            (title, t)
        })
        .collect()
}

/// Sentences that go with the signal table (shared by the HTML page).
pub(crate) fn signal_notes(s: &SignalReport) -> Vec<String> {
    vec![
        format!(
            "Closed cohort: leads that moved to MQL at least {} days ago; {} of {} became SQL \
             within {} days ({}). {} MQLs are still inside their window and {} leads reached \
             SQL with no MQL stay before it (a hand-raise): neither is counted.",
            s.within_days,
            s.baseline.converted,
            s.baseline.leads,
            s.within_days,
            pct(s.baseline.rate),
            s.open,
            s.sql_without_mql
        ),
        format!(
            "Intervals: Wilson at {:.0}% per rate; joint: Bonferroni over the {} rates shown \
             ({:.2}% each), so all hold together with at least {:.0}% confidence. \
             A signal counts if shown before the SQL move (or the window's end).",
            s.confidence * 100.0,
            s.comparisons,
            s.simultaneous_confidence * 100.0,
            s.confidence * 100.0
        ),
    ]
}

/// The insights report as text.
pub fn insights_text(r: &Insights) -> String {
    let s = sections(r);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Insights as of {} (rules {}): {} leads\n",
        r.as_of, r.rules, r.leads
    );
    let _ = writeln!(out, "Funnel now\n{}", s.stages.text());
    let _ = writeln!(out, "Funnel steps (ever reached)\n{}", s.steps.text());
    let _ = writeln!(
        out,
        "Time in stage (a stay still open counts up to {})\n{}",
        r.as_of,
        s.time.text()
    );
    let _ = writeln!(
        out,
        "SLA: MQLs not worked within {} h: {} of {} MQL leads ({} still within it)",
        r.sla.hours, r.sla.breached, r.sla.mql_leads, r.sla.pending
    );
    if !s.sla.is_empty() {
        let _ = writeln!(out, "{}", s.sla.text());
    } else {
        out.push('\n');
    }
    let _ = writeln!(
        out,
        "MQL -> SQL within {} days, by signal",
        r.signals.within_days
    );
    for note in signal_notes(&r.signals) {
        let _ = writeln!(out, "  {note}");
    }
    let _ = writeln!(out, "{}", s.signals.text());
    let _ = writeln!(out, "By month (UTC)\n{}", s.months.text());
    for (title, t) in &s.content {
        let _ = writeln!(out, "{title}\n{}", t.text());
    }
    out
}

/// The sections of a replay report as tables.
pub(crate) struct ReplaySections {
    pub stages: Table,
    pub changes: Table,
    pub lists: Vec<(String, Table)>,
    pub scores: Table,
    pub backtest: Table,
}

pub(crate) fn replay_sections(r: &Replay) -> ReplaySections {
    let mut stages = Table::new(&["stage", "before", "after", "change"]);
    for s in &r.stages {
        let change = s.after as i64 - s.before as i64;
        stages.row(vec![
            s.stage.to_string(),
            s.before.to_string(),
            s.after.to_string(),
            format!("{change:+}"),
        ]);
    }
    let mut changes = Table::new(&["reached", "before", "after", "became", "stopped"]);
    let mut lists = Vec::new();
    for (name, c) in [("MQL or beyond", &r.mql), ("SQL or beyond", &r.sql)] {
        changes.row(vec![
            name.into(),
            c.before.to_string(),
            c.after.to_string(),
            c.became.total.to_string(),
            c.stopped.total.to_string(),
        ]);
        for (verb, list) in [("become", &c.became), ("stop being", &c.stopped)] {
            if list.total == 0 {
                continue;
            }
            let mut t = Table::new(&["lead"]);
            for id in &list.first {
                t.row(vec![id.to_string()]);
            }
            let title = format!(
                "Would {verb} {name} ({} of {}, by id)",
                list.first.len(),
                list.total
            );
            lists.push((title, t));
        }
    }
    let mut scores = Table::new(&["score", "before", "after"]);
    let (b, a) = (&r.scores.before, &r.scores.after);
    for (x, y) in b.buckets.iter().zip(&a.buckets) {
        scores.row(vec![
            bucket(x.low, x.high),
            x.leads.to_string(),
            y.leads.to_string(),
        ]);
    }
    scores.row(vec!["mean".into(), number(b.mean), number(a.mean)]);
    scores.row(vec!["median".into(), number(b.median), number(a.median)]);
    let mut backtest = Table::new(&["", "old rules", "new rules"]);
    let (o, n) = (&r.backtest.old, &r.backtest.new);
    let both = |name: &str, f: &dyn Fn(&crate::Foresight) -> String| vec![name.into(), f(o), f(n)];
    backtest.row(both("MQL before the outcome", &|f| {
        f.flagged_before.to_string()
    }));
    backtest.row(both("share of real SQLs", &|f| pct(f.share)));
    backtest.row(both("median days ahead", &|f| days(f.median_days_ahead)));
    backtest.row(both("MQLs (window closed)", &|f| f.mql_leads.to_string()));
    backtest.row(both("of which real SQLs", &|f| {
        f.mql_with_outcome.to_string()
    }));
    backtest.row(both("precision", &|f| pct(f.precision)));
    ReplaySections {
        stages,
        changes,
        lists,
        scores,
        backtest,
    }
}

/// The replay report as text.
pub fn replay_text(r: &Replay) -> String {
    let s = replay_sections(r);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Replay as of {}: rules {} (before) vs {} (after), {} leads\n",
        r.as_of, r.old_rules, r.new_rules, r.leads
    );
    let _ = writeln!(out, "Leads per stage now\n{}", s.stages.text());
    let _ = writeln!(out, "Who reaches MQL and SQL\n{}", s.changes.text());
    for (title, t) in &s.lists {
        let _ = writeln!(out, "{title}\n{}", t.text());
    }
    let _ = writeln!(out, "Scores as of {}\n{}", r.as_of, s.scores.text());
    let _ = writeln!(
        out,
        "Against real SQL outcomes ({} leads with a sales acceptance, opportunity, won deal or \
         hand-raise)\n{}",
        r.backtest.leads_with_outcome,
        s.backtest.text()
    );
    out
}
