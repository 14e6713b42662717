//! Properties of apply and score that must hold for any history (proptest).

mod common;
use common::*;
use leadscore_scoring::*;
use proptest::prelude::*;
use std::collections::BTreeMap;

/// Everything a lead does by itself (sales feedback is a person's decision, tested apart).
fn behaviour() -> impl Strategy<Value = Signal> {
    let signals: Vec<Signal> = Signal::ALL
        .iter()
        .copied()
        .filter(|s| s.kind() != SignalKind::SalesFeedback)
        .collect();
    proptest::sample::select(signals)
}

fn profile() -> impl Strategy<Value = Profile> {
    (
        proptest::option::of(proptest::sample::select(vec!["CTO", "Intern", "VP Sales"])),
        proptest::option::of(0u32..10_000),
    )
        .prop_map(|(title, size)| Profile {
            job_title: title.map(str::to_string),
            company_size: size,
            ..Profile::default()
        })
}

/// An event `minutes` after T0, possibly a click of one of two messages, with profile and
/// BANT answers.
fn arb_event(max_minutes: i64) -> impl Strategy<Value = Event> {
    (
        0u32..10_000,
        behaviour(),
        0..=max_minutes,
        profile(),
        proptest::option::of(0u64..100_000),
        proptest::option::of(prop_oneof![Just("m1"), Just("m2")]),
        any::<bool>(),
    )
        .prop_map(|(n, signal, minutes, profile, budget, message, bot)| {
            let mut e = event(&format!("e{n}"), signal, t(minutes * 60_000));
            e.profile = profile;
            e.bant.budget = budget;
            e.attributes.message_id = message.map(str::to_string);
            e.attributes.url = Some(format!("https://acme.io/{}", n % 3));
            if bot && n % 5 == 0 {
                e.bot = Some(BotVerdict {
                    is_bot: true,
                    reason: "scanner user agent".into(),
                });
            }
            e
        })
}

/// Distinct events get distinct ids (one id is one event: a second delivery is a duplicate).
fn numbered(prefix: &str, events: Vec<Event>) -> Vec<Event> {
    events
        .into_iter()
        .enumerate()
        .map(|(i, mut e)| {
            e.id = EventId::parse(&format!("{prefix}{i}")).unwrap();
            e
        })
        .collect()
}

fn history(max_minutes: i64) -> impl Strategy<Value = Vec<Event>> {
    proptest::collection::vec(arb_event(max_minutes), 1..40).prop_map(|v| numbered("h", v))
}

fn fold(rules: &Rules, events: &[Event], now: Timestamp) -> LeadState {
    let mut state = LeadState::for_event(&events[0]);
    for e in events {
        state = apply(&state, e, rules, now).unwrap().state;
    }
    state
}

