//! Every request answers within the invocation's time: against a DynamoDB that never answers
//! or keeps throttling (fake servers on loopback speaking just enough HTTP), a webhook gets
//! 503 + Retry-After before Lambda's deadline instead of being killed by the timeout.

mod common;
use common::*;
use lambda_http::RequestExt;
use leadscore_edge::App;
use leadscore_scoring::DEFAULT_RULES_TOML;
use leadscore_store::{Dynamo, DynamoConfig, LeadStore};
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// How the fake DynamoDB answers.
#[derive(Clone, Copy)]
enum Fake {
    /// Reads the request and never answers.
    Silent,
    /// Answers every request with ThrottlingException.
    Throttling,
}

async fn fake_dynamodb(kind: Fake) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut buf = vec![0u8; 64 * 1024];
                loop {
                    // One read holds a whole small request here; good enough for a fake.
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(_) => {}
                    }
                    match kind {
                        Fake::Silent => tokio::time::sleep(Duration::from_secs(3600)).await,
                        Fake::Throttling => {
                            let body = r#"{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException","message":"Rate of requests exceeds the allowed throughput."}"#;
                            let answer = format!(
                                "HTTP/1.1 400 Bad Request\r\ncontent-type: application/x-amz-json-1.0\r\n\
                                 x-amzn-requestid: fake\r\ncontent-length: {}\r\n\r\n{body}",
                                body.len()
                            );
                            if socket.write_all(answer.as_bytes()).await.is_err() {
                                return;
                            }
                        }
                    }
                }
            });
        }
    });
    format!("http://{addr}")
}

/// An app over a store at `endpoint` whose own timeouts are far longer than the deadline.
async fn app_over(endpoint: String) -> App {
    std::env::set_var("AWS_ACCESS_KEY_ID", "fake");
    std::env::set_var("AWS_SECRET_ACCESS_KEY", "fake");
    std::env::set_var("AWS_REGION", "eu-west-1");
    let store: Arc<dyn LeadStore> = Arc::new(
        Dynamo::connect(DynamoConfig {
            table: "leads".into(),
            operation_timeout: Duration::from_secs(120),
            max_attempts: 200,
            endpoint: Some(endpoint),
            retention: None,
        })
        .await,
    );
    App::new(store, DEFAULT_RULES_TOML, vars())
        .unwrap()
        .with_clock(now)
}

/// A signed event, invoked with `left` until Lambda's deadline.
fn invocation(left: Duration) -> lambda_http::Request {
    let deadline = SystemTime::now() + left;
    let mut context = lambda_http::Context::default();
    context.deadline = deadline.duration_since(UNIX_EPOCH).unwrap().as_millis() as u64;
    json_webhook("forms", &event_json("e1", "demo_requested", "ada@acme.io"))
        .with_lambda_context(context)
}

async fn answers_503_before_the_deadline(kind: Fake) {
    let app = app_over(fake_dynamodb(kind).await).await;
    let left = Duration::from_secs(2);
    // Without the budget the request would wait for the store's 120 s timeouts.
    let answer = tokio::time::timeout(Duration::from_secs(30), send(&app, invocation(left)))
        .await
        .expect("answered before Lambda would have killed it");
    assert_eq!(
        answer.status,
        503,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    assert!(answer.header("retry-after").is_some());
    assert_eq!(answer.json()["error"]["code"], json!("storage_unavailable"));
}

#[tokio::test]
async fn a_dynamodb_that_never_answers_is_503_in_time() {
    answers_503_before_the_deadline(Fake::Silent).await;
}

#[tokio::test]
async fn a_dynamodb_that_keeps_throttling_is_503_in_time() {
    answers_503_before_the_deadline(Fake::Throttling).await;
}
