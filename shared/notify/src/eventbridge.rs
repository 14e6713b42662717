//! EventBridge: one `PutEvents` entry per notification on the bus `LEADSCORE_EVENT_BUS`
//! (name or ARN), `Source` = `leadscore`, `DetailType` = the notification type, `Detail` =
//! the notification document. Rules on the bus route them (README "Notifications").

use crate::{Failure, Outgoing, Sink};
use async_trait::async_trait;
use aws_sdk_eventbridge::error::ProvideErrorMetadata;
use aws_sdk_eventbridge::primitives::DateTime;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use std::time::Duration;
use tokio::sync::OnceCell;

pub const EVENT_BUS_VAR: &str = "LEADSCORE_EVENT_BUS";
/// Every event's `Source`.
pub const EVENT_SOURCE: &str = "leadscore";
/// The destination name parked notifications are kept under.
pub const EVENTBRIDGE_DESTINATION: &str = "eventbridge";

/// Error codes (of the call or of an entry) worth trying again.
fn retryable_code(code: &str) -> bool {
    matches!(
        code,
        "ThrottlingException"
            | "InternalException"
            | "InternalFailure"
            | "ServiceUnavailable"
            | "ServiceUnavailableException"
            | "RequestTimeout"
            | "RequestTimeoutException"
    )
}

pub struct EventBridgeSink {
    bus: String,
    /// Built on first use (endpoint, region and credentials from the SDK's configuration:
    /// `AWS_ENDPOINT_URL_EVENTBRIDGE` points it at moto in tests).
    client: OnceCell<aws_sdk_eventbridge::Client>,
}

impl EventBridgeSink {
    pub fn new(bus: impl Into<String>) -> EventBridgeSink {
        EventBridgeSink {
            bus: bus.into(),
            client: OnceCell::new(),
        }
    }

    /// From `LEADSCORE_EVENT_BUS` in `vars`; unset or empty: no EventBridge.
    pub fn from_vars(vars: &[(String, String)]) -> Option<EventBridgeSink> {
        vars.iter()
            .find(|(n, _)| n == EVENT_BUS_VAR)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
            .map(EventBridgeSink::new)
    }

    pub fn bus(&self) -> &str {
        &self.bus
    }

    async fn client(&self) -> &aws_sdk_eventbridge::Client {
        self.client
            .get_or_init(|| async {
                let config = leadscore_store::aws::config("EVENTBRIDGE").await;
                aws_sdk_eventbridge::Client::new(&config)
            })
            .await
    }
}

#[async_trait]
impl Sink for EventBridgeSink {
    fn name(&self) -> &str {
        EVENTBRIDGE_DESTINATION
    }

    async fn deliver(&self, n: &Outgoing, timeout: Duration) -> Result<(), Failure> {
        let detail = std::str::from_utf8(&n.body)
            .map_err(|_| Failure::Permanent("the notification is not UTF-8".into()))?;
        let entry = PutEventsRequestEntry::builder()
            .event_bus_name(&self.bus)
            .source(EVENT_SOURCE)
            .detail_type(&n.kind)
            .detail(detail)
            .time(DateTime::from_millis(n.at.millis()))
            .build();
        let call = self.client().await.put_events().entries(entry).send();
        let out = match tokio::time::timeout(timeout, call).await {
            Err(_) => return Err(Failure::Retryable("PutEvents timed out".into())),
            Ok(Err(e)) => {
                return Err(match e.code() {
                    Some(code) if !retryable_code(code) => Failure::Permanent(format!(
                        "PutEvents: {code}: {}",
                        e.message().unwrap_or("")
                    )),
                    _ => Failure::Retryable(format!(
                        "PutEvents: {}",
                        e.code().unwrap_or("network error")
                    )),
                })
            }
            Ok(Ok(out)) => out,
        };
        if out.failed_entry_count() == 0 {
            return Ok(());
        }
        let entry = out.entries().first();
        let code = entry.and_then(|e| e.error_code()).unwrap_or("unknown");
        let message = format!(
            "PutEvents entry failed: {code}: {}",
            entry.and_then(|e| e.error_message()).unwrap_or("")
        );
        Err(if retryable_code(code) {
            Failure::Retryable(message)
        } else {
            Failure::Permanent(message)
        })
    }
}
