//! The simulator: deterministic per seed, folds into the stages its truth intends, and its
//! truth's exact answers agree with what it draws.

use leadscore_insights::{simulate, LeadKind, MqlPath, SimConfig, Truth, MONTH_MS};
use leadscore_scoring::{Rules, Signal, SignalKind, Stage, Timestamp};
use std::collections::{BTreeMap, BTreeSet, HashSet};

/// 2026-01-01T00:00:00Z
const START: i64 = 1_767_225_600_000;

fn config(leads: usize, seed: u64) -> SimConfig {
    SimConfig {
        leads,
        seed,
        start: Timestamp::from_millis(START),
        months: 12,
        truth: Truth::default(),
    }
}

#[test]
fn the_same_seed_gives_the_same_leads_and_another_seed_others() {
    let a: Vec<_> = simulate(&config(300, 7)).histories().collect();
    let b: Vec<_> = simulate(&config(300, 7)).histories().collect();
    let c: Vec<_> = simulate(&config(300, 8)).histories().collect();
    assert_eq!(a, b);
    assert_eq!(a.len(), 300);
    let same = a.iter().zip(&c).filter(|(x, y)| x == y).count();
    assert_eq!(same, 0, "another seed draws other leads");
    // A lead is drawn alone from (seed, index).
    let sim = simulate(&config(300, 7));
    assert_eq!(sim.lead(123).history, a[123]);
}

#[test]
fn event_ids_are_unique_and_lead_ids_distinct() {
    let sim = simulate(&config(3_000, 1));
    let mut ids = HashSet::new();
    let mut leads = HashSet::new();
    for h in sim.histories() {
        assert!(!h.events.is_empty());
        assert!(leads.insert(h.lead.clone()), "lead {} twice", h.lead);
        for e in &h.events {
            assert!(ids.insert(e.id.clone()), "event id {} twice", e.id);
        }
    }
}

#[test]
fn leads_fold_under_the_default_rules_into_the_stages_the_truth_intends() {
    let rules = Rules::default_rules();
    let sim = simulate(&config(3_000, 42));
    let as_of = sim.settled_at();
    let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
    let mut paths = BTreeSet::new();
    let (mut stitched, mut scanned) = (0, 0);
    for lead in sim.leads() {
        let intended = &lead.intended;
        *kinds.entry(format!("{:?}", intended.kind)).or_default() += 1;
        let state = lead.history.fold(&rules, as_of).expect("a lead has events");
        assert_eq!(
            state.stage, intended.stage,
            "lead {} ({:?}): {:#?}",
            lead.index, intended, state.stage_history
        );
        let mql = state.stage_history.iter().find(|t| t.to == Stage::Mql);
        match intended.kind {
            LeadKind::Mql => {
                let mql = mql.expect("an MQL has a move to MQL");
                assert!(Some(mql.at) <= intended.mql_by, "lead {}", lead.index);
                paths.insert(intended.path);
                let sql = state.stage_history.iter().find(|t| t.to == Stage::Sql);
                assert_eq!(sql.map(|t| t.at), intended.converted_at);
            }
            // A hand-raise may make an MQL and an SQL at once: never an MQL before it.
            LeadKind::DirectSql => {
                assert!(mql.is_none_or(|m| Some(m.at) == intended.converted_at))
            }
            _ => assert!(mql.is_none(), "lead {} is no MQL: {intended:?}", lead.index),
        }
        // What the person showed is what the fold counts (bot clicks excluded).
        let counted: BTreeSet<Signal> = state
            .signal_counts()
            .into_keys()
            .filter(|s| s.kind() == SignalKind::Interest)
            .collect();
        assert_eq!(counted, intended.shown, "lead {}", lead.index);
        if intended.kind == LeadKind::Bot {
            assert!(counted.is_empty());
            assert!(lead
                .history
                .events
                .iter()
                .all(|e| e.signal.kind() == SignalKind::Interest));
        }
        if lead
            .history
            .events
            .iter()
            .any(|e| e.identity.email.is_some() && e.identity.anonymous_id.is_some())
        {
            stitched += 1;
        }
        if lead.history.events.iter().any(|e| {
            e.attributes
                .message_id
                .as_deref()
                .is_some_and(|m| m.starts_with("scan-"))
        }) {
            scanned += 1;
        }
    }
    // Every kind of lead and every path occurred in the sample.
    for kind in ["Bot", "Visitor", "Lead", "DirectSql", "Mql"] {
        assert!(kinds.get(kind).copied().unwrap_or(0) > 0, "{kinds:?}");
    }
    assert_eq!(paths.len(), MqlPath::ALL.len());
    assert!(
        stitched > 100 && scanned > 100,
        "{stitched} stitched, {scanned} scanned"
    );
}

