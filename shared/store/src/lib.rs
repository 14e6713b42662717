//! The lead store: every accepted event kept once, and each lead folded from them.
//!
//! One trait, [`LeadStore`], with two implementations that pass one conformance suite:
//! [`Dynamo`] (DynamoDB, deployed) and [`Embedded`] (redb, local). Both keep the same records
//! (`records.rs`, ARCHITECTURE.md "Store") and run the same logic (`engine.rs`): append the
//! event to the ledger (its id is the key: exact deduplication), read the lead's snapshot and
//! the entries after it, fold them with the pure scoring core, publish what changed.
//!
//! Features: `dynamo` and `embedded` build each backend (a Lambda function builds DynamoDB
//! only); `aws` the shared AWS client configuration ([`aws`]), `aws-profile` AWS's full
//! credential chain in it (the command line).

// Without a backend, only the trait and the records remain: the backends' shared helpers
// are unused by design.
#![cfg_attr(not(any(feature = "dynamo", feature = "embedded")), allow(dead_code))]

#[cfg(feature = "aws")]
pub mod aws;
mod batch;
mod cursor;
pub mod deadline;
mod delivery;
#[cfg(feature = "dynamo")]
mod dynamo;
#[cfg(feature = "embedded")]
mod embedded;
mod engine;
mod fold_cache;
mod handoff;
mod listing;
mod migrate;
mod record;
mod records;
mod retention;
mod settle;
mod stitch;
#[cfg(feature = "dynamo")]
pub mod stream;

pub use delivery::{Delivery, DeliveryCheck};
#[cfg(feature = "dynamo")]
pub use dynamo::{Dynamo, DynamoConfig, Usage, STAGE_INDEX, TABLE_DEFINITION_JSON};
#[cfg(feature = "embedded")]
pub use embedded::Embedded;
pub use engine::Upkeep;
pub use migrate::Migration;
pub use record::{Completion, ReadBudget, Reading, Record, ScanProgress};
pub use retention::{parse_retention, retention_from_env, MIN_RETENTION_DAYS, RETENTION_VAR};

use async_trait::async_trait;
use leadscore_scoring::{
    AnonymousId, Email, Event, InvalidTransition, LeadId, LeadState, Rules, Stage, Timestamp,
    Transition,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// The system clock as the scoring core reads time (the core itself has none): the one
/// place every binary reads it.
pub fn system_now() -> Timestamp {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    Timestamp::from_millis(ms)
}

/// How a caller names a lead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeadKey {
    Id(LeadId),
    Email(Email),
    Anonymous(AnonymousId),
}

/// A lead as read: its state, and how many events it holds (a version for caches).
#[derive(Debug, Clone, PartialEq)]
pub struct StoredLead {
    pub state: LeadState,
    pub version: u64,
}

/// What applying one event did.
#[derive(Debug, Clone, PartialEq)]
pub struct Applied {
    pub lead_id: LeadId,
    /// The event id had already been applied to this lead: nothing changed.
    pub duplicate: bool,
    /// The event belongs to a person erased after it happened: dropped, nothing kept.
    pub dropped: bool,
    /// Moves the event added to the lead's history.
    pub transitions: Vec<Transition>,
    /// The lead after the event (not read back for duplicates and dropped events).
    pub state: Option<LeadState>,
}

impl Applied {
    fn duplicate(lead_id: LeadId) -> Self {
        Applied {
            lead_id,
            duplicate: true,
            dropped: false,
            transitions: Vec::new(),
            state: None,
        }
    }

    fn dropped(lead_id: LeadId) -> Self {
        Applied {
            dropped: true,
            duplicate: false,
            ..Applied::duplicate(lead_id)
        }
    }
}

/// One page of a stage listing, in the order the moves were recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    pub leads: Vec<StoredLead>,
    /// Opaque; `None` when there is nothing more.
    pub next: Option<String>,
}

/// What an erasure did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Erasure {
    /// No such lead.
    Unknown,
    /// Everything is gone.
    Done,
    /// Begun (the lead already reads as absent); call again to finish.
    InProgress,
}

/// The largest page a listing returns.
pub const MAX_PAGE: u32 = 100;

