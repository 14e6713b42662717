//! The DynamoDB store. Single table (infra/dynamodb/table.json, mirrored in template.yaml):
//!
//! | item | pk | sk | attributes |
//! |---|---|---|---|
//! | version | `LEAD#<id>` | `V#<version, 12 digits>` | `head` (JSON: aggregate or alias), `entry` (JSON: the event, when one was accepted) |
//! | stage entry | `LEAD#<id>` | `STAGE` | `gsi1pk` = `STAGE#<stage>`, `gsi1sk` = `<entered at ms, 20 digits>#<id>` |
//!
//! Each accepted event is one conditional PutItem of an immutable version item (the new
//! aggregate and the ledger entry at once); its condition `attribute_not_exists(pk)` on the
//! next version number is the optimistic lock. Reading a lead is one Query (latest version,
//! consistent). The stage entry is written only when the stage changes, together with the
//! version in one TransactWriteItems. No item is shared between leads.

use crate::{
    apply_with, check_limit, cursor, decode, encode, history_ids, key_id, resolve, stored, Applied,
    Backend, Commit, CommitError, Head, LeadKey, LeadStore, LedgerEntry, Page, StageEntry,
    StoreError, StoredLead,
};
use async_trait::async_trait;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConsumedCapacity, DeleteRequest, Put, ReturnConsumedCapacity,
    TransactWriteItem, WriteRequest,
};
use aws_sdk_dynamodb::Client;
use leadscore_scoring::{Event, LeadId, Rules, Stage, Timestamp};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The index that lists leads by stage.
pub const STAGE_INDEX: &str = "by-stage";

/// How to reach the table.
#[derive(Debug, Clone)]
pub struct DynamoConfig {
    pub table: String,
    /// Per-operation timeout (all SDK retries included).
    pub operation_timeout: Duration,
    /// SDK attempts per request (throttling and network errors are retried by the SDK).
    pub max_attempts: u32,
    /// An endpoint for this store only; `None` follows the SDK's configuration
    /// (`AWS_ENDPOINT_URL_DYNAMODB`, then AWS's own).
    pub endpoint: Option<String>,
}

impl DynamoConfig {
    /// `LEADSCORE_TABLE` (default `leadscore`), 10 s per operation, 3 SDK attempts.
    pub fn from_env() -> Self {
        DynamoConfig {
            table: std::env::var("LEADSCORE_TABLE").unwrap_or_else(|_| "leadscore".to_string()),
            operation_timeout: Duration::from_secs(10),
            max_attempts: 3,
            endpoint: None,
        }
    }
}

/// Requests made and capacity consumed, as DynamoDB reports it (ReturnConsumedCapacity).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Usage {
    pub requests: u64,
    pub read_units: f64,
    pub write_units: f64,
}

#[derive(Clone)]
pub struct Dynamo {
    client: Client,
    table: String,
    usage: Arc<Mutex<Usage>>,
}

type Item = HashMap<String, AttributeValue>;

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn pk(id: &LeadId) -> String {
    format!("LEAD#{id}")
}

fn version_sk(version: u64) -> String {
    format!("V#{version:012}")
}

/// Network trouble, throttling and server errors are worth retrying later (HTTP 503).
fn sdk_error<E: ProvideErrorMetadata + std::fmt::Debug, R: std::fmt::Debug>(
    e: SdkError<E, R>,
) -> StoreError {
    match &e {
        SdkError::ServiceError(_) => {
            let code = e.code().unwrap_or("unknown");
            match code {
                "ProvisionedThroughputExceededException"
                | "RequestLimitExceeded"
                | "ThrottlingException"
                | "InternalServerError"
                | "ServiceUnavailable" => StoreError::Unavailable(format!("DynamoDB: {code}")),
                _ => StoreError::Internal(format!(
                    "DynamoDB: {code}: {}",
                    e.message().unwrap_or_default()
                )),
            }
        }
        _ => StoreError::Unavailable(format!("DynamoDB unreachable: {e}")),
    }
}

