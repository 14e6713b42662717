//! Hand-off records, index entries and accounts on DynamoDB (`crate::handoff`). A record
//! and its index entries sit in the lead's partition (the erasure's purge removes them) and
//! are written in one transaction; `members` and the account ranking read the `by-stage` GSI
//! under their own `gsi1pk` values.

use super::backend::{throttled, throttled_error};
use super::items::{key, marker_time, n, unreadable};
use super::{attr, build_error, s, sdk_error, Dynamo, Item, STAGE_INDEX};
use crate::handoff::Handoffs;
use crate::{HandoffRecord, StoreError};
use async_trait::async_trait;
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{
    AttributeValue, Delete, Put, ReturnConsumedCapacity, TransactWriteItem,
};
use leadscore_scoring::{LeadId, Timestamp};
use std::collections::{BTreeSet, HashMap};

/// The sort key of a lead's hand-off record.
pub(crate) const HANDOFF_SK: &str = "HANDOFF";
/// The sort key prefix (and `gsi1pk` prefix) of index entries: `IDX#<index name>`.
pub(crate) const INDEX_PREFIX: &str = "IDX#";
/// `gsi1pk` of every account item: one GSI partition ranks them all.
const ACCOUNTS_GSI_PK: &str = "ACCOUNTS";
const ACCOUNT_SK: &str = "ACCOUNT";
/// DynamoDB's limit of items per transaction.
const MAX_TRANSACTION: usize = 100;

/// Whether `pk` is an account item's (not a lead's partition).
pub(crate) fn is_account(pk: &str) -> bool {
    pk.starts_with("ACCOUNT#")
}

fn account_item_key(domain: &str) -> Item {
    HashMap::from([
        ("pk".to_string(), s(format!("ACCOUNT#{domain}"))),
        ("sk".to_string(), s(ACCOUNT_SK)),
    ])
}

fn blob(bytes: &[u8]) -> AttributeValue {
    AttributeValue::B(Blob::new(bytes))
}

fn bytes_of(item: &Item, name: &str) -> Option<Vec<u8>> {
    item.get(name)
        .and_then(|v| v.as_b().ok())
        .map(|b| b.as_ref().to_vec())
}

fn record_of(item: &Item) -> Result<HandoffRecord, StoreError> {
    let version = item.get("version").and_then(|v| v.as_n().ok());
    let version = version.and_then(|v| v.parse::<u64>().ok());
    let version = version.ok_or_else(|| unreadable("hand-off", item))?;
    let memberships = match item.get("memberships") {
        None => BTreeSet::new(),
        Some(v) => v
            .as_l()
            .map_err(|_| unreadable("hand-off", item))?
            .iter()
            .map(|m| m.as_s().cloned().map_err(|_| unreadable("hand-off", item)))
            .collect::<Result<_, _>>()?,
    };
    Ok(HandoffRecord {
        version,
        body: bytes_of(item, "body").unwrap_or_default(),
        memberships,
        summary: bytes_of(item, "summary").unwrap_or_default(),
        erased_seen: None,
    })
}

/// A Put of a transaction, with its condition (`:v`: the version it names).
fn transact_put(
    table: &str,
    item: Item,
    condition: Option<(&str, Option<u64>)>,
) -> Result<TransactWriteItem, StoreError> {
    let mut put = Put::builder().table_name(table).set_item(Some(item));
    if let Some((expression, version)) = condition {
        put = put.condition_expression(expression);
        if let Some(v) = version {
            put = put.expression_attribute_values(":v", n(v));
        }
    }
    Ok(TransactWriteItem::builder()
        .put(put.build().map_err(build_error)?)
        .build())
}

impl Dynamo {
    /// The hand-off record (`version` = expected + 1), checked against the expected version.
    fn handoff_put(
        &self,
        id: &LeadId,
        record: &HandoffRecord,
    ) -> Result<TransactWriteItem, StoreError> {
        let mut item = key(id, HANDOFF_SK);
        item.insert("version".into(), n(record.version + 1));
        item.insert("body".into(), blob(&record.body));
        item.insert("summary".into(), blob(&record.summary));
        let names = record.memberships.iter().map(|m| s(m.as_str())).collect();
        item.insert("memberships".into(), AttributeValue::L(names));
        let condition = match record.version {
            0 => ("attribute_not_exists(pk)", None),
            v => ("version = :v", Some(v)),
        };
        transact_put(&self.table, item, Some(condition))
    }

    /// An index entry: listed under `gsi1pk = IDX#<name>` by lead id, with the version of the
    /// record that wrote it (a late cleanup never deletes a newer one).
    fn index_put(
        &self,
        id: &LeadId,
        name: &str,
        record: &HandoffRecord,
    ) -> Result<TransactWriteItem, StoreError> {
        let sk = format!("{INDEX_PREFIX}{name}");
        let mut item = key(id, &sk);
        item.insert("gsi1pk".into(), s(sk));
        item.insert("gsi1sk".into(), s(id.as_str()));
        item.insert("summary".into(), blob(&record.summary));
        item.insert("version".into(), n(record.version + 1));
        transact_put(&self.table, item, None)
    }