/// What the hand-off has told the world about one lead (owned by leadscore-handoff as JSON
/// bytes; the store does not read `body`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HandoffRecord {
    /// Compare-and-set version: 0 when absent; each successful put stores expected+1.
    pub version: u64,
    pub body: Vec<u8>,
    /// Index memberships, e.g. "segment:nurture", "domain:acme.com": the backend keeps one
    /// index entry per name so that `members` lists the lead under each. At most 90 (the
    /// entries are written in one DynamoDB transaction); a name is 1..=200 bytes without
    /// control characters.
    pub memberships: BTreeSet<String>,
    /// One JSON document stored with every index entry of this lead, so that the account
    /// aggregation reads it without loading the lead.
    pub summary: Vec<u8>,
    /// Not stored: the erasure marker's time when the lead was read (`None`: there was
    /// none). The put is refused if the marker is not that one any more, so an erasure
    /// begun since always wins, and a person who came back after an erasure (a new lead under
    /// the same id, the marker older than it) is still handed off.
    pub erased_seen: Option<Timestamp>,
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// The backend cannot be reached or is throttling: retry later (HTTP 503).
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// A sales action the lead's stage does not allow (HTTP 409).
    #[error(transparent)]
    InvalidTransition(#[from] InvalidTransition),
    /// The lead named by a sales action or lookup does not exist (HTTP 404).
    #[error("lead not found")]
    NotFound,
    /// A cursor that this store did not issue (HTTP 400).
    #[error("invalid cursor")]
    InvalidCursor,
    /// A page size outside 1..=MAX_PAGE (HTTP 400).
    #[error("limit must be between 1 and {MAX_PAGE} (got {0})")]
    InvalidLimit(u32),
    /// Too many concurrent writers kept winning the snapshot race.
    #[error("too much contention on one lead; retry")]
    Contention,
    /// Stored data this version cannot read, or any other internal failure (HTTP 500).
    #[error("internal storage error: {0}")]
    Internal(String),
}

#[async_trait]
pub trait LeadStore: Send + Sync {
    /// Records `event` in the lead's ledger (once: by event id) and folds it into the lead.
    async fn apply(
        &self,
        event: &Event,
        rules: &Rules,
        now: Timestamp,
    ) -> Result<Applied, StoreError>;

    /// Applies a provider's batch: grouped by lead, each lead's events appended, then read
    /// back, folded and published once; leads in parallel. One result per event, in order.
    async fn apply_batch(
        &self,
        events: &[Event],
        rules: &Rules,
        now: Timestamp,
    ) -> Vec<Result<Applied, StoreError>> {
        let mut out = Vec::with_capacity(events.len());
        for event in events {
            out.push(self.apply(event, rules, now).await);
        }
        out
    }

    /// Looks a lead up by id, email or anonymous id, folded under `rules`.
    async fn get(
        &self,
        key: &LeadKey,
        rules: &Rules,
        now: Timestamp,
    ) -> Result<Option<StoredLead>, StoreError>;

    /// Leads in `stage` whose move there was recorded at or after `changed_since`, in the
    /// order the moves were recorded.
    async fn list_by_stage(
        &self,
        stage: Stage,
        changed_since: Option<Timestamp>,
        limit: u32,
        cursor: Option<&str>,
        rules: &Rules,
        now: Timestamp,
    ) -> Result<Page, StoreError>;

    /// Every event applied to the lead (its stitched visitors' included), in arrival order.
    async fn ledger(&self, id: &LeadId) -> Result<Vec<Event>, StoreError>;

    /// Erases everything about the lead and its stitched visitors, and remembers (by lead id
    /// and time only) that it was erased, so that redeliveries do not bring it back.
    async fn erase(
        &self,
        key: &LeadKey,
        now: Timestamp,
        budget: std::time::Duration,
    ) -> Result<Erasure, StoreError>;

    /// Upkeep off the event path for one id (the ledger worker, fed by the table's stream):
    /// finishes an erasure begun and not done (within `budget`; `Erasing` if time ran out),
    /// else writes the snapshot the lead's tail is due for. Idempotent; never begins an
    /// erasure.
    async fn tend(
        &self,
        id: &LeadId,
        rules: &Rules,
        now: Timestamp,
        budget: std::time::Duration,
    ) -> Result<Upkeep, StoreError>;

