//! Erasure on DynamoDB: the marker (with its mirror on the stage entry, `stage.rs`, and the
//! person's suppression entry), the check that no erasure began since a view was read, and
//! the purge of what came before.

use super::backend::transact_error;
use super::items::{key, marker_item, n, suppression_item};
use super::{attr, build_error, sdk_error, Dynamo};
use crate::decode;
use crate::records::{Erased, LedgerEntry};
use crate::StoreError;
use aws_sdk_dynamodb::types::{
    ConditionCheck, DeleteRequest, Put, ReturnConsumedCapacity, TransactWriteItem, WriteRequest,
};
use leadscore_scoring::{LeadId, Timestamp};
use std::time::Duration;

impl Dynamo {
    /// The condition that no erasure began since the view `seen` was read.
    pub(super) fn unerased(
        &self,
        id: &LeadId,
        seen: Option<Timestamp>,
    ) -> Result<TransactWriteItem, StoreError> {
        let mut check = ConditionCheck::builder()
            .table_name(&self.table)
            .set_key(Some(key(id, "ERASED")));
        check = match seen {
            None => check.condition_expression("attribute_not_exists(pk)"),
            Some(at) => check
                .condition_expression("erased_at = :at")
                .expression_attribute_values(":at", n(at.millis())),
        };
        Ok(TransactWriteItem::builder()
            .condition_check(check.build().map_err(build_error)?)
            .build())
    }

    /// Writes an erasure marker and its mirror on the stage entry in one transaction, with
    /// the person's entry in the suppression list for a lead (never a marker without it).
    pub(super) async fn write_marker(
        &self,
        id: &LeadId,
        erased: &Erased,
        lead: bool,
    ) -> Result<(), StoreError> {
        let mut puts = vec![marker_item(id, erased)?];
        if lead {
            puts.push(suppression_item(id, erased.at));
        }
        let mut items = Vec::new();
        for item in puts {
            let put = Put::builder()
                .table_name(&self.table)
                .set_item(Some(item))
                .build()
                .map_err(build_error)?;
            items.push(TransactWriteItem::builder().put(put).build());
        }
        items.push(self.stage_erased(id, erased.at)?);
        self.transact(items).await.map_err(transact_error)
    }

    /// Removes every record of `id` from before the erasure at `at` but the marker and the
    /// tombstones, and takes the stage entry out of the listing; false if time ran out.
    pub(super) async fn purge_before(
        &self,
        id: &LeadId,
        at: Timestamp,
        deadline: tokio::time::Instant,
    ) -> Result<bool, StoreError> {
        let mut doomed = Vec::new();
        for item in self.items(id, "").await? {
            let sk = attr(&item, "sk").unwrap_or_default();
            let gone = match sk {
                "ERASED" => false,
                // It mirrors the marker (`stage.rs`): out of the listing, not deleted.
                "STAGE" => {
                    self.strip_stage(id).await?;
                    false
                }
                _ if sk.starts_with("E#") => match attr(&item, "entry") {
                    // Tombstones keep only an id: they stay, so redeliveries stay duplicates.
                    None => false,
                    Some(entry) => decode::<LedgerEntry>(entry.as_bytes())?.event.occurred_at <= at,
                },
                _ => true,
            };
            if gone {
                doomed.push(key(id, sk));
            }
        }
        for chunk in doomed.chunks(25) {
            if tokio::time::Instant::now() >= deadline {
                return Ok(false);
            }
            let mut pending: Vec<WriteRequest> = chunk
                .iter()
                .map(|k| {
                    DeleteRequest::builder()
                        .set_key(Some(k.clone()))
                        .build()
                        .map(|d| WriteRequest::builder().delete_request(d).build())
                        .map_err(build_error)
                })
                .collect::<Result<_, _>>()?;
            for attempt in 0..8u32 {
                if pending.is_empty() {
                    break;
                }
                let out = self
                    .client
                    .batch_write_item()
                    .request_items(&self.table, pending.clone())
                    .return_consumed_capacity(ReturnConsumedCapacity::Total)
                    .send()
                    .await;
                let out = self.tally(out, true).map_err(sdk_error)?;
                pending = out
                    .unprocessed_items()
                    .and_then(|m| m.get(&self.table))
                    .cloned()
                    .unwrap_or_default();
                if !pending.is_empty() {
                    tokio::time::sleep(Duration::from_millis(20 << attempt)).await;
                }
            }
            if !pending.is_empty() {
                return Err(StoreError::Unavailable(
                    "DynamoDB kept throttling the erasure; retry".to_string(),
                ));
            }
        }
        Ok(true)
    }
}
