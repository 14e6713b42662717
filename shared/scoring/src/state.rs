//! A lead's working state: the funnel folded from its events, and the bounded evidence that
//! `apply` re-folds when a late event arrives and `score` explains at any later time.
//!
//! The state is a function of the lead's set of events (see ARCHITECTURE.md, "Scoring
//! model"): the evidence is kept as sets (hits, facts) and the funnel is folded from them in
//! event-time order, so arrival order is invisible. What lies before the checkpoint (older
//! than the rules' lateness window) is folded for good; what is older still and can no longer
//! change a score is kept as per-signal summaries, which bounds the state.

use crate::{
    AnonymousId, Bant, BantUpdate, Email, Event, EventId, Identity, LeadId, Profile, Signal,
    SignalKind, Stage, Timestamp, Transition,
};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// One scored (or bot-flagged) occurrence of a signal. Every accepted event leaves one.
/// Stored as a short row (see `encoding.rs`): a lead holds hundreds.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Hit {
    pub at: Timestamp,
    pub event: EventId,
    pub signal: Signal,
    /// Why this hit is not scored (a bot verdict), if it is not.
    pub bot: Option<String>,
    /// The email message a click or open belongs to (burst detection across deliveries).
    pub message_id: Option<String>,
    /// Whether the frequency limit counted it, decided for good once the hit is older than
    /// the checkpoint (its neighbours may since have been summarised).
    pub counted: Option<bool>,
}

impl Hit {
    pub fn is_bot(&self) -> bool {
        self.bot.is_some()
    }
}

/// What an event tells the funnel besides its signal: profile and BANT answers, and for
/// sales feedback who decided and why. Kept only for events after the checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fact {
    pub at: Timestamp,
    pub event: EventId,
    pub signal: Signal,
    #[serde(default, skip_serializing_if = "Profile::is_empty")]
    pub profile: Profile,
    #[serde(default, skip_serializing_if = "BantUpdate::is_empty")]
    pub bant: BantUpdate,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl Fact {
    /// The fact an event carries, if it carries anything beyond its signal.
    pub fn of(event: &Event) -> Option<Fact> {
        let sales = event.signal.kind() == SignalKind::SalesFeedback;
        if event.is_bot() || (!sales && event.profile.is_empty() && event.bant.is_empty()) {
            return None;
        }
        Some(Fact {
            at: event.occurred_at,
            event: event.id.clone(),
            signal: event.signal,
            profile: event.profile.clone(),
            bant: event.bant.clone(),
            actor: sales.then(|| event.attributes.actor.clone()).flatten(),
            reason: sales.then(|| event.attributes.reason.clone()).flatten(),
        })
    }
}

/// Sales took the lead out of the funnel; automatic moves stop until sales accepts it again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Disqualification {
    pub at: Timestamp,
    pub reason: String,
}

/// A sales action that late evidence made moot: when re-folded at its own time the lead's
/// stage no longer allowed it (e.g. "accept" on a lead that a late demo request had already
/// made an SQL). It stays in the ledger and is shown, but moves nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Superseded {
    pub event: EventId,
    pub action: Signal,
    pub at: Timestamp,
    /// The stage the lead was in at that time, once everything known was folded.
    pub stage: Stage,
}

/// The part of a lead that the fold moves, as opposed to the evidence it reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Funnel {
    pub stage: Stage,
    pub stage_entered_at: Timestamp,
    #[serde(default)]
    pub stage_history: Vec<Transition>,
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
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub superseded: Vec<Superseded>,
}

impl Funnel {
    /// Everyone starts as an anonymous visitor; being identified is the first recorded move.
    pub fn start(at: Timestamp) -> Self {
        Funnel {
            stage: Stage::Visitor,
            stage_entered_at: at,
            stage_history: Vec::new(),
            profile: Profile::default(),
            profile_as_of: None,
            bant: Bant::default(),
            requalify_after: None,
            disqualified: None,
            superseded: Vec::new(),
        }
    }
}

/// The funnel as folded from every event up to and including `at` (ties by event id). Events
/// at or before it no longer re-fold: a later one older than it is folded at `at`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub at: Timestamp,
    pub funnel: Funnel,
}

/// Hits of one signal too old to matter one by one: their count, and what they still add to
/// the score (expired points add nothing; non-expiring ones keep decaying from `anchor`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Occurrences that were not bots.
    pub occurrences: u32,
    /// Counted occurrences whose points never expire.
    pub counted: u32,
    /// Sum over those of their decay factor as of `anchor` (1 each for points that never decay).
    pub weight: f64,
    pub anchor: Timestamp,
    /// The part of `counted`/`weight` newer than `qualifying_since`: it counts towards
    /// qualifying while the lead's requalification time is still that one.
    pub qualifying_count: u32,
    pub qualifying_weight: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qualifying_since: Option<Timestamp>,
    /// Counted hits whose points will still expire: only their times, oldest first, kept
    /// until they expire (so that expiry stays exact) or until younger hits alone hold the
    /// signal at its cap until then.
    #[serde(
        default,
        rename = "gaps",
        skip_serializing_if = "Vec::is_empty",
        with = "crate::encoding::gaps"
    )]
    pub pending: Vec<Timestamp>,
}

