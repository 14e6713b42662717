//! The `stage-notifier` Lambda function: the table's DynamoDB stream (keys only, filtered by
//! template.yaml to stage entries, erasure markers and ledger entries) names the leads whose
//! state changed; EventBridge Scheduler invokes it with `{"run":"daily"}` (the daily run) and
//! `{"run":"replay"}` (parked notifications). A lead whose step failed is reported as a
//! failed record (`ReportBatchItemFailures`), so only it is delivered again.

use crate::{Destinations, Notifier, PARALLEL, PUBLIC_URL_VAR};
use leadscore_scoring::Timestamp;
pub use leadscore_store::stream::{BatchResponse, ItemFailure, StreamBatch};
use leadscore_store::Dynamo;
use serde_json::{json, Value};
use std::sync::Arc;

/// Each lead of a batch once (with the first record naming it: where a retry must start),
/// stepped `PARALLEL` at a time.
pub async fn handle_batch(
    notifier: &Notifier,
    batch: StreamBatch,
    now: Timestamp,
) -> BatchResponse {
    let leads = batch.leads();
    let mut failures = Vec::new();
    for chunk in leads.chunks(PARALLEL) {
        let steps = chunk.iter().map(|(id, _)| notifier.step(id, now));
        for ((id, sequence), result) in chunk.iter().zip(crate::join_all(steps).await) {
            if let Err(e) = result {
                tracing::warn!(lead = %id, error = %e, "hand-off failed; the record is retried");
                failures.push(sequence.clone());
            }
        }
    }
    BatchResponse::failed(failures)
}

#[derive(Debug, thiserror::Error)]
pub enum InvocationError {
    #[error("not a stream batch nor a scheduled run (`{{\"run\":\"daily\"}}` or `{{\"run\":\"replay\"}}`)")]
    Unknown,
    #[error(transparent)]
    Notify(#[from] crate::NotifyError),
    #[error(transparent)]
    Park(#[from] crate::ParkError),
}

/// One invocation: a stream batch (answered with its failed records) or a scheduled run
/// (answered with what it did; an error fails the invocation, and Scheduler retries it).
pub async fn handle(
    notifier: &Notifier,
    payload: Value,
    now: Timestamp,
) -> Result<Value, InvocationError> {
    if payload.get("Records").is_some() {
        let batch: StreamBatch =
            serde_json::from_value(payload).map_err(|_| InvocationError::Unknown)?;
        let response = handle_batch(notifier, batch, now).await;
        return serde_json::to_value(response).map_err(|_| InvocationError::Unknown);
    }
    match payload.get("run").and_then(Value::as_str) {
        Some("daily") => {
            let r = notifier.daily(now).await?;
            Ok(
                json!({"leads": r.leads, "notifications": r.notifications, "failed": r.failed,
                      "accounts": r.accounts, "replayed": r.replayed.delivered,
                      "still_parked": r.replayed.remaining}),
            )
        }
        Some("replay") => {
            let r = notifier.replay().await?;
            tracing::info!(
                replayed = r.delivered,
                still_parked = r.remaining,
                "replay done"
            );
            Ok(json!({"replayed": r.delivered, "still_parked": r.remaining}))
        }
        _ => Err(InvocationError::Unknown),
    }
}

/// The function's main (after logging is set up): the DynamoDB store, rules, destinations
/// and the notifier built once per cold start, then every invocation handled.
pub async fn run() -> Result<(), lambda_http::Error> {
    if let Ok(key) = std::env::var("LEADSCORE_LEAD_ID_KEY") {
        leadscore_scoring::set_lead_id_key(key.trim().as_bytes())?;
    }
    let rules = match std::env::var("LEADSCORE_RULES") {
        Ok(path) if !path.trim().is_empty() => {
            std::fs::read_to_string(&path).map_err(|e| format!("LEADSCORE_RULES={path}: {e}"))?
        }
        _ => leadscore_scoring::DEFAULT_RULES_TOML.to_string(),
    };
    let vars: Vec<(String, String)> = std::env::vars().collect();
    let destinations = Destinations::from_vars(&vars)?;
    let base_url = std::env::var(PUBLIC_URL_VAR).unwrap_or_default();
    let store = Arc::new(Dynamo::from_env().await);
    let notifier = Arc::new(Notifier::new(store, &rules, destinations, &base_url)?);
    tracing::info!(destinations = ?notifier.destinations().describe(), "cold start: stage notifier");
    lambda_http::lambda_runtime::run(lambda_http::service_fn(
        move |event: lambda_http::LambdaEvent<Value>| {
            let notifier = notifier.clone();
            async move {
                handle(&notifier, event.payload, leadscore_store::system_now())
                    .await
                    .map_err(lambda_http::Error::from)
            }
        },
    ))
    .await
}
