//! Hand-off storage in the embedded store (`crate::handoff`), and the local outbox: the
//! mark a ledger append, a publish or an erasure marker writes in its own write transaction
//! (so a crash after the commit still leaves the lead to be handed off), and the
//! notifications parked when they could not be delivered.
//!
//! The outbox is a log, one entry per change (sequence number -> lead id), not one entry per
//! lead: a change then writes one key after the last (the same few pages every commit)
//! instead of finding and moving the lead's earlier mark (about 12% more events per second
//! in `leadscore serve`, BENCHMARKS.md). The drainer reads a lead once per
//! page, with the last of its numbers it read, and clears the lead's entries up to it: a
//! change that lands meanwhile has a higher number and stays. A lead waits in the order of
//! its oldest change not handed off, so a lead that keeps changing is not pushed back.

use super::*;
use crate::handoff::Handoffs;
use crate::HandoffRecord;
use std::collections::BTreeSet;

/// A stored record: (version, body, summary, memberships joined by '\n': names hold no
/// control characters).
pub(super) type Stored = (u64, &'static [u8], &'static [u8], &'static str);
/// lead id -> its record
pub(super) const HANDOFF: TableDefinition<&str, Stored> = TableDefinition::new("handoff");
/// (index name, lead id) -> summary
pub(super) const MEMBERS: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("members");
/// domain -> (score, body)
pub(super) const ACCOUNTS: TableDefinition<&str, (i64, &[u8])> = TableDefinition::new("accounts");
/// `<descending score key>#<domain>` -> domain
pub(super) const ACCOUNTS_BY_SCORE: TableDefinition<&str, &str> =
    TableDefinition::new("accounts_by_score");
/// Before the log: lead id -> sequence number of its latest change. Its entries are in
/// `DIRTY_ORDER` too, so a store that has it reads the same; deleted at open.
const DIRTY: TableDefinition<&str, u64> = TableDefinition::new("dirty");
/// The outbox: sequence number -> lead id, one entry per change not handed off yet.
pub(super) const DIRTY_ORDER: TableDefinition<u64, &str> = TableDefinition::new("dirty_order");
/// Counters that only grow: `dirty` (`DIRTY_SEQ`) -> the last sequence number issued (never
/// reused, so a stale `handoff_done` cannot clear a newer mark).
pub(super) const DIRTY_SEQ: &str = "dirty";
pub(super) const COUNTERS: TableDefinition<&str, u64> = TableDefinition::new("counters");
/// Notifications that could not be delivered: key -> body.
const PARKED: TableDefinition<&str, &[u8]> = TableDefinition::new("parked");

/// Creates the tables (at open: readers then never find one missing).
pub(super) fn open_tables(tx: &redb::WriteTransaction) -> Result<(), StoreError> {
    tx.open_table(HANDOFF).map_err(unavailable)?;
    tx.open_table(MEMBERS).map_err(unavailable)?;
    tx.open_table(ACCOUNTS).map_err(unavailable)?;
    tx.open_table(ACCOUNTS_BY_SCORE).map_err(unavailable)?;
    tx.delete_table(DIRTY).map_err(unavailable)?;
    tx.open_table(DIRTY_ORDER).map_err(unavailable)?;
    tx.open_table(COUNTERS).map_err(unavailable)?;
    tx.open_table(PARKED).map_err(unavailable)?;
    Ok(())
}

/// Marks `id` changed, in the caller's write transaction: a new entry at the log's end.
pub(super) fn mark_dirty(tx: &Tx, id: &str) -> Result<(), StoreError> {
    let seq = tx.next_dirty_seq()?;
    tx.dirty_order()?.insert(seq, id).map_err(unavailable)?;
    Ok(())
}

/// The erasure's purge: the lead's record and index entries go (its dirty mark stays, so
/// that the erasure is handed off).
pub(super) fn purge_handoff(tx: &Tx, id: &str) -> Result<(), StoreError> {
    let mut records = tx.handoff()?;
    let old = records.remove(id).map_err(unavailable)?;
    let names = old.map(|v| v.value().3.to_string()).unwrap_or_default();
    let mut members = tx.members()?;
    for name in names.split('\n').filter(|n| !n.is_empty()) {
        members.remove((name, id)).map_err(unavailable)?;
    }
    Ok(())
}

fn record_of(value: (u64, &[u8], &[u8], &str)) -> HandoffRecord {
    let (version, body, summary, names) = value;
    HandoffRecord {
        version,
        body: body.to_vec(),
        memberships: names
            .split('\n')
            .filter(|n| !n.is_empty())
            .map(str::to_string)
            .collect(),
        summary: summary.to_vec(),
        erased_seen: None,
    }
}

fn lead_id(raw: &str) -> Result<LeadId, StoreError> {
    LeadId::parse(raw).map_err(|e| StoreError::Internal(format!("stored lead id: {e}")))
}

fn store_err(e: CommitError) -> StoreError {
    match e {
        CommitError::Store(e) => e,
        CommitError::Conflict => StoreError::Contention,
    }
}

#[async_trait]
impl Handoffs for Embedded {
    async fn read_handoff(&self, id: &LeadId) -> Result<Option<HandoffRecord>, StoreError> {
        let id = id.as_str();
        self.point(|db| {
            let tx = db.begin_read().map_err(unavailable)?;
            let records = tx.open_table(HANDOFF).map_err(unavailable)?;
            let value = records.get(id).map_err(unavailable)?;
            Ok(value.map(|v| record_of(v.value())))
        })
    }

    async fn write_handoff(&self, id: &LeadId, record: &HandoffRecord) -> Result<bool, StoreError> {
        let id = id.to_string();
        let record = record.clone();
        self.write(move |tx| {
            // The same conditions DynamoDB checks: the erasure marker read (or none), and
            // still the version read.
            let marker = super::backend::erased_of(tx, id.as_str())?.map(|e| e.at);
            if marker != record.erased_seen {
                return Ok(false);
            }
            let mut records = tx.handoff()?;
            let old = records
                .get(id.as_str())
                .map_err(unavailable)?
                .map(|v| record_of(v.value()));
            let (version, old_names) =
                old.map_or((0, BTreeSet::new()), |r| (r.version, r.memberships));
            if version != record.version {
                return Ok(false);
            }
            let mut members = tx.members()?;
            for name in old_names.difference(&record.memberships) {
                members
                    .remove((name.as_str(), id.as_str()))
                    .map_err(unavailable)?;
            }
            for name in &record.memberships {
                members
                    .insert((name.as_str(), id.as_str()), record.summary.as_slice())
                    .map_err(unavailable)?;
            }
            let names = record
                .memberships
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>()
                .join("\n");
            let value = (
                record.version + 1,
                record.body.as_slice(),
                record.summary.as_slice(),
                names.as_str(),
            );
            records.insert(id.as_str(), value).map_err(unavailable)?;
            Ok(true)
        })
        .await
        .map_err(store_err)
    }

    async fn member_page(
        &self,
        index: &str,
        after: Option<&LeadId>,
        limit: usize,
    ) -> Result<(Vec<(LeadId, Vec<u8>)>, bool), StoreError> {
        let index = index.to_string();
        // '\u{0}' sorts before every id character: strictly after `after`.
        let start = after.map_or(String::new(), |a| format!("{a}\u{0}"));
        self.blocking(move |db| {
            let tx = db.begin_read().map_err(unavailable)?;
            let members = tx.open_table(MEMBERS).map_err(unavailable)?;
            let mut page = Vec::new();
            for item in members
                .range((index.as_str(), start.as_str())..)
                .map_err(unavailable)?
            {
                let (k, summary) = item.map_err(unavailable)?;
                let (name, id) = k.value();
                if name != index {
                    break;
                }
                if page.len() == limit {
                    return Ok((page, true));
                }
                page.push((lead_id(id)?, summary.value().to_vec()));
            }
            Ok((page, false))
        })
        .await
    }

    async fn write_account(
        &self,
        domain: &str,
        key: &str,
        score: i64,
        body: &[u8],
    ) -> Result<(), StoreError> {
        let (domain, key, body) = (domain.to_string(), key.to_string(), body.to_vec());
        self.write(move |tx| {
            let mut accounts = tx.accounts()?;
            let old = accounts
                .insert(domain.as_str(), (score, body.as_slice()))
                .map_err(unavailable)?
                .map(|v| v.value().0);
            let mut ranked = tx.accounts_by_score()?;
            if let Some(old) = old {
                let old_key = crate::handoff::account_key(old, &domain);
                ranked.remove(old_key.as_str()).map_err(unavailable)?;
            }
            ranked
                .insert(key.as_str(), domain.as_str())
                .map_err(unavailable)?;
            Ok(())
        })
        .await
        .map_err(store_err)
    }

    async fn remove_account(&self, domain: &str) -> Result<(), StoreError> {
        let domain = domain.to_string();
        self.write(move |tx| {
            let mut accounts = tx.accounts()?;
            let old = accounts
                .remove(domain.as_str())
                .map_err(unavailable)?
                .map(|v| v.value().0);
            if let Some(old) = old {
                let mut ranked = tx.accounts_by_score()?;
                let old_key = crate::handoff::account_key(old, &domain);
                ranked.remove(old_key.as_str()).map_err(unavailable)?;
            }
            Ok(())
        })
        .await
        .map_err(store_err)
    }

    async fn read_account(&self, domain: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.point(|db| {
            let tx = db.begin_read().map_err(unavailable)?;
            let accounts = tx.open_table(ACCOUNTS).map_err(unavailable)?;
            let value = accounts.get(domain).map_err(unavailable)?;
            Ok(value.map(|v| v.value().1.to_vec()))
        })
    }

    async fn account_page(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<(String, Vec<u8>)>, bool), StoreError> {
        let start = after.map_or(String::new(), |a| format!("{a}\u{0}"));
        self.blocking(move |db| {
            let tx = db.begin_read().map_err(unavailable)?;
            let ranked = tx.open_table(ACCOUNTS_BY_SCORE).map_err(unavailable)?;
            let accounts = tx.open_table(ACCOUNTS).map_err(unavailable)?;
            let mut page = Vec::new();
            for item in ranked.range(start.as_str()..).map_err(unavailable)? {
                let (key, domain) = item.map_err(unavailable)?;
                if page.len() == limit {
                    return Ok((page, true));
                }
                let body = accounts
                    .get(domain.value())
                    .map_err(unavailable)?
                    .map(|v| v.value().1.to_vec())
                    .unwrap_or_default();
                page.push((key.value().to_string(), body));
            }
            Ok((page, false))
        })
        .await
    }

    async fn erasure_time(&self, id: &LeadId) -> Result<Option<Timestamp>, StoreError> {
        let id = id.as_str();
        self.point(|db| {
            let tx = db.begin_read().map_err(unavailable)?;
            let markers = tx.open_table(ERASED).map_err(unavailable)?;
            let value = markers.get(id).map_err(unavailable)?;
            Ok(value
                .map(|v| decode::<Erased>(v.value()))
                .transpose()?
                .map(|e| e.at))
        })
    }
}

/// Removes each lead's log entries numbered up to its number in `done`: one read of the log
/// from its head to the highest number (the drainer clears leads from the head, so about a
/// page of the outbox).
fn clear_marks(tx: &Tx, done: &[(String, u64)]) -> Result<(), StoreError> {
    let Some(last) = done.iter().map(|(_, seq)| *seq).max() else {
        return Ok(());
    };
    let upto: std::collections::HashMap<&str, u64> =
        done.iter().map(|(id, seq)| (id.as_str(), *seq)).collect();
    let mut order = tx.dirty_order()?;
    let mut cleared = Vec::new();
    for item in order.range(..=last).map_err(unavailable)? {
        let (n, lead) = item.map_err(unavailable)?;
        if upto.get(lead.value()).is_some_and(|seq| n.value() <= *seq) {
            cleared.push(n.value());
        }
    }
    for n in cleared {
        order.remove(n).map_err(unavailable)?;
    }
    Ok(())
}

impl Embedded {
    /// Lead ids whose state changed since they were last handed off (the local outbox),
    /// at most `limit`, in the order of their oldest change not handed off, each with the
    /// last sequence number read for it (at most `limit` x 16 entries are read: a lead
    /// changed more often than that stays, to be read again).
    pub fn pending_handoffs(&self, limit: usize) -> Result<Vec<(LeadId, u64)>, StoreError> {
        let tx = self.db.begin_read().map_err(unavailable)?;
        let order = tx.open_table(DIRTY_ORDER).map_err(unavailable)?;
        let mut out: Vec<(LeadId, u64)> = Vec::new();
        let mut at: std::collections::HashMap<String, usize> = Default::default();
        for item in order
            .iter()
            .map_err(unavailable)?
            .take(limit.saturating_mul(16))
        {
            let (seq, id) = item.map_err(unavailable)?;
            match at.get(id.value()) {
                Some(&i) => out[i].1 = seq.value(),
                // Full: later entries of the leads taken still count.
                None if out.len() == limit => {}
                None => {
                    at.insert(id.value().to_string(), out.len());
                    out.push((lead_id(id.value())?, seq.value()));
                }
            }
        }
        Ok(out)
    }

    /// Clears the lead's changes up to `seq` (a newer change keeps it in the outbox).
    pub fn handoff_done(&self, id: &LeadId, seq: u64) -> Result<(), StoreError> {
        let tx = self.db.begin_write().map_err(unavailable)?;
        clear_marks(&Tx::new(&tx), &[(id.to_string(), seq)])?;
        tx.commit().map_err(unavailable)
    }

    /// `handoff_done` for the leads a drainer's page handed off, as one write of the group
    /// commit (it shares commits with the events that keep the drainer busy).
    pub async fn clear_handoffs(&self, done: &[(LeadId, u64)]) -> Result<(), StoreError> {
        let done: Vec<(String, u64)> = done
            .iter()
            .map(|(id, seq)| (id.to_string(), *seq))
            .collect();
        self.write(move |tx| Ok(clear_marks(tx, &done)?))
            .await
            .map_err(store_err)
    }

    /// Notifications that could not be delivered (locally; SQS on AWS), keyed.
    pub fn park(&self, key: &str, body: &[u8]) -> Result<(), StoreError> {
        let tx = self.db.begin_write().map_err(unavailable)?;
        {
            let mut parked = tx.open_table(PARKED).map_err(unavailable)?;
            parked.insert(key, body).map_err(unavailable)?;
        }
        tx.commit().map_err(unavailable)
    }

    /// Parked notifications in key order, at most `limit`.
    pub fn parked(&self, limit: usize) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let tx = self.db.begin_read().map_err(unavailable)?;
        let parked = tx.open_table(PARKED).map_err(unavailable)?;
        let mut out = Vec::new();
        for item in parked.iter().map_err(unavailable)?.take(limit) {
            let (key, body) = item.map_err(unavailable)?;
            out.push((key.value().to_string(), body.value().to_vec()));
        }
        Ok(out)
    }

    pub fn unpark(&self, key: &str) -> Result<(), StoreError> {
        let tx = self.db.begin_write().map_err(unavailable)?;
        {
            let mut parked = tx.open_table(PARKED).map_err(unavailable)?;
            parked.remove(key).map_err(unavailable)?;
        }
        tx.commit().map_err(unavailable)
    }
}
