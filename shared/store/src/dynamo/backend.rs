//! The store's primitives on DynamoDB: one partition per lead id, read in arrival order
//! through the local index (strongly consistent), written with conditions.

use super::items::{alias_item, entry_item, key, n};
use super::{
    attr, build_error, json, pk, s, sdk_error, Consumed, Dynamo, Item, ARRIVAL_INDEX, STAGE_INDEX,
};
use crate::engine::Backend;
use crate::records::{Erased, LedgerEntry, Listed, Publish, Snapshot, View};
use crate::{decode, CommitError, StoreError};
use async_trait::async_trait;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Put, ReturnConsumedCapacity, TransactWriteItem};
use leadscore_scoring::{EventId, LeadId, Stage, Timestamp};

/// Items read per page of a lead's view: the tail is folded into a snapshot every 32 entries.
const VIEW_PAGE: i32 = 64;

/// Settled tail entries at which the event path writes the snapshot itself (a third
/// request): only when the ledger worker is absent or behind. The view still fits one page.
const PATH_SNAPSHOT_TAIL: usize = 48;

fn attr_n(item: &Item, name: &str) -> Option<u64> {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|n| n.parse().ok())
}

/// Cancellation reasons that say "too busy": a transaction cancelled for them is worth a
/// retry later (503), not a failure (500).
pub(super) fn throttled(reasons: &[Option<String>]) -> bool {
    reasons.iter().any(|r| {
        matches!(
            r.as_deref(),
            Some("ThrottlingError" | "ProvisionedThroughputExceeded" | "RequestLimitExceeded")
        )
    })
}

pub(super) fn throttled_error() -> StoreError {
    StoreError::Unavailable("DynamoDB throttled the transaction".into())
}

/// `sdk_error`, with throttled transaction cancellations as `Unavailable`.
pub(super) fn transact_error<R: std::fmt::Debug>(
    e: aws_sdk_dynamodb::error::SdkError<TransactWriteItemsError, R>,
) -> StoreError {
    let reasons: Vec<Option<String>> = match e.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(t)) => t
            .cancellation_reasons()
            .iter()
            .map(|r| r.code().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    };
    if throttled(&reasons) {
        throttled_error()
    } else {
        sdk_error(e)
    }
}

pub(super) fn conditional_failed<E: ProvideErrorMetadata>(e: &E) -> bool {
    e.code() == Some("ConditionalCheckFailedException")
}

impl Dynamo {
    /// Tallies a conditional write's answer: `Ok(false)` when its condition failed.
    pub(super) fn written<O, E, R>(
        &self,
        out: Result<O, SdkError<E, R>>,
    ) -> Result<bool, StoreError>
    where
        O: Consumed,
        E: ProvideErrorMetadata + std::fmt::Debug,
        R: std::fmt::Debug,
    {
        match self.tally(out, true) {
            Ok(_) => Ok(true),
            Err(e) if conditional_failed(&e) => Ok(false),
            Err(e) => Err(sdk_error(e)),
        }
    }

    /// One TransactWriteItems, tallied.
    pub(super) async fn transact(
        &self,
        items: Vec<TransactWriteItem>,
    ) -> Result<(), SdkError<TransactWriteItemsError>> {
        let out = self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await;
        self.tally(out, true).map(|_| ())
    }

    /// A PutItem with a condition (and the values it names); `Ok(false)` when it failed.
    pub(super) async fn put_if(
        &self,
        item: Item,
        condition: &str,
        values: Item,
    ) -> Result<bool, StoreError> {
        let out = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(condition)
            // DynamoDB refuses an empty map of values.
            .set_expression_attribute_values((!values.is_empty()).then_some(values))
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await;
        self.written(out)
    }

    async fn put(&self, item: Item) -> Result<(), StoreError> {
        let out = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await;
        self.tally(out, true).map(|_| ()).map_err(sdk_error)
    }

    /// Every item of the partition whose sort key starts with `prefix`, following pages.
    pub(super) async fn items(&self, id: &LeadId, prefix: &str) -> Result<Vec<Item>, StoreError> {
        let mut items = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let query = self
                .client
                .query()
                .table_name(&self.table)
                .expression_attribute_values(":pk", s(pk(id)));
            let query = if prefix.is_empty() {
                query.key_condition_expression("pk = :pk")
            } else {
                query
                    .key_condition_expression("pk = :pk AND begins_with(sk, :p)")
                    .expression_attribute_values(":p", s(prefix))
            };
            let out = query
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .return_consumed_capacity(ReturnConsumedCapacity::Total)
                .send()
                .await;
            let out = self.tally(out, false).map_err(sdk_error)?;
            items.extend(out.items().iter().cloned());
            match out.last_evaluated_key() {
                Some(k) if !k.is_empty() => start = Some(k.clone()),
                _ => return Ok(items),
            }
        }
    }
}

