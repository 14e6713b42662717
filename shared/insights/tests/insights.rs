//! `insights` on seven hand-built leads; every figure worked out by hand (see
//! `builders::seven_leads` for the story of each lead). As of day 200, 90-day window.

mod builders;

use builders::*;
use leadscore_insights::{insights, wilson, ContentKind, InsightOptions, Insights};
use leadscore_scoring::{Rules, Signal, Stage};

fn report() -> Insights {
    insights(
        seven_leads(),
        &Rules::default_rules(),
        t(200 * DAY),
        &InsightOptions::default(),
    )
}

#[test]
fn the_funnel_counts_current_stages_and_steps() {
    let r = report();
    assert_eq!(r.leads, 7);
    let now: Vec<(Stage, u64)> = r.funnel.stages.iter().map(|s| (s.stage, s.leads)).collect();
    assert_eq!(
        now,
        vec![
            (Stage::Visitor, 1),
            (Stage::Lead, 2),
            (Stage::Mql, 2),
            (Stage::Sql, 1),
            (Stage::Opportunity, 0),
            (Stage::Customer, 1),
            (Stage::Evangelist, 0),
        ]
    );
    let steps: Vec<(Stage, u64, u64)> = r
        .funnel
        .steps
        .iter()
        .map(|s| (s.from, s.reached_from, s.reached_to))
        .collect();
    assert_eq!(
        steps,
        vec![
            (Stage::Lead, 6, 5),
            (Stage::Mql, 5, 2),
            (Stage::Sql, 2, 1),
            (Stage::Opportunity, 1, 1),
            (Stage::Customer, 1, 0),
        ]
    );
    assert_eq!(r.funnel.steps[1].share, Some(0.4));
    assert_eq!(r.funnel.steps[4].share, Some(0.0));
}

#[test]
fn time_in_stage_counts_open_stays_up_to_as_of() {
    let r = report();
    let stage = |s: Stage| {
        r.funnel
            .time_in_stage
            .iter()
            .find(|x| x.stage == s)
            .unwrap()
    };
    // Visitor: six stays of 0 (identified at once), F's 200 days still open.
    let v = stage(Stage::Visitor);
    assert_eq!((v.stays, v.ongoing), (7, 1));
    assert_eq!(v.median_days, Some(0.0));
    assert!(close(v.p90_days.unwrap(), 80.0)); // rank 5.4 of [0 x6, 200]
                                               // Lead: 10, 10, 10, 10 (A-D), 150 (G), D again 190 d - 1 h (open), E 200 (open).
    let l = stage(Stage::Lead);
    assert_eq!((l.stays, l.ongoing), (7, 2));
    assert_eq!(l.median_days, Some(10.0));
    let d_again = 190.0 - 1.0 / 24.0;
    assert!(close(
        l.p90_days.unwrap(),
        d_again + 0.4 * (200.0 - d_again)
    ));
    // MQL: 1 h (D), 1 (A), 20 (B), 50 (G, open), 190 (C, open).
    let m = stage(Stage::Mql);
    assert_eq!((m.stays, m.ongoing), (5, 2));
    assert_eq!(m.median_days, Some(20.0));
    assert!(close(m.p90_days.unwrap(), 50.0 + 0.6 * 140.0));
    // SQL: 39 (A), 170 (B, open).
    let s = stage(Stage::Sql);
    assert_eq!((s.stays, s.ongoing), (2, 1));
    assert!(close(s.median_days.unwrap(), 104.5));
    assert!(close(s.p90_days.unwrap(), 39.0 + 0.9 * 131.0));
    assert_eq!(stage(Stage::Opportunity).median_days, Some(30.0));
    assert_eq!(stage(Stage::Customer).median_days, Some(120.0));
    assert_eq!(stage(Stage::Evangelist).stays, 0);
    assert_eq!(stage(Stage::Evangelist).median_days, None);
}

