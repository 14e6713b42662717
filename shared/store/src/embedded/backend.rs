//! The embedded store's primitives (see `mod.rs` for its records and tables).

use super::*;

/// A `STAGE_OF` value: "<folded>|<index key>" ("<folded>|" once unlisted).
fn listed(value: &str) -> Result<Listed, StoreError> {
    let bad = || StoreError::Internal(format!("unreadable stage entry {value:?}"));
    let (folded, key) = value.split_once('|').ok_or_else(bad)?;
    let folded = folded.parse().map_err(|_| bad())?;
    let entry = match key.split_once('#') {
        None => None,
        Some((stage, sort)) => Some((stage.parse::<Stage>().map_err(|_| bad())?, sort.to_string())),
    };
    Ok(Listed { entry, folded })
}

/// What `STAGE_OF` holds for `id`, and its index key.
fn stage_of(
    table: &impl ReadableTable<&'static str, &'static str>,
    id: &str,
) -> Result<Option<(Listed, Option<String>)>, StoreError> {
    let Some(value) = table.get(id).map_err(unavailable)? else {
        return Ok(None);
    };
    let listed = listed(value.value())?;
    let key = listed
        .entry
        .as_ref()
        .map(|(stage, sort)| format!("{stage}#{sort}"));
    Ok(Some((listed, key)))
}

/// The live ledger entries of `id` and their keys (tombstones left out).
fn ledger_of(
    table: &impl ReadableTable<&'static str, &'static [u8]>,
    id: &str,
) -> Result<Vec<(String, LedgerEntry)>, StoreError> {
    let prefix = format!("{id}#");
    let mut out = Vec::new();
    for item in table.range(prefix.as_str()..).map_err(unavailable)? {
        let (k, v) = item.map_err(unavailable)?;
        if !k.value().starts_with(&prefix) {
            break;
        }
        if !v.value().is_empty() {
            out.push((k.value().to_string(), decode(v.value())?));
        }
    }
    Ok(out)
}

fn store_err(e: CommitError) -> StoreError {
    match e {
        CommitError::Store(e) => e,
        CommitError::Conflict => StoreError::Contention,
    }
}

pub(super) fn erased_of(tx: &Tx, id: &str) -> Result<Option<Erased>, StoreError> {
    let table = tx.erased()?;
    let value = table.get(id).map_err(unavailable)?;
    value.map(|v| decode(v.value())).transpose()
}

#[async_trait]
impl Backend for Embedded {
    async fn append(&self, id: &LeadId, entry: &LedgerEntry) -> Result<bool, StoreError> {
        let key = entry_key(id, entry.event.id.as_str());
        let arrival = format!("{id}#{}", entry.arrival_key());
        let bytes = encode(entry)?;
        let event = entry.event.id.to_string();
        let id = id.to_string();
        self.write(move |tx| {
            let mut entries = tx.entries()?;
            if entries.get(key.as_str()).map_err(unavailable)?.is_some() {
                return Ok(false);
            }
            entries
                .insert(key.as_str(), bytes.as_slice())
                .map_err(unavailable)?;
            let mut arrivals = tx.arrivals()?;
            arrivals
                .insert(arrival.as_str(), event.as_str())
                .map_err(unavailable)?;
            handoff::mark_dirty(tx, id.as_str())?;
            Ok(true)
        })
        .await
        .map_err(store_err)
    }

    async fn tombstone(&self, id: &LeadId, event: &EventId) -> Result<(), StoreError> {
        let key = entry_key(id, event.as_str());
        let id = id.to_string();
        self.write(move |tx| {
            let mut entries = tx.entries()?;
            let old: Option<LedgerEntry> = match entries.get(key.as_str()).map_err(unavailable)? {
                Some(v) if !v.value().is_empty() => Some(decode(v.value())?),
                _ => None,
            };
            entries
                .insert(key.as_str(), [].as_slice())
                .map_err(unavailable)?;
            if let Some(old) = old {
                let mut arrivals = tx.arrivals()?;
                arrivals
                    .remove(format!("{id}#{}", old.arrival_key()).as_str())
                    .map_err(unavailable)?;
            }
            Ok(())
        })
        .await
        .map_err(store_err)
    }

    fn snapshot_every(&self) -> usize {
        8
    }

    fn fold_cache(&self) -> Option<&FoldCache> {
        Some(&self.folds)
    }