#[async_trait]
impl Backend for Dynamo {
    async fn append(&self, id: &LeadId, entry: &LedgerEntry) -> Result<bool, StoreError> {
        let mut item = entry_item(id, entry)?;
        if let Some(keep) = self.retention {
            // The table's TTL removes it once its event is older than the retention.
            let until = entry.event.occurred_at.millis().div_euclid(1_000) + keep.as_secs() as i64;
            item.insert("expires_at".into(), AttributeValue::N(until.to_string()));
        }
        self.put_if(item, "attribute_not_exists(pk)", Item::new())
            .await
    }

    fn snapshot_on_path(&self, settled: usize) -> bool {
        settled >= PATH_SNAPSHOT_TAIL
    }

    async fn tombstone(&self, id: &LeadId, event: &EventId) -> Result<(), StoreError> {
        let mut item = key(id, &format!("E#{event}"));
        item.insert("tombstone".into(), AttributeValue::Bool(true));
        self.put(item).await
    }

    async fn view(&self, id: &LeadId) -> Result<View, StoreError> {
        let mut view = View::default();
        let mut start: Option<Item> = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(ARRIVAL_INDEX)
                .key_condition_expression("pk = :pk")
                .expression_attribute_values(":pk", s(pk(id)))
                .scan_index_forward(false)
                .consistent_read(true)
                .limit(VIEW_PAGE)
                .set_exclusive_start_key(start.take())
                .return_consumed_capacity(ReturnConsumedCapacity::Total)
                .send()
                .await;
            let out = self.tally(out, false).map_err(sdk_error)?;
            for item in out.items() {
                if attr(item, "sk") == Some("STAGE") {
                    view.listed = Some(Listed {
                        entry: match (attr(item, "stage"), attr(item, "gsi1sk")) {
                            (Some(stage), Some(key)) => Some((
                                stage.parse::<Stage>().map_err(|e| {
                                    StoreError::Internal(format!("stage entry: {e}"))
                                })?,
                                key.to_string(),
                            )),
                            _ => None,
                        },
                        folded: attr_n(item, "folded").unwrap_or(0),
                    });
                } else if let Some(e) = attr(item, "erased") {
                    view.erased = Some(decode(e.as_bytes())?);
                } else if let Some(lead) = attr(item, "lead") {
                    view.alias =
                        Some(LeadId::parse(lead).map_err(|e| StoreError::Internal(e.to_string()))?);
                } else if let Some(entry) = attr(item, "entry") {
                    view.tail.push(decode(entry.as_bytes())?);
                } else if let Some(snapshot) = attr(item, "snapshot") {
                    view.snapshot = Some(std::sync::Arc::new(decode(snapshot.as_bytes())?));
                    view.tail.reverse();
                    return Ok(view);
                }
            }
            match out.last_evaluated_key() {
                Some(k) if !k.is_empty() => start = Some(k.clone()),
                _ => {
                    view.tail.reverse();
                    return Ok(view);
                }
            }
        }
    }

    async fn entries(&self, id: &LeadId) -> Result<Vec<LedgerEntry>, StoreError> {
        let mut entries: Vec<LedgerEntry> = Vec::new();
        for item in self.items(id, "E#").await? {
            if let Some(entry) = attr(&item, "entry") {
                entries.push(decode(entry.as_bytes())?);
            }
        }
        Ok(entries)
    }

    async fn publish(&self, id: &LeadId, p: Publish) -> Result<(), CommitError> {
        if p.unlist && p.stage.is_none() {
            return self.unlist(id).await;
        }
        if let (None, Some((entry, folded)), None) = (&p.snapshot, &p.stage, p.erased_seen) {
            // The common case, a new lead's or a move's entry alone: one PutItem (`stage.rs`).
            if self.put_stage(id, entry, *folded).await? {
                return Ok(());
            }
        }
        let mut writes = Vec::new();
        if let Some((expected, snapshot)) = &p.snapshot {
            writes.push(snapshot_put(self, id, *expected, snapshot)?);
        }
        let stage_at = writes.len() + 1;
        if let Some((entry, folded)) = &p.stage {
            writes.push(self.stage_put(id, entry, *folded, p.erased_seen)?);
        }
        if writes.is_empty() {
            return Ok(());
        }
        let mut items = vec![self.unerased(id, p.erased_seen)?];
        items.extend(writes);
        let Err(e) = self.transact(items).await else {
            return Ok(());
        };
        let reasons: Vec<Option<String>> = match e.as_service_error() {
            Some(TransactWriteItemsError::TransactionCanceledException(t)) => t
                .cancellation_reasons()
                .iter()
                .map(|r| r.code().map(str::to_string))
                .collect(),
            _ if e.code() == Some("TransactionConflictException") => {
                return Err(CommitError::Conflict)
            }
            _ => return Err(CommitError::Store(sdk_error(e))),
        };
        if throttled(&reasons) {
            return Err(CommitError::Store(throttled_error()));
        }
        let failed =
            |i: usize| reasons.get(i).and_then(|r| r.as_deref()) == Some("ConditionalCheckFailed");
        let conflict = reasons
            .iter()
            .any(|r| matches!(r.as_deref(), Some("TransactionConflict")));
        if p.stage.is_some() && failed(stage_at) && !(0..stage_at).any(failed) && !conflict {
            // Only the stage entry was older: the rest still goes in.
            return self.publish(id, Publish { stage: None, ..p }).await;
        }
        if conflict || (0..stage_at).any(failed) {
            return Err(CommitError::Conflict);
        }
        Err(CommitError::Store(sdk_error(e)))
    }

    async fn alias(&self, visitor: &LeadId, lead: &LeadId) -> Result<bool, StoreError> {
        self.put_if(
            alias_item(visitor, lead),
            "attribute_not_exists(pk)",
            Item::new(),
        )
        .await
    }

    async fn mark_erased(&self, id: &LeadId, erased: &Erased) -> Result<(), StoreError> {
        self.write_marker(id, erased, false).await
    }

    async fn mark_lead_erased(&self, id: &LeadId, erased: &Erased) -> Result<(), StoreError> {
        self.write_marker(id, erased, true).await
    }

    async fn purge(
        &self,
        id: &LeadId,
        at: Timestamp,
        deadline: tokio::time::Instant,
    ) -> Result<bool, StoreError> {
        self.purge_before(id, at, deadline).await
    }

    async fn stage_index(
        &self,
        stage: Stage,
        start: &str,
        exclusive: bool,
        limit: usize,
    ) -> Result<(Vec<String>, bool), StoreError> {
        let condition = if exclusive {
            "gsi1pk = :p AND gsi1sk > :k"
        } else {
            "gsi1pk = :p AND gsi1sk >= :k"
        };
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(STAGE_INDEX)
            .key_condition_expression(condition)
            .expression_attribute_values(":p", s(format!("STAGE#{stage}")))
            .expression_attribute_values(":k", s(start))
            .limit(limit.max(1) as i32)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await;
        let out = self.tally(out, false).map_err(sdk_error)?;
        let keys = out
            .items()
            .iter()
            .filter_map(|item| attr(item, "gsi1sk").map(str::to_string))
            .collect();
        let more = out.last_evaluated_key().is_some_and(|k| !k.is_empty());
        Ok((keys, more))
    }
}