    /// Every record an analysis reads (`record.rs`), within `budget` (`GET /insights`).
    /// Call within a Tokio runtime.
    fn read_records(&self, budget: ReadBudget) -> Reading;

    /// What is known at `now` of a signed token (`delivery.rs`): asked before a request's
    /// events are applied.
    async fn check_delivery(
        &self,
        delivery: &Delivery,
        now: Timestamp,
    ) -> Result<DeliveryCheck, StoreError>;

    /// Remembers the token with its body until it expires, unless it is remembered with
    /// another body (`Conflict`, nothing written): called once the events are committed.
    async fn record_delivery(
        &self,
        delivery: &Delivery,
        now: Timestamp,
    ) -> Result<DeliveryCheck, StoreError>;

    /// The lead's hand-off record (`None`: nothing handed off yet, or erased since).
    async fn handoff(&self, id: &LeadId) -> Result<Option<HandoffRecord>, StoreError>;

    /// Writes `record` if the stored version is still `record.version` (0: absent), storing
    /// version+1, and replaces the lead's index entries by `record.memberships`. false: another
    /// writer got there first (read again). Refused (false) once the lead is erased, so that
    /// a late hand-off never re-lists an erased person.
    async fn put_handoff(&self, id: &LeadId, record: &HandoffRecord) -> Result<bool, StoreError>;

    /// Members of an index, ordered by lead id, `limit` 1..=MAX_PAGE, opaque cursor:
    /// (lead id, summary bytes) pairs and the next cursor. On DynamoDB the index is a GSI,
    /// so a put is seen after a short delay (eventually consistent).
    async fn members(
        &self,
        index: &str,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<(Vec<(LeadId, Vec<u8>)>, Option<String>), StoreError>;

    /// Account items (not a lead's: written only off the ingest path, so not erased with a
    /// lead; the daily run rewrites or deletes them).
    async fn put_account(&self, domain: &str, score: i64, body: &[u8]) -> Result<(), StoreError>;

    async fn delete_account(&self, domain: &str) -> Result<(), StoreError>;

    async fn account(&self, domain: &str) -> Result<Option<Vec<u8>>, StoreError>;

    /// Accounts by score, highest first (ties by domain), cursor paged. Eventually
    /// consistent on DynamoDB, like `members`.
    async fn accounts_by_score(
        &self,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<(Vec<(String, Vec<u8>)>, Option<String>), StoreError>;

    /// When the lead was erased (its marker), if it was: the hand-off tells receivers.
    async fn erased_at(&self, id: &LeadId) -> Result<Option<Timestamp>, StoreError>;
}

#[derive(Debug)]
pub(crate) enum CommitError {
    /// Another writer got there first: read again and retry.
    Conflict,
    Store(StoreError),
}

impl From<StoreError> for CommitError {
    fn from(e: StoreError) -> Self {
        CommitError::Store(e)
    }
}

pub(crate) fn key_id(key: &LeadKey) -> LeadId {
    match key {
        LeadKey::Id(id) => id.clone(),
        LeadKey::Email(e) => LeadId::for_email(e),
        LeadKey::Anonymous(a) => LeadId::for_visitor(a),
    }
}

pub(crate) fn check_limit(limit: u32) -> Result<(), StoreError> {
    if limit == 0 || limit > MAX_PAGE {
        return Err(StoreError::InvalidLimit(limit));
    }
    Ok(())
}

/// FNV-1a: a cheap digest (a retry's jitter seed, a stored snapshot's header), not a
/// security or deduplication device.
pub(crate) fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ *b as u64).wrapping_mul(0x100_0000_01b3)
    })
}

pub(crate) fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(value).map_err(|e| StoreError::Internal(e.to_string()))
}

pub(crate) fn decode<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes)
        .map_err(|e| StoreError::Internal(format!("unreadable record: {e}")))
}