#[test]
fn mqls_nobody_worked_within_48_hours_are_listed() {
    let r = report();
    assert_eq!(r.sla.hours, 48);
    // A accepted within a day, D rejected within an hour; B (moved only on day 30), C, G not.
    assert_eq!((r.sla.mql_leads, r.sla.breached, r.sla.pending), (5, 3, 0));
    let mut first: Vec<_> = r
        .sla
        .first
        .iter()
        .map(|b| (b.lead.clone(), b.still_mql))
        .collect();
    assert_eq!(first.pop(), Some((lead_id("g"), true)));
    first.sort();
    let mut expected = vec![(lead_id("b"), false), (lead_id("c"), true)];
    expected.sort();
    assert_eq!(first, expected);
    assert_eq!(r.sla.first[2].mql_at, t(150 * DAY));

    // G's MQL move 20 hours before as_of is not due yet.
    let early = insights(
        seven_leads(),
        &Rules::default_rules(),
        t(150 * DAY + 20 * HOUR),
        &InsightOptions::default(),
    );
    assert_eq!((early.sla.breached, early.sla.pending), (2, 1));
}

#[test]
fn conversion_by_signal_answers_did_the_video_watchers_become_sql() {
    let r = report();
    let s = &r.signals;
    // Closed cohort: A, B, C, D (MQL day 10); G's window is open.
    assert_eq!(s.open, 1);
    assert_eq!((s.baseline.converted, s.baseline.leads), (2, 4));
    let names: Vec<Signal> = s.signals.iter().map(|c| c.signal).collect();
    assert_eq!(
        names,
        vec![
            Signal::ContentDownloaded,
            Signal::FormSubmitted,
            Signal::ProductFavorited,
            Signal::DemoVideoWatched,
            Signal::DemoRequested,
        ]
    );
    let of = |sig: Signal| s.signals.iter().find(|c| c.signal == sig).unwrap();
    let video = of(Signal::DemoVideoWatched);
    assert!(!video.defines_sql);
    assert_eq!((video.with.converted, video.with.leads), (2, 2));
    assert_eq!((video.without.converted, video.without.leads), (0, 2));
    assert_eq!(
        (video.with.rate, video.without.rate),
        (Some(1.0), Some(0.0))
    );
    assert_eq!(video.lift, None);
    assert_eq!(video.without.interval, wilson(0, 2, 0.95));
    assert!((video.without.interval.high - 0.657_619).abs() < 1e-5);
    let demo = of(Signal::DemoRequested);
    assert!(demo.defines_sql);
    assert_eq!((demo.with.converted, demo.with.leads), (1, 1));
    assert_eq!((demo.without.converted, demo.without.leads), (1, 3));
    assert!(close(demo.lift.unwrap(), 3.0));
    let form = of(Signal::FormSubmitted);
    assert_eq!(
        (form.with.leads, form.without.leads, form.without.rate),
        (4, 0, None)
    );
    // Bonferroni over the baseline and two rates per signal.
    assert_eq!(s.comparisons, 11);
    assert!(close(s.simultaneous_confidence, 1.0 - 0.05 / 11.0));
    assert_eq!(video.without.simultaneous, wilson(0, 2, 1.0 - 0.05 / 11.0));
    assert!(video.without.simultaneous.high > video.without.interval.high);
}

#[test]
fn hand_raises_that_skip_mql_are_counted_apart_not_as_mqls_that_converted() {
    let mut leads = seven_leads();
    // H: a demo request straight from lead (d20); I: one that made the lead MQL and SQL at
    // the same instant (d20). Neither was ever worked as an MQL.
    leads.push(
        Lead::new("h")
            .at(Signal::FormSubmitted, 0)
            .at(Signal::DemoRequested, 20 * DAY)
            .history(),
    );
    leads.push(
        Lead::new("i")
            .mql_pack(20 * DAY, None)
            .at(Signal::DemoRequested, 20 * DAY)
            .history(),
    );
    let r = insights(
        leads,
        &Rules::default_rules(),
        t(200 * DAY),
        &InsightOptions::default(),
    );
    let s = &r.signals;
    assert_eq!((s.open, s.sql_without_mql), (1, 2));
    assert_eq!(s.baseline, report().signals.baseline);
    assert_eq!(s.signals, report().signals.signals);
    assert_eq!(report().signals.sql_without_mql, 0);
}