#[test]
fn the_truth_answers_exactly_and_agrees_with_the_draws() {
    let truth = Truth::default();
    let overall = truth.mql_conversion_rate();
    for signal in truth.signals.keys() {
        let yes = truth.conversion_rate(*signal, true);
        let no = truth.conversion_rate(*signal, false);
        assert!((0.0..=1.0).contains(&yes), "{signal}: {yes}");
        // Signals no path forces: the two cases mix into the overall rate with the signal's
        // probability.
        if MqlPath::ALL.iter().all(|p| !p.signals().contains(signal))
            && *signal != Signal::SiteVisit
        {
            let p = truth.signals[signal].shown;
            assert!(
                (p * yes + (1.0 - p) * no - overall).abs() < 1e-12,
                "{signal}"
            );
        }
    }
    // The strongest signal converts better when shown; the one with a negative effect worse.
    assert!(
        truth.conversion_rate(Signal::DemoVideoWatched, true)
            > 2.0 * truth.conversion_rate(Signal::DemoVideoWatched, false)
    );
    assert!(
        truth.conversion_rate(Signal::SocialShared, true)
            < truth.conversion_rate(Signal::SocialShared, false)
    );

    // The draws: over 30,000 leads, the MQLs' conversion per signal is the exact answer,
    // within sampling error.
    let sim = simulate(&config(30_000, 3));
    let mut counts: BTreeMap<(Signal, bool), (f64, f64)> = BTreeMap::new();
    let (mut mqls, mut converted) = (0.0, 0.0);
    for lead in sim.leads() {
        let i = &lead.intended;
        if i.kind != LeadKind::Mql {
            continue;
        }
        let sql = i.converted_at.is_some();
        mqls += 1.0;
        converted += f64::from(u8::from(sql));
        for signal in truth.signals.keys() {
            let c = counts
                .entry((*signal, i.shown.contains(signal)))
                .or_default();
            c.0 += 1.0;
            c.1 += f64::from(u8::from(sql));
        }
        assert_eq!(i.probability, Some(truth.probability(&i.shown)));
    }
    let share = mqls / 30_000.0;
    let expected = (1.0 - truth.bot_share) * truth.mql_share;
    assert!(
        (share - expected).abs() < 0.01,
        "MQL share {share} vs {expected}"
    );
    assert!(
        (converted / mqls - overall).abs() < 0.015,
        "{} vs {overall}",
        converted / mqls
    );
    for ((signal, showed), (n, k)) in counts {
        let exact = truth.conversion_rate(signal, showed);
        let se = (exact * (1.0 - exact) / n).sqrt();
        assert!(
            (k / n - exact).abs() < 4.0 * se + 1e-9,
            "{signal} showed={showed}: drawn {} of {n}, exact {exact}",
            k / n
        );
    }
}

#[test]
fn arrivals_follow_the_seasonality() {
    let sim = simulate(&config(24_000, 5));
    let mut per_month = [0usize; 12];
    for lead in sim.leads() {
        let arrival = lead
            .history
            .events
            .iter()
            .filter(|e| e.identity.email.is_some())
            .map(|e| e.occurred_at)
            .min();
        if let Some(a) = arrival {
            let m = ((a.millis() - START) / MONTH_MS).clamp(0, 11) as usize;
            per_month[m] += 1;
        }
    }
    // Weight 1 + 0.3 cos(2 pi m / 12): month 0 is the peak, month 6 the trough.
    assert!(
        per_month[0] as f64 > 1.6 * per_month[6] as f64,
        "{per_month:?}"
    );
}