    fn index_delete(&self, id: &LeadId, sk: &str) -> Result<TransactWriteItem, StoreError> {
        let delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key(id, sk)))
            .build()
            .map_err(build_error)?;
        Ok(TransactWriteItem::builder().delete(delete).build())
    }

    /// Deletes an index entry left by a record older than `version` (not one written since).
    async fn delete_stale_index(
        &self,
        id: &LeadId,
        sk: &str,
        version: u64,
    ) -> Result<(), StoreError> {
        let out = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(id, sk)))
            .condition_expression("version < :v")
            .expression_attribute_values(":v", n(version))
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await;
        // Refused: rewritten since, so not stale.
        self.written(out).map(|_| ())
    }

    async fn get_consistent(&self, key: Item) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .consistent_read(true)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await;
        let out = self.tally(out, false).map_err(sdk_error)?;
        Ok(out.item().cloned())
    }

    /// One page of the `by-stage` GSI under `gsi1pk`, after `after`.
    async fn gsi_page(
        &self,
        gsi1pk: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<Item>, bool), StoreError> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(STAGE_INDEX)
            .expression_attribute_values(":p", s(gsi1pk));
        let query = match after {
            None => query.key_condition_expression("gsi1pk = :p"),
            Some(k) => query
                .key_condition_expression("gsi1pk = :p AND gsi1sk > :k")
                .expression_attribute_values(":k", s(k)),
        };
        let out = query
            .limit(limit.max(1) as i32)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await;
        let out = self.tally(out, false).map_err(sdk_error)?;
        let more = out.last_evaluated_key().is_some_and(|k| !k.is_empty());
        Ok((out.items().to_vec(), more))
    }
}

#[async_trait]
impl Handoffs for Dynamo {
    async fn read_handoff(&self, id: &LeadId) -> Result<Option<HandoffRecord>, StoreError> {
        self.get_consistent(key(id, HANDOFF_SK))
            .await?
            .map(|item| record_of(&item))
            .transpose()
    }

    async fn write_handoff(&self, id: &LeadId, record: &HandoffRecord) -> Result<bool, StoreError> {
        // The entries there now: they change only with the record (and the purge), so if the
        // version condition holds, these are the ones to replace.
        let wanted: BTreeSet<String> = record
            .memberships
            .iter()
            .map(|m| format!("{INDEX_PREFIX}{m}"))
            .collect();
        let stale: Vec<String> = self
            .items(id, INDEX_PREFIX)
            .await?
            .iter()
            .filter_map(|item| attr(item, "sk"))
            .filter(|sk| !wanted.contains(*sk))
            .map(str::to_string)
            .collect();
        let mut items = vec![
            self.unerased(id, record.erased_seen)?,
            self.handoff_put(id, record)?,
        ];
        for name in &record.memberships {
            items.push(self.index_put(id, name, record)?);
        }
        let room = MAX_TRANSACTION.saturating_sub(items.len()).min(stale.len());
        let (now, later) = stale.split_at(room);
        for sk in now {
            items.push(self.index_delete(id, sk)?);
        }
        if let Err(e) = self.transact(items).await {
            return match e.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(t)) => {
                    let reasons: Vec<Option<String>> = t
                        .cancellation_reasons()
                        .iter()
                        .map(|r| r.code().map(str::to_string))
                        .collect();
                    let lost = reasons.iter().any(|r| {
                        matches!(
                            r.as_deref(),
                            Some("ConditionalCheckFailed" | "TransactionConflict")
                        )
                    });
                    if throttled(&reasons) {
                        Err(throttled_error())
                    } else if lost {
                        // Erased, or another writer got there first.
                        Ok(false)
                    } else {
                        Err(sdk_error(e))
                    }
                }
                _ if e.code() == Some("TransactionConflictException") => Ok(false),
                _ => Err(sdk_error(e)),
            };
        }
        // More entries left than fit the transaction (memberships replaced wholesale): the
        // rest go now; a stop in between leaves them to the next put of this lead.
        for sk in later {
            self.delete_stale_index(id, sk, record.version + 1).await?;
        }
        Ok(true)
    }

    async fn member_page(
        &self,
        index: &str,
        after: Option<&LeadId>,
        limit: usize,
    ) -> Result<(Vec<(LeadId, Vec<u8>)>, bool), StoreError> {
        let gsi1pk = format!("{INDEX_PREFIX}{index}");
        let (items, more) = self
            .gsi_page(&gsi1pk, after.map(LeadId::as_str), limit)
            .await?;
        let mut page = Vec::with_capacity(items.len());
        for item in &items {
            let id = attr(item, "gsi1sk").and_then(|k| LeadId::parse(k).ok());
            let id = id.ok_or_else(|| unreadable("index", item))?;
            page.push((id, bytes_of(item, "summary").unwrap_or_default()));
        }
        Ok((page, more))
    }

    async fn write_account(
        &self,
        domain: &str,
        key: &str,
        score: i64,
        body: &[u8],
    ) -> Result<(), StoreError> {
        let mut item = account_item_key(domain);
        item.insert("gsi1pk".into(), s(ACCOUNTS_GSI_PK));
        item.insert("gsi1sk".into(), s(key));
        item.insert("score".into(), n(score));
        item.insert("body".into(), blob(body));
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

    async fn remove_account(&self, domain: &str) -> Result<(), StoreError> {
        let out = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(account_item_key(domain)))
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await;
        self.tally(out, true).map(|_| ()).map_err(sdk_error)
    }

    async fn read_account(&self, domain: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let item = self.get_consistent(account_item_key(domain)).await?;
        Ok(item.map(|item| bytes_of(&item, "body").unwrap_or_default()))
    }

    async fn account_page(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<(String, Vec<u8>)>, bool), StoreError> {
        let (items, more) = self.gsi_page(ACCOUNTS_GSI_PK, after, limit).await?;
        let mut page = Vec::with_capacity(items.len());
        for item in &items {
            let key = attr(item, "gsi1sk").ok_or_else(|| unreadable("account", item))?;
            page.push((key.to_string(), bytes_of(item, "body").unwrap_or_default()));
        }
        Ok((page, more))
    }

    async fn erasure_time(&self, id: &LeadId) -> Result<Option<Timestamp>, StoreError> {
        match self.get_consistent(key(id, "ERASED")).await? {
            Some(item) => marker_time(&item).map(Some),
            None => Ok(None),
        }
    }
}
