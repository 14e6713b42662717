//! The shared parts of listing, reading the ledger and erasing, over `Backend` primitives.

use crate::cursor;
use crate::engine::{history_ids, load, Backend};
use crate::records::{Erased, StageEntry};
use crate::{check_limit, key_id, Erasure, LeadKey, Page, StoreError, StoredLead};
use leadscore_scoring::{Event, LeadId, Rules, Stage, Timestamp};
use std::sync::Arc;

/// A page of the stage listing. The index may hold entries of leads that have moved on (or
/// of stitched visitors): each listed lead is read and kept only if it still sits there.
pub(crate) async fn list_with<B: Backend + Clone + 'static>(
    backend: &B,
    stage: Stage,
    changed_since: Option<Timestamp>,
    limit: u32,
    cursor: Option<&str>,
    rules: &Rules,
    now: Timestamp,
) -> Result<Page, StoreError> {
    check_limit(limit)?;
    let after = cursor.map(|c| cursor::read(stage, c)).transpose()?;
    let from = cursor::since_key(changed_since);
    let (mut start, mut exclusive) = match after {
        Some(k) if k >= from => (k, true),
        _ => (from, false),
    };
    let rules = Arc::new(rules.clone());
    let mut leads = Vec::new();
    loop {
        let want = limit as usize - leads.len();
        let (keys, more) = backend.stage_index(stage, &start, exclusive, want).await?;
        let mut reads = tokio::task::JoinSet::new();
        for (i, key) in keys.iter().enumerate() {
            let Some(id) = key
                .split_once('#')
                .and_then(|(_, id)| LeadId::parse(id).ok())
            else {
                continue;
            };
            let (backend, rules) = (backend.clone(), rules.clone());
            reads.spawn(async move { (i, id.clone(), load(&backend, &id, &rules, now).await) });
        }
        let mut found: Vec<(usize, StoredLead)> = Vec::new();
        while let Some(joined) = reads.join_next().await {
            let (i, id, loaded) = joined.map_err(|e| StoreError::Internal(e.to_string()))?;
            if let Some((home, folded)) = loaded? {
                let entry = StageEntry::of(&folded.state);
                if home == id && entry.stage == stage && entry.sort_key() == keys[i] {
                    found.push((
                        i,
                        StoredLead {
                            version: folded.state.events,
                            state: folded.state,
                        },
                    ));
                }
            }
        }
        found.sort_by_key(|(i, _)| *i);
        leads.extend(found.into_iter().map(|(_, l)| l));
        let Some(last) = keys.last().cloned() else {
            return Ok(Page { leads, next: None });
        };
        if leads.len() == limit as usize {
            return Ok(Page {
                leads,
                next: Some(cursor::issue(stage, &last)),
            });
        }
        if !more {
            return Ok(Page { leads, next: None });
        }
        start = last;
        exclusive = true;
    }
}

/// Every event of the lead and of its stitched visitors, in arrival order. Stitched
/// anonymous ids are always in the lead's snapshot (the stitch writes it).
pub(crate) async fn ledger_with<B: Backend + ?Sized>(
    backend: &B,
    id: &LeadId,
) -> Result<Vec<Event>, StoreError> {
    let mut home = id.clone();
    let mut view = backend.view(id).await?;
    if let Some(lead) = view.alias.clone() {
        home = lead;
        view = backend.view(&home).await?;
    }
    let ids = match &view.snapshot {
        Some(s) => history_ids(&home, &s.state),
        None => vec![home],
    };
    let mut entries = Vec::new();
    for hid in ids {
        entries.extend(backend.entries(&hid).await?);
    }
    // A visitor event after the stitch is in both ledgers: once is enough.
    entries.sort_by_key(|e| e.arrival_key());
    let mut seen = std::collections::BTreeSet::new();
    Ok(entries
        .into_iter()
        .filter(|e| seen.insert(e.event.id.clone()))
        .map(|e| e.event)
        .collect())
}

/// Erasure: the lead's marker first (from then on it reads as absent), then its visitors'
/// markers, then every record, then the markers say done. Re-running resumes. With `begin`
/// false it only resumes: an erasure already done is never begun again by the worker (the
/// person may have come back since).
pub(crate) async fn erase_with<B: Backend + ?Sized>(
    backend: &B,
    key: &LeadKey,
    now: Timestamp,
    budget: std::time::Duration,
    begin: bool,
) -> Result<Erasure, StoreError> {
    let deadline = tokio::time::Instant::now() + budget;
    let id = key_id(key);
    let mut home = id.clone();
    let mut view = backend.view(&id).await?;
    if let Some(lead) = view.alias.clone() {
        home = lead;
        view = backend.view(&home).await?;
    }
    let erased = match &view.erased {
        Some(e) if !e.done => e.clone(),
        _ if !begin => return Ok(Erasure::Done),
        previous => {
            let since = previous.as_ref().map(|e| e.at);
            let live = view.snapshot.is_some()
                || view
                    .tail
                    .iter()
                    .any(|e| since.is_none_or(|at| e.event.occurred_at > at));
            if !live {
                return Ok(Erasure::Unknown);
            }
            let visitors = view
                .snapshot
                .as_ref()
                .map(|s| history_ids(&home, &s.state))
                .unwrap_or_default()
                .into_iter()
                .filter(|v| *v != home)
                .collect();
            let erased = Erased {
                at: now,
                done: false,
                visitors,
            };
            backend.mark_lead_erased(&home, &erased).await?;
            erased
        }
    };
    let mine = |done| Erased {
        at: erased.at,
        done,
        visitors: Vec::new(),
    };
    for v in &erased.visitors {
        backend.mark_erased(v, &mine(false)).await?;
    }
    for v in erased.visitors.iter().chain([&home]) {
        if !backend.purge(v, erased.at, deadline).await? {
            return Ok(Erasure::InProgress);
        }
    }
    for v in &erased.visitors {
        backend.mark_erased(v, &mine(true)).await?;
    }
    backend
        .mark_lead_erased(
            &home,
            &Erased {
                done: true,
                ..erased.clone()
            },
        )
        .await?;
    Ok(Erasure::Done)
}