fn snapshot_put(
    store: &Dynamo,
    id: &LeadId,
    expected: Option<u64>,
    snapshot: &Snapshot,
) -> Result<TransactWriteItem, StoreError> {
    let mut item = key(id, "SNAP");
    // Right after the last entry it covers: '\u{1}' sorts before every key character.
    item.insert("lsi1sk".into(), s(format!("A#{}\u{1}", snapshot.watermark)));
    item.insert("snapshot".into(), s(json(snapshot)?));
    item.insert("version".into(), n(snapshot.version));
    let put = Put::builder()
        .table_name(store.table())
        .set_item(Some(item));
    let put = match expected {
        None => put.condition_expression("attribute_not_exists(pk)"),
        Some(v) => put
            .condition_expression("version = :v")
            .expression_attribute_values(":v", n(v)),
    };
    Ok(TransactWriteItem::builder()
        .put(put.build().map_err(build_error)?)
        .build())
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::error::SdkError;
    use aws_sdk_dynamodb::types::error::TransactionCanceledException;
    use aws_sdk_dynamodb::types::CancellationReason;

    fn cancelled(code: &str) -> SdkError<TransactWriteItemsError, ()> {
        let t = TransactionCanceledException::builder()
            .cancellation_reasons(CancellationReason::builder().code("None").build())
            .cancellation_reasons(CancellationReason::builder().code(code).build())
            .build();
        SdkError::service_error(TransactWriteItemsError::TransactionCanceledException(t), ())
    }

    #[test]
    fn a_transaction_cancelled_by_throttling_is_a_503_not_a_500() {
        for code in [
            "ThrottlingError",
            "ProvisionedThroughputExceeded",
            "RequestLimitExceeded",
        ] {
            assert!(
                matches!(transact_error(cancelled(code)), StoreError::Unavailable(_)),
                "{code}"
            );
        }
        assert!(matches!(
            transact_error(cancelled("ValidationError")),
            StoreError::Internal(_)
        ));
    }
}
