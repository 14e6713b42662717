//! The records both backends keep, and how they are keyed. See ARCHITECTURE.md, "Store".
//!
//! Per lead id (a lead, or an anonymous visitor):
//! - one *ledger entry* per accepted event, keyed by event id (that key is the exact,
//!   any-age deduplication) and indexed by its *arrival key* (when it was applied);
//! - a *snapshot*: the working state folded from every entry up to its watermark (an arrival
//!   key); entries after it are the *tail*, folded on top at read time;
//! - the *stage entry* that keys the stage listing;
//! - an *alias* (a stitched visitor: its lead) and an *erasure* marker, when they apply.

use leadscore_scoring::{Event, LeadId, LeadState, Stage, Timestamp};
use serde::{Deserialize, Serialize};

/// One accepted event, as kept forever (until erasure).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct LedgerEntry {
    /// When it was applied: orders the tail and dates the moves it made known.
    pub applied_at: Timestamp,
    pub event: Event,
}

impl LedgerEntry {
    pub fn arrival_key(&self) -> String {
        arrival_key(self.applied_at, self.event.id.as_str())
    }
}

/// `<applied at, 20 digits>#<event id>`: sorts entries by arrival.
pub(crate) fn arrival_key(at: Timestamp, event_id: &str) -> String {
    format!("{:020}#{event_id}", at.millis().max(0))
}

/// The working state as of a watermark. Written with a version condition (optimistic).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Snapshot {
    pub version: u64,
    /// Every entry whose arrival key is at or below it is folded in.
    pub watermark: String,
    pub state: LeadState,
}

/// A person erased at `at`: events dated at or before it are dropped; `done` once every
/// record is gone (a half-done erasure reads as "no such lead" and can be re-run).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Erased {
    pub at: Timestamp,
    pub done: bool,
    /// The stitched visitors' ids, erased with it (their snapshot may be gone already).
    #[serde(default)]
    pub visitors: Vec<LeadId>,
}

/// What one read of a lead id returns.
#[derive(Debug, Clone, Default)]
pub(crate) struct View {
    pub erased: Option<Erased>,
    pub alias: Option<LeadId>,
    /// Shared: the embedded store hands out the snapshot it keeps decoded.
    pub snapshot: Option<std::sync::Arc<Snapshot>>,
    /// Entries after the snapshot's watermark, in arrival order.
    pub tail: Vec<LedgerEntry>,
    /// What the stage listing holds for this id now.
    pub listed: Option<Listed>,
}

/// A lead's entry in the stage listing as stored: its (stage, sort key), none once unlisted,
/// and how many events the fold that wrote it had seen.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Listed {
    pub entry: Option<(Stage, String)>,
    pub folded: u64,
}

/// Where a lead sits in the stage listing: its stage and when that was recorded.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct StageEntry {
    pub stage: Stage,
    pub recorded_at: Timestamp,
    pub id: LeadId,
}

impl StageEntry {
    pub fn of(state: &LeadState) -> Self {
        StageEntry {
            stage: state.stage,
            recorded_at: state.stage_recorded_at,
            id: state.id.clone(),
        }
    }

    /// The sort key within a stage: recorded time (zero-padded ms), then lead id.
    pub fn sort_key(&self) -> String {
        sort_key(self.recorded_at, &self.id)
    }
}

pub(crate) fn sort_key(at: Timestamp, id: &LeadId) -> String {
    format!("{:020}#{}", at.millis().max(0), id)
}

/// What a writer publishes after folding: each part only when it changed.
#[derive(Debug, Clone, Default)]
pub(crate) struct Publish {
    /// A new snapshot, written if the stored one still has version `expected` (none: absent).
    pub snapshot: Option<(Option<u64>, Snapshot)>,
    /// The lead's stage entry, written unless the lead is erased; `folded` (events in the
    /// state it came from) keeps an older view from overwriting a newer one.
    pub stage: Option<(StageEntry, u64)>,
    /// Removes the id from the listing (a visitor stitched into a lead).
    pub unlist: bool,
    /// The erasure marker's time in the view this was folded from (`None`: no marker). The
    /// write only happens if the marker is still that one: an erasure begun since refuses it.
    pub erased_seen: Option<Timestamp>,
}
