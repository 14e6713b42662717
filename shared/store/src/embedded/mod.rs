//! The embedded store: one redb file (`<dir>/leads.redb`), durable on every commit
//! (copy-on-write B-trees, fsync at commit), with the records of `records.rs`. Each write
//! primitive is applied within a redb write transaction, in the order callers queue them;
//! concurrent callers' writes share one transaction and its fsync (group commit, `group.rs`),
//! and each is answered once that commit is durable. Every condition DynamoDB checks is
//! re-checked inside the write transaction, so the shared logic behaves the same on both.

use crate::engine::Backend;
use crate::fold_cache::FoldCache;
use crate::migrate::{import, Migration, V1Entry};
use crate::records::{Erased, LedgerEntry, Listed, Publish, Snapshot, StageEntry, View};
use crate::{decode, encode, CommitError, StoreError};
use async_trait::async_trait;
use leadscore_scoring::{EventId, LeadId, Rules, Stage, Timestamp};
use redb::{Database, ReadableTable, TableDefinition, TableHandle};
use std::path::Path;
use std::sync::Arc;

mod backend;
mod delivery;
mod group;
mod handoff;
mod retention;
mod scan;
mod tx;

/// "<lead id>#<event id>" -> LedgerEntry (JSON); empty: a tombstone (an erased person's
/// redelivery, kept only so that it stays a duplicate).
const ENTRIES: TableDefinition<&str, &[u8]> = TableDefinition::new("entries");
/// "<lead id>#<arrival key>" -> event id: the entries in arrival order.
const ARRIVALS: TableDefinition<&str, &str> = TableDefinition::new("arrivals");
/// lead id -> Snapshot (JSON)
const SNAPSHOTS: TableDefinition<&str, &[u8]> = TableDefinition::new("snapshots");
/// "<stage>#<recorded at, 20 digits>#<lead id>" -> lead id
const STAGE_INDEX: TableDefinition<&str, &str> = TableDefinition::new("stage_index");
/// lead id -> "<folded events>|<its stage index key>"
const STAGE_OF: TableDefinition<&str, &str> = TableDefinition::new("stage_of");
/// stitched visitor id -> lead id
const ALIASES: TableDefinition<&str, &str> = TableDefinition::new("aliases");
/// lead id -> Erased (JSON)
const ERASED: TableDefinition<&str, &[u8]> = TableDefinition::new("erased");
/// The suppression list (`record.rs`): erased lead id -> erasure time (ms), written in the
/// transaction of the person's marker; filled from the markers when this version first opens
/// a store (`scan.rs`).
const SUPPRESSED: TableDefinition<&str, i64> = TableDefinition::new("suppressed");

/// Remembered signed tokens (`crate::delivery`): key -> (body digest, expiry in ms).
const DELIVERIES: TableDefinition<&str, (&str, i64)> = TableDefinition::new("deliveries");

// Hand-off records, index entries, accounts, the local outbox (`dirty_order`) and parked
// notifications: `handoff.rs`.

/// The first version's tables (see `migrate.rs`): read once by `migrate_v1`, then dropped.
const V1_LEDGER: TableDefinition<&str, &[u8]> = TableDefinition::new("ledger");
const V1_HEADS: TableDefinition<&str, &[u8]> = TableDefinition::new("heads");
const V1_STAGES: TableDefinition<&str, &str> = TableDefinition::new("stages");

#[derive(Clone)]
pub struct Embedded {
    db: Arc<Database>,
    /// Snapshots already decoded, by lead id: a snapshot is immutable per version, and a
    /// long history's is tens of KB of JSON that every event would otherwise decode again.
    decoded: Arc<std::sync::Mutex<Decoded>>,
    /// Leads folded lately: one process serves every event of a lead here.
    folds: Arc<FoldCache>,
    /// Writes waiting for the next commit (`group.rs`).
    group: Arc<group::Group>,
}

/// Lead id -> (stored header, decoded snapshot).
type Decoded = std::collections::HashMap<String, (String, Arc<Snapshot>)>;

/// Leads whose decoded snapshot is kept (then the cache starts over).
const DECODED_LEADS: usize = 4_096;