/// 90 days of minutes.
const SPAN: i64 = 90 * 24 * 60;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn caps_are_never_exceeded(events in history(SPAN), later in 0i64..400) {
        let rules = defaults();
        let now = t(SPAN * 60_000 + later * DAY);
        let state = fold(&rules, &events, now);
        let b = score(&state, &rules, now);
        let mut groups: BTreeMap<String, i64> = BTreeMap::new();
        for c in &b.contributions {
            if let Some(name) = c.rule.strip_prefix("signal:") {
                let signal: Signal = name.parse().unwrap();
                if let Some(cap) = rules.signal_cap(signal) {
                    prop_assert!(c.points.abs() <= cap, "{c:?} over its cap {cap}");
                }
                let group = rules.signal_group(signal).unwrap_or("").to_string();
                *groups.entry(group).or_default() += c.points;
            } else if let Some(group) = c.rule.strip_prefix("cap:group:") {
                *groups.entry(group.to_string()).or_default() += c.points;
            }
        }
        for (group, sum) in groups {
            if let Some(cap) = rules.group_cap(&group) {
                prop_assert!(sum.abs() <= cap, "group {group}: {sum} over {cap}");
            }
        }
        prop_assert!(b.engagement <= rules.engagement_cap().unwrap());
    }

    #[test]
    fn applying_an_event_twice_changes_nothing(events in history(SPAN), pick in any::<prop::sample::Index>()) {
        let rules = defaults();
        let now = t(SPAN * 60_000);
        let state = fold(&rules, &events, now);
        let again = pick.get(&events);
        // Ids of events summarised past the lateness window are the store's to deduplicate
        // (its ledger is keyed by event id); the state answers for the ones it holds.
        prop_assume!(state.has_seen(&again.id));
        let outcome = apply(&state, again, &rules, now).unwrap();
        prop_assert!(outcome.duplicate);
        prop_assert!(outcome.transitions.is_empty());
        prop_assert_eq!(outcome.state, state);
    }

    #[test]
    fn waiting_never_raises_the_score(events in history(SPAN), a in 0i64..1_000, b in 0i64..1_000) {
        let rules = defaults();
        let last = t(SPAN * 60_000);
        let state = fold(&rules, &events, last);
        let (early, late) = (a.min(b), a.max(b));
        let before = score(&state, &rules, last.plus_millis(early * HOUR));
        let after = score(&state, &rules, last.plus_millis(late * HOUR));
        prop_assert!(after.total <= before.total, "{} then {}", before.total, after.total);
        prop_assert!(after.engagement <= before.engagement);
    }

    #[test]
    fn automatic_moves_never_go_back(events in history(SPAN)) {
        let rules = defaults();
        let now = t(SPAN * 60_000);
        let mut state = LeadState::for_event(&events[0]);
        for e in &events {
            let next = apply(&state, e, &rules, now).unwrap();
            prop_assert!(next.state.stage >= state.stage, "{} -> {}", state.stage, next.state.stage);
            for tr in &next.transitions {
                prop_assert!(tr.to > tr.from, "{tr:?}");
            }
            state = next.state;
        }
        for tr in &state.stage_history {
            let automatic = matches!(tr.cause, Cause::Rule { .. });
            prop_assert!(automatic, "{:?}", tr);
        }
    }

    #[test]
    fn contributions_sum_exactly_to_the_total(events in history(SPAN), later in 0i64..400) {
        let rules = defaults();
        let now = t(SPAN * 60_000 + later * DAY);
        let state = fold(&rules, &events, now);
        let b = score(&state, &rules, now);
        let sum: i64 = b.contributions.iter().map(|c| c.points).sum();
        prop_assert_eq!(sum, b.total);
        prop_assert_eq!(b.fit + b.engagement, b.total);
    }

    #[test]
    fn equal_timestamps_give_the_same_lead_in_any_order(
        events in proptest::collection::vec(arb_event(0), 1..12),
        earlier in proptest::collection::vec(arb_event(0), 0..4),
        seed in any::<u64>(),
    ) {
        let rules = defaults();
        let (events, earlier) = (numbered("tie", events), numbered("early", earlier));
        // Some history at T0, then a burst of events sharing one later timestamp.
        let at = t(DAY);
        let tied: Vec<Event> = events
            .into_iter()
            .map(|mut e| { e.occurred_at = at; e })
            .collect();
        let mut shuffled = tied.clone();
        // A deterministic shuffle from the seed.
        let mut x = seed | 1;
        for i in (1..shuffled.len()).rev() {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            shuffled.swap(i, (x % (i as u64 + 1)) as usize);
        }
        let one: Vec<Event> = earlier.iter().cloned().chain(tied).collect();
        let other: Vec<Event> = earlier.into_iter().chain(shuffled).collect();
        let now = t(2 * DAY);
        let a = fold(&rules, &one, now);
        let b = fold(&rules, &other, now);
        prop_assert_eq!(&a, &b);
        prop_assert_eq!(score(&a, &rules, now), score(&b, &rules, now));
    }
}

#[test]
fn a_late_event_counts_without_moving_the_stage_back() {
    let rules = defaults();
    let state = run(
        &rules,
        &[
            event("demo", Signal::DemoRequested, t(DAY)),
            event("bounce", Signal::Bounced, t(0)),
        ],
    );
    assert_eq!(state.stage, Stage::Sql);
    assert_eq!(state.first_seen, t(0));
    assert!(state.signal_counts().contains_key(&Signal::Bounced));
}

#[test]
fn burst_verdicts_do_not_depend_on_arrival_order() {
    // Clicks of one message at 0, 1.5 s and 3 s (bursts are 2 s): a chain, not one cluster.
    let rules = defaults();
    let click = |id: &str, ms: i64| {
        let mut e = event(id, Signal::EmailClicked, t(DAY).plus_millis(ms));
        e.attributes.message_id = Some("m1".into());
        e
    };
    let clicks = [click("a", 0), click("b", 1_500), click("c", 3_000)];
    let orders = [
        [0, 1, 2],
        [0, 2, 1],
        [1, 0, 2],
        [1, 2, 0],
        [2, 0, 1],
        [2, 1, 0],
    ];
    let now = t(2 * DAY);
    let folds: Vec<LeadState> = orders
        .iter()
        .map(|o| fold(&rules, &o.map(|i| clicks[i].clone()), now))
        .collect();
    for f in &folds[1..] {
        assert_eq!(f.hits, folds[0].hits);
    }
    let reasons: Vec<Option<String>> = folds[0].hits.iter().map(|h| h.bot.clone()).collect();
    assert_eq!(
        reasons,
        [2, 3, 2].map(|n| Some(format!("burst: {n} clicks of one message within 2.0 s")))
    );
}
