//! The `stage-notifier` Lambda function, fed by the table's DynamoDB stream and a daily
//! EventBridge Scheduler invocation: everything happens in `leadscore_notify::lambda`,
//! tested there.

// One event at a time: one thread (ARCHITECTURE.md, "Binaries").
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    leadscore_edge::logging::init();
    leadscore_notify::lambda::run().await
}
