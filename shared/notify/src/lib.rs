//! Notifications: what the hand-off (`leadscore-handoff`) decides to tell, delivered.
//!
//! - Sinks ([`Sink`]): EventBridge `PutEvents` ([`EventBridgeSink`]) and outbound webhooks
//!   signed per Standard Webhooks ([`WebhookSink`]), configured as data from the
//!   environment ([`Destinations::from_vars`]).
//! - Retries with back-off and jitter inside one attempt window ([`Backoff`]); then the
//!   notification is *parked* for that destination ([`Parking`]: SQS on AWS, the embedded
//!   store locally) and a replay ([`Destinations::replay`]) delivers it later.
//! - The per-lead step and the daily run ([`Notifier`]), fed by the table's stream
//!   (`functions/stage-notifier`, [`lambda`]) or the embedded outbox (`leadscore serve`,
//!   [`local`]).
//!
//! Logs carry lead ids, notification ids and destinations, never a notification body (it
//! holds an email).

mod destinations;
mod eventbridge;
#[cfg(feature = "lambda")]
pub mod lambda;
#[cfg(feature = "local")]
pub mod local;
mod notifier;
mod outgoing;
mod park;
mod retry;
mod sink;
mod webhook;

pub use destinations::{Delivered, Destinations, Replayed, DOWN_FOR};
pub use eventbridge::{EventBridgeSink, EVENTBRIDGE_DESTINATION, EVENT_BUS_VAR, EVENT_SOURCE};
#[cfg(feature = "local")]
pub use local::EmbeddedParking;
pub use notifier::{
    outgoing, DailyReport, Notifier, NotifyError, StepReport, PARALLEL, PUBLIC_URL_VAR, REPLAY_PAGE,
};
pub use outgoing::{NotNotification, Outgoing, KINDS};
pub use park::{
    NoParking, ParkError, Parked, ParkedPage, Parking, SqsParking, DEAD_LETTER_QUEUE_VAR,
    DESTINATION_ATTRIBUTE,
};
pub use retry::{deliver_with_retries, Backoff, Outcome};
pub use sink::{Failure, Sink};
pub use webhook::{
    classify, webhooks_from_vars, SigningKey, WebhookConfig, WebhookSink, WEBHOOK_SECRET_PREFIX,
    WEBHOOK_TYPES_PREFIX, WEBHOOK_VAR_PREFIX,
};

/// Runs futures concurrently on the calling task; results in order.
pub(crate) async fn join_all<F: std::future::Future>(
    futures: impl IntoIterator<Item = F>,
) -> Vec<F::Output> {
    let mut pinned: Vec<_> = futures.into_iter().map(Box::pin).collect();
    let mut out: Vec<Option<F::Output>> = pinned.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (i, f) in pinned.iter_mut().enumerate() {
            if out[i].is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => out[i] = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    out.into_iter().flatten().collect()
}

/// A configuration mistake, found at start (never per notification).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);