impl Summary {
    pub(crate) fn new(anchor: Timestamp, since: Option<Timestamp>) -> Self {
        Summary {
            occurrences: 0,
            counted: 0,
            weight: 0.0,
            anchor,
            qualifying_count: 0,
            qualifying_weight: 0.0,
            qualifying_since: since,
            pending: Vec::new(),
        }
    }

    /// Counted occurrences newer than `since` that still show interest (hand-raises, advocacy).
    pub(crate) fn shown_since(&self, since: Option<Timestamp>) -> usize {
        let summarised = if self.qualifying_since == since {
            self.qualifying_count as usize
        } else {
            0
        };
        summarised
            + self
                .pending
                .iter()
                .filter(|t| since.is_none_or(|s| **t > s))
                .count()
    }
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
    /// When the lead entered its stage, in event time (the event that completed the evidence).
    pub stage_entered_at: Timestamp,
    /// When that move was first recorded (arrival time): the stage listing's order.
    pub stage_recorded_at: Timestamp,
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
    /// The earliest event that carried the email address: the person is a lead from then on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identified_at: Option<Timestamp>,
    /// Hits still needed one by one, sorted by (time, event id).
    #[serde(default, rename = "window", with = "crate::encoding::hits")]
    pub hits: Vec<Hit>,
    /// Facts after the checkpoint, sorted by (time, event id).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub facts: Vec<Fact>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<Checkpoint>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub summaries: BTreeMap<Signal, Summary>,
    /// After a recycle, automatic qualification only counts behaviour newer than this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requalify_after: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disqualified: Option<Disqualification>,
    /// The (time, event) of the profile answers in force: older events only fill gaps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile_as_of: Option<(Timestamp, EventId)>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub superseded: Vec<Superseded>,
    /// Events accepted (the ledger's length), summaries included.
    #[serde(default)]
    pub events: u64,
    /// The rules the summaries and the checkpoint were computed with ([`crate::Rules::fingerprint`]):
    /// under other rules the state is rebuilt from the ledger.
    #[serde(default)]
    pub rules: String,
}

impl LeadState {
    /// A lead never seen before; `apply` dates it by its first event.
    pub fn new(identity: &Identity, at: Timestamp) -> Self {
        LeadState {
            id: identity.primary_lead_id(),
            email: identity.email.clone(),
            anonymous_ids: identity.anonymous_id.iter().cloned().collect(),
            stage: Stage::Visitor,
            stage_entered_at: at,
            stage_recorded_at: at,
            stage_history: Vec::new(),
            pql: false,
            profile: Profile::default(),
            bant: Bant::default(),
            first_seen: at,
            last_seen: at,
            identified_at: None,
            hits: Vec::new(),
            facts: Vec::new(),
            checkpoint: None,
            summaries: BTreeMap::new(),
            requalify_after: None,
            disqualified: None,
            profile_as_of: None,
            superseded: Vec::new(),
            events: 0,
            rules: String::new(),
        }
    }

    /// A fresh state for the lead an event names: the lead's own (email) id when it has one.
    pub fn for_event(event: &Event) -> Self {
        LeadState::new(&event.identity, event.occurred_at)
    }

    pub fn funnel(&self) -> Funnel {
        Funnel {
            stage: self.stage,
            stage_entered_at: self.stage_entered_at,
            stage_history: self.stage_history.clone(),
            profile: self.profile.clone(),
            profile_as_of: self.profile_as_of.clone(),
            bant: self.bant.clone(),
            requalify_after: self.requalify_after,
            disqualified: self.disqualified.clone(),
            superseded: self.superseded.clone(),
        }
    }

    pub(crate) fn set_funnel(&mut self, f: Funnel) {
        self.stage = f.stage;
        self.stage_entered_at = f.stage_entered_at;
        self.stage_history = f.stage_history;
        self.profile = f.profile;
        self.profile_as_of = f.profile_as_of;
        self.bant = f.bant;
        self.requalify_after = f.requalify_after;
        self.disqualified = f.disqualified;
        self.superseded = f.superseded;
    }

    /// Whether the event id is among the events still held one by one. Older ids are only in
    /// the ledger: the store checks there (exactly, for any age).
    pub fn has_seen(&self, id: &EventId) -> bool {
        self.hits.iter().any(|h| &h.event == id)
    }

    /// How many times each signal occurred (bot hits excluded), summaries included.
    pub fn signal_counts(&self) -> BTreeMap<Signal, u32> {
        let mut counts: BTreeMap<Signal, u32> = self
            .summaries
            .iter()
            .filter(|(_, s)| s.occurrences > 0)
            .map(|(signal, s)| (*signal, s.occurrences))
            .collect();
        for hit in self.hits.iter().filter(|h| !h.is_bot()) {
            *counts.entry(hit.signal).or_insert(0) += 1;
        }
        counts
    }

    /// The latest event time the state holds (hits, facts, checkpoint).
    pub(crate) fn latest_at(&self) -> Option<Timestamp> {
        let hits = self.hits.last().map(|h| h.at);
        let facts = self.facts.last().map(|f| f.at);
        let checkpoint = self.checkpoint.as_ref().map(|c| c.at);
        [hits, facts, checkpoint].into_iter().flatten().max()
    }
}