#[test]
fn months_count_events_new_leads_mqls_and_sqls() {
    let r = report();
    let months: Vec<&str> = r.trends.months.iter().map(|m| m.month.as_str()).collect();
    // February had nothing: listed with zeros.
    assert_eq!(
        months,
        vec!["2025-11", "2025-12", "2026-01", "2026-02", "2026-03"]
    );
    let m = |k: &str| r.trends.months.iter().find(|m| m.month == k).unwrap();
    let nov = m("2025-11");
    assert_eq!((nov.new_leads, nov.mqls, nov.sqls), (6, 4, 1));
    assert_eq!(nov.events[&Signal::FormSubmitted], 22);
    assert_eq!(nov.events[&Signal::SiteVisit], 1);
    assert_eq!(nov.events[&Signal::SalesRejected], 1);
    let dec = m("2025-12");
    assert_eq!((dec.new_leads, dec.mqls, dec.sqls), (0, 0, 1));
    assert_eq!(dec.events[&Signal::DemoRequested], 1);
    assert_eq!(m("2026-01").events[&Signal::DealWon], 1);
    let feb = m("2026-02");
    assert!(feb.events.is_empty() && feb.new_leads + feb.mqls + feb.sqls == 0);
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["trends"]["months"][0]["events"]["form_submitted"], 22);
    assert_eq!(json["signals"]["signals"][4]["defines_sql"], true);
    let mar = m("2026-03");
    assert_eq!((mar.mqls, mar.events[&Signal::FormSubmitted]), (1, 4));
}

#[test]
fn content_rows_rank_by_events_and_convert_their_mqls() {
    let r = report();
    let dim = |k: ContentKind| r.trends.content.iter().find(|d| d.kind == k).unwrap();
    let assets = dim(ContentKind::Asset);
    assert_eq!(assets.distinct, 2);
    let rows: Vec<(&str, u64, u64, u64, u64)> = assets
        .values
        .iter()
        .map(|v| {
            let c = &v.mql_to_sql;
            (v.value.as_str(), v.events, v.leads, c.converted, c.leads)
        })
        .collect();
    assert_eq!(
        rows,
        vec![("ebook", 8, 2, 2, 2), ("whitepaper", 8, 2, 0, 2)]
    );
    // Query strings and fragments do not split a page.
    let urls = dim(ContentKind::Url);
    assert_eq!(urls.values.len(), 1);
    assert_eq!(urls.values[0].value, "https://x.io/demo");
    assert_eq!((urls.values[0].events, urls.values[0].leads), (2, 2));
    assert!(dim(ContentKind::Campaign).values.is_empty());
    // Sales events are outcomes, not content.
    assert!(dim(ContentKind::Source).values.is_empty());

    let top1 = insights(
        seven_leads(),
        &Rules::default_rules(),
        t(200 * DAY),
        &InsightOptions {
            top: 1,
            ..InsightOptions::default()
        },
    );
    let assets = top1
        .trends
        .content
        .iter()
        .find(|d| d.kind == ContentKind::Asset)
        .unwrap();
    assert_eq!((assets.distinct, assets.values.len()), (2, 1));
}

#[test]
fn an_empty_input_gives_an_empty_report() {
    let r = insights(
        Vec::new(),
        &Rules::default_rules(),
        t(0),
        &InsightOptions::default(),
    );
    assert_eq!(r.leads, 0);
    assert!(r.funnel.steps.iter().all(|s| s.share.is_none()));
    assert_eq!(r.signals.baseline.rate, None);
    assert!(r.trends.months.is_empty());
    serde_json::to_string(&r).unwrap();
}
