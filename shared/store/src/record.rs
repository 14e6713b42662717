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

use leadscore_scoring::{Event, LeadId, Timestamp};

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