fn build_error(e: impl std::fmt::Display) -> StoreError {
    StoreError::Internal(format!("DynamoDB request: {e}"))
}

impl Dynamo {
    /// The client from the standard AWS configuration (region, credentials, and the endpoint
    /// override `AWS_ENDPOINT_URL_DYNAMODB`), built once per process.
    pub async fn from_env() -> Self {
        Self::connect(DynamoConfig::from_env()).await
    }

    pub async fn connect(config: DynamoConfig) -> Self {
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
        if let Some(endpoint) = &config.endpoint {
            loader = loader.endpoint_url(endpoint);
        }
        let sdk = loader
            .timeout_config(
                aws_config::timeout::TimeoutConfig::builder()
                    .operation_timeout(config.operation_timeout)
                    .connect_timeout(config.operation_timeout.min(Duration::from_secs(3)))
                    .build(),
            )
            .retry_config(
                aws_config::retry::RetryConfig::standard().with_max_attempts(config.max_attempts),
            )
            .load()
            .await;
        Dynamo {
            client: Client::new(&sdk),
            table: config.table,
            usage: Arc::new(Mutex::new(Usage::default())),
        }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// Requests and capacity since the last call (and resets the counters).
    pub fn take_usage(&self) -> Usage {
        let mut usage = self.usage.lock().unwrap_or_else(|p| p.into_inner());
        std::mem::take(&mut *usage)
    }

    /// Counts one request (answered or not) and the capacity DynamoDB says it consumed, then
    /// hands the result back. DynamoDB (and DynamoDB Local) often report only the total
    /// `CapacityUnits`: it is read or write by the kind of request.
    fn tally<O: Consumed, E>(&self, result: Result<O, E>, write: bool) -> Result<O, E> {
        let mut usage = self.usage.lock().unwrap_or_else(|p| p.into_inner());
        usage.requests += 1;
        if let Ok(out) = &result {
            for c in out.consumed() {
                let total = c.capacity_units().unwrap_or(0.0);
                if write {
                    usage.write_units += c.write_capacity_units().unwrap_or(total);
                } else {
                    usage.read_units += c.read_capacity_units().unwrap_or(total);
                }
            }
        }
        result
    }

    /// Every item of one lead id (its versions and stage entry), following pages.
    async fn items_of(&self, id: &LeadId) -> Result<Vec<Item>, StoreError> {
        let mut items = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk")
                .expression_attribute_values(":pk", s(pk(id)))
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

    fn version_put(
        &self,
        id: &LeadId,
        head: &Head,
        entry: Option<&LedgerEntry>,
    ) -> Result<Put, StoreError> {
        let mut item: Item = HashMap::new();
        item.insert("pk".into(), s(pk(id)));
        item.insert("sk".into(), s(version_sk(head.version)));
        item.insert("head".into(), s(json(head)?));
        if let Some(entry) = entry {
            item.insert("entry".into(), s(json(entry)?));
        }
        Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(build_error)
    }

    /// The stage entry item; `None` removes the lead from the index (without a delete, which
    /// the webhook functions are not allowed to do).
    fn stage_put(&self, id: &LeadId, entry: Option<&StageEntry>) -> Result<Put, StoreError> {
        let mut item: Item = HashMap::new();
        item.insert("pk".into(), s(pk(id)));
        item.insert("sk".into(), s("STAGE"));
        if let Some(e) = entry {
            item.insert("gsi1pk".into(), s(format!("STAGE#{}", e.stage)));
            item.insert("gsi1sk".into(), s(e.sort_key()));
        }
        Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .build()
            .map_err(build_error)
    }
}

/// The capacity a response reports, whatever its shape.
trait Consumed {
    fn consumed(&self) -> Vec<ConsumedCapacity>;
}

macro_rules! consumed_one {
    ($($output:ty),*) => {$(
        impl Consumed for $output {
            fn consumed(&self) -> Vec<ConsumedCapacity> {
                self.consumed_capacity().into_iter().cloned().collect()
            }
        }
    )*};
}

consumed_one!(
    aws_sdk_dynamodb::operation::query::QueryOutput,
    aws_sdk_dynamodb::operation::put_item::PutItemOutput
);

impl Consumed for aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsOutput {
    fn consumed(&self) -> Vec<ConsumedCapacity> {
        self.consumed_capacity().to_vec()
    }
}

impl Consumed for aws_sdk_dynamodb::operation::batch_write_item::BatchWriteItemOutput {
    fn consumed(&self) -> Vec<ConsumedCapacity> {
        self.consumed_capacity().to_vec()
    }
}

fn json<T: serde::Serialize>(v: &T) -> Result<String, StoreError> {
    String::from_utf8(encode(v)?).map_err(|e| StoreError::Internal(e.to_string()))
}

fn attr<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
}

#[async_trait]
impl Backend for Dynamo {
    async fn head(&self, id: &LeadId) -> Result<Option<Head>, StoreError> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :v)")
            .expression_attribute_values(":pk", s(pk(id)))
            .expression_attribute_values(":v", s("V#"))
            .scan_index_forward(false)
            .limit(1)
            .consistent_read(true)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await;
        let out = self.tally(out, false).map_err(sdk_error)?;
        match out.items().first().and_then(|item| attr(item, "head")) {
            Some(head) => decode(head.as_bytes()).map(Some),
            None => Ok(None),
        }
    }

    async fn commit(&self, c: Commit) -> Result<(), CommitError> {
        let version = self.version_put(&c.lead_id, &c.head, c.ledger.as_ref())?;
        if c.stage_change.is_none() && c.stitch.is_none() {
            // The common case: one request, one small item.
            let out = self
                .client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(version.item))
                .condition_expression("attribute_not_exists(pk)")
                .return_consumed_capacity(ReturnConsumedCapacity::Total)
                .send()
                .await;
            return match self.tally(out, true) {
                Ok(_) => Ok(()),
                Err(e) => {
                    if e.code() == Some("ConditionalCheckFailedException") {
                        Err(CommitError::Conflict)
                    } else {
                        Err(CommitError::Store(sdk_error(e)))
                    }
                }
            };
        }
        let mut items = vec![TransactWriteItem::builder().put(version).build()];
        if let Some((_, new)) = &c.stage_change {
            items.push(
                TransactWriteItem::builder()
                    .put(self.stage_put(&c.lead_id, Some(new))?)
                    .build(),
            );
        }
        if let Some(st) = &c.stitch {
            items.push(
                TransactWriteItem::builder()
                    .put(self.version_put(&st.visitor_id, &st.alias, None)?)
                    .build(),
            );
            if st.old_entry.is_some() {
                items.push(
                    TransactWriteItem::builder()
                        .put(self.stage_put(&st.visitor_id, None)?)
                        .build(),
                );
            }
        }
        let out = self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await;
        match self.tally(out, true) {
            Ok(_) => Ok(()),
            Err(e) => {
                let conflict = match e.as_service_error() {
                    Some(TransactWriteItemsError::TransactionCanceledException(t)) => {
                        t.cancellation_reasons().iter().any(|r| {
                            matches!(
                                r.code(),
                                Some("ConditionalCheckFailed" | "TransactionConflict")
                            )
                        })
                    }
                    _ => e.code() == Some("TransactionConflictException"),
                };
                if conflict {
                    Err(CommitError::Conflict)
                } else {
                    Err(CommitError::Store(sdk_error(e)))
                }
            }
        }
    }
}

