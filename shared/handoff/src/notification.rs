//! Notifications (what the world is told) and `Remembered` (what it was told already).
//!
//! Ids are deterministic: a sha256 of the lead id, the type and what the notification is
//! about, so a retry of the same hand-off (a crash before its record was written, a second
//! notifier on the same lead) produces the same ids and receivers drop the duplicates
//! (Standard Webhooks' `webhook-id`, EventBridge's detail `id`).

use leadscore_scoring::{LeadId, Timestamp, Transition};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};

/// What happened to the lead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Kind {
    /// A stage move (recycle and disqualify included), or the PQL flag turning on
    /// (`data.change = "pql"`).
    #[serde(rename = "lead.stage_changed")]
    StageChanged,
    #[serde(rename = "lead.segment_entered")]
    SegmentEntered,
    #[serde(rename = "lead.segment_left")]
    SegmentLeft,
    /// `data`: the lead id and when, nothing else (no email).
    #[serde(rename = "lead.erased")]
    Erased,
}

impl Kind {
    pub const fn as_str(self) -> &'static str {
        match self {
            Kind::StageChanged => "lead.stage_changed",
            Kind::SegmentEntered => "lead.segment_entered",
            Kind::SegmentLeft => "lead.segment_left",
            Kind::Erased => "lead.erased",
        }
    }
}

/// One notification to deliver.
#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    /// `ntf_` + 32 hex: deterministic (see the module).
    pub id: String,
    pub kind: Kind,
    pub lead: LeadId,
    /// Event time: a move's `at`, the PQL hit's time, the erasure's time, or the hand-off's
    /// `now` for segment changes. Notifications of one step are ordered by it.
    pub at: Timestamp,
    /// The wire `timestamp`: when leadscore recorded it (a move's `recorded_at`; the erasure
    /// time; the hand-off's `now` otherwise).
    pub timestamp: Timestamp,
    pub data: Value,
}

impl Notification {
    /// The wire document (EventBridge `Detail`, webhook body), Standard Webhooks' payload
    /// shape: `{"id", "type", "timestamp", "data"}`.
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "type": self.kind.as_str(),
            "timestamp": self.timestamp,
            "data": self.data,
        })
    }
}

/// `ntf_` + the first 32 hex digits of the sha256 of the parts (as one JSON array: no two
/// lists of parts give the same bytes).
pub(crate) fn notification_id(lead: &LeadId, kind: Kind, parts: &[Value]) -> String {
    let mut all = vec![json!(lead.as_str()), json!(kind.as_str())];
    all.extend(parts.iter().cloned());
    let bytes = serde_json::to_vec(&all).unwrap_or_default();
    let digest = Sha256::digest(&bytes);
    format!("ntf_{}", hex::encode(&digest[..16]))
}

/// The id of a stage move: lead, from, to, at, cause, and which occurrence of that very same
/// move it is (0 for the first: a lead cannot make one move twice in practice, but ids must
/// stay unique if it does).
pub(crate) fn move_id(lead: &LeadId, t: &Transition, occurrence: usize) -> String {
    let mut parts = vec![
        json!(t.from),
        json!(t.to),
        json!(t.at.millis()),
        json!(t.cause),
    ];
    if occurrence > 0 {
        parts.push(json!(occurrence));
    }
    notification_id(lead, Kind::StageChanged, &parts)
}

/// At most this many notified move ids are remembered per lead (the oldest recorded go first
/// and leave a watermark): a hand-off record stays a few kilobytes whatever the history.
pub const MAX_REMEMBERED_MOVES: usize = 256;

/// A move already notified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotifiedMove {
    pub id: String,
    pub recorded_at: Timestamp,
}

/// A segment the lead is in, as notified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentEntry {
    /// The hand-off's `now` when the entry was first seen.
    pub entered_at: Timestamp,
    /// The `lead.segment_entered` notification's id (the leave's id derives from it).
    pub id: String,
}

/// What the hand-off has told the world about one lead: the hand-off record's `body` (JSON).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Remembered {
    /// Moves notified, oldest recorded first, at most [`MAX_REMEMBERED_MOVES`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) moves: Vec<NotifiedMove>,
    /// Moves recorded at or before this were notified too (their ids were let go).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) moves_through: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) segments: BTreeMap<String, SegmentEntry>,
    /// The PQL flag's turning on was notified (once per lead).
    #[serde(default)]
    pub(crate) pql: bool,
    /// The lead's account (corporate domain) as last handed off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) domain: Option<String>,
    /// The erasure notified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) erased_at: Option<Timestamp>,
}

impl Remembered {
    pub fn from_json(bytes: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(bytes)
    }

    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Whether the move with this id, recorded then, was notified.
    pub fn notified(&self, id: &str, recorded_at: Timestamp) -> bool {
        self.moves_through.is_some_and(|w| recorded_at <= w)
            || self.moves.iter().any(|m| m.id == id)
    }

    /// The segments the lead is in, with their entry.
    pub fn segments(&self) -> &BTreeMap<String, SegmentEntry> {
        &self.segments
    }

    pub fn pql_notified(&self) -> bool {
        self.pql
    }

    pub fn domain(&self) -> Option<&str> {
        self.domain.as_deref()
    }

    pub fn erased_at(&self) -> Option<Timestamp> {
        self.erased_at
    }

    /// Adds notified moves, keeping at most `max` ids (the oldest recorded leave, raising the
    /// watermark to theirs).
    pub(crate) fn remember_moves(&mut self, added: Vec<NotifiedMove>, max: usize) {
        let known: BTreeSet<String> = self.moves.iter().map(|m| m.id.clone()).collect();
        self.moves
            .extend(added.into_iter().filter(|m| !known.contains(&m.id)));
        self.moves
            .sort_by(|a, b| (a.recorded_at, &a.id).cmp(&(b.recorded_at, &b.id)));
        if self.moves.len() > max {
            let gone: Vec<NotifiedMove> = self.moves.drain(..self.moves.len() - max).collect();
            let through = gone.iter().map(|m| m.recorded_at).max();
            self.moves_through = self.moves_through.max(through);
        }
    }
}
