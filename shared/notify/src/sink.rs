//! A destination of notifications, and how one delivery can fail.

use crate::Outgoing;
use async_trait::async_trait;
use std::time::Duration;

/// Why one delivery failed: whether trying again can help.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Failure {
    /// The receiver refused it (a 4xx other than 408 and 429, a malformed event): no retry
    /// now; the notification is parked and a replay tries again once the receiver is fixed.
    #[error("refused: {0}")]
    Permanent(String),
    /// Network errors, timeouts, 5xx, 408, 429, throttling: retried with back-off.
    #[error("{0}")]
    Retryable(String),
}

impl Failure {
    pub fn is_permanent(&self) -> bool {
        matches!(self, Failure::Permanent(_))
    }
}

/// Somewhere notifications go: EventBridge, one webhook receiver.
#[async_trait]
pub trait Sink: Send + Sync {
    /// The destination's name: what a parked notification is kept under
    /// (`eventbridge`, `webhook:crm`).
    fn name(&self) -> &str;

    /// Whether this destination takes notifications of this type (a receiver's filter).
    fn wants(&self, _kind: &str) -> bool {
        true
    }

    /// One attempt, within `timeout`.
    async fn deliver(&self, notification: &Outgoing, timeout: Duration) -> Result<(), Failure>;
}
