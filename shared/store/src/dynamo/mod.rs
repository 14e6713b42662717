//! The DynamoDB store. Single table (infra/dynamodb/table.json, mirrored in template.yaml),
//! the records of `records.rs` as items of one partition per lead id:
//!
//! | item | sk | `lsi1sk` (index `by-arrival`) | attributes |
//! |---|---|---|---|
//! | ledger entry | `E#<event id>` | `A#<applied at ms, 20 digits>#<event id>` | `entry` (JSON) |
//! | tombstone | `E#<event id>` | none | `tombstone` |
//! | snapshot | `SNAP` | `A#<watermark>` + U+0001 | `snapshot` (JSON), `version` |
//! | alias | `ALIAS` | `~ALIAS` | `lead` |
//! | erasure marker | `ERASED` | `~ERASED` | `erased` (JSON), `erased_at` |
//! | stage entry | `STAGE` | `~STAGE` | `gsi1pk` = `STAGE#<stage>`, `gsi1sk` = `<recorded at ms, 20 digits>#<id>` (index `by-stage`), `stage`, `folded`; `erased_at` mirrors the marker (`stage.rs`) |
//! | hand-off record | `HANDOFF` | none | `version`, `body` (B), `summary` (B), `memberships` (L of S) |
//! | index entry | `IDX#<name>` | none | `gsi1pk` = `IDX#<name>`, `gsi1sk` = `<id>` (index `by-stage`), `summary` (B), `version` |
//!
//! `pk` is `LEAD#<id>`, except for the suppression list (`record.rs`): one partition
//! `pk = SUPPRESSED`, one item per erased person (`sk` = lead id, `erased_at`), written in
//! one transaction with the person's erasure marker (`items.rs`). An event is one conditional PutItem of its ledger entry (the key is the
//! deduplication); one Query of the local index `by-arrival`, newest first and consistent,
//! then returns the markers, the entries after the snapshot and the snapshot itself. No item
//! is shared between leads (the suppression list only serves analyses of exports).
//!
//! Hand-off records (`handoff.rs`): what the notifier told the world about a lead, written
//! with a version condition in one TransactWriteItems with a check that the lead has no
//! erasure marker and with the lead's index entries (puts of the current memberships,
//! deletes of the others). At most 90 memberships, so that it fits DynamoDB's 100 items;
//! old entries beyond what fits are deleted just after, each only if not rewritten since (a
//! stop in between leaves them to the lead's next put). Both sit in the lead's partition,
//! so the erasure's purge removes them; `members` queries `by-stage` under
//! `gsi1pk = IDX#<name>` (eventually consistent). Accounts are their own partitions:
//! `pk = ACCOUNT#<domain>`, `sk = ACCOUNT`, `score`, `body` (B), ranked in `by-stage` under
//! `gsi1pk = ACCOUNTS`, `gsi1sk = <score as 20 digits, highest first>#<domain>`. Analyses
//! skip all three (`record_of_item`: derived data, not records).

mod backend;
mod delivery;
mod erasure;
mod handoff;
mod items;
mod scan;
mod stage;
mod table;

use crate::StoreError;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{AttributeValue, ConsumedCapacity};
use aws_sdk_dynamodb::Client;
use leadscore_scoring::{LeadId, Rules};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub use table::TABLE_DEFINITION_JSON;

/// The local index that reads a lead's records in arrival order.
pub const ARRIVAL_INDEX: &str = "by-arrival";

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
    /// How long ledger entries are kept (`crate::retention`; `None`: for ever).
    pub retention: Option<Duration>,
}

