//! What both backends share: how an event is applied (append, read back, fold, publish), how
//! a lead is read, stitched and rebuilt. A backend only provides the primitives of `Backend`.
//!
//! Appending first and reading after is what keeps concurrent writers of one lead correct
//! without a lock: of two racing writers, at least the later reader sees both events, and it
//! is the one whose fold publishes what changed.

use crate::fold_cache::{Base, FoldCache};
use crate::records::{arrival_key, Erased, LedgerEntry, Publish, Snapshot, StageEntry, View};
use crate::settle::settle_entries;
use crate::{Applied, CommitError, StoreError, StoredLead};
use async_trait::async_trait;
use leadscore_scoring::{
    allowed_sales_signals, clamped, fold_event, rebuild, Event, EventId, InvalidTransition, LeadId,
    LeadState, Rules, SignalKind, Timestamp,
};

/// Entries of the tail folded into a new snapshot once there are this many.
pub(crate) const SNAPSHOT_EVERY: usize = 32;

/// Only entries that arrived at least this long ago go into a snapshot: a writer's entry may
/// land up to its function's timeout (10 s) after it was dated, and the snapshot must not
/// pass over an entry that has not landed yet.
pub(crate) const SETTLE_MS: i64 = 60_000;

/// The few primitives the shared logic needs from a backend.
#[async_trait]
pub(crate) trait Backend: Send + Sync {
    /// Appends `entry` to the ledger of `id`, unless that event id is already there (false).
    async fn append(&self, id: &LeadId, entry: &LedgerEntry) -> Result<bool, StoreError>;
    /// Replaces an entry by a tombstone keeping only its id (an erased person's late event).
    async fn tombstone(&self, id: &LeadId, event: &EventId) -> Result<(), StoreError>;
    /// The erasure marker, alias, snapshot and tail of `id`.
    async fn view(&self, id: &LeadId) -> Result<View, StoreError>;
    /// Every live ledger entry of `id`, in no particular order (callers order what they read).
    async fn entries(&self, id: &LeadId) -> Result<Vec<LedgerEntry>, StoreError>;
    /// Settled tail entries folded into a new snapshot: where writes are cheap (the embedded
    /// store), more often.
    fn snapshot_every(&self) -> usize {
        SNAPSHOT_EVERY
    }
    /// Whether the event path writes a due snapshot itself, with `settled` entries in the
    /// tail. DynamoDB leaves it to the ledger worker (an event costs 2 requests) until the
    /// tail is long; where writes are cheap (the embedded store), always.
    fn snapshot_on_path(&self, _settled: usize) -> bool {
        true
    }
    /// Leads folded lately, where one process serves a lead's events (the embedded store).
    fn fold_cache(&self) -> Option<&FoldCache> {
        None
    }
    /// Writes what a fold changed; `Conflict` if the snapshot moved on since it was read.
    async fn publish(&self, id: &LeadId, publish: Publish) -> Result<(), CommitError>;
    /// Makes `visitor` an alias of `lead`; false if it already was an alias (of anyone).
    async fn alias(&self, visitor: &LeadId, lead: &LeadId) -> Result<bool, StoreError>;
    /// Writes (or rewrites) the erasure marker of `id`.
    async fn mark_erased(&self, id: &LeadId, erased: &Erased) -> Result<(), StoreError>;
    /// Writes the erasure marker of a person (a lead, not one of its stitched visitors), and
    /// with it their entry in the suppression list (`record.rs`).
    async fn mark_lead_erased(&self, id: &LeadId, erased: &Erased) -> Result<(), StoreError>;
    /// Removes every record of `id` from before the erasure at `at` (its marker stays),
    /// within the time left; false if time ran out first.
    async fn purge(
        &self,
        id: &LeadId,
        at: Timestamp,
        deadline: tokio::time::Instant,
    ) -> Result<bool, StoreError>;
    /// Keys of the stage index of `stage` from `start` (after it if `exclusive`), at most
    /// `limit`, in order, and whether more may follow.
    async fn stage_index(
        &self,
        stage: leadscore_scoring::Stage,
        start: &str,
        exclusive: bool,
        limit: usize,
    ) -> Result<(Vec<String>, bool), StoreError>;
}

