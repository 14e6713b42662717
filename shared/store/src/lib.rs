//! The lead store: atomic, durable application of events to leads.
//!
//! One trait, [`LeadStore`], with two implementations that pass one conformance suite:
//! [`Dynamo`] (DynamoDB, deployed) and [`Embedded`] (redb, local). The pure scoring crate
//! computes the new aggregate; the store reads, decides and commits it atomically, with an
//! optimistic version check retried on conflict, so concurrent events for one lead all land.
//!
//! Both backends keep the same logical records (see ARCHITECTURE.md, "Store"):
//! - a lead's *head*: its latest version number and aggregate, or, for an anonymous visitor
//!   stitched into a lead, an alias to that lead;
//! - its *ledger*: every accepted event, one entry per version;
//! - its *stage entry*: (stage, entered at, id), the key of the stage listing.

mod cursor;
mod dynamo;
mod embedded;

pub use dynamo::{Dynamo, DynamoConfig, Usage, STAGE_INDEX, TABLE_DEFINITION_JSON};
pub use embedded::Embedded;

use async_trait::async_trait;
use leadscore_scoring::{
    apply, AnonymousId, Email, Event, InvalidTransition, LeadId, LeadState, Rules, SignalKind,
    Stage, Timestamp, Transition,
};
use serde::{Deserialize, Serialize};
use std::time::Duration;

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

/// The largest page a listing returns.
pub const MAX_PAGE: u32 = 100;

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
    /// A page size outside 1..=MAX_PAGE (HTTP 400).
    #[error("limit must be between 1 and {MAX_PAGE} (got {0})")]
    InvalidLimit(u32),
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

    /// Every event applied to the lead (its stitched visitor history included), in the order
    /// applied.
    async fn ledger(&self, id: &LeadId) -> Result<Vec<Event>, StoreError>;

    /// Erases everything about the lead: aggregate, ledger, aliases. `false` if unknown.
    async fn erase(&self, key: &LeadKey) -> Result<bool, StoreError>;
}

// ---- shared between the backends ----

/// The latest version of a lead id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Head {
    pub version: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<LeadState>,
    /// A stitched visitor: its history now lives in this lead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alias_of: Option<LeadId>,
}

/// One ledger entry: the event, and when it was applied (orders a stitched history).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct LedgerEntry {
    pub applied_at: Timestamp,
    pub event: Event,
}

/// Where a lead sits in the stage listing.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct StageEntry {
    pub stage: Stage,
    pub entered_at: Timestamp,
    pub id: LeadId,
}

impl StageEntry {
    pub fn of(state: &LeadState) -> Self {
        StageEntry {
            stage: state.stage,
            entered_at: state.stage_entered_at,
            id: state.id.clone(),
        }
    }

    /// The sort key within a stage: entry time (zero-padded ms), then lead id.
    pub fn sort_key(&self) -> String {
        sort_key(self.entered_at, &self.id)
    }
}

pub(crate) fn sort_key(at: Timestamp, id: &LeadId) -> String {
    format!("{:020}#{}", at.millis().max(0), id)
}

/// Everything one accepted event writes, committed atomically by a backend.
#[derive(Debug, Clone)]
pub(crate) struct Commit {
    pub lead_id: LeadId,
    /// The head version this commit replaces (`None`: the lead is new).
    pub expected: Option<u64>,
    pub head: Head,
    pub ledger: Option<LedgerEntry>,
    /// The stage entry to remove and the one to add, when the stage entry changed.
    pub stage_change: Option<(Option<StageEntry>, StageEntry)>,
    pub stitch: Option<Stitch>,
}

