//! A webhook receiver for the tests: an axum server on 127.0.0.1 that verifies every
//! request's Standard Webhooks signature itself (HMAC recomputed here from the spec, not with
//! the crate's signer), answers 503 to the first `fail_first` requests, and keeps what it
//! accepted.
#![allow(dead_code)]

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use base64::{engine::general_purpose::STANDARD, Engine};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

#[derive(Default)]
pub struct Seen {
    /// Accepted: (webhook-id, body) in arrival order (redeliveries included).
    pub accepted: Vec<(String, serde_json::Value)>,
    /// Requests whose signature did not verify (or had none).
    pub unsigned: usize,
    /// Requests answered 503 on purpose.
    pub refused: usize,
}

impl Seen {
    /// Distinct notification ids accepted.
    pub fn ids(&self) -> std::collections::BTreeSet<String> {
        self.accepted.iter().map(|(id, _)| id.clone()).collect()
    }
}

pub struct Receiver {
    pub url: String,
    pub seen: Arc<Mutex<Seen>>,
    pub task: tokio::task::JoinHandle<()>,
}

/// Standard Webhooks verification, from the spec: the key is the base64 after `whsec_`, the
/// signed content `{id}.{timestamp}.{body}`, the header a space-separated list of `v1,<b64>`;
/// the timestamp within 5 minutes.
pub fn verify(secret: &str, headers: &HeaderMap, body: &[u8]) -> bool {
    let get = |n: &str| headers.get(n).and_then(|v| v.to_str().ok());
    let (Some(id), Some(ts), Some(sigs)) = (
        get("webhook-id"),
        get("webhook-timestamp"),
        get("webhook-signature"),
    ) else {
        return false;
    };
    let Ok(ts_num) = ts.parse::<i64>() else {
        return false;
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    if (now - ts_num).abs() > 300 {
        return false;
    }
    let key = STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap())
        .unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{id}.{ts}.").as_bytes());
    mac.update(body);
    let expected = format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
    sigs.split(' ').any(|s| s == expected)
}

/// Starts a receiver on `addr` ("127.0.0.1:0" for any port).
pub async fn receiver(addr: &str, fail_first: usize) -> Receiver {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let state = seen.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let seen = state.clone();
            async move {
                let mut seen = seen.lock().unwrap();
                if !verify(SECRET, &headers, &body) {
                    seen.unsigned += 1;
                    return StatusCode::UNAUTHORIZED;
                }
                if seen.refused < fail_first {
                    seen.refused += 1;
                    return StatusCode::SERVICE_UNAVAILABLE;
                }
                let id = headers["webhook-id"].to_str().unwrap().to_string();
                let doc: serde_json::Value = serde_json::from_slice(&body).unwrap();
                assert_eq!(doc["id"], id.as_str(), "webhook-id is the notification id");
                seen.accepted.push((id, doc));
                StatusCode::NO_CONTENT
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    Receiver { url, seen, task }
}

/// A free port on 127.0.0.1 (nothing listens there until a receiver is started on it).
pub fn free_addr() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().to_string()
}

/// A notification document like the hand-off's.
pub fn notification(n: usize, kind: &str) -> leadscore_notify::Outgoing {
    let body = serde_json::json!({
        "id": format!("ntf_{n:032x}"),
        "type": kind,
        "timestamp": "2026-11-22T10:00:00Z",
        "data": {"lead": format!("ld_{n:032x}"), "email": format!("person{n}@acme.com"),
                 "from": "mql", "to": "sql"},
    });
    leadscore_notify::Outgoing::from_json(&serde_json::to_vec(&body).unwrap()).unwrap()
}

/// A queue in moto: (url, arn).
pub async fn queue(sqs: &aws_sdk_sqs::Client, name: &str) -> (String, String) {
    let url = sqs
        .create_queue()
        .queue_name(name)
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_string();
    let arn = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap()
        .attributes()
        .unwrap()[&aws_sdk_sqs::types::QueueAttributeName::QueueArn]
        .clone();
    (url, arn)
}

/// Messages of a queue, read without hiding them (visibility 0), until `n` or 5 s.
pub async fn peek(
    sqs: &aws_sdk_sqs::Client,
    url: &str,
    n: usize,
) -> Vec<aws_sdk_sqs::types::Message> {
    let mut out: Vec<aws_sdk_sqs::types::Message> = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while out.len() < n && std::time::Instant::now() < deadline {
        let got = sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .visibility_timeout(0)
            .message_attribute_names("All")
            .send()
            .await
            .unwrap();
        for m in got.messages() {
            if !out.iter().any(|o| o.message_id() == m.message_id()) {
                out.push(m.clone());
            }
        }
        if out.len() < n {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    out
}

/// A bus, a rule on it for `source = leadscore` targeting a new queue: the queue's url.
pub async fn bus_to_queue(config: &leadscore_store::aws::SdkConfig, bus: &str) -> String {
    let events = aws_sdk_eventbridge::Client::new(config);
    let sqs = aws_sdk_sqs::Client::new(config);
    events.create_event_bus().name(bus).send().await.unwrap();
    let (url, arn) = queue(&sqs, &format!("{bus}-queue")).await;
    let rule = format!("{bus}-rule");
    events
        .put_rule()
        .name(&rule)
        .event_bus_name(bus)
        .event_pattern(r#"{"source":["leadscore"]}"#)
        .send()
        .await
        .unwrap();
    events
        .put_targets()
        .rule(&rule)
        .event_bus_name(bus)
        .targets(
            aws_sdk_eventbridge::types::Target::builder()
                .id("queue")
                .arn(&arn)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    url
}

pub fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{prefix}-{nanos}")
}
