//! What the store's test files share: a fresh DynamoDB Local table per test.
#![allow(dead_code)]

use leadscore_store::{Dynamo, DynamoConfig};
use std::sync::atomic::{AtomicU64, Ordering};

static TABLES: AtomicU64 = AtomicU64::new(0);

/// A fresh, uniquely named table (`<prefix>-...`) in the DynamoDB Local the test command
/// started. Correctness, not latency: DynamoDB Local on a busy 2-core CI machine can take
/// seconds per request when deliveries race, so requests may take up to two minutes.
pub async fn dynamo_table(prefix: &str) -> Dynamo {
    assert!(
        std::env::var("AWS_ENDPOINT_URL_DYNAMODB").is_ok(),
        "AWS_ENDPOINT_URL_DYNAMODB is not set: run the suite with infra/scripts/test, which \
         starts DynamoDB Local (or source infra/scripts/dynamodb-local.sh and run ddb_start)"
    );
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let n = TABLES.fetch_add(1, Ordering::Relaxed);
    let store = Dynamo::connect(DynamoConfig {
        table: format!("{prefix}-{nanos}-{}-{n}", std::process::id()),
        operation_timeout: std::time::Duration::from_secs(120),
        ..DynamoConfig::from_env()
    })
    .await;
    store.create_table().await.unwrap();
    store
}