/// A lead folded from a view, with what the fold needed to know.
pub(crate) struct Folded {
    pub state: LeadState,
    /// The snapshot it started from (version), and whether one is due.
    pub snapshot_version: Option<u64>,
    pub refresh: Option<Snapshot>,
    /// Tail entries old enough to go into a snapshot.
    pub settled: usize,
    /// The refresh was rebuilt from the ledger (other rules): worth writing at once.
    pub rebuilt: bool,
}

/// A fresh state for partition `id`, dated by its first event.
pub(crate) fn fresh(id: &LeadId, event: &Event) -> LeadState {
    let mut state = LeadState::for_event(event);
    state.id = id.clone();
    if state.email.is_some() {
        // A lead answers only for the anonymous ids stitched into it.
        state.anonymous_ids.clear();
    }
    state
}

/// The tail without the entries of a person erased after they happened.
fn live(view: &View) -> impl Iterator<Item = &LedgerEntry> {
    let erased_at = view.erased.as_ref().map(|e| e.at);
    view.tail
        .iter()
        .filter(move |e| erased_at.is_none_or(|at| e.event.occurred_at > at))
}

/// Folds the tail onto the snapshot. `None`: nothing (left) of this id. A snapshot computed
/// under other rules is rebuilt from the whole ledger first.
pub(crate) async fn fold<B: Backend + ?Sized>(
    backend: &B,
    id: &LeadId,
    view: &View,
    rules: &Rules,
    now: Timestamp,
) -> Result<Option<Folded>, StoreError> {
    let erased_at = view.erased.as_ref().map(|e| e.at);
    // A snapshot holding anything from before an erasure is being purged: not the lead.
    let stored = view
        .snapshot
        .as_deref()
        .filter(|s| erased_at.is_none_or(|at| s.state.first_seen > at));
    // Under other rules (or without its snapshot) the lead is not what the view holds.
    let rebuilt_snapshot = match stored {
        Some(s) if s.state.rules != rules.fingerprint() => {
            Some(rebuilt(backend, id, s, rules, now).await?)
        }
        _ => None,
    };
    let rebuilt_now = rebuilt_snapshot.is_some() || stored.is_none() && view.snapshot.is_some();
    let base = rebuilt_snapshot.as_ref().or(stored);
    // Entries that arrived long enough ago go into the next snapshot: they come first.
    let settled = arrival_key(now.plus_millis(-SETTLE_MS), "~");
    let entries: Vec<&LedgerEntry> = live(view).collect();
    let keys: Vec<String> = entries.iter().map(|e| e.arrival_key()).collect();
    let split = keys.partition_point(|k| *k <= settled);
    let due = split >= backend.snapshot_every() || rebuilt_now;
    let cache = backend.fold_cache().filter(|_| !rebuilt_now);
    let from = Base {
        snapshot: base.map(|s| (s.version, s.watermark.clone(), s.state.events)),
        rules: rules.fingerprint().to_string(),
    };
    // A cached fold past the settled entries cannot give the state a due snapshot needs.
    let (start, mut state) = match cache.and_then(|c| c.take(id, &from, &keys)) {
        Some((n, cached)) if !due || n <= split => (n, Some(cached)),
        _ => (0, base.map(|s| s.state.clone())),
    };
    let mut settled_state = (due && start == split && split > 0)
        .then(|| state.clone())
        .flatten();
    for (i, entry) in entries.iter().enumerate().skip(start) {
        let base = state.unwrap_or_else(|| fresh(id, &entry.event));
        let folded = fold_event(base, &entry.event, rules, entry.applied_at);
        if i + 1 == split && due {
            settled_state = Some(folded.clone());
        }
        state = Some(folded);
    }
    let settled_key = split.checked_sub(1).map(|i| keys[i].clone());
    let Some(state) = state else {
        return Ok(None);
    };
    let version = view.snapshot.as_ref().map(|s| s.version);
    let refresh = match (settled_state, settled_key) {
        (Some(s), Some(w)) => Some(Snapshot {
            version: version.map_or(1, |v| v + 1),
            watermark: w,
            state: s,
        }),
        _ => rebuilt_snapshot.map(|s| Snapshot {
            version: version.map_or(1, |v| v + 1),
            ..s
        }),
    };
    if let Some(cache) = cache {
        // Once the refresh is written, the next view starts from it.
        let (next, folded) = match &refresh {
            Some(r) => (
                Some((r.version, r.watermark.clone(), r.state.events)),
                split,
            ),
            None => (from.snapshot, 0),
        };
        let next = Base {
            snapshot: next,
            rules: from.rules,
        };
        cache.put(id, next, keys[folded..].to_vec(), state.clone());
    }
    Ok(Some(Folded {
        state,
        snapshot_version: version,
        refresh,
        settled: split,
        rebuilt: rebuilt_now,
    }))
}

