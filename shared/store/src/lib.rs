//! The lead store: atomic, durable application of events to leads.
//!
//! One trait, [`LeadStore`], with two implementations (DynamoDB and an embedded redb store)
//! that pass one conformance suite. The pure scoring crate computes; the store makes it atomic.
//! (Skeleton: the store work implements both backends.)

use async_trait::async_trait;
use leadscore_scoring::{
    AnonymousId, Email, Event, InvalidTransition, LeadId, LeadState, Rules, Stage, Timestamp,
    Transition,
};

/// How a caller names a lead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeadKey {
    Id(LeadId),
    Email(Email),
    Anonymous(AnonymousId),
}

/// A lead as stored: its aggregate and the store's version of it.
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
    pub transitions: Vec<Transition>,
    pub state: LeadState,
}

/// One page of a stage listing, oldest stage entry first.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    pub leads: Vec<StoredLead>,
    /// Opaque; `None` when there is nothing more.
    pub next: Option<String>,
}

#[derive(Debug, thiserror::Error)]
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
    /// Too many concurrent writers kept winning the version race.
    #[error("too much contention on one lead; retry")]
    Contention,
    /// Stored data this version cannot read, or any other internal failure (HTTP 500).
    #[error("internal storage error: {0}")]
    Internal(String),
}

#[async_trait]
pub trait LeadStore: Send + Sync {
    /// Records `event` in the lead's ledger and updates its aggregate, atomically and
    /// idempotently (by event id).
    async fn apply(
        &self,
        event: &Event,
        rules: &Rules,
        now: Timestamp,
    ) -> Result<Applied, StoreError>;

    /// Looks a lead up by id, email or anonymous id.
    async fn get(&self, key: &LeadKey) -> Result<Option<StoredLead>, StoreError>;

    /// Leads in `stage` that entered it at or after `changed_since`, oldest entry first.
    async fn list_by_stage(
        &self,
        stage: Stage,
        changed_since: Option<Timestamp>,
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<Page, StoreError>;

    /// Every event applied to the lead, in the order applied.
    async fn ledger(&self, id: &LeadId) -> Result<Vec<Event>, StoreError>;

    /// Erases everything about the lead: aggregate, ledger, aliases. `false` if unknown.
    async fn erase(&self, key: &LeadKey) -> Result<bool, StoreError>;
}
