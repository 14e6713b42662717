//! The ledger worker: upkeep off the event path, fed by the table's DynamoDB stream
//! (template.yaml `LedgerWorkerFunction`, filtered to ledger entries appended and erasure
//! markers written). For each lead id of a batch, once: finish an erasure begun, else write
//! the snapshot its tail is due for. This is what keeps an accepted event at 2 requests and
//! lets a long erasure answer 202 and finish in the background.
//!
//! An id whose erasure did not finish in time, or whose store call failed, is reported as a
//! failed record (`ReportBatchItemFailures`): Lambda delivers it again, and the next run
//! resumes where this one stopped (every step is idempotent).

use crate::App;
pub use leadscore_store::stream::{BatchResponse, ItemFailure, StreamBatch};
use leadscore_store::{Dynamo, Upkeep};
use std::sync::Arc;
use std::time::Duration;

/// Leads tended at once: a batch of a thousand records spread over many leads.
const PARALLEL: usize = 8;

/// Tends every lead a batch names, within `budget`.
pub async fn tend_batch(app: &App, batch: StreamBatch, budget: Duration) -> BatchResponse {
    let leads = batch.leads();
    let gate = Arc::new(tokio::sync::Semaphore::new(PARALLEL));
    let mut tasks = tokio::task::JoinSet::new();
    for (id, sequence) in leads {
        let (app, gate) = (app.clone(), gate.clone());
        tasks.spawn(async move {
            let _turn = gate.acquire_owned().await;
            let outcome = app.store.tend(&id, &app.rules, app.now(), budget).await;
            match outcome {
                Ok(Upkeep::Done) => None,
                Ok(Upkeep::Erasing) => {
                    tracing::info!(lead = %id, "erasure continues in the next delivery");
                    Some(sequence)
                }
                Err(e) => {
                    tracing::warn!(lead = %id, error = %e, "upkeep failed; retried");
                    Some(sequence)
                }
            }
        });
    }
    let mut failures = Vec::new();
    while let Some(done) = tasks.join_next().await {
        if let Ok(Some(sequence)) = done {
            failures.push(sequence);
        }
    }
    // Lambda resumes from the lowest failed sequence number: order does not matter to it,
    // but a stable answer reads better in logs and tests.
    BatchResponse::failed(failures)
}

/// Time to leave for answering after the last store call.
const MARGIN: Duration = Duration::from_secs(10);

/// The `ledger-worker` function's main: the DynamoDB store and the app built once per cold
/// start, then each stream batch tended within the invocation's deadline.
pub async fn run_worker() -> Result<(), lambda_http::Error> {
    crate::logging::init();
    let store = Arc::new(Dynamo::from_env().await);
    let app = App::from_env(store)?;
    tracing::info!("cold start: ledger worker");
    lambda_http::lambda_runtime::run(lambda_http::service_fn(
        move |event: lambda_http::LambdaEvent<StreamBatch>| {
            let app = app.clone();
            async move {
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_millis() as u64)
                    .unwrap_or(0);
                let left = Duration::from_millis(event.context.deadline.saturating_sub(now));
                let budget = left.saturating_sub(MARGIN);
                Ok::<_, lambda_http::Error>(tend_batch(&app, event.payload, budget).await)
            }
        },
    ))
    .await
}
