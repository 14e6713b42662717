//! A full SendGrid batch through the webhook handler against DynamoDB Local: 256 KB of
//! events (opens, clicks, deliveries) over a few hundred people, as one signed request, the
//! way `newsletter-click` receives it. Prints the time each request took (BENCHMARKS.md).
//!
//! ```sh
//! source infra/scripts/dynamodb-local.sh && ddb_start
//! cargo run --release -p leadscore-edge --example sendgrid_batch
//! ```

#[path = "../../providers/tests/common/mod.rs"]
mod providers;

use lambda_http::Body;
use leadscore_edge::{route, App};
use leadscore_scoring::{Timestamp, DEFAULT_RULES_TOML};
use leadscore_store::{Dynamo, DynamoConfig, LeadStore};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A SendGrid batch of just under 256 KB over addresses `reader<i % readers>@example<i % 7>`,
/// `seed` in the ids.
fn batch(readers: usize, seed: usize) -> Vec<u8> {
    let mut events = Vec::new();
    let mut size = 2;
    for i in 0.. {
        let kind = ["open", "click", "delivered", "click", "open"][i % 5];
        let mut e = json!({
            "sg_event_id": format!("sg-{seed}-{i:06}"),
            "sg_message_id": format!("msg-{seed}-{:04}.filter0001", i % readers),
            "event": kind,
            "email": format!("reader{}@example{}.com", i % readers, i % 7),
            "timestamp": providers::NOW - 60 + (i as i64 % 50),
            "ip": "198.51.100.7",
            "useragent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_1) AppleWebKit/605.1.15",
            "category": ["q4-webinar", "newsletter"],
        });
        if kind == "click" {
            e["url"] = json!(format!("https://example.com/blog/post-{}.html", i % 40));
        }
        let text = e.to_string();
        if size + text.len() + 1 > 255 * 1024 {
            break;
        }
        size += text.len() + 1;
        events.push(e);
    }
    serde_json::to_vec(&Value::Array(events)).unwrap()
}

fn gateway(req: &providers::Request) -> lambda_http::Request {
    let rest = req.url.strip_prefix("https://").unwrap();
    let (domain, path) = rest.split_once('/').unwrap();
    let mut headers = serde_json::Map::new();
    for (n, v) in &req.headers {
        headers.insert(n.to_ascii_lowercase(), Value::String(v.clone()));
    }
    headers.insert("host".into(), Value::String(domain.to_string()));
    let event = json!({
        "version": "2.0", "routeKey": format!("POST /{path}"), "rawPath": format!("/{path}"),
        "rawQueryString": "", "headers": headers,
        "requestContext": {
            "accountId": "1", "apiId": "bench", "domainName": domain,
            "http": {"method": "POST", "path": format!("/{path}"), "protocol": "HTTP/1.1",
                     "sourceIp": "198.51.100.7", "userAgent": "SendGrid"},
            "requestId": "r", "routeKey": "$default", "stage": "$default", "time": "",
            "timeEpoch": providers::NOW * 1000
        },
        "body": String::from_utf8(req.body.clone()).unwrap(),
        "isBase64Encoded": false,
    });
    lambda_http::request::from_str(&event.to_string()).unwrap()
}

#[tokio::main]
async fn main() {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let dynamo = Dynamo::connect(DynamoConfig {
        table: format!("sendgrid-batch-{nanos}"),
        operation_timeout: Duration::from_secs(120),
        ..DynamoConfig::from_env()
    })
    .await;
    dynamo.create_table().await.unwrap();
    let store: Arc<dyn LeadStore> = Arc::new(dynamo);
    let vars = vec![(
        "LEADSCORE_SECRET_SENDGRID".to_string(),
        providers::test_secret("sendgrid"),
    )];
    let app = App::new(store, DEFAULT_RULES_TOML, vars)
        .unwrap()
        .with_clock(|| Timestamp::from_unix_seconds(providers::NOW));
    // DynamoDB Local's first writes to a new table are slow (seconds): one event first, timed
    // apart, so the batches measure the handler and steady DynamoDB Local.
    let warm = json!([{"sg_event_id": "warm-up", "event": "open", "email": "warm@example.com",
        "timestamp": providers::NOW - 60}]);
    let warm = providers::signed("sendgrid", warm.to_string().as_bytes(), providers::NOW);
    let started = Instant::now();
    let status = route(&app, gateway(&warm)).await.status();
    println!(
        "warm-up (1 event, new table): {status} in {:.2} s",
        started.elapsed().as_secs_f64()
    );
    println!("| request | events | people | bytes | answer | time |");
    println!("|---|---|---|---|---|---|");
    for (n, readers) in [(1, 300), (2, 300), (3, 600)] {
        let body = batch(readers, n);
        let items = serde_json::from_slice::<Vec<Value>>(&body).unwrap();
        let events = items.len();
        let people: std::collections::BTreeSet<&str> =
            items.iter().filter_map(|e| e["email"].as_str()).collect();
        let people = people.len();
        let req = providers::signed("sendgrid", &body, providers::NOW);
        let started = Instant::now();
        let response = route(&app, gateway(&req)).await;
        let took = started.elapsed();
        let status = response.status();
        let answer = match response.body() {
            Body::Text(t) => t.clone(),
            Body::Binary(b) => String::from_utf8_lossy(b).into_owned(),
            Body::Empty => String::new(),
            _ => String::new(),
        };
        println!(
            "| {n} | {events} | {people} | {} | {status} {answer} | {:.2} s |",
            body.len(),
            took.as_secs_f64()
        );
    }
}
