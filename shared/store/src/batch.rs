//! A provider's batch (a SendGrid post of 1,000 events, a Segment batch), grouped by lead:
//! each lead's entries are appended, then read back, folded and published once; different
//! leads go in parallel, a few at a time.

use crate::engine::{apply_checked, Backend};
use crate::records::LedgerEntry;
use crate::settle::settle_entries;
use crate::{Applied, StoreError};
use leadscore_scoring::{clamped, Event, LeadId, Rules, SignalKind, Timestamp};
use std::sync::Arc;

/// Leads settled at once: enough to hide DynamoDB's latency (each lead is a few requests in
/// sequence); a 256 KB SendGrid batch of ~870 people took 7.6-9.4 s against DynamoDB Local
/// at 8, 4.6-5.5 s at 32 (BENCHMARKS.md). The work per lead is small: memory stays low.
const PARALLEL_LEADS: usize = 32;

pub(crate) async fn apply_batch_with<B: Backend + Clone + 'static>(
    backend: &B,
    events: &[Event],
    rules: &Rules,
    now: Timestamp,
) -> Vec<Result<Applied, StoreError>> {
    // Groups in the order leads first appear; each keeps its events' positions.
    let mut groups: Vec<(LeadId, Vec<(usize, Event)>)> = Vec::new();
    for (i, event) in events.iter().enumerate() {
        let id = event.identity.primary_lead_id();
        match groups.iter_mut().find(|(g, _)| *g == id) {
            Some((_, list)) => list.push((i, event.clone())),
            None => groups.push((id, vec![(i, event.clone())])),
        }
    }
    // One lead (most webhooks): settled in place, without copying the rules for a task.
    if groups.len() == 1 {
        if let Some((id, list)) = groups.pop() {
            let mut list = apply_group(backend, &id, list, rules, now).await;
            list.sort_by_key(|(i, _)| *i);
            return list.into_iter().map(|(_, r)| r).collect();
        }
    }
    let rules = Arc::new(rules.clone());
    let limit = Arc::new(tokio::sync::Semaphore::new(PARALLEL_LEADS));
    let mut tasks = tokio::task::JoinSet::new();
    let deadline = crate::deadline::current();
    for (id, list) in groups {
        let (backend, rules, limit) = (backend.clone(), rules.clone(), limit.clone());
        tasks.spawn(crate::deadline::carried(deadline, async move {
            let _permit = limit.acquire_owned().await;
            apply_group(&backend, &id, list, &rules, now).await
        }));
    }
    let mut results: Vec<Option<Result<Applied, StoreError>>> =
        events.iter().map(|_| None).collect();
    while let Some(done) = tasks.join_next().await {
        match done {
            Ok(list) => {
                for (i, r) in list {
                    results[i] = Some(r);
                }
            }
            Err(e) => {
                let failed = StoreError::Internal(format!("a batch task failed: {e}"));
                for slot in results.iter_mut().filter(|r| r.is_none()) {
                    *slot = Some(Err(failed.clone()));
                }
            }
        }
    }
    results
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Err(StoreError::Internal("an event without result".into()))))
        .collect()
}

/// One lead's events: sales actions one by one (each checked against the stage it meets),
/// the rest appended, then settled together.
async fn apply_group<B: Backend + ?Sized>(
    backend: &B,
    id: &LeadId,
    list: Vec<(usize, Event)>,
    rules: &Rules,
    now: Timestamp,
) -> Vec<(usize, Result<Applied, StoreError>)> {
    let mut out = Vec::new();
    let mut appended: Vec<(usize, LedgerEntry)> = Vec::new();
    for (i, event) in list {
        if event.signal.kind() == SignalKind::SalesFeedback {
            out.push((i, apply_checked(backend, &event, rules, now, true).await));
            continue;
        }
        let entry = LedgerEntry {
            applied_at: now,
            event: clamped(&event, now),
        };
        match backend.append(id, &entry).await {
            Ok(true) => appended.push((i, entry)),
            Ok(false) => out.push((i, Ok(Applied::duplicate(id.clone())))),
            Err(e) => out.push((i, Err(e))),
        }
    }
    if appended.is_empty() {
        return out;
    }
    let (positions, entries): (Vec<usize>, Vec<LedgerEntry>) = appended.into_iter().unzip();
    match settle_entries(backend, id, entries, rules, now).await {
        Ok(results) => out.extend(positions.into_iter().zip(results.into_iter().map(Ok))),
        Err(e) => out.extend(positions.into_iter().map(|i| (i, Err(e.clone())))),
    }
    out
}
