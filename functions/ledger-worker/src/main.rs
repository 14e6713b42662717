//! The `ledger-worker` Lambda function, fed by the table's DynamoDB stream: everything
//! happens in `leadscore_edge::worker`, tested there.

// One event at a time: one thread (ARCHITECTURE.md, "Binaries").
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    leadscore_edge::worker::run_worker().await
}
