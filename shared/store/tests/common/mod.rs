//! What the store's test files share: a fresh DynamoDB Local table per test.
#![allow(dead_code)]

use leadscore_store::Dynamo;

/// A fresh, uniquely named table (`<prefix>-...`) in the DynamoDB Local the test command
/// started (`Dynamo::scratch`: requests may take up to two minutes on a busy machine).
pub async fn dynamo_table(prefix: &str) -> Dynamo {
    Dynamo::scratch(prefix).await.unwrap()
}
