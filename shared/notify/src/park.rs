//! Where a notification that could not be delivered waits for a replay: the SQS queue
//! `LEADSCORE_DEAD_LETTER_QUEUE_URL` on AWS (the notification document as the body, the
//! destination as a message attribute; 14 days), the embedded store's parked table locally.

use crate::Outgoing;
use async_trait::async_trait;
use aws_sdk_sqs::types::MessageAttributeValue;
use tokio::sync::OnceCell;

pub const DEAD_LETTER_QUEUE_VAR: &str = "LEADSCORE_DEAD_LETTER_QUEUE_URL";
/// The message attribute naming the destination a parked notification is for.
pub const DESTINATION_ATTRIBUTE: &str = "destination";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot park the notification: {0}")]
pub struct ParkError(pub String);

/// A parked notification, as read back for a replay.
#[derive(Debug, Clone)]
pub struct Parked {
    pub destination: String,
    pub notification: Outgoing,
    /// What `release` takes (an SQS receipt handle, an embedded key).
    pub handle: String,
}

/// What was read from the park: notifications, and how many entries were unreadable
/// (left where they are and logged).
#[derive(Debug, Default)]
pub struct ParkedPage {
    pub parked: Vec<Parked>,
    pub unreadable: usize,
}

#[async_trait]
pub trait Parking: Send + Sync {
    /// Where (for logs and `serve`'s banner).
    fn describe(&self) -> String;
    async fn park(&self, destination: &str, notification: &Outgoing) -> Result<(), ParkError>;
    /// Up to `limit` parked notifications. On SQS each is hidden for the queue's visibility
    /// timeout once read, so one replay pass does not read it twice.
    async fn take(&self, limit: usize) -> Result<ParkedPage, ParkError>;
    /// Removes a parked notification (delivered).
    async fn release(&self, handle: &str) -> Result<(), ParkError>;
}

/// Nowhere to park: a failed delivery fails the lead's step, which is then retried (the
/// stream delivers its record again; locally the lead stays in the outbox).
pub struct NoParking;

#[async_trait]
impl Parking for NoParking {
    fn describe(&self) -> String {
        format!(
            "nowhere ({DEAD_LETTER_QUEUE_VAR} unset: failed deliveries are retried with the lead)"
        )
    }
    async fn park(&self, destination: &str, n: &Outgoing) -> Result<(), ParkError> {
        Err(ParkError(format!(
            "{destination}: {} not delivered and {DEAD_LETTER_QUEUE_VAR} is not set",
            n.id
        )))
    }
    async fn take(&self, _limit: usize) -> Result<ParkedPage, ParkError> {
        Ok(ParkedPage::default())
    }
    async fn release(&self, _handle: &str) -> Result<(), ParkError> {
        Ok(())
    }
}

/// The SQS dead-letter queue.
pub struct SqsParking {
    queue_url: String,
    visibility: std::time::Duration,
    client: OnceCell<aws_sdk_sqs::Client>,
}

/// How long a message read by a replay pass stays hidden: longer than a pass takes, so a
/// pass never reads one twice; one not delivered is visible again for the next pass.
pub const REPLAY_VISIBILITY: std::time::Duration = std::time::Duration::from_secs(300);

impl SqsParking {
    pub fn new(queue_url: impl Into<String>) -> SqsParking {
        SqsParking {
            queue_url: queue_url.into(),
            visibility: REPLAY_VISIBILITY,
            client: OnceCell::new(),
        }
    }

    /// Another visibility timeout for the messages a replay reads (tests).
    pub fn with_visibility(mut self, visibility: std::time::Duration) -> Self {
        self.visibility = visibility;
        self
    }

    pub fn queue_url(&self) -> &str {
        &self.queue_url
    }

    async fn client(&self) -> &aws_sdk_sqs::Client {
        self.client
            .get_or_init(|| async {
                let config = leadscore_store::aws::config("SQS").await;
                aws_sdk_sqs::Client::new(&config)
            })
            .await
    }
}

fn sqs_error(e: impl std::fmt::Display) -> ParkError {
    ParkError(format!("SQS: {e}"))
}

fn string_attribute(value: &str) -> Result<MessageAttributeValue, ParkError> {
    MessageAttributeValue::builder()
        .data_type("String")
        .string_value(value)
        .build()
        .map_err(sqs_error)
}

#[async_trait]
impl Parking for SqsParking {
    fn describe(&self) -> String {
        format!("the SQS queue {}", self.queue_url)
    }

    async fn park(&self, destination: &str, n: &Outgoing) -> Result<(), ParkError> {
        let body = std::str::from_utf8(&n.body).map_err(sqs_error)?;
        self.client()
            .await
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(body)
            .message_attributes(DESTINATION_ATTRIBUTE, string_attribute(destination)?)
            .message_attributes("notification_id", string_attribute(&n.id)?)
            .message_attributes("type", string_attribute(&n.kind)?)
            .send()
            .await
            .map_err(|e| sqs_error(aws_sdk_sqs::error::DisplayErrorContext(e)))?;
        Ok(())
    }

    async fn take(&self, limit: usize) -> Result<ParkedPage, ParkError> {
        let mut page = ParkedPage::default();
        while page.parked.len() + page.unreadable < limit {
            let want = (limit - page.parked.len() - page.unreadable).min(10) as i32;
            let out = self
                .client()
                .await
                .receive_message()
                .queue_url(&self.queue_url)
                .max_number_of_messages(want)
                .message_attribute_names("All")
                .wait_time_seconds(0)
                .visibility_timeout(self.visibility.as_secs().min(43_200) as i32)
                .send()
                .await
                .map_err(|e| sqs_error(aws_sdk_sqs::error::DisplayErrorContext(e)))?;
            let messages = out.messages();
            if messages.is_empty() {
                break;
            }
            for m in messages {
                let destination = m
                    .message_attributes()
                    .and_then(|a| a.get(DESTINATION_ATTRIBUTE))
                    .and_then(|v| v.string_value());
                let parsed = m
                    .body()
                    .map(|b| Outgoing::from_json(b.as_bytes()))
                    .transpose()
                    .ok()
                    .flatten();
                match (destination, parsed, m.receipt_handle()) {
                    (Some(d), Some(n), Some(h)) => page.parked.push(Parked {
                        destination: d.to_string(),
                        notification: n,
                        handle: h.to_string(),
                    }),
                    _ => {
                        tracing::warn!(message = m.message_id().unwrap_or(""),
                            "a parked message is not a notification with a destination; left in the queue");
                        page.unreadable += 1;
                    }
                }
            }
        }
        Ok(page)
    }

    async fn release(&self, handle: &str) -> Result<(), ParkError> {
        self.client()
            .await
            .delete_message()
            .queue_url(&self.queue_url)
            .receipt_handle(handle)
            .send()
            .await
            .map_err(|e| sqs_error(aws_sdk_sqs::error::DisplayErrorContext(e)))?;
        Ok(())
    }
}
