//! Reading a whole embedded store for an analysis: every record, streamed from one read
//! transaction, and the suppression list.

use super::*;
use crate::{ReadBudget, Reading, Record};
use tokio::sync::mpsc;

/// Opens the suppression list. A store written before the list existed gets it filled from
/// its erasure markers: a marker is a person's unless another marker names it as a stitched
/// visitor (a visitor's marker repeats its lead's time).
pub(super) fn open_suppressed(tx: &redb::WriteTransaction) -> Result<(), StoreError> {
    let existed = tx
        .list_tables()
        .map_err(unavailable)?
        .any(|t| t.name() == SUPPRESSED.name());
    let mut suppressed = tx.open_table(SUPPRESSED).map_err(unavailable)?;
    if existed {
        return Ok(());
    }
    let markers = tx.open_table(ERASED).map_err(unavailable)?;
    let mut people = Vec::new();
    let mut visitors = std::collections::BTreeSet::new();
    for item in markers.iter().map_err(unavailable)? {
        let (id, bytes) = item.map_err(unavailable)?;
        let erased: Erased = decode(bytes.value())?;
        visitors.extend(erased.visitors.iter().map(|v| v.to_string()));
        people.push((id.value().to_string(), erased.at.millis()));
    }
    for (id, at) in people {
        if !visitors.contains(&id) {
            suppressed.insert(id.as_str(), at).map_err(unavailable)?;
        }
    }
    Ok(())
}

fn lead_id(raw: &str) -> Result<LeadId, StoreError> {
    LeadId::parse(raw).map_err(|e| StoreError::Internal(format!("stored lead id: {e}")))
}

/// Sends every record of the store, from one read transaction (a consistent view), until
/// the reader stops listening; `true` if it sent them all.
fn send_records(
    db: &Database,
    tx_out: &mpsc::Sender<Result<Record, StoreError>>,
) -> Result<bool, StoreError> {
    let send = |record| tx_out.blocking_send(Ok(record)).is_ok();
    let tx = db.begin_read().map_err(unavailable)?;
    let entries = tx.open_table(ENTRIES).map_err(unavailable)?;
    for item in entries.iter().map_err(unavailable)? {
        let (key, value) = item.map_err(unavailable)?;
        if value.value().is_empty() {
            continue; // a tombstone
        }
        let Some((id, _)) = key.value().split_once('#') else {
            return Err(StoreError::Internal("unreadable ledger key".into()));
        };
        let entry: LedgerEntry = decode(value.value())?;
        let record = Record::Entry {
            id: lead_id(id)?,
            applied_at: entry.applied_at,
            event: entry.event,
        };
        if !send(record) {
            return Ok(false);
        }
    }
    let aliases = tx.open_table(ALIASES).map_err(unavailable)?;
    for item in aliases.iter().map_err(unavailable)? {
        let (visitor, lead) = item.map_err(unavailable)?;
        let record = Record::Alias {
            visitor: lead_id(visitor.value())?,
            lead: lead_id(lead.value())?,
        };
        if !send(record) {
            return Ok(false);
        }
    }
    let markers = tx.open_table(ERASED).map_err(unavailable)?;
    for item in markers.iter().map_err(unavailable)? {
        let (id, bytes) = item.map_err(unavailable)?;
        let erased: Erased = decode(bytes.value())?;
        let record = Record::Erased {
            id: lead_id(id.value())?,
            at: erased.at,
        };
        if !send(record) {
            return Ok(false);
        }
    }
    Ok(true)
}

impl Embedded {
    /// Every record of the store (ledger entries, aliases, erasure markers), read in a
    /// blocking task from one read transaction and streamed through a bounded channel
    /// (memory stays bounded whatever the store's size). A failure is the stream's last
    /// item. Call within a Tokio runtime.
    pub fn records(&self) -> mpsc::Receiver<Result<Record, StoreError>> {
        self.read_within(ReadBudget {
            until: None,
            segments: 1,
            max_read_units_per_second: 0.0,
        })
        .records
    }

    /// `records`, as `LeadStore::read_records` answers: the store is local, so the budget
    /// does not apply and the read is complete unless it failed.
    pub(crate) fn read_within(&self, _budget: ReadBudget) -> Reading {
        let (reading, tx) = Reading::new(1);
        let completion = reading.completion.clone();
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || match send_records(&db, &tx) {
            Ok(true) => completion.part_done(),
            Ok(false) => {}
            Err(e) => {
                let _ = tx.blocking_send(Err(e));
            }
        });
        reading
    }

    /// Every person whose erasure was begun, with its time (see `record.rs`).
    /// Independent of `LeadStore`.
    pub async fn suppressions(&self) -> Result<Vec<(LeadId, Timestamp)>, StoreError> {
        self.blocking(|db| {
            let tx = db.begin_read().map_err(unavailable)?;
            let table = tx.open_table(SUPPRESSED).map_err(unavailable)?;
            let mut out = Vec::new();
            for item in table.iter().map_err(unavailable)? {
                let (id, at) = item.map_err(unavailable)?;
                out.push((lead_id(id.value())?, Timestamp::from_millis(at.value())));
            }
            Ok(out)
        })
        .await
    }
}
