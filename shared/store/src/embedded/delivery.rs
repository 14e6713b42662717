//! Remembered signed tokens in the embedded store (`crate::delivery`).

use super::*;
use crate::{Delivery, DeliveryCheck};
use redb::ReadableTableMetadata;

/// Past this many remembered tokens, recording one first forgets the expired ones.
const SWEEP_ABOVE: u64 = 10_000;

/// Forgets tokens expired at `now` (at open, and as the table grows).
pub(super) fn sweep(
    table: &mut redb::Table<&'static str, (&'static str, i64)>,
    now: Timestamp,
) -> Result<(), StoreError> {
    table
        .retain(|_, (_, expires)| expires > now.millis())
        .map_err(unavailable)?;
    Ok(())
}

impl Embedded {
    pub(crate) async fn delivery(
        &self,
        delivery: &Delivery,
        now: Timestamp,
        record: bool,
    ) -> Result<DeliveryCheck, StoreError> {
        let delivery = delivery.clone();
        if !record {
            return self
                .blocking(move |db| {
                    let tx = db.begin_read().map_err(unavailable)?;
                    let table = tx.open_table(DELIVERIES).map_err(unavailable)?;
                    let stored = table.get(delivery.key.as_str()).map_err(unavailable)?;
                    let stored = stored.as_ref().map(|v| v.value());
                    let stored = stored.map(|(d, ms)| (d, Timestamp::from_millis(ms)));
                    Ok(DeliveryCheck::of(stored, &delivery, now))
                })
                .await;
        }
        let written = self
            .write(move |tx| {
                let mut table = tx.deliveries()?;
                if table.len().map_err(unavailable)? > SWEEP_ABOVE {
                    sweep(&mut table, now)?;
                }
                let known = {
                    let stored = table.get(delivery.key.as_str()).map_err(unavailable)?;
                    let stored = stored.as_ref().map(|v| v.value());
                    let stored = stored.map(|(d, ms)| (d.to_string(), Timestamp::from_millis(ms)));
                    let stored = stored.as_ref().map(|(d, at)| (d.as_str(), *at));
                    DeliveryCheck::of(stored, &delivery, now)
                };
                if known == DeliveryCheck::Conflict {
                    return Ok(known);
                }
                let value = (delivery.digest.as_str(), delivery.expires_at.millis());
                table
                    .insert(delivery.key.as_str(), value)
                    .map_err(unavailable)?;
                Ok(DeliveryCheck::New)
            })
            .await;
        written.map_err(|e| match e {
            CommitError::Store(e) => e,
            CommitError::Conflict => StoreError::Contention,
        })
    }
}
