//! The `stage-query` Lambda function: everything happens in `leadscore_edge`, shared with
//! `leadscore serve` and tested there.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    leadscore_edge::run_lambda(leadscore_edge::Function::StageQuery).await
}
