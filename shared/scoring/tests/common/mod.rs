//! Small builders for scoring tests.
#![allow(dead_code)]

use leadscore_scoring::*;

pub const DAY: i64 = MILLIS_PER_DAY;
pub const HOUR: i64 = 3_600_000;
/// 2026-11-01T00:00:00Z
pub const T0: i64 = 1_761_955_200_000;

pub fn t(ms_after_t0: i64) -> Timestamp {
    Timestamp::from_millis(T0 + ms_after_t0)
}

pub fn ada() -> Identity {
    Identity::new(Some(Email::parse("ada@acme.io").unwrap()), None).unwrap()
}

pub fn visitor(anon: &str) -> Identity {
    Identity::new(None, Some(AnonymousId::parse(anon).unwrap())).unwrap()
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

/// Applies events in order with `now` = each event's time; panics on an invalid transition.
pub fn run(rules: &Rules, events: &[Event]) -> LeadState {
    let mut state = LeadState::for_event(&events[0]);
    for e in events {
        state = apply(&state, e, rules, e.occurred_at).unwrap().state;
    }
    state
}

pub fn defaults() -> Rules {
    Rules::default_rules()
}