/// A stored snapshot: `v<version>:<digest of the JSON>\n<JSON>`, so that a snapshot already
/// decoded is recognised without decoding it again (the digest tells apart two snapshots of
/// one version, such as the first one of a lead erased and come back).
fn snapshot_bytes(snapshot: &Snapshot) -> Result<Vec<u8>, StoreError> {
    let json = encode(snapshot)?;
    let mut bytes = format!("v{}:{:016x}\n", snapshot.version, crate::fnv(&json)).into_bytes();
    bytes.extend(json);
    Ok(bytes)
}

/// The header (`v<version>:<digest>`), the version, and the JSON.
fn snapshot_parts(bytes: &[u8]) -> Result<(&str, u64, &[u8]), StoreError> {
    let parts = || {
        let end = bytes.iter().position(|b| *b == b'\n')?;
        let header = std::str::from_utf8(&bytes[..end]).ok()?;
        let version = header.strip_prefix('v')?.split_once(':')?.0.parse().ok()?;
        Some((header, version, &bytes[end + 1..]))
    };
    parts().ok_or_else(|| StoreError::Internal("unreadable snapshot header".into()))
}

fn unavailable(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(format!("embedded store: {e}"))
}

fn entry_key(id: &LeadId, event: &str) -> String {
    format!("{id}#{event}")
}

fn index_key(entry: &StageEntry) -> String {
    format!("{}#{}", entry.stage, entry.sort_key())
}

use tx::Tx;

impl Embedded {
    /// Opens (creating if needed) the store in directory `dir`, e.g. `./.leadscore`. A store
    /// written by an earlier version is migrated on open (see `migrate.rs`).
    pub fn open(dir: impl AsRef<Path>) -> Result<Self, StoreError> {
        let dir = dir.as_ref();
        std::fs::create_dir_all(dir)
            .map_err(|e| unavailable(format!("cannot create {}: {e}", dir.display())))?;
        let db = Database::create(dir.join("leads.redb")).map_err(unavailable)?;
        let tx = db.begin_write().map_err(unavailable)?;
        {
            tx.open_table(ENTRIES).map_err(unavailable)?;
            tx.open_table(ARRIVALS).map_err(unavailable)?;
            tx.open_table(SNAPSHOTS).map_err(unavailable)?;
            tx.open_table(STAGE_INDEX).map_err(unavailable)?;
            tx.open_table(STAGE_OF).map_err(unavailable)?;
            tx.open_table(ALIASES).map_err(unavailable)?;
            tx.open_table(ERASED).map_err(unavailable)?;
            scan::open_suppressed(&tx)?;
            handoff::open_tables(&tx)?;
            // The clock for housekeeping only (expired tokens at open): every primitive of the
            // store is given its time.
            delivery::sweep(
                &mut tx.open_table(DELIVERIES).map_err(unavailable)?,
                crate::system_now(),
            )?;
        }
        tx.commit().map_err(unavailable)?;
        Ok(Embedded {
            db: Arc::new(db),
            decoded: Arc::default(),
            folds: Arc::default(),
            group: Arc::default(),
        })
    }

    /// Imports what the first version wrote in this file (its ledger, re-applied), then drops
    /// its tables. `None`: there was nothing to migrate. `leadscore serve` runs it at start.
    pub async fn migrate_v1(&self, rules: &Rules) -> Result<Option<Migration>, StoreError> {
        let entries = self
            .blocking(|db| {
                let tx = db.begin_read().map_err(unavailable)?;
                let v1 = tx
                    .list_tables()
                    .map_err(unavailable)?
                    .any(|t| t.name() == V1_LEDGER.name());
                if !v1 {
                    return Ok(None);
                }
                let ledger = tx.open_table(V1_LEDGER).map_err(unavailable)?;
                let mut entries = Vec::new();
                for item in ledger.iter().map_err(unavailable)? {
                    let (_, v) = item.map_err(unavailable)?;
                    entries.push(decode::<V1Entry>(v.value())?);
                }
                Ok(Some(entries))
            })
            .await?;
        let Some(entries) = entries else {
            return Ok(None);
        };
        let done = import(self, entries, rules).await?;
        self.blocking(|db| {
            let tx = db.begin_write().map_err(unavailable)?;
            tx.delete_table(V1_LEDGER).map_err(unavailable)?;
            tx.delete_table(V1_HEADS).map_err(unavailable)?;
            tx.delete_table(V1_STAGES).map_err(unavailable)?;
            tx.commit().map_err(unavailable)?;
            Ok(())
        })
        .await?;
        Ok(Some(done))
    }

