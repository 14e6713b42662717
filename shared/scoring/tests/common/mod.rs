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

/// One event of every kind each hour (ids and message ids as long as SendGrid's), for
/// `days`; returns the lead and the largest state seen, in bytes of its stored JSON.
pub fn every_kind_every_hour(rules: &Rules, days: i64) -> (LeadState, usize, u64) {
    let kinds: Vec<Signal> = Signal::ALL
        .iter()
        .copied()
        .filter(|s| s.kind() != SignalKind::SalesFeedback)
        .collect();
    let mut state = LeadState::for_event(&event("first", Signal::FormSubmitted, t(0)));
    let mut n: u64 = 0;
    let mut largest = 0;
    for hour in 0..(days * 24) {
        for (k, signal) in kinds.iter().enumerate() {
            n += 1;
            let at = t(hour * HOUR + k as i64 * 60_000);
            let mut e = event(&format!("sendgrid:{:022x}", n * 7919), *signal, at);
            if matches!(signal, Signal::EmailOpened | Signal::EmailClicked) {
                let message = format!("{hour:011x}.filterdrecv-5bd4.16648.5515E0B88.0");
                e.attributes.message_id = Some(message);
            }
            state = apply(&state, &e, rules, at).unwrap().state;
        }
        if hour % 6 == 0 {
            largest = largest.max(serde_json::to_vec(&state).unwrap().len());
        }
    }
    (state, largest, n)
}
