//! The embedded store: one redb file (`<dir>/leads.redb`), durable on every commit
//! (copy-on-write B-trees, fsync at commit), with the same records and conditions as DynamoDB.
//! redb serialises write transactions, and each commit re-checks the head version inside its
//! transaction, so the shared optimistic `apply` behaves exactly as it does on DynamoDB.

use crate::{
    apply_with, check_limit, cursor, decode, encode, history_ids, key_id, resolve, stored, Applied,
    Backend, Commit, CommitError, Head, LeadKey, LeadStore, LedgerEntry, Page, StageEntry,
    StoreError, StoredLead,
};
use async_trait::async_trait;
use leadscore_scoring::{Event, LeadId, Rules, Stage, Timestamp};
use redb::{Database, ReadableTable, TableDefinition};
use std::path::Path;
use std::sync::Arc;

/// lead id -> Head (JSON)
const HEADS: TableDefinition<&str, &[u8]> = TableDefinition::new("heads");
/// "<lead id>#<version, 12 digits>" -> LedgerEntry (JSON)
const LEDGER: TableDefinition<&str, &[u8]> = TableDefinition::new("ledger");
/// "<stage>#<entered at, 20 digits>#<lead id>" -> lead id
const STAGES: TableDefinition<&str, &str> = TableDefinition::new("stages");

#[derive(Clone)]
pub struct Embedded {
    db: Arc<Database>,
}

fn unavailable(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(format!("embedded store: {e}"))
}

fn ledger_key(id: &LeadId, version: u64) -> String {
    format!("{id}#{version:012}")
}

fn stage_key(entry: &StageEntry) -> String {
    format!("{}#{}", entry.stage, entry.sort_key())
}

impl Embedded {
    /// Opens (creating if needed) the store in directory `dir`, e.g. `./.leadscore`.
    pub fn open(dir: impl AsRef<Path>) -> Result<Self, StoreError> {
        let dir = dir.as_ref();
        std::fs::create_dir_all(dir)
            .map_err(|e| unavailable(format!("cannot create {}: {e}", dir.display())))?;
        let db = Database::create(dir.join("leads.redb")).map_err(unavailable)?;
        let tx = db.begin_write().map_err(unavailable)?;
        {
            tx.open_table(HEADS).map_err(unavailable)?;
            tx.open_table(LEDGER).map_err(unavailable)?;
            tx.open_table(STAGES).map_err(unavailable)?;
        }
        tx.commit().map_err(unavailable)?;
        Ok(Embedded { db: Arc::new(db) })
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
}

fn read_head(db: &Database, id: &str) -> Result<Option<Head>, StoreError> {
    let tx = db.begin_read().map_err(unavailable)?;
    let heads = tx.open_table(HEADS).map_err(unavailable)?;
    let value = heads.get(id).map_err(unavailable)?;
    value.map(|v| decode(v.value())).transpose()
}

#[async_trait]
impl Backend for Embedded {
    async fn head(&self, id: &LeadId) -> Result<Option<Head>, StoreError> {
        let id = id.to_string();
        self.blocking(move |db| read_head(db, &id)).await
    }

    async fn commit(&self, commit: Commit) -> Result<(), CommitError> {
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || write(&db, commit))
            .await
            .map_err(|e| CommitError::Store(StoreError::Internal(e.to_string())))?
    }
}

fn write(db: &Database, c: Commit) -> Result<(), CommitError> {
    let tx = db.begin_write().map_err(unavailable)?;
    {
        let mut heads = tx.open_table(HEADS).map_err(unavailable)?;
        let version_of =
            |heads: &redb::Table<&str, &[u8]>, id: &str| -> Result<Option<u64>, StoreError> {
                let value = heads.get(id).map_err(unavailable)?;
                Ok(value
                    .map(|v| decode::<Head>(v.value()))
                    .transpose()?
                    .map(|h| h.version))
            };
        // The same conditions DynamoDB checks: nobody wrote these heads since we read them.
        if version_of(&heads, c.lead_id.as_str())? != c.expected {
            return Err(CommitError::Conflict);
        }
        if let Some(s) = &c.stitch {
            if version_of(&heads, s.visitor_id.as_str())? != s.expected {
                return Err(CommitError::Conflict);
            }
        }
        heads
            .insert(c.lead_id.as_str(), encode(&c.head)?.as_slice())
            .map_err(unavailable)?;
        let mut stages = tx.open_table(STAGES).map_err(unavailable)?;
        if let Some(s) = &c.stitch {
            heads
                .insert(s.visitor_id.as_str(), encode(&s.alias)?.as_slice())
                .map_err(unavailable)?;
            if let Some(old) = &s.old_entry {
                stages
                    .remove(stage_key(old).as_str())
                    .map_err(unavailable)?;
            }
        }
        if let Some((old, new)) = &c.stage_change {
            if let Some(old) = old {
                stages
                    .remove(stage_key(old).as_str())
                    .map_err(unavailable)?;
            }
            stages
                .insert(stage_key(new).as_str(), new.id.as_str())
                .map_err(unavailable)?;
        }
        if let Some(entry) = &c.ledger {
            let mut ledger = tx.open_table(LEDGER).map_err(unavailable)?;
            ledger
                .insert(
                    ledger_key(&c.lead_id, c.head.version).as_str(),
                    encode(entry)?.as_slice(),
                )
                .map_err(unavailable)?;
        }
    }
    tx.commit().map_err(unavailable)?;
    Ok(())
}

