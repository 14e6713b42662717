//! Settling appended entries: one read, one fold and one publish per lead, retried with
//! jitter when a racing writer's snapshot got there first.

use crate::engine::{fold, relist, Backend};
use crate::records::{LedgerEntry, Publish, Snapshot, View};
use crate::stitch::{absorb, stitch, stitched_base};
use crate::{Applied, CommitError, StoreError};
use leadscore_scoring::{fold_event, Event, LeadId, LeadState, Rules, Timestamp, Transition};
use std::time::Duration;

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
                let wait = jitter.as_mut().map_or(Duration::ZERO, Jitter::next);
                if crate::deadline::out_of_time(wait) {
                    return Err(StoreError::Unavailable(
                        "out of time retrying a contended lead; retry later".into(),
                    ));
                }
                tokio::time::sleep(wait).await;
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
                if let Some(s) = repaired_view
                    .snapshot
                    .as_mut()
                    .map(std::sync::Arc::make_mut)
                {
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
        ..(**s).clone()
    });
    // A due snapshot costs a request of its own on DynamoDB: left to the ledger worker
    // unless the tail grew long, the lead was rebuilt, or a stage entry is written anyway.
    let (refresh, deferred) = match after.refresh {
        Some(r) if !after.rebuilt && !backend.snapshot_on_path(after.settled) => (None, Some(r)),
        r => (r, None),
    };
    let mut publish = Publish {
        snapshot: refresh.or(repaired).map(|s| (after.snapshot_version, s)),
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
            .or_else(|| view.snapshot.as_deref().cloned());
        let (watermark, snap_state) = stitched_base(home, base, &stitched, entry, rules);
        absorb(&mut state, &stitched, rules, entry.applied_at);
        if let Some(cache) = backend.fold_cache() {
            cache.forget(home);
        }
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
        if publish.snapshot.is_none() {
            publish.snapshot = deferred.map(|s| (after.snapshot_version, s));
        }
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
