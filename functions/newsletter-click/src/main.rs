//! The `newsletter-click` Lambda function: everything happens in `leadscore_edge`, shared with
//! `leadscore serve` and tested there.

// One event at a time: one thread (ARCHITECTURE.md, "Binaries").
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    leadscore_edge::run_lambda(leadscore_edge::Function::NewsletterClick).await
}