    /// Ids whose erasure was begun and not finished (the process stopped half-way):
    /// `leadscore serve` tends them at start.
    pub async fn unfinished_erasures(&self) -> Result<Vec<LeadId>, StoreError> {
        self.blocking(|db| {
            let tx = db.begin_read().map_err(unavailable)?;
            let table = tx.open_table(ERASED).map_err(unavailable)?;
            let mut ids = Vec::new();
            for item in table.iter().map_err(unavailable)? {
                let (id, bytes) = item.map_err(unavailable)?;
                let erased: crate::records::Erased = decode(bytes.value())?;
                if !erased.done {
                    ids.push(
                        LeadId::parse(id.value())
                            .map_err(|e| StoreError::Internal(e.to_string()))?,
                    );
                }
            }
            Ok(ids)
        })
        .await
    }

    /// A read of one lead's few records, run in place: a redb read transaction over pages
    /// mostly in memory takes microseconds, less than handing it to a blocking thread and
    /// waking the task again. Scans and anything that may take long go through `blocking`.
    fn point<T>(
        &self,
        f: impl FnOnce(&Database) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        f(&self.db)
    }

    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Database) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || f(&db))
            .await
            .map_err(|e| StoreError::Internal(e.to_string()))?
    }

    /// `f` applied in a write transaction, answered once that is committed (durably). The
    /// writes of concurrent callers share a transaction and its commit (`group.rs`), so `f`
    /// must write nothing when it returns `CommitError::Conflict`, and may run twice (the
    /// first run undone) when it fails otherwise.
    async fn write<T: Send + 'static>(
        &self,
        f: impl Fn(&Tx<'_>) -> Result<T, CommitError> + Send + 'static,
    ) -> Result<T, CommitError> {
        self.group.write(&self.db, f).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{LeadKey, LeadStore, Upkeep};
    use leadscore_scoring::{Email, Event, EventId, Identity, Signal};

    /// A process that stopped between an erasure's marker and its purge: the lead reads as
    /// absent, the erasure is listed as unfinished, and tending it (what `leadscore serve`
    /// does at start) finishes it.
    #[tokio::test]
    async fn an_erasure_cut_short_by_a_stop_is_listed_and_finished() {
        let dir = tempfile::tempdir().unwrap();
        let store = Embedded::open(dir.path()).unwrap();
        let rules = Rules::default_rules();
        let email = Email::parse("stopped@acme.io").unwrap();
        let id = LeadId::for_email(&email);
        let at = Timestamp::from_millis(1_761_955_200_000);
        let identity = Identity::new(Some(email.clone()), None).unwrap();
        let event = Event::new(
            EventId::parse("s1").unwrap(),
            Signal::FormSubmitted,
            at,
            identity,
        );
        store.apply(&event, &rules, at).await.unwrap();
        assert!(store.unfinished_erasures().await.unwrap().is_empty());
        let later = at.plus_millis(60_000);
        let half = Erased {
            at: later,
            done: false,
            visitors: Vec::new(),
        };
        store.mark_erased(&id, &half).await.unwrap();
        let key = LeadKey::Id(id.clone());
        assert!(store.get(&key, &rules, later).await.unwrap().is_none());
        assert_eq!(store.unfinished_erasures().await.unwrap(), vec![id.clone()]);
        let budget = std::time::Duration::from_secs(5);
        assert_eq!(
            store.tend(&id, &rules, later, budget).await.unwrap(),
            Upkeep::Done
        );
        assert!(store.unfinished_erasures().await.unwrap().is_empty());
        assert!(store.ledger(&id).await.unwrap().is_empty());
    }
}