/// The snapshot folded afresh from the ledger of the lead and its stitched visitors, under
/// `rules`; it covers the same entries (up to the same watermark).
async fn rebuilt<B: Backend + ?Sized>(
    backend: &B,
    id: &LeadId,
    old: &Snapshot,
    rules: &Rules,
    now: Timestamp,
) -> Result<Snapshot, StoreError> {
    let mut events = Vec::new();
    for hid in history_ids(id, &old.state) {
        for e in backend.entries(&hid).await? {
            if hid != *id || e.arrival_key() <= old.watermark {
                events.push(e.event);
            }
        }
    }
    Ok(Snapshot {
        version: old.version,
        watermark: old.watermark.clone(),
        state: rebuild(&old.state, &events, rules, now),
    })
}

/// Ids whose ledgers make up a lead's history: its own and its stitched visitors'.
pub(crate) fn history_ids(id: &LeadId, state: &LeadState) -> Vec<LeadId> {
    let mut ids = vec![id.clone()];
    for anon in &state.anonymous_ids {
        let vid = LeadId::for_visitor(anon);
        if !ids.contains(&vid) {
            ids.push(vid);
        }
    }
    ids
}

/// The stage entry to publish when the listing does not hold the folded lead's: a writer
/// publishes its own move, and anyone who reads a lead repairs an entry left behind (a writer
/// that stopped between its ledger entry and its publish).
pub(crate) fn relist(view: &View, state: &LeadState) -> Option<(StageEntry, u64)> {
    let entry = StageEntry::of(state);
    let listed = view.listed.as_ref();
    let same = listed.is_some_and(|l| l.entry == Some((entry.stage, entry.sort_key())));
    let newer = listed.is_none_or(|l| l.folded <= state.events);
    (!same && newer).then_some((entry, state.events))
}

/// Reads the lead `id` names (following a stitched visitor's alias), folded.
pub(crate) async fn load<B: Backend + ?Sized>(
    backend: &B,
    id: &LeadId,
    rules: &Rules,
    now: Timestamp,
) -> Result<Option<(LeadId, Folded)>, StoreError> {
    let mut home = id.clone();
    let mut view = backend.view(id).await?;
    if let Some(lead) = view.alias.clone() {
        home = lead;
        view = backend.view(&home).await?;
    }
    let folded = catch_up(backend, &home, &view, rules, now).await?;
    Ok(folded.map(|f| (home, f)))
}

/// Folds a view and, best effort, writes what a reader found due: the snapshot of a settled
/// tail or one rebuilt under new rules (saving the next reader the work), and the stage
/// entry a stopped writer left behind.
async fn catch_up<B: Backend + ?Sized>(
    backend: &B,
    home: &LeadId,
    view: &View,
    rules: &Rules,
    now: Timestamp,
) -> Result<Option<Folded>, StoreError> {
    let folded = fold(backend, home, view, rules, now).await?;
    if let Some(f) = &folded {
        let stage = relist(view, &f.state);
        if f.refresh.is_some() || stage.is_some() {
            let publish = Publish {
                snapshot: f.refresh.clone().map(|s| (f.snapshot_version, s)),
                stage,
                erased_seen: view.erased.as_ref().map(|e| e.at),
                ..Publish::default()
            };
            match backend.publish(home, publish).await {
                Ok(()) | Err(CommitError::Conflict) => {}
                Err(CommitError::Store(e)) => return Err(e),
            }
        }
    }
    Ok(folded)
}