/// Both backends answer the trait with the shared logic over their primitives.
#[cfg(any(feature = "dynamo", feature = "embedded"))]
macro_rules! lead_store {
    ($backend:ty) => {
        #[async_trait]
        impl LeadStore for $backend {
            async fn apply(
                &self,
                event: &Event,
                rules: &Rules,
                now: Timestamp,
            ) -> Result<Applied, StoreError> {
                engine::apply_with(self, event, rules, now).await
            }

            async fn apply_batch(
                &self,
                events: &[Event],
                rules: &Rules,
                now: Timestamp,
            ) -> Vec<Result<Applied, StoreError>> {
                batch::apply_batch_with(self, events, rules, now).await
            }

            async fn get(
                &self,
                key: &LeadKey,
                rules: &Rules,
                now: Timestamp,
            ) -> Result<Option<StoredLead>, StoreError> {
                engine::get_with(self, &key_id(key), rules, now).await
            }

            async fn list_by_stage(
                &self,
                stage: Stage,
                changed_since: Option<Timestamp>,
                limit: u32,
                cursor: Option<&str>,
                rules: &Rules,
                now: Timestamp,
            ) -> Result<Page, StoreError> {
                listing::list_with(self, stage, changed_since, limit, cursor, rules, now).await
            }

            async fn ledger(&self, id: &LeadId) -> Result<Vec<Event>, StoreError> {
                listing::ledger_with(self, id).await
            }

            async fn erase(
                &self,
                key: &LeadKey,
                now: Timestamp,
                budget: std::time::Duration,
            ) -> Result<Erasure, StoreError> {
                listing::erase_with(self, key, now, budget, true).await
            }

            async fn tend(
                &self,
                id: &LeadId,
                rules: &Rules,
                now: Timestamp,
                budget: std::time::Duration,
            ) -> Result<Upkeep, StoreError> {
                engine::tend_with(self, id, rules, now, budget).await
            }

            fn read_records(&self, budget: ReadBudget) -> Reading {
                self.read_within(budget)
            }

            async fn check_delivery(
                &self,
                delivery: &Delivery,
                now: Timestamp,
            ) -> Result<DeliveryCheck, StoreError> {
                self.delivery(delivery, now, false).await
            }

            async fn record_delivery(
                &self,
                delivery: &Delivery,
                now: Timestamp,
            ) -> Result<DeliveryCheck, StoreError> {
                self.delivery(delivery, now, true).await
            }

            async fn handoff(&self, id: &LeadId) -> Result<Option<HandoffRecord>, StoreError> {
                handoff::Handoffs::read_handoff(self, id).await
            }

            async fn put_handoff(
                &self,
                id: &LeadId,
                record: &HandoffRecord,
            ) -> Result<bool, StoreError> {
                handoff::put_handoff_with(self, id, record).await
            }

            async fn members(
                &self,
                index: &str,
                cursor: Option<&str>,
                limit: u32,
            ) -> Result<(Vec<(LeadId, Vec<u8>)>, Option<String>), StoreError> {
                handoff::members_with(self, index, cursor, limit).await
            }

            async fn put_account(
                &self,
                domain: &str,
                score: i64,
                body: &[u8],
            ) -> Result<(), StoreError> {
                handoff::put_account_with(self, domain, score, body).await
            }

            async fn delete_account(&self, domain: &str) -> Result<(), StoreError> {
                handoff::check_name("domain", domain)?;
                handoff::Handoffs::remove_account(self, domain).await
            }

            async fn account(&self, domain: &str) -> Result<Option<Vec<u8>>, StoreError> {
                handoff::check_name("domain", domain)?;
                handoff::Handoffs::read_account(self, domain).await
            }

            async fn accounts_by_score(
                &self,
                cursor: Option<&str>,
                limit: u32,
            ) -> Result<(Vec<(String, Vec<u8>)>, Option<String>), StoreError> {
                handoff::accounts_with(self, cursor, limit).await
            }

            async fn erased_at(&self, id: &LeadId) -> Result<Option<Timestamp>, StoreError> {
                handoff::Handoffs::erasure_time(self, id).await
            }
        }
    };
}

#[cfg(feature = "embedded")]
lead_store!(Embedded);
#[cfg(feature = "dynamo")]
lead_store!(Dynamo);
