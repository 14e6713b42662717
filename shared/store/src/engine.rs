//! What both backends share: how an event is applied (append, read back, fold, publish), how
//! a lead is read, stitched and rebuilt. A backend only provides the primitives of `Backend`.
//!
//! Appending first and reading after is what keeps concurrent writers of one lead correct
//! without a lock: of two racing writers, at least the later reader sees both events, and it
//! is the one whose fold publishes what changed.

use crate::records::{arrival_key, Erased, LedgerEntry, Publish, Snapshot, StageEntry, View};
use crate::stitch::{absorb, stitch, stitched_base};
use crate::{Applied, CommitError, StoreError, StoredLead};
use async_trait::async_trait;
use leadscore_scoring::{
    allowed_sales_signals, clamped, fold_event, rebuild, Event, EventId, InvalidTransition, LeadId,
    LeadState, Rules, SignalKind, Timestamp, Transition,
};
use std::time::Duration;

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
    /// Writes what a fold changed; `Conflict` if the snapshot moved on since it was read.
    async fn publish(&self, id: &LeadId, publish: Publish) -> Result<(), CommitError>;
    /// Makes `visitor` an alias of `lead`; false if it already was an alias (of anyone).
    async fn alias(&self, visitor: &LeadId, lead: &LeadId) -> Result<bool, StoreError>;
    /// Writes (or rewrites) the erasure marker of `id`.
    async fn mark_erased(&self, id: &LeadId, erased: &Erased) -> Result<(), StoreError>;
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
        .as_ref()
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
    let mut state = base.map(|s| s.state.clone());
    // Entries that arrived long enough ago go into the next snapshot: they come first.
    let settled = arrival_key(now.plus_millis(-SETTLE_MS), "~");
    let entries: Vec<&LedgerEntry> = live(view).collect();
    let split = entries.partition_point(|e| e.arrival_key() <= settled);
    let due = split >= backend.snapshot_every() || rebuilt_now;
    let mut settled_state = None;
    for (i, entry) in entries.iter().enumerate() {
        let base = state.unwrap_or_else(|| fresh(id, &entry.event));
        let folded = fold_event(base, &entry.event, rules, entry.applied_at);
        if i + 1 == split && due {
            settled_state = Some(folded.clone());
        }
        state = Some(folded);
    }
    let settled_key = split.checked_sub(1).map(|i| entries[i].arrival_key());
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
    Ok(Some(Folded {
        state,
        snapshot_version: version,
        refresh,
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
fn relist(view: &View, state: &LeadState) -> Option<(StageEntry, u64)> {
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
    let folded = fold(backend, &home, &view, rules, now).await?;
    if let Some(f) = &folded {
        let stage = relist(&view, &f.state);
        if f.refresh.is_some() || stage.is_some() {
            // Best effort: a reader that rebuilt or caught up saves the next reader the work,
            // and repairs the listing.
            let publish = Publish {
                snapshot: f.refresh.clone().map(|s| (f.snapshot_version, s)),
                stage,
                erased_seen: view.erased.as_ref().map(|e| e.at),
                ..Publish::default()
            };
            match backend.publish(&home, publish).await {
                Ok(()) | Err(CommitError::Conflict) => {}
                Err(CommitError::Store(e)) => return Err(e),
            }
        }
    }
    Ok(folded.map(|f| (home, f)))
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

/// Folds entries just appended to the ledger of `target` into their lead and publishes what
/// changed: one read, one fold, at most one publish for all of them (they share `now`).
/// One result per entry, in their order.
pub(crate) async fn settle_entries<B: Backend + ?Sized>(
    backend: &B,
    target: &LeadId,
    entries: Vec<LedgerEntry>,
    rules: &Rules,
    now: Timestamp,
) -> Result<Vec<Applied>, StoreError> {
    let mut home = target.clone();
    let mut view = backend.view(&home).await?;
    let mut out: Vec<Option<Applied>> = entries.iter().map(|_| None).collect();
    let mut pending: Vec<(usize, LedgerEntry)> = entries.into_iter().enumerate().collect();
    if let Some(lead) = view.alias.clone() {
        // A stitched visitor's events: its lead folds them (the visitor's copy keeps the
        // deduplication of what came before the stitch).
        let mut copied = Vec::new();
        for (i, entry) in pending {
            if backend.append(&lead, &entry).await? {
                copied.push((i, entry));
            } else {
                out[i] = Some(Applied::duplicate(lead.clone()));
            }
        }
        pending = copied;
        home = lead;
        view = backend.view(&home).await?;
    }
    let mut jitter = pending.first().map(|(_, e)| Jitter::new(&e.event));
    for _ in 0..MAX_ATTEMPTS {
        let erased_at = view.erased.as_ref().map(|e| e.at);
        let (gone, live): (Vec<_>, Vec<_>) = pending
            .into_iter()
            .partition(|(_, e)| erased_at.is_some_and(|at| e.event.occurred_at <= at));
        for (i, entry) in &gone {
            // A redelivery of an erased person's event: it does not bring them back.
            backend.tombstone(target, &entry.event.id).await?;
            if home != *target {
                // The copy a stitched visitor's event left in its lead's ledger too.
                backend.tombstone(&home, &entry.event.id).await?;
            }
            out[*i] = Some(Applied::dropped(home.clone()));
        }
        pending = live;
        if pending.is_empty() {
            break;
        }
        let entries: Vec<LedgerEntry> = pending.iter().map(|(_, e)| e.clone()).collect();
        match settle(backend, &home, &view, &entries, rules, now).await {
            Ok((state, transitions)) => {
                let last = pending.len() - 1;
                for (n, (i, _)) in pending.iter().enumerate() {
                    out[*i] = Some(Applied {
                        lead_id: home.clone(),
                        duplicate: false,
                        dropped: false,
                        // The moves a batch made known go with its last event.
                        transitions: if n == last {
                            transitions.clone()
                        } else {
                            Vec::new()
                        },
                        state: Some(state.clone()),
                    });
                }
                pending.clear();
                break;
            }
            Err(CommitError::Conflict) => {
                if let Some(j) = jitter.as_mut() {
                    tokio::time::sleep(j.next()).await;
                }
                view = backend.view(&home).await?;
            }
            Err(CommitError::Store(e)) => return Err(e),
        }
    }
    if !pending.is_empty() {
        return Err(StoreError::Contention);
    }
    out.into_iter()
        .map(|a| a.ok_or_else(|| StoreError::Internal("an entry settled to nothing".into())))
        .collect()
}

/// Folds the view (with the new entries), stitches a visitor if an event names one for the
/// first time, and publishes what changed. Returns the lead and the moves made known now.
async fn settle<B: Backend + ?Sized>(
    backend: &B,
    home: &LeadId,
    view: &View,
    entries: &[LedgerEntry],
    rules: &Rules,
    now: Timestamp,
) -> Result<(LeadState, Vec<Transition>), CommitError> {
    // An entry that landed below the snapshot's watermark after the snapshot was taken (it
    // should land within `SETTLE_MS` of its arrival time; a stalled writer may not): its
    // writer folds it into the snapshot itself.
    let missing = |view: &View, entry: &LedgerEntry| {
        !view.tail.iter().any(|e| e.event.id == entry.event.id)
            && view
                .snapshot
                .as_ref()
                .is_some_and(|s| !s.state.has_seen(&entry.event.id))
    };
    let missed = entries.iter().any(|e| missing(view, e));
    let mut repaired_view;
    let view = if missed {
        repaired_view = view.clone();
        for entry in entries {
            if missing(&repaired_view, entry) {
                if let Some(s) = repaired_view.snapshot.as_mut() {
                    let state = std::mem::replace(&mut s.state, LeadState::for_event(&entry.event));
                    s.state = fold_event(state, &entry.event, rules, entry.applied_at);
                }
            }
        }
        &repaired_view
    } else {
        view
    };
    let Some(after) = fold(backend, home, view, rules, now).await? else {
        return Err(StoreError::Internal("a ledger entry that folds to nothing".into()).into());
    };
    let mut state = after.state;
    let repaired = view.snapshot.as_ref().filter(|_| missed).map(|s| Snapshot {
        version: s.version + 1,
        ..s.clone()
    });
    let mut publish = Publish {
        snapshot: after
            .refresh
            .or(repaired)
            .map(|s| (after.snapshot_version, s)),
        erased_seen: view.erased.as_ref().map(|e| e.at),
        ..Publish::default()
    };
    for entry in entries {
        let Some(stitched) = stitch(backend, home, &state, &entry.event, rules, now).await? else {
            continue;
        };
        // The absorbed history lives in the lead's snapshot from now on.
        let base = publish
            .snapshot
            .take()
            .map(|(_, s)| s)
            .or_else(|| view.snapshot.clone());
        let (watermark, snap_state) = stitched_base(home, base, &stitched, entry, rules);
        absorb(&mut state, &stitched, rules, entry.applied_at);
        publish.snapshot = Some((
            after.snapshot_version,
            Snapshot {
                version: after.snapshot_version.map_or(1, |v| v + 1),
                watermark,
                state: snap_state,
            },
        ));
    }
    if let Some(stage) = relist(view, &state) {
        publish.stage = Some(stage);
    }
    backend.publish(home, publish).await?;
    // The moves these events made known were recorded at their arrival.
    let transitions = state
        .stage_history
        .iter()
        .filter(|t| t.recorded_at == now)
        .cloned()
        .collect();
    Ok((state, transitions))
}

/// How many times a writer re-reads and retries after losing the snapshot race. Generous:
/// 64 concurrent writers on one lead must all land.
const MAX_ATTEMPTS: u32 = 200;

/// Randomised, growing back-off between retries, so racing writers spread out.
struct Jitter(u64, u32);

impl Jitter {
    fn new(event: &Event) -> Self {
        let seed = crate::fnv(event.id.as_str().as_bytes());
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
