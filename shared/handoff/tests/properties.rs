//! Property tests: any history of events, handed off after every arrival, notifies each move
//! exactly once, under the ids one hand-off of the final lead gives.

mod common;
use common::*;
use leadscore_handoff::*;
use leadscore_scoring::*;
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

const SIGNALS: &[Signal] = &[
    Signal::FormSubmitted,
    Signal::NewsletterSubscribed,
    Signal::ContentDownloaded,
    Signal::SiteVisit,
    Signal::SocialFollowed,
    Signal::EmailClicked,
    Signal::DemoRequested,
    Signal::FreeTrialStarted,
    Signal::Unsubscribed,
    Signal::SalesAccepted,
    Signal::SalesRejected,
    Signal::OpportunityOpened,
    Signal::DealWon,
    Signal::DealLost,
    Signal::Disqualified,
    Signal::ReviewPosted,
];

/// (signal, minutes after T0, anonymous?) per event, in arrival order.
fn history() -> impl Strategy<Value = Vec<(usize, i64, bool)>> {
    prop::collection::vec(
        (
            0..SIGNALS.len(),
            0..(20 * 24 * 60_i64),
            prop::bool::weighted(0.1),
        ),
        1..40,
    )
}

fn events(spec: &[(usize, i64, bool)]) -> Vec<Event> {
    spec.iter()
        .enumerate()
        .map(|(i, (s, minutes, anonymous))| {
            let signal = SIGNALS[*s];
            let at = t(minutes * MINUTE);
            let mut e = if signal.kind() == SignalKind::SalesFeedback {
                sales(&format!("qual:{i}"), signal, at, Some("because"))
            } else {
                event(&format!("ev-{i}"), signal, at)
            };
            if *anonymous {
                // A visitor's event absorbed by the lead: no email on it.
                e.identity =
                    Identity::new(None, Some(AnonymousId::parse("anon-1").unwrap())).unwrap();
            }
            e
        })
        .collect()
}

/// Arrival time of the i-th event: after every event time, one minute apart.
fn arrival(i: usize) -> Timestamp {
    t(21 * DAY + i as i64 * MINUTE)
}

struct Run {
    /// Every notification of every step, in order.
    sent: Vec<Notification>,
    history_only_grew: bool,
    lead: LeadState,
}

/// Folds the events one by one, handing off after each (`every`: after every `every`-th).
fn run(events: &[Event], every: usize, config: &HandoffConfig) -> Run {
    let rules = Rules::default_rules();
    let mut lead = LeadState::new(&ada(), events[0].occurred_at);
    let mut prev: Option<Remembered> = None;
    let mut sent = Vec::new();
    let mut grew = true;
    let mut notified_history: Vec<Transition> = Vec::new();
    for (i, e) in events.iter().enumerate() {
        lead = fold_event(lead, e, &rules, arrival(i));
        if (i + 1) % every != 0 && i + 1 != events.len() {
            continue;
        }
        grew &= notified_history
            .iter()
            .all(|k| lead.stage_history.iter().any(|t| t.same_move(k)));
        notified_history = lead.stage_history.clone();
        let step = hand_off(
            &lead.id,
            prev.as_ref(),
            Some(&lead),
            None,
            &rules,
            config,
            arrival(i),
            BASE_URL,
        );
        sent.extend(step.notifications);
        prev = Some(Remembered::from_json(&step.body).unwrap());
    }
    Run {
        sent,
        history_only_grew: grew,
        lead,
    }
}

fn move_ids(ns: &[Notification]) -> Vec<String> {
    ns.iter()
        .filter(|n| n.kind == Kind::StageChanged && n.data["change"] == "stage")
        .map(|n| n.id.clone())
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn every_move_is_notified_exactly_once_under_deterministic_ids(
        spec in history(),
        every in 1..5_usize,
    ) {
        let events = events(&spec);
        let config = HandoffConfig::default();
        let stepwise = run(&events, 1, &config);
        let batched = run(&events, every, &config);
        let rules = Rules::default_rules();
        let lead = &stepwise.lead;
        let once = hand_off(
            &lead.id, None, Some(lead), None, &rules, &config, arrival(events.len()), BASE_URL,
        );
        let final_ids: BTreeSet<String> = move_ids(&once.notifications).into_iter().collect();
        prop_assert_eq!(final_ids.len(), lead.stage_history.len(), "one id per move");

        for r in [&stepwise, &batched] {
            // No notification (of any kind) is ever sent twice.
            let mut count: BTreeMap<&str, usize> = BTreeMap::new();
            for n in &r.sent {
                *count.entry(n.id.as_str()).or_default() += 1;
            }
            prop_assert!(count.values().all(|c| *c == 1), "a duplicate: {:?}", count);
            // Every move of the final history was notified, under the one-shot ids.
            let sent: BTreeSet<String> = move_ids(&r.sent).into_iter().collect();
            prop_assert!(final_ids.is_subset(&sent));
            if r.history_only_grew {
                prop_assert_eq!(&sent, &final_ids);
            }
            // PQL: once, with the same id, if the lead is one.
            let pql: Vec<&Notification> =
                r.sent.iter().filter(|n| n.data["change"] == "pql").collect();
            prop_assert_eq!(pql.len(), usize::from(lead.pql));
            if let Some(p) = pql.first() {
                prop_assert!(once.notifications.iter().any(|n| n.id == p.id));
            }
        }
        // Segment notifications alternate per segment: entered, left, entered...
        let mut inside: BTreeSet<String> = BTreeSet::new();
        for n in &stepwise.sent {
            let segment = n.data["segment"].as_str().unwrap_or_default().to_string();
            match n.kind {
                Kind::SegmentEntered => prop_assert!(inside.insert(segment)),
                Kind::SegmentLeft => prop_assert!(inside.remove(&segment)),
                _ => {}
            }
        }
    }

    #[test]
    fn hand_off_is_idempotent(spec in history()) {
        let events = events(&spec);
        let rules = Rules::default_rules();
        let config = HandoffConfig::default();
        let lead = fold(&rules, &events);
        let now = arrival(events.len());
        let first = hand_off(&lead.id, None, Some(&lead), None, &rules, &config, now, BASE_URL);
        let ats: Vec<Timestamp> = first.notifications.iter().map(|n| n.at).collect();
        prop_assert!(ats.windows(2).all(|w| w[0] <= w[1]), "event-time order");
        let again = hand_off(
            &lead.id, Some(&first.remembered), Some(&lead), None, &rules, &config, now, BASE_URL,
        );
        prop_assert!(again.notifications.is_empty());
        prop_assert_eq!(again.memberships, first.memberships);
        prop_assert_eq!(again.body, first.body);
    }
}
