//! The `ledger-worker` Lambda function, fed by the table's DynamoDB stream: everything
//! happens in `leadscore_edge::worker`, tested there.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    leadscore_edge::worker::run_worker().await
}