impl DynamoConfig {
    /// `LEADSCORE_TABLE` (default `leadscore`), 10 s per operation, 3 SDK attempts, and
    /// `LEADSCORE_RETENTION_DAYS` (a bad value keeps everything here: the functions check it
    /// at start with `retention_from_env`).
    pub fn from_env() -> Self {
        DynamoConfig {
            table: std::env::var("LEADSCORE_TABLE").unwrap_or_else(|_| "leadscore".to_string()),
            operation_timeout: Duration::from_secs(10),
            max_attempts: 3,
            endpoint: None,
            retention: crate::retention_from_env().unwrap_or(None),
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
    retention: Option<Duration>,
}

pub(crate) type Item = HashMap<String, AttributeValue>;

pub(crate) fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub(crate) fn pk(id: &LeadId) -> String {
    format!("LEAD#{id}")
}

impl Dynamo {
    /// The lead id a partition key names, as the table's stream carries it.
    pub fn lead_of_key(pk: &str) -> Option<LeadId> {
        pk.strip_prefix("LEAD#")
            .and_then(|id| LeadId::parse(id).ok())
    }
}

/// Network trouble, throttling and server errors are worth retrying later (HTTP 503).
pub(crate) fn sdk_error<E: ProvideErrorMetadata + std::fmt::Debug, R: std::fmt::Debug>(
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

pub(crate) fn build_error(e: impl std::fmt::Display) -> StoreError {
    StoreError::Internal(format!("DynamoDB request: {e}"))
}

impl Dynamo {
    /// The client from the standard AWS configuration (region, credentials, and the endpoint
    /// override `AWS_ENDPOINT_URL_DYNAMODB`), built once per process.
    pub async fn from_env() -> Self {
        Self::connect(DynamoConfig::from_env()).await
    }

    pub async fn connect(config: DynamoConfig) -> Self {
        let sdk = crate::aws::config("DYNAMODB").await;
        let mut client = aws_sdk_dynamodb::config::Builder::from(&sdk)
            .timeout_config(
                aws_sdk_dynamodb::config::timeout::TimeoutConfig::builder()
                    .operation_timeout(config.operation_timeout)
                    .connect_timeout(config.operation_timeout.min(Duration::from_secs(3)))
                    .build(),
            )
            .retry_config(
                aws_sdk_dynamodb::config::retry::RetryConfig::standard()
                    .with_max_attempts(config.max_attempts),
            );
        if let Some(endpoint) = &config.endpoint {
            client = client.endpoint_url(endpoint);
        }
        Dynamo {
            client: Client::from_conf(client.build()),
            table: config.table,
            usage: Arc::new(Mutex::new(Usage::default())),
            retention: config.retention,
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
    pub(crate) fn tally<O: Consumed, E>(&self, result: Result<O, E>, write: bool) -> Result<O, E> {
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
}

/// The capacity a response reports, whatever its shape.
pub(crate) trait Consumed {
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
    aws_sdk_dynamodb::operation::put_item::PutItemOutput,
    aws_sdk_dynamodb::operation::get_item::GetItemOutput,
    aws_sdk_dynamodb::operation::delete_item::DeleteItemOutput,
    aws_sdk_dynamodb::operation::update_item::UpdateItemOutput,
    aws_sdk_dynamodb::operation::scan::ScanOutput
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

pub(crate) fn json<T: serde::Serialize>(v: &T) -> Result<String, StoreError> {
    String::from_utf8(crate::encode(v)?).map_err(|e| StoreError::Internal(e.to_string()))
}

pub(crate) fn attr<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
}

impl Dynamo {
    /// Imports the leads of `old_table`, written by the first version, into this table (its
    /// ledger entries re-applied in their order). Run again after an interruption: what is
    /// already here comes back as duplicates. `leadscore migrate` calls it.
    pub async fn migrate_v1_from(
        &self,
        old_table: &str,
        rules: &Rules,
    ) -> Result<crate::Migration, StoreError> {
        let mut entries = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let out = self
                .client
                .scan()
                .table_name(old_table)
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(sdk_error)?;
            for item in out.items() {
                let version = attr(item, "sk").is_some_and(|sk| sk.starts_with("V#"));
                if let (true, Some(entry)) = (version, attr(item, "entry")) {
                    entries.push(crate::decode::<crate::migrate::V1Entry>(entry.as_bytes())?);
                }
            }
            match out.last_evaluated_key() {
                Some(k) if !k.is_empty() => start = Some(k.clone()),
                _ => break,
            }
        }
        crate::migrate::import(self, entries, rules).await
    }
}