    async fn view(&self, id: &LeadId) -> Result<View, StoreError> {
        // Borrowed: a point read runs here, not on another thread.
        let (id, decoded) = (id.as_str(), &self.decoded);
        self.point(|db| {
            let tx = db.begin_read().map_err(unavailable)?;
            let get = |name: TableDefinition<&str, &[u8]>| -> Result<Option<Vec<u8>>, StoreError> {
                let table = tx.open_table(name).map_err(unavailable)?;
                let value = table.get(id).map_err(unavailable)?;
                Ok(value.map(|v| v.value().to_vec()))
            };
            let erased: Option<Erased> = get(ERASED)?.map(|b| decode(&b)).transpose()?;
            let snapshot: Option<Arc<Snapshot>> = match get(SNAPSHOTS)? {
                None => None,
                Some(bytes) => {
                    let mut cache = decoded.lock().unwrap_or_else(|p| p.into_inner());
                    let (header, _, json) = snapshot_parts(&bytes)?;
                    match cache.get(id) {
                        Some((seen, s)) if seen == header => Some(Arc::clone(s)),
                        _ => {
                            let snapshot: Arc<Snapshot> = Arc::new(decode(json)?);
                            if cache.len() >= DECODED_LEADS {
                                cache.clear();
                            }
                            cache.insert(
                                id.to_string(),
                                (header.to_string(), Arc::clone(&snapshot)),
                            );
                            Some(snapshot)
                        }
                    }
                }
            };
            let aliases = tx.open_table(ALIASES).map_err(unavailable)?;
            let alias = match aliases.get(id).map_err(unavailable)? {
                Some(v) => Some(
                    LeadId::parse(v.value()).map_err(|e| StoreError::Internal(e.to_string()))?,
                ),
                None => None,
            };
            let arrivals = tx.open_table(ARRIVALS).map_err(unavailable)?;
            let entries = tx.open_table(ENTRIES).map_err(unavailable)?;
            let start = match &snapshot {
                // Strictly after the watermark: '\u{0}' sorts before every key character.
                Some(s) => format!("{id}#{}\u{0}", s.watermark),
                None => format!("{id}#"),
            };
            let end = format!("{id}#\u{7f}\u{7f}");
            let mut tail = Vec::new();
            for item in arrivals
                .range(start.as_str()..end.as_str())
                .map_err(unavailable)?
            {
                let (_, event) = item.map_err(unavailable)?;
                let key = format!("{id}#{}", event.value());
                if let Some(v) = entries.get(key.as_str()).map_err(unavailable)? {
                    if !v.value().is_empty() {
                        tail.push(decode(v.value())?);
                    }
                }
            }
            let listed =
                stage_of(&tx.open_table(STAGE_OF).map_err(unavailable)?, id)?.map(|(l, _)| l);
            Ok(View {
                erased,
                alias,
                snapshot,
                tail,
                listed,
            })
        })
    }

    async fn entries(&self, id: &LeadId) -> Result<Vec<LedgerEntry>, StoreError> {
        let id = id.to_string();
        self.blocking(move |db| {
            let tx = db.begin_read().map_err(unavailable)?;
            let entries = tx.open_table(ENTRIES).map_err(unavailable)?;
            Ok(ledger_of(&entries, &id)?
                .into_iter()
                .map(|(_, e)| e)
                .collect())
        })
        .await
    }

    async fn publish(&self, id: &LeadId, p: Publish) -> Result<(), CommitError> {
        if p.snapshot.is_none() && p.stage.is_none() && !p.unlist {
            // Nothing to write (an apply publishes whatever its fold changed, most often
            // nothing): no write to queue, no commit to wait for.
            return Ok(());
        }
        let id = id.to_string();
        self.write(move |tx| {
            if p.snapshot.is_some() || p.stage.is_some() {
                // The same condition DynamoDB checks: no erasure begun since the read.
                if erased_of(tx, &id)?.map(|e| e.at) != p.erased_seen {
                    return Err(CommitError::Conflict);
                }
            }
            if let Some((expected, snapshot)) = &p.snapshot {
                let mut snapshots = tx.snapshots()?;
                let current = match snapshots.get(id.as_str()).map_err(unavailable)? {
                    Some(v) => Some(snapshot_parts(v.value())?.1),
                    None => None,
                };
                if current != *expected {
                    return Err(CommitError::Conflict);
                }
                snapshots
                    .insert(id.as_str(), snapshot_bytes(snapshot)?.as_slice())
                    .map_err(unavailable)?;
            }
            let mut index = tx.stage_index()?;
            let mut stage_of = tx.stage_of()?;
            let old = self::stage_of(&*stage_of, &id)?;
            let old_folded = old.as_ref().map(|(l, _)| l.folded);
            let old_key = old.and_then(|(_, k)| k);
            if let Some((entry, folded)) = &p.stage {
                // An older view never overwrites a newer one.
                if old_folded.is_none_or(|n| n <= *folded) {
                    if let Some(key) = &old_key {
                        index.remove(key.as_str()).map_err(unavailable)?;
                    }
                    let key = index_key(entry);
                    index
                        .insert(key.as_str(), entry.id.as_str())
                        .map_err(unavailable)?;
                    stage_of
                        .insert(id.as_str(), format!("{folded}|{key}").as_str())
                        .map_err(unavailable)?;
                }
            } else if p.unlist {
                if let Some(key) = &old_key {
                    index.remove(key.as_str()).map_err(unavailable)?;
                }
                let folded = old_folded.unwrap_or(0);
                stage_of
                    .insert(id.as_str(), format!("{folded}|").as_str())
                    .map_err(unavailable)?;
            }
            if p.snapshot.is_some() || p.stage.is_some() || p.unlist {
                handoff::mark_dirty(tx, &id)?;
            }
            Ok(())
        })
        .await
    }

