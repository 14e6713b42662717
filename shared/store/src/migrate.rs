//! Reading what the first version of the store wrote (v1: one snapshot of the whole aggregate
//! per event, with the event as its ledger entry). A migration re-applies every v1 ledger
//! entry, in the order it was first applied and at the time it was, through the current
//! apply: the leads, stitches, stage histories and listing come out as if the events had
//! arrived under this version, with lead ids derived afresh. Entries already imported are
//! duplicates, so an interrupted migration is simply run again.

use crate::engine::{apply_checked, Backend};
use crate::StoreError;
use leadscore_scoring::{Event, Rules, Timestamp};
use serde::Deserialize;

/// A v1 ledger entry (`LedgerEntry` of the first version: the same shape as today's).
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct V1Entry {
    pub applied_at: Timestamp,
    pub event: Event,
}

/// What a migration did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Migration {
    /// Events read from the v1 records.
    pub read: u64,
    /// Applied now (the rest were already there: an earlier, interrupted run).
    pub imported: u64,
    /// Sales actions on a lead the v1 records no longer had (nothing to apply them to).
    pub skipped: u64,
}

pub(crate) async fn import<B: Backend + ?Sized>(
    backend: &B,
    mut entries: Vec<V1Entry>,
    rules: &Rules,
) -> Result<Migration, StoreError> {
    entries.sort_by(|a, b| {
        (a.applied_at, a.event.occurred_at, &a.event.id).cmp(&(
            b.applied_at,
            b.event.occurred_at,
            &b.event.id,
        ))
    });
    let mut m = Migration {
        read: entries.len() as u64,
        ..Migration::default()
    };
    for e in entries {
        match apply_checked(backend, &e.event, rules, e.applied_at, false).await {
            Ok(applied) if applied.duplicate || applied.dropped => {}
            Ok(_) => m.imported += 1,
            Err(StoreError::NotFound) => m.skipped += 1,
            Err(e) => return Err(e),
        }
    }
    Ok(m)
}
