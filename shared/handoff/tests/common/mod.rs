//! Leads built the real way: events folded by leadscore-scoring.
#![allow(dead_code)]

use leadscore_handoff::*;
use leadscore_scoring::*;

pub const MINUTE: i64 = 60_000;
pub const HOUR: i64 = 3_600_000;
pub const DAY: i64 = MILLIS_PER_DAY;
/// 2025-11-01T00:00:00Z
pub const T0: i64 = 1_761_955_200_000;
pub const BASE_URL: &str = "https://api.example.com/";

pub fn t(ms_after_t0: i64) -> Timestamp {
    Timestamp::from_millis(T0 + ms_after_t0)
}

pub fn person(email: &str) -> Identity {
    Identity::new(Some(Email::parse(email).unwrap()), None).unwrap()
}

pub fn ada() -> Identity {
    person("ada@acme.com")
}

pub fn event(id: &str, signal: Signal, at: Timestamp) -> Event {
    Event::new(EventId::parse(id).unwrap(), signal, at, ada())
}

pub fn sales(id: &str, signal: Signal, at: Timestamp, reason: Option<&str>) -> Event {
    let mut e = event(id, signal, at);
    e.attributes.actor = Some("rep@crm".to_string());
    e.attributes.reason = reason.map(str::to_string);
    e
}

pub fn titled(mut e: Event, job_title: &str) -> Event {
    e.profile.job_title = Some(job_title.to_string());
    e
}

/// Folds the events onto `state` as the store does, each recorded when it occurred.
pub fn fold_onto(mut state: LeadState, rules: &Rules, events: &[Event]) -> LeadState {
    for e in events {
        state = fold_event(state, e, rules, e.occurred_at);
    }
    state
}

pub fn fold(rules: &Rules, events: &[Event]) -> LeadState {
    fold_onto(LeadState::for_event(&events[0]), rules, events)
}

/// Identified (visitor -> lead) by a form.
pub fn identified() -> Vec<Event> {
    vec![event("form-1", Signal::FormSubmitted, t(0))]
}

/// Enough engagement for an MQL (content group capped at 50 = the MQL threshold).
pub fn engaged() -> Vec<Event> {
    let mut events = vec![event("news-1", Signal::NewsletterSubscribed, t(MINUTE))];
    for i in 0..4 {
        events.push(event(
            &format!("dl-{i}"),
            Signal::ContentDownloaded,
            t((2 + i) * MINUTE),
        ));
    }
    events.push(event("form-2", Signal::FormSubmitted, t(7 * MINUTE)));
    events
}

pub fn demo() -> Vec<Event> {
    vec![event("demo-1", Signal::DemoRequested, t(HOUR))]
}

/// A configuration without segments (only the moves are notified).
pub fn no_segments() -> HandoffConfig {
    HandoffConfig::from_rules_toml("version = 1\n").unwrap()
}

pub fn step(
    prev: Option<&Remembered>,
    lead: &LeadState,
    config: &HandoffConfig,
    now: Timestamp,
) -> Step {
    hand_off(
        &lead.id,
        prev,
        Some(lead),
        None,
        &Rules::default_rules(),
        config,
        now,
        BASE_URL,
    )
}

pub fn kinds(step: &Step) -> Vec<(Kind, String)> {
    step.notifications
        .iter()
        .map(|n| {
            let what = match n.kind {
                Kind::StageChanged if n.data["change"] == "pql" => "pql".to_string(),
                Kind::StageChanged => format!(
                    "{}->{}",
                    n.data["from"].as_str().unwrap(),
                    n.data["to"].as_str().unwrap()
                ),
                Kind::SegmentEntered | Kind::SegmentLeft => {
                    n.data["segment"].as_str().unwrap().to_string()
                }
                Kind::Erased => String::new(),
            };
            (n.kind, what)
        })
        .collect()
}
