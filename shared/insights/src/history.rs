//! One lead's history: what every analysis reads.

use leadscore_scoring::{rebuild, Event, Identity, LeadId, LeadState, Rules, Timestamp};

/// Everything one lead did: the events of its ledger and of the visitors stitched into it,
/// in any order (the fold sorts them by event time, ties by id, as the store does).
#[derive(Debug, Clone, PartialEq)]
pub struct History {
    pub lead: LeadId,
    pub events: Vec<Event>,
}

impl History {
    /// The lead as its events up to `as_of` make it under `rules`, as of `as_of`: events
    /// dated after `as_of` are left out, so an analysis "as of" a past date sees only what was
    /// known by then (event time; arrival time is not in a history). `None` for a history
    /// without events by then.
    pub fn fold(&self, rules: &Rules, as_of: Timestamp) -> Option<LeadState> {
        // Most histories end before `as_of`: they are folded without a copy.
        let kept: Vec<Event>;
        let events: &[Event] = if self.events.iter().all(|e| e.occurred_at <= as_of) {
            &self.events
        } else {
            kept = self.events_until(as_of).cloned().collect();
            &kept
        };
        let first = events.iter().map(|e| e.occurred_at).min()?;
        // The lead's identity is its first email (a stitched visitor's events carry none).
        let email = events
            .iter()
            .filter(|e| e.identity.email.is_some())
            .min_by_key(|e| (e.occurred_at, e.id.clone()))
            .and_then(|e| e.identity.email.clone());
        let mut like = LeadState::new(
            &Identity {
                email,
                anonymous_id: None,
            },
            first,
        );
        like.id = self.lead.clone();
        Some(rebuild(&like, events, rules, as_of))
    }

    /// The events dated at or before `as_of`, in the history's order.
    pub fn events_until(&self, as_of: Timestamp) -> impl Iterator<Item = &Event> {
        self.events.iter().filter(move |e| e.occurred_at <= as_of)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use leadscore_scoring::{Email, EventId, Signal, Stage};

    fn event(id: &str, signal: Signal, ms: i64) -> Event {
        let email = Email::parse("ada@acme.io").ok();
        Event::new(
            EventId::parse(id).unwrap(),
            signal,
            Timestamp::from_millis(ms),
            Identity::new(email, None).unwrap(),
        )
    }

    #[test]
    fn fold_sees_only_events_up_to_as_of() {
        let ada = Email::parse("ada@acme.io").unwrap();
        let h = History {
            lead: LeadId::for_email(&ada),
            events: vec![
                event("b", Signal::DemoRequested, 2_000),
                event("a", Signal::FormSubmitted, 1_000),
            ],
        };
        let rules = Rules::default_rules();
        let before = h.fold(&rules, Timestamp::from_millis(1_500)).unwrap();
        assert_eq!(before.stage, Stage::Lead);
        let after = h.fold(&rules, Timestamp::from_millis(2_000)).unwrap();
        assert_eq!(after.stage, Stage::Sql);
        assert_eq!(after.id, h.lead);
        assert!(h.fold(&rules, Timestamp::from_millis(999)).is_none());
    }
}
