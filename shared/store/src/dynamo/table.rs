//! The table: its definition (infra/dynamodb/table.json, mirrored in template.yaml) and
//! `create_table` for tests and `leadscore dynamodb create-table`, and `scratch`, a table of its
//! own for each test.

use super::{build_error, sdk_error, Dynamo};
use crate::StoreError;
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use std::time::Duration;

/// The table definition shared by tests, `leadscore dynamodb create-table` and (compared by a
/// test) template.yaml: CreateTable's JSON shape.
pub const TABLE_DEFINITION_JSON: &str = include_str!("../../../../infra/dynamodb/table.json");

/// Tables made by [`Dynamo::scratch`] in this process.
static SCRATCH: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

impl Dynamo {
    /// A new empty table of its own, `<prefix>-<time>-<process>-<n>`, in the DynamoDB the
    /// environment names: for tests, each of which wants an empty table. Refused without an
    /// endpoint override (`AWS_ENDPOINT_URL_DYNAMODB`: DynamoDB Local in the test command),
    /// so that a test never creates tables in a real account. Patient (120 s per operation):
    /// DynamoDB Local on a busy machine can be slow.
    #[doc(hidden)]
    pub async fn scratch(prefix: &str) -> Result<Dynamo, StoreError> {
        if std::env::var_os("AWS_ENDPOINT_URL_DYNAMODB").is_none() {
            return Err(StoreError::Internal(
                "AWS_ENDPOINT_URL_DYNAMODB is not set: run the suite with infra/scripts/test, \
                 which starts DynamoDB Local (or source infra/scripts/dynamodb-local.sh and run \
                 ddb_start)"
                    .into(),
            ));
        }
        let nanos = std::time::UNIX_EPOCH.elapsed().map_or(0, |d| d.as_nanos());
        let n = SCRATCH.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let store = Dynamo::connect(super::DynamoConfig {
            table: format!("{prefix}-{nanos}-{}-{n}", std::process::id()),
            operation_timeout: Duration::from_secs(120),
            ..super::DynamoConfig::from_env()
        })
        .await;
        store.create_table().await?;
        Ok(store)
    }

    /// Creates this store's table from [`TABLE_DEFINITION_JSON`] (on-demand billing) and waits
    /// until it is active. An existing table is left as it is.
    pub async fn create_table(&self) -> Result<(), StoreError> {
        use aws_sdk_dynamodb::types::{
            AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType,
            LocalSecondaryIndex, Projection, ProjectionType, ScalarAttributeType,
        };
        let def: serde_json::Value = serde_json::from_str(TABLE_DEFINITION_JSON)
            .map_err(|e| StoreError::Internal(format!("table.json: {e}")))?;
        let text = |v: &serde_json::Value, k: &str| v[k].as_str().unwrap_or_default().to_string();
        let projection = |p: &serde_json::Value| {
            Projection::builder()
                .projection_type(ProjectionType::from(text(p, "ProjectionType").as_str()))
                .build()
        };
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
                    .projection(projection(&g["Projection"]))
                    .build()
                    .map_err(build_error)?,
            );
        }
        for l in def["LocalSecondaryIndexes"]
            .as_array()
            .into_iter()
            .flatten()
        {
            req = req.local_secondary_indexes(
                LocalSecondaryIndex::builder()
                    .index_name(text(l, "IndexName"))
                    .set_key_schema(Some(keys(&l["KeySchema"])?))
                    .projection(projection(&l["Projection"]))
                    .build()
                    .map_err(build_error)?,
            );
        }
        if let Some(view) = def["StreamSpecification"]["StreamViewType"].as_str() {
            req = req.stream_specification(
                aws_sdk_dynamodb::types::StreamSpecification::builder()
                    .stream_enabled(true)
                    .stream_view_type(aws_sdk_dynamodb::types::StreamViewType::from(view))
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
                return self.enable_ttl(&def).await;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(StoreError::Unavailable(format!(
            "table {} did not become active",
            self.table
        )))
    }

    /// TTL is not part of CreateTable: it is switched on once the table is active.
    async fn enable_ttl(&self, def: &serde_json::Value) -> Result<(), StoreError> {
        let Some(name) = def["TimeToLiveSpecification"]["AttributeName"].as_str() else {
            return Ok(());
        };
        let spec = aws_sdk_dynamodb::types::TimeToLiveSpecification::builder()
            .attribute_name(name)
            .enabled(true)
            .build()
            .map_err(build_error)?;
        self.client
            .update_time_to_live()
            .table_name(&self.table)
            .time_to_live_specification(spec)
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(())
    }
}