/// What the ledger worker found to do for one id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upkeep {
    /// Nothing left: the lead is caught up (or gone, or a stitched visitor).
    Done,
    /// An erasure is still running: tend the id again.
    Erasing,
}

/// Off the event path (the ledger worker, fed by the table's stream; `leadscore serve` at
/// start): finishes an erasure begun and not done, else writes the snapshot the lead's tail
/// is due for. Never begins an erasure.
pub(crate) async fn tend_with<B: Backend + ?Sized>(
    backend: &B,
    id: &LeadId,
    rules: &Rules,
    now: Timestamp,
    budget: std::time::Duration,
) -> Result<Upkeep, StoreError> {
    let view = backend.view(id).await?;
    if view.erased.as_ref().is_some_and(|e| !e.done) {
        return Ok(
            match crate::listing::erase_with(
                backend,
                &crate::LeadKey::Id(id.clone()),
                now,
                budget,
                false,
            )
            .await?
            {
                crate::Erasure::InProgress => Upkeep::Erasing,
                _ => Upkeep::Done,
            },
        );
    }
    if view.alias.is_none() {
        catch_up(backend, id, &view, rules, now).await?;
    }
    Ok(Upkeep::Done)
}

pub(crate) async fn get_with<B: Backend + ?Sized>(
    backend: &B,
    id: &LeadId,
    rules: &Rules,
    now: Timestamp,
) -> Result<Option<StoredLead>, StoreError> {
    Ok(load(backend, id, rules, now)
        .await?
        .map(|(_, f)| StoredLead {
            version: f.state.events,
            state: f.state,
        }))
}

/// The shared apply. See the module comment for why it appends before it reads.
pub(crate) async fn apply_with<B: Backend + ?Sized>(
    backend: &B,
    event: &Event,
    rules: &Rules,
    now: Timestamp,
) -> Result<Applied, StoreError> {
    apply_checked(backend, event, rules, now, true).await
}

/// `validate = false` re-imports a sales action already accepted once (a migration): the
/// fold keeps it as superseded if the stage no longer allows it.
pub(crate) async fn apply_checked<B: Backend + ?Sized>(
    backend: &B,
    event: &Event,
    rules: &Rules,
    now: Timestamp,
    validate: bool,
) -> Result<Applied, StoreError> {
    let event = clamped(event, now);
    let own = event.identity.primary_lead_id();
    let mut target = own.clone();
    if event.signal.kind() == SignalKind::SalesFeedback && !event.is_bot() {
        // Sales act on leads they know, from the stage they see: checked before anything is
        // written (the API answers 404 or 409).
        let (home, folded) = load(backend, &own, rules, now)
            .await?
            .ok_or(StoreError::NotFound)?;
        let stage = folded.state.stage;
        if folded.state.has_seen(&event.id) {
            return Ok(Applied::duplicate(home));
        }
        if validate && !allowed_sales_signals(stage).contains(&event.signal) {
            return Err(InvalidTransition {
                current: stage,
                signal: event.signal,
                allowed: allowed_sales_signals(stage),
            }
            .into());
        }
        target = home;
    }
    let entry = LedgerEntry {
        applied_at: now,
        event,
    };
    if !backend.append(&target, &entry).await? {
        return Ok(Applied::duplicate(target));
    }
    let mut applied = settle_entries(backend, &target, vec![entry], rules, now).await?;
    applied
        .pop()
        .ok_or_else(|| StoreError::Internal("an entry settled to nothing".into()))
}