    async fn alias(&self, visitor: &LeadId, lead: &LeadId) -> Result<bool, StoreError> {
        let (visitor, lead) = (visitor.to_string(), lead.to_string());
        self.write(move |tx| {
            let mut aliases = tx.aliases()?;
            if aliases
                .get(visitor.as_str())
                .map_err(unavailable)?
                .is_some()
            {
                return Ok(false);
            }
            aliases
                .insert(visitor.as_str(), lead.as_str())
                .map_err(unavailable)?;
            Ok(true)
        })
        .await
        .map_err(store_err)
    }

    async fn mark_erased(&self, id: &LeadId, erased: &Erased) -> Result<(), StoreError> {
        let id = id.to_string();
        let bytes = encode(erased)?;
        self.write(move |tx| {
            let mut table = tx.erased()?;
            table
                .insert(id.as_str(), bytes.as_slice())
                .map_err(unavailable)?;
            handoff::mark_dirty(tx, &id)?;
            Ok(())
        })
        .await
        .map_err(store_err)
    }

    async fn mark_lead_erased(&self, id: &LeadId, erased: &Erased) -> Result<(), StoreError> {
        let id = id.to_string();
        let bytes = encode(erased)?;
        let at = erased.at.millis();
        self.write(move |tx| {
            let mut table = tx.erased()?;
            table
                .insert(id.as_str(), bytes.as_slice())
                .map_err(unavailable)?;
            let mut suppressed = tx.suppressed()?;
            suppressed.insert(id.as_str(), at).map_err(unavailable)?;
            handoff::mark_dirty(tx, &id)?;
            Ok(())
        })
        .await
        .map_err(store_err)
    }

    async fn purge(
        &self,
        id: &LeadId,
        at: Timestamp,
        _deadline: tokio::time::Instant,
    ) -> Result<bool, StoreError> {
        // The erased person's folded state leaves memory with their records.
        self.folds.forget(id);
        let id = id.to_string();
        let key = id.clone();
        // One transaction: an embedded erasure always completes at once.
        let done = self
            .write(move |tx| {
                let mut entries = tx.entries()?;
                let mut arrivals = tx.arrivals()?;
                let doomed: Vec<(String, LedgerEntry)> = ledger_of(&*entries, &id)?
                    .into_iter()
                    .filter(|(_, e)| e.event.occurred_at <= at)
                    .collect();
                for (key, entry) in doomed {
                    let arrival = entry.arrival_key();
                    entries.remove(key.as_str()).map_err(unavailable)?;
                    arrivals
                        .remove(format!("{id}#{arrival}").as_str())
                        .map_err(unavailable)?;
                }
                let mut snapshots = tx.snapshots()?;
                snapshots.remove(id.as_str()).map_err(unavailable)?;
                let mut stage_of = tx.stage_of()?;
                if let Some((_, Some(key))) = self::stage_of(&*stage_of, &id)? {
                    let mut index = tx.stage_index()?;
                    index.remove(key.as_str()).map_err(unavailable)?;
                }
                stage_of.remove(id.as_str()).map_err(unavailable)?;
                let mut aliases = tx.aliases()?;
                aliases.remove(id.as_str()).map_err(unavailable)?;
                handoff::purge_handoff(tx, &id)?;
                Ok(true)
            })
            .await
            .map_err(store_err);
        // A snapshot written after the erasure starts its versions again: forget this one.
        self.decoded
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&key);
        done
    }

    async fn stage_index(
        &self,
        stage: Stage,
        start: &str,
        exclusive: bool,
        limit: usize,
    ) -> Result<(Vec<String>, bool), StoreError> {
        let prefix = format!("{stage}#");
        let start = if exclusive {
            // '\u{0}' sorts before every key character: strictly after `start`.
            format!("{prefix}{start}\u{0}")
        } else {
            format!("{prefix}{start}")
        };
        self.blocking(move |db| {
            let tx = db.begin_read().map_err(unavailable)?;
            let index = tx.open_table(STAGE_INDEX).map_err(unavailable)?;
            let end = format!("{prefix}\u{7f}");
            let mut keys = Vec::new();
            for item in index
                .range(start.as_str()..end.as_str())
                .map_err(unavailable)?
            {
                let (key, _) = item.map_err(unavailable)?;
                if keys.len() == limit {
                    return Ok((keys, true));
                }
                keys.push(key.value()[prefix.len()..].to_string());
            }
            Ok((keys, false))
        })
        .await
    }
}