#[async_trait]
impl LeadStore for Dynamo {
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
        let (condition, bound) = match after {
            Some(k) if k >= from => ("gsi1pk = :p AND gsi1sk > :k", k),
            _ => ("gsi1pk = :p AND gsi1sk >= :k", from),
        };
        let mut leads = Vec::new();
        let mut last_key: Option<String> = None;
        let mut start: Option<Item> = None;
        // Entries whose lead has moved on since the index was written are skipped, so a page
        // may need more than one Query.
        while leads.len() < limit as usize {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(STAGE_INDEX)
                .key_condition_expression(condition)
                .expression_attribute_values(":p", s(format!("STAGE#{stage}")))
                .expression_attribute_values(":k", s(bound.clone()))
                .limit((limit as usize - leads.len()) as i32)
                .set_exclusive_start_key(start.take())
                .return_consumed_capacity(ReturnConsumedCapacity::Total)
                .send()
                .await;
            let out = self.tally(out, false).map_err(sdk_error)?;
            let keys: Vec<String> = out
                .items()
                .iter()
                .filter_map(|item| attr(item, "gsi1sk").map(str::to_string))
                .collect();
            let mut reads = tokio::task::JoinSet::new();
            for (i, key) in keys.iter().enumerate() {
                let id = key
                    .split_once('#')
                    .and_then(|(_, id)| LeadId::parse(id).ok());
                let Some(id) = id else { continue };
                let this = self.clone();
                reads.spawn(async move { (i, this.head(&id).await) });
            }
            let mut heads: Vec<(usize, Head)> = Vec::new();
            while let Some(joined) = reads.join_next().await {
                let (i, head) = joined.map_err(|e| StoreError::Internal(e.to_string()))?;
                if let Some(h) = head? {
                    heads.push((i, h));
                }
            }
            heads.sort_by_key(|(i, _)| *i);
            for (i, head) in heads {
                if let Some(lead) = stored(head) {
                    let current = StageEntry::of(&lead.state);
                    if current.stage == stage && current.sort_key() == keys[i] {
                        leads.push(lead);
                    }
                }
            }
            if let Some(k) = keys.last() {
                last_key = Some(k.clone());
            }
            match out.last_evaluated_key() {
                Some(k) if !k.is_empty() => start = Some(k.clone()),
                _ => {
                    // The index has nothing more right now.
                    let next = (leads.len() == limit as usize)
                        .then(|| last_key.as_deref().map(|k| cursor::issue(stage, k)))
                        .flatten();
                    return Ok(Page { leads, next });
                }
            }
        }
        Ok(Page {
            leads,
            next: last_key.map(|k| cursor::issue(stage, &k)),
        })
    }

    async fn ledger(&self, id: &LeadId) -> Result<Vec<Event>, StoreError> {
        let Some((_, head)) = resolve(self, id).await? else {
            return Ok(Vec::new());
        };
        let Some(state) = head.state else {
            return Ok(Vec::new());
        };
        let mut entries: Vec<(Timestamp, String, LedgerEntry)> = Vec::new();
        for hid in history_ids(&state) {
            for item in self.items_of(&hid).await? {
                if let Some(entry) = attr(&item, "entry") {
                    let entry: LedgerEntry = decode(entry.as_bytes())?;
                    let order = format!("{hid}{}", attr(&item, "sk").unwrap_or_default());
                    entries.push((entry.applied_at, order, entry));
                }
            }
        }
        entries.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
        Ok(entries.into_iter().map(|(_, _, e)| e.event).collect())
    }

    async fn erase(&self, key: &LeadKey) -> Result<bool, StoreError> {
        let Some((lead_id, head)) = resolve(self, &key_id(key)).await? else {
            return Ok(false);
        };
        // A tombstone first: from here on the lead reads as absent, even if the deletes
        // below are interrupted (they delete oldest first and the tombstone last).
        let tombstone = Head {
            version: head.version + 1,
            state: None,
            alias_of: None,
        };
        let put = self.version_put(&lead_id, &tombstone, None)?;
        let out = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(put.item))
            .condition_expression("attribute_not_exists(pk)")
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await;
        if let Err(e) = self.tally(out, true) {
            return Err(if e.code() == Some("ConditionalCheckFailedException") {
                StoreError::Contention
            } else {
                sdk_error(e)
            });
        }
        let mut ids = vec![lead_id];
        if let Some(state) = &head.state {
            ids.extend(history_ids(state));
        }
        ids.sort();
        ids.dedup();
        let mut keys = Vec::new();
        for id in &ids {
            for item in self.items_of(id).await? {
                let mut key = HashMap::new();
                for name in ["pk", "sk"] {
                    if let Some(v) = item.get(name) {
                        key.insert(name.to_string(), v.clone());
                    }
                }
                keys.push(key);
            }
        }
        for chunk in keys.chunks(25) {
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

/// The table definition shared by tests, `leadscore dynamodb create-table` and (compared by a
/// test) template.yaml: CreateTable's JSON shape.
pub const TABLE_DEFINITION_JSON: &str = include_str!("../../../infra/dynamodb/table.json");

impl Dynamo {
    /// Creates this store's table from [`TABLE_DEFINITION_JSON`] (on-demand billing) and waits
    /// until it is active. An existing table is left as it is.
    pub async fn create_table(&self) -> Result<(), StoreError> {
        use aws_sdk_dynamodb::types::{
            AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType,
            Projection, ProjectionType, ScalarAttributeType,
        };
        let def: serde_json::Value = serde_json::from_str(TABLE_DEFINITION_JSON)
            .map_err(|e| StoreError::Internal(format!("table.json: {e}")))?;
        let text = |v: &serde_json::Value, k: &str| v[k].as_str().unwrap_or_default().to_string();
        let keys = |v: &serde_json::Value| -> Result<Vec<KeySchemaElement>, StoreError> {
            v.as_array()
                .into_iter()
                .flatten()
                .map(|k| {
                    KeySchemaElement::builder()
                        .attribute_name(text(k, "AttributeName"))
                        .key_type(KeyType::from(text(k, "KeyType").as_str()))
                        .build()
                        .map_err(build_error)
                })
                .collect()
        };
        let mut req = self
            .client
            .create_table()
            .table_name(&self.table)
            .billing_mode(BillingMode::PayPerRequest)
            .set_key_schema(Some(keys(&def["KeySchema"])?));
        for a in def["AttributeDefinitions"].as_array().into_iter().flatten() {
            req = req.attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name(text(a, "AttributeName"))
                    .attribute_type(ScalarAttributeType::from(text(a, "AttributeType").as_str()))
                    .build()
                    .map_err(build_error)?,
            );
        }
        for g in def["GlobalSecondaryIndexes"]
            .as_array()
            .into_iter()
            .flatten()
        {
            req = req.global_secondary_indexes(
                GlobalSecondaryIndex::builder()
                    .index_name(text(g, "IndexName"))
                    .set_key_schema(Some(keys(&g["KeySchema"])?))
                    .projection(
                        Projection::builder()
                            .projection_type(ProjectionType::from(
                                text(&g["Projection"], "ProjectionType").as_str(),
                            ))
                            .build(),
                    )
                    .build()
                    .map_err(build_error)?,
            );
        }
        match req.send().await {
            Ok(_) => {}
            Err(e) if e.code() == Some("ResourceInUseException") => return Ok(()),
            Err(e) => return Err(sdk_error(e)),
        }
        for _ in 0..100 {
            let out = self
                .client
                .describe_table()
                .table_name(&self.table)
                .send()
                .await
                .map_err(sdk_error)?;
            let active = out
                .table()
                .and_then(|t| t.table_status())
                .is_some_and(|s| s.as_str() == "ACTIVE");
            if active {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(StoreError::Unavailable(format!(
            "table {} did not become active",
            self.table
        )))
    }
}