/// An anonymous id the lead now answers for: the visitor's id becomes an alias to the lead
/// (its head replaced if the visitor was known, created otherwise) and its stage entry goes.
#[derive(Debug, Clone)]
pub(crate) struct Stitch {
    pub visitor_id: LeadId,
    pub expected: Option<u64>,
    pub alias: Head,
    pub old_entry: Option<StageEntry>,
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

/// The few primitives the shared `apply` needs from a backend.
#[async_trait]
pub(crate) trait Backend: Send + Sync {
    async fn head(&self, id: &LeadId) -> Result<Option<Head>, StoreError>;
    async fn commit(&self, commit: Commit) -> Result<(), CommitError>;
}

/// Reads the head of `id`, following a stitched visitor's alias to its lead.
pub(crate) async fn resolve<B: Backend + ?Sized>(
    backend: &B,
    id: &LeadId,
) -> Result<Option<(LeadId, Head)>, StoreError> {
    match backend.head(id).await? {
        Some(Head {
            alias_of: Some(to), ..
        }) => Ok(backend.head(&to).await?.map(|h| (to, h))),
        Some(h) => Ok(Some((id.clone(), h))),
        None => Ok(None),
    }
}

pub(crate) fn key_id(key: &LeadKey) -> LeadId {
    match key {
        LeadKey::Id(id) => id.clone(),
        LeadKey::Email(e) => LeadId::for_email(e),
        LeadKey::Anonymous(a) => LeadId::for_visitor(a),
    }
}

pub(crate) fn stored(head: Head) -> Option<StoredLead> {
    let version = head.version;
    head.state.map(|state| StoredLead { state, version })
}

/// How many times a writer re-reads and retries after losing the version race. Generous:
/// 64 concurrent writers on one lead must all land.
const MAX_ATTEMPTS: u32 = 200;

/// The shared apply: read, let the scoring core decide, commit with a version condition,
/// retry on conflict.
pub(crate) async fn apply_with<B: Backend + ?Sized>(
    backend: &B,
    event: &Event,
    rules: &Rules,
    now: Timestamp,
) -> Result<Applied, StoreError> {
    let mut jitter = Jitter::new(event);
    for _ in 0..MAX_ATTEMPTS {
        let commit = match plan(backend, event, rules, now).await? {
            Planned::Duplicate(applied) => return Ok(*applied),
            Planned::Commit(planned) => *planned,
        };
        match backend.commit(commit.0).await {
            Ok(()) => return Ok(commit.1),
            Err(CommitError::Conflict) => tokio::time::sleep(jitter.next()).await,
            Err(CommitError::Store(e)) => return Err(e),
        }
    }
    Err(StoreError::Contention)
}

enum Planned {
    Duplicate(Box<Applied>),
    Commit(Box<(Commit, Applied)>),
}

async fn plan<B: Backend + ?Sized>(
    backend: &B,
    event: &Event,
    rules: &Rules,
    now: Timestamp,
) -> Result<Planned, StoreError> {
    let target = event.identity.primary_lead_id();
    let found = resolve(backend, &target).await?;
    let (lead_id, head) = match found {
        Some((id, head)) => (id, Some(head)),
        None => (target, None),
    };
    let current = head.as_ref().and_then(|h| h.state.clone());
    if current.is_none() && event.signal.kind() == SignalKind::SalesFeedback {
        // Sales act on leads they know; an unknown lead is not created by feedback.
        return Err(StoreError::NotFound);
    }

    // Stitching: the first event naming both an email and an anonymous id this lead has not
    // answered for yet. A known visitor's history is absorbed; either way the anonymous id
    // becomes an alias of the lead, so later anonymous events land on it.
    let mut stitch_from: Option<(LeadId, Option<u64>, Option<LeadState>)> = None;
    if let (Some(_), Some(anon)) = (&event.identity.email, &event.identity.anonymous_id) {
        let visitor_id = LeadId::for_visitor(anon);
        let known = current
            .as_ref()
            .is_some_and(|s| s.anonymous_ids.contains(anon));
        if visitor_id != lead_id && !known {
            match backend.head(&visitor_id).await? {
                None => stitch_from = Some((visitor_id, None, None)),
                Some(h) => {
                    // An alias means the visitor already belongs to another lead: two
                    // identified leads are never merged automatically.
                    if let Some(state) = h.state {
                        stitch_from = Some((visitor_id, Some(h.version), Some(state)));
                    }
                }
            }
        }
    }

    let mut state = current
        .clone()
        .unwrap_or_else(|| LeadState::for_event(event));
    if let Some((_, _, Some(visitor))) = &stitch_from {
        state.absorb_visitor(visitor);
    }
    let outcome = apply(&state, event, rules, now)?;
    if outcome.duplicate && stitch_from.is_none() {
        return Ok(Planned::Duplicate(Box::new(Applied {
            lead_id,
            duplicate: true,
            transitions: Vec::new(),
            state: outcome.state,
        })));
    }

    let old_entry = current.as_ref().map(StageEntry::of);
    let new_entry = StageEntry::of(&outcome.state);
    let stage_change = (old_entry.as_ref() != Some(&new_entry)).then_some((old_entry, new_entry));
    let version = head.as_ref().map_or(1, |h| h.version + 1);
    let commit = Commit {
        lead_id: lead_id.clone(),
        expected: head.as_ref().map(|h| h.version),
        head: Head {
            version,
            state: Some(outcome.state.clone()),
            alias_of: None,
        },
        ledger: (!outcome.duplicate).then(|| LedgerEntry {
            applied_at: now,
            event: event.clone(),
        }),
        stage_change,
        stitch: stitch_from.map(|(visitor_id, expected, visitor)| Stitch {
            old_entry: visitor.as_ref().map(StageEntry::of),
            alias: Head {
                version: expected.map_or(1, |v| v + 1),
                state: None,
                alias_of: Some(lead_id.clone()),
            },
            visitor_id,
            expected,
        }),
    };
    let applied = Applied {
        lead_id,
        duplicate: outcome.duplicate,
        transitions: outcome.transitions,
        state: outcome.state,
    };
    Ok(Planned::Commit(Box::new((commit, applied))))
}

pub(crate) fn check_limit(limit: u32) -> Result<(), StoreError> {
    if limit == 0 || limit > MAX_PAGE {
        return Err(StoreError::InvalidLimit(limit));
    }
    Ok(())
}

/// Ids whose ledgers make up a lead's history: its own and its stitched visitors'.
pub(crate) fn history_ids(state: &LeadState) -> Vec<LeadId> {
    let mut ids = vec![state.id.clone()];
    for anon in &state.anonymous_ids {
        let vid = LeadId::for_visitor(anon);
        if vid != state.id {
            ids.push(vid);
        }
    }
    ids
}

pub(crate) fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(value).map_err(|e| StoreError::Internal(e.to_string()))
}

pub(crate) fn decode<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes)
        .map_err(|e| StoreError::Internal(format!("unreadable record: {e}")))
}

/// Randomised, growing back-off between retries, so racing writers spread out.
struct Jitter(u64, u32);

impl Jitter {
    fn new(event: &Event) -> Self {
        let mut seed = 0xcbf2_9ce4_8422_2325u64;
        for b in event.id.as_str().bytes() {
            seed = (seed ^ b as u64).wrapping_mul(0x100_0000_01b3);
        }
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos() as u64)
            .unwrap_or(0);
        Jitter(seed ^ nanos | 1, 0)
    }

    fn next(&mut self) -> Duration {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.1 = (self.1 + 1).min(6);
        let ceiling = 2u64 << self.1; // 4 ms .. 128 ms
        Duration::from_millis(1 + self.0 % ceiling)
    }
}
