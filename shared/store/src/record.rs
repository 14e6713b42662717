//! What an analysis reads from a store (`leadscore insights|replay|learn`): the records that
//! make lead histories, as one flat stream. Snapshots, stage entries and tombstones are
//! derived or empty and are not records; `leadscore-history` groups records into histories.
//!
//! The *suppression list* (`Dynamo::suppressions`, `Embedded::suppressions`) holds every
//! person whose erasure was begun (lead id and time), written with their erasure marker. The
//! markers stay authoritative for a store; the list is one cheap read that tells an analysis
//! of an older export who was erased since the export was taken. Erasures begun before the
//! list existed are not in it on DynamoDB (an export taken after them holds their markers);
//! the embedded store fills its list from the markers when it first opens with this version.

use crate::StoreError;
use leadscore_scoring::{Event, LeadId, Timestamp};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use tokio::sync::mpsc;

/// One record of a store, as an analysis needs it.
// Entries are nearly every record: boxing them would add an allocation to almost all.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    /// A live ledger entry of `id` (a lead or an anonymous visitor): the event, and when the
    /// store applied it (the arrival order `LeadStore::ledger` returns).
    Entry {
        id: LeadId,
        applied_at: Timestamp,
        event: Event,
    },
    /// A stitched visitor: its entries belong to `lead`'s history.
    Alias { visitor: LeadId, lead: LeadId },
    /// `id` was erased at `at`: its entries dated at or before `at` are not its history.
    Erased { id: LeadId, at: Timestamp },
}

/// How far a scan has gone (`Dynamo::scan_records`), summed over its segments.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ScanProgress {
    /// Items read (records or not).
    pub items: u64,
    /// Read capacity consumed, as DynamoDB reports it.
    pub read_units: f64,
    /// Segments read to their end.
    pub segments_done: u32,
}

/// Records sent ahead of their reader at most: streams hold bounded memory.
pub(crate) const RECORDS_BUFFER: usize = 512;

/// How much of a live store one read may take (`LeadStore::read_records`, behind
/// `GET /insights`). The embedded store is local and reads everything; DynamoDB's Scan is
/// paced to `max_read_units_per_second` and stops at `until`.
#[derive(Debug, Clone, Copy)]
pub struct ReadBudget {
    /// When to stop reading (`None`: read to the end).
    pub until: Option<tokio::time::Instant>,
    /// Parallel Scan segments.
    pub segments: u32,
    /// Read capacity the Scan may consume per second, on average (0: no limit).
    pub max_read_units_per_second: f64,
}

/// Records as they are read, and whether the read reached the end of the store.
pub struct Reading {
    pub records: mpsc::Receiver<Result<Record, StoreError>>,
    pub completion: Completion,
}

/// Whether a read reached the end: to be asked once its records have ended.
#[derive(Clone)]
pub struct Completion {
    parts: u32,
    done: Arc<AtomicU32>,
}

impl Completion {
    /// Whether every record was sent. A read its budget stopped holds whole ledgers only (a
    /// ledger cut short is left out), but a lead's stitched visitors are ledgers of their own
    /// and may be missing.
    pub fn complete(&self) -> bool {
        self.done.load(Ordering::Acquire) == self.parts
    }

    /// One of the read's parts (segments) reached its end.
    pub(crate) fn part_done(&self) {
        self.done.fetch_add(1, Ordering::AcqRel);
    }
}

impl Reading {
    pub(crate) fn new(parts: u32) -> (Reading, mpsc::Sender<Result<Record, StoreError>>) {
        let (tx, rx) = mpsc::channel(RECORDS_BUFFER);
        let completion = Completion {
            parts,
            done: Arc::default(),
        };
        let reading = Reading {
            records: rx,
            completion,
        };
        (reading, tx)
    }

    /// A read that failed before its first record: `error`, then the end (a store double).
    pub fn failed(error: StoreError) -> Reading {
        let (reading, tx) = Reading::new(1);
        let _ = tx.try_send(Err(error));
        reading
    }

    /// See `Completion::complete`.
    pub fn complete(&self) -> bool {
        self.completion.complete()
    }
}
