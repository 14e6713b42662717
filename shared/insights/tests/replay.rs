//! `replay` on hand-built leads: the default rules against a looser MQL threshold (20) that
//! no longer takes a cart as a hand-raise. As of day 200, 90-day window.

mod builders;

use builders::*;
use leadscore_insights::History;
use leadscore_insights::{replay, InsightOptions, Replay};
use leadscore_scoring::{Rules, Signal, Stage};

fn looser() -> Rules {
    rules_with(&[
        ("engagement_at_least = 50", "engagement_at_least = 20"),
        (
            "\"meeting_requested\", \"cart_added\",",
            "\"meeting_requested\",",
        ),
    ])
}

fn five_leads() -> Vec<History> {
    vec![
        // P: 21 points on day 5 (MQL under the new rules only), demo request day 20.
        Lead::new("p")
            .at(Signal::FormSubmitted, 0)
            .at(Signal::ContentDownloaded, 5 * DAY)
            .at(Signal::ContentDownloaded, 5 * DAY)
            .at(Signal::DemoRequested, 20 * DAY)
            .history(),
        // Q: the same 21 points, nothing after.
        Lead::new("q")
            .at(Signal::FormSubmitted, 0)
            .at(Signal::ContentDownloaded, 5 * DAY)
            .at(Signal::ContentDownloaded, 5 * DAY)
            .history(),
        // R: MQL under both on day 10, accepted by sales on day 11.
        Lead::new("r")
            .at(Signal::FormSubmitted, 0)
            .mql_pack(10 * DAY, None)
            .at(Signal::SalesAccepted, 11 * DAY)
            .history(),
        // S: nothing but a form.
        Lead::new("s").at(Signal::FormSubmitted, 0).history(),
        // U: a cart on day 3: SQL under the old rules, only MQL (25 points) under the new.
        Lead::new("u")
            .at(Signal::FormSubmitted, 0)
            .at(Signal::CartAdded, 3 * DAY)
            .history(),
    ]
}

fn report() -> Replay {
    replay(
        five_leads(),
        &Rules::default_rules(),
        &looser(),
        t(200 * DAY),
        &InsightOptions::default(),
    )
}

#[test]
fn stages_and_who_reaches_mql_and_sql() {
    let r = report();
    assert_eq!(r.leads, 5);
    assert_ne!(r.old_rules, r.new_rules);
    let shift: Vec<(Stage, u64, u64)> = r
        .stages
        .iter()
        .map(|s| (s.stage, s.before, s.after))
        .filter(|s| s.1 + s.2 > 0)
        .collect();
    assert_eq!(
        shift,
        vec![(Stage::Lead, 2, 1), (Stage::Mql, 0, 2), (Stage::Sql, 3, 2)]
    );
    assert_eq!((r.mql.before, r.mql.after), (3, 4));
    assert_eq!(r.mql.became.first, vec![lead_id("q")]);
    assert_eq!((r.mql.became.total, r.mql.stopped.total), (1, 0));
    assert_eq!((r.sql.before, r.sql.after), (3, 2));
    assert_eq!(r.sql.stopped.first, vec![lead_id("u")]);
    assert_eq!(r.sql.became.total, 0);
}

#[test]
fn the_new_mql_definition_is_judged_against_real_outcomes() {
    let r = report();
    let b = &r.backtest;
    // Outcomes: P's demo request (day 20), R's acceptance (day 11), U's cart (day 3).
    assert_eq!(b.leads_with_outcome, 3);
    // New: P flagged 15 days ahead, R 1 day; U became MQL with its cart, not before it.
    assert_eq!(b.new.flagged_before, 2);
    assert!(close(b.new.share.unwrap(), 2.0 / 3.0));
    assert!(close(b.new.median_days_ahead.unwrap(), 8.0));
    // Old: only R (P passed MQL with its demo request, at the same instant).
    assert_eq!(b.old.flagged_before, 1);
    assert!(close(b.old.median_days_ahead.unwrap(), 1.0));
    // Precision: new MQLs P, Q, R, U of which Q never had an outcome; old MQLs P, R, U.
    assert_eq!((b.new.mql_leads, b.new.mql_with_outcome), (4, 3));
    assert_eq!((b.old.mql_leads, b.old.mql_with_outcome), (3, 3));
    assert_eq!(b.old.precision, Some(1.0));
}

#[test]
fn scores_are_summarised_under_each_rules() {
    let r = report();
    for s in [&r.scores.before, &r.scores.after] {
        assert_eq!(s.buckets.iter().map(|b| b.leads).sum::<u64>(), 5);
        assert!(s.mean.is_some() && s.median.is_some());
    }
    // The same rules on both sides change nothing.
    let same = replay(
        five_leads(),
        &Rules::default_rules(),
        &Rules::default_rules(),
        t(200 * DAY),
        &InsightOptions::default(),
    );
    assert_eq!(same.scores.before, same.scores.after);
    assert_eq!((same.mql.became.total, same.sql.stopped.total), (0, 0));
    assert_eq!(same.backtest.old, same.backtest.new);
}

#[test]
fn lists_stop_at_top_and_are_sorted_by_id() {
    let many: Vec<_> = (0..30)
        .map(|i| {
            Lead::new(&format!("q{i}"))
                .at(Signal::FormSubmitted, 0)
                .at(Signal::ContentDownloaded, 5 * DAY)
                .at(Signal::ContentDownloaded, 5 * DAY)
                .history()
        })
        .collect();
    let r = replay(
        many,
        &Rules::default_rules(),
        &looser(),
        t(200 * DAY),
        &InsightOptions::default(),
    );
    assert_eq!(r.mql.became.total, 30);
    assert_eq!(r.mql.became.first.len(), 20);
    assert!(r.mql.became.first.windows(2).all(|w| w[0] < w[1]));
}
