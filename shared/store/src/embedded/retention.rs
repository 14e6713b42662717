//! Retention in the embedded store (`crate::retention`): ledger entries whose event is older
//! than the cutoff lose their content once the lead's snapshot holds them. The id stays, as
//! an empty entry (like an erased person's redelivery), so a very late redelivery is still a
//! duplicate; the arrival row goes, so folds never read it again.

use super::*;
use std::collections::HashMap;

/// The watermark of `id`'s snapshot ("" when it has none: nothing is held).
fn watermark(snapshots: &redb::Table<&str, &[u8]>, id: &str) -> Result<String, StoreError> {
    let Some(bytes) = snapshots.get(id).map_err(unavailable)? else {
        return Ok(String::new());
    };
    let (_, _, json) = snapshot_parts(bytes.value())?;
    Ok(decode::<Snapshot>(json)?.watermark)
}

impl Embedded {
    /// Forgets what happened before `cutoff` (see the module doc); how many entries. One
    /// write transaction: run at start and daily by `leadscore serve`.
    pub async fn forget_before(&self, cutoff: Timestamp) -> Result<u64, StoreError> {
        let forgotten = self
            .write(move |tx| {
                let snapshots = tx.snapshots()?;
                let mut entries = tx.entries()?;
                let mut watermarks: HashMap<String, String> = HashMap::new();
                let mut doomed = Vec::new();
                for item in entries.iter().map_err(unavailable)? {
                    let (key, value) = item.map_err(unavailable)?;
                    if value.value().is_empty() {
                        continue;
                    }
                    let entry: LedgerEntry = decode(value.value())?;
                    if entry.event.occurred_at >= cutoff {
                        continue;
                    }
                    let Some((id, _)) = key.value().split_once('#') else {
                        return Err(StoreError::Internal("unreadable ledger key".into()).into());
                    };
                    if !watermarks.contains_key(id) {
                        watermarks.insert(id.to_string(), watermark(&snapshots, id)?);
                    }
                    let arrival = entry.arrival_key();
                    if arrival.as_str() <= watermarks[id].as_str() {
                        doomed.push((key.value().to_string(), format!("{id}#{arrival}")));
                    }
                }
                let mut arrivals = tx.arrivals()?;
                for (key, arrival) in &doomed {
                    entries
                        .insert(key.as_str(), [].as_slice())
                        .map_err(unavailable)?;
                    arrivals.remove(arrival.as_str()).map_err(unavailable)?;
                }
                Ok(doomed.len() as u64)
            })
            .await
            .map_err(|e| match e {
                CommitError::Store(e) => e,
                CommitError::Conflict => StoreError::Contention,
            })?;
        Ok(forgotten)
    }
}