#[async_trait]
impl LeadStore for Embedded {
    async fn apply(
        &self,
        event: &Event,
        rules: &Rules,
        now: Timestamp,
    ) -> Result<Applied, StoreError> {
        apply_with(self, event, rules, now).await
    }

    async fn get(&self, key: &LeadKey) -> Result<Option<StoredLead>, StoreError> {
        Ok(resolve(self, &key_id(key))
            .await?
            .and_then(|(_, head)| stored(head)))
    }

    async fn list_by_stage(
        &self,
        stage: Stage,
        changed_since: Option<Timestamp>,
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<Page, StoreError> {
        check_limit(limit)?;
        let after = cursor.map(|c| cursor::read(stage, c)).transpose()?;
        let from = cursor::since_key(changed_since);
        self.blocking(move |db| {
            let tx = db.begin_read().map_err(unavailable)?;
            let stages = tx.open_table(STAGES).map_err(unavailable)?;
            let heads = tx.open_table(HEADS).map_err(unavailable)?;
            let prefix = format!("{stage}#");
            let start = match &after {
                // Strictly after the last key returned: '\u{0}' sorts before every key char.
                Some(k) if *k >= from => format!("{prefix}{k}\u{0}"),
                _ => format!("{prefix}{from}"),
            };
            let end = format!("{prefix}\u{7f}");
            let mut leads = Vec::new();
            let mut last = None;
            for item in stages
                .range(start.as_str()..end.as_str())
                .map_err(unavailable)?
            {
                let (key, id) = item.map_err(unavailable)?;
                let head = heads.get(id.value()).map_err(unavailable)?;
                let head: Option<Head> = head.map(|v| decode(v.value())).transpose()?;
                if let Some(lead) = head.and_then(stored) {
                    leads.push(lead);
                    last = Some(key.value()[prefix.len()..].to_string());
                }
                if leads.len() == limit as usize {
                    break;
                }
            }
            // A full page may be followed by more; an empty next page is cheap and honest.
            let next = match last {
                Some(k) if leads.len() == limit as usize => Some(cursor::issue(stage, &k)),
                _ => None,
            };
            Ok(Page { leads, next })
        })
        .await
    }

    async fn ledger(&self, id: &LeadId) -> Result<Vec<Event>, StoreError> {
        let Some((_, head)) = resolve(self, id).await? else {
            return Ok(Vec::new());
        };
        let Some(state) = head.state else {
            return Ok(Vec::new());
        };
        let ids = history_ids(&state);
        self.blocking(move |db| {
            let tx = db.begin_read().map_err(unavailable)?;
            let ledger = tx.open_table(LEDGER).map_err(unavailable)?;
            let mut entries: Vec<(Timestamp, String, LedgerEntry)> = Vec::new();
            for id in ids {
                let start = format!("{id}#");
                let end = format!("{id}#~");
                for item in ledger
                    .range(start.as_str()..end.as_str())
                    .map_err(unavailable)?
                {
                    let (key, value) = item.map_err(unavailable)?;
                    let entry: LedgerEntry = decode(value.value())?;
                    entries.push((entry.applied_at, key.value().to_string(), entry));
                }
            }
            entries.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
            Ok(entries.into_iter().map(|(_, _, e)| e.event).collect())
        })
        .await
    }

    async fn erase(&self, key: &LeadKey) -> Result<bool, StoreError> {
        let Some((lead_id, head)) = resolve(self, &key_id(key)).await? else {
            return Ok(false);
        };
        let mut ids = vec![lead_id.clone()];
        if let Some(state) = &head.state {
            ids.extend(history_ids(state));
        }
        let entry = head.state.as_ref().map(StageEntry::of);
        self.blocking(move |db| {
            let tx = db.begin_write().map_err(unavailable)?;
            {
                let mut heads = tx.open_table(HEADS).map_err(unavailable)?;
                let mut ledger = tx.open_table(LEDGER).map_err(unavailable)?;
                let mut stages = tx.open_table(STAGES).map_err(unavailable)?;
                for id in &ids {
                    heads.remove(id.as_str()).map_err(unavailable)?;
                    let start = format!("{id}#");
                    let end = format!("{id}#~");
                    let keys: Vec<String> = ledger
                        .range(start.as_str()..end.as_str())
                        .map_err(unavailable)?
                        .map(|item| item.map(|(k, _)| k.value().to_string()))
                        .collect::<Result<_, _>>()
                        .map_err(unavailable)?;
                    for k in keys {
                        ledger.remove(k.as_str()).map_err(unavailable)?;
                    }
                }
                if let Some(entry) = &entry {
                    stages
                        .remove(stage_key(entry).as_str())
                        .map_err(unavailable)?;
                }
            }
            tx.commit().map_err(unavailable)?;
            Ok(true)
        })
        .await
    }
}
