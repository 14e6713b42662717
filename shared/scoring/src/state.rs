//! A lead's aggregate: everything `apply` needs to score the next event and `score` needs to
//! explain the total at any later time.

use crate::{
    AnonymousId, Bant, Email, Event, EventId, Identity, LeadId, Profile, Signal, Stage, Timestamp,
    Transition,
};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// One scored (or bot-flagged) occurrence of a signal. The score is recomputed from hits at
/// request time, which is what makes decay, expiry and explanations exact.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Hit {
    pub at: Timestamp,
    pub event: EventId,
    pub signal: Signal,
    /// Why this hit is not scored (a bot verdict), if it is not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bot: Option<String>,
    /// The email message a click or open belongs to (burst detection across deliveries).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    /// The clicked link, for clicks only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

impl Hit {
    pub fn is_bot(&self) -> bool {
        self.bot.is_some()
    }
}

/// Sales took the lead out of the funnel; automatic moves stop until sales accepts it again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Disqualification {
    pub at: Timestamp,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LeadState {
    pub id: LeadId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<Email>,
    /// Anonymous ids stitched into this lead (and the one it started as, for visitors).
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub anonymous_ids: BTreeSet<AnonymousId>,
    pub stage: Stage,
    pub stage_entered_at: Timestamp,
    #[serde(default)]
    pub stage_history: Vec<Transition>,
    /// Product-qualified: used a trial or a free version.
    #[serde(default)]
    pub pql: bool,
    #[serde(default)]
    pub profile: Profile,
    #[serde(default)]
    pub bant: Bant,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    /// Ids of events already applied (dedup memory). A set, so order of arrival is invisible.
    #[serde(default)]
    pub seen: BTreeSet<EventId>,
    /// Every signal occurrence, sorted by (time, event id).
    #[serde(default)]
    pub hits: Vec<Hit>,
    /// After a recycle, automatic qualification only counts behaviour newer than this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requalify_after: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disqualified: Option<Disqualification>,
    /// The (time, event) of the profile answers in force: older events only fill gaps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile_as_of: Option<(Timestamp, EventId)>,
    /// The events sharing the latest timestamp and the funnel from before them, so that a tie
    /// is re-applied in event-id order whatever order it arrived in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest: Option<LatestGroup>,
}

/// The part of a lead that events move, as opposed to what they accumulate (hits, ids).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Funnel {
    pub stage: Stage,
    pub stage_entered_at: Timestamp,
    #[serde(default)]
    pub stage_history: Vec<Transition>,
    #[serde(default)]
    pub pql: bool,
    #[serde(default)]
    pub profile: Profile,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile_as_of: Option<(Timestamp, EventId)>,
    #[serde(default)]
    pub bant: Bant,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requalify_after: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disqualified: Option<Disqualification>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LatestGroup {
    pub at: Timestamp,
    pub base: Funnel,
    pub events: Vec<Event>,
}

impl LeadState {
    /// A lead never seen before, first seen at `at`. `apply` moves it to lead at once if the
    /// identity has an email.
    /// `at` is when it was first seen (the first event's time).
    pub fn new(identity: &Identity, at: Timestamp) -> Self {
        // Everyone starts anonymous; being identified is the first recorded move (to lead).
        let stage = Stage::Visitor;
        LeadState {
            id: identity.primary_lead_id(),
            email: identity.email.clone(),
            anonymous_ids: identity.anonymous_id.iter().cloned().collect(),
            stage,
            stage_entered_at: at,
            stage_history: Vec::new(),
            pql: false,
            profile: Profile::default(),
            bant: Bant::default(),
            first_seen: at,
            last_seen: at,
            seen: BTreeSet::new(),
            hits: Vec::new(),
            requalify_after: None,
            disqualified: None,
            profile_as_of: None,
            latest: None,
        }
    }

    pub(crate) fn funnel(&self) -> Funnel {
        Funnel {
            stage: self.stage,
            stage_entered_at: self.stage_entered_at,
            stage_history: self.stage_history.clone(),
            pql: self.pql,
            profile: self.profile.clone(),
            profile_as_of: self.profile_as_of.clone(),
            bant: self.bant.clone(),
            requalify_after: self.requalify_after,
            disqualified: self.disqualified.clone(),
        }
    }

    pub(crate) fn set_funnel(&mut self, f: Funnel) {
        self.stage = f.stage;
        self.stage_entered_at = f.stage_entered_at;
        self.stage_history = f.stage_history;
        self.pql = f.pql;
        self.profile = f.profile;
        self.profile_as_of = f.profile_as_of;
        self.bant = f.bant;
        self.requalify_after = f.requalify_after;
        self.disqualified = f.disqualified;
    }

    /// A fresh state for the lead an event names: the lead's own (email) id when it has one.
    pub fn for_event(event: &Event) -> Self {
        LeadState::new(&event.identity, event.occurred_at)
    }

    pub fn has_seen(&self, id: &EventId) -> bool {
        self.seen.contains(id)
    }

    /// How many times each signal occurred (bot hits excluded).
    pub fn signal_counts(&self) -> BTreeMap<Signal, u32> {
        let mut counts = BTreeMap::new();
        for hit in self.hits.iter().filter(|h| !h.is_bot()) {
            *counts.entry(hit.signal).or_insert(0) += 1;
        }
        counts
    }

    /// Stitches an anonymous visitor's history into this lead: its hits, dedup memory and
    /// anonymous ids, and its first visit. The lead's own profile answers win over the
    /// visitor's. Stages are not touched here: the next `apply` re-qualifies the lead.
    /// Absorbing the same visitor twice changes nothing.
    pub fn absorb_visitor(&mut self, visitor: &LeadState) {
        self.anonymous_ids
            .extend(visitor.anonymous_ids.iter().cloned());
        for hit in &visitor.hits {
            if !self.seen.contains(&hit.event) {
                self.hits.push(hit.clone());
            }
        }
        self.hits.sort();
        self.hits.dedup();
        self.seen.extend(visitor.seen.iter().cloned());
        let mut profile = visitor.profile.clone();
        profile.merge(&self.profile);
        self.profile = profile;
        self.first_seen = self.first_seen.min(visitor.first_seen);
        self.last_seen = self.last_seen.max(visitor.last_seen);
        // The tie snapshot predates the absorbed history: start the next group afresh.
        self.latest = None;
    }
}
