//! Notifications: `leadscore serve` hands a lead off to a webhook receiver through its
//! outbox even when the receiver was down and the process was killed right after the event
//! was accepted; and template.yaml's stage notifier is wired as its code expects.

mod common;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use base64::{engine::general_purpose::STANDARD, Engine};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const RECEIVER_SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
// Not the banner's example address (serve prints a sample event with it).
const EMAIL: &str = "grace@analytical-engines.com";

fn free_addr() -> std::net::SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap()
}

fn serve(data: &std::path::Path, addr: std::net::SocketAddr, hook: &str) -> Child {
    Command::new(env!("CARGO_BIN_EXE_leadscore"))
        .args(["serve", "--addr", &addr.to_string(), "--data"])
        .arg(data)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("RUST_LOG", "info")
        .env("LEADSCORE_SECRET_JSON", SECRET)
        .env("LEADSCORE_API_KEYS", "local-key")
        .env("LEADSCORE_WEBHOOK_CRM", hook)
        .env("LEADSCORE_WEBHOOK_SECRET_CRM", RECEIVER_SECRET)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

async fn until_listening(addr: std::net::SocketAddr) {
    for _ in 0..600 {
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("leadscore serve did not listen on {addr}");
}

fn output(child: Child) -> String {
    let out = child.wait_with_output().unwrap();
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Standard Webhooks verification written from the spec (not the crate's signer).
fn verified(headers: &HeaderMap, body: &[u8]) -> Option<String> {
    let get = |n: &str| headers.get(n)?.to_str().ok();
    let (id, ts, sigs) = (
        get("webhook-id")?,
        get("webhook-timestamp")?,
        get("webhook-signature")?,
    );
    let key = STANDARD
        .decode(RECEIVER_SECRET.strip_prefix("whsec_")?)
        .ok()?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).ok()?;
    mac.update(format!("{id}.{ts}.").as_bytes());
    mac.update(body);
    let expected = format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
    sigs.split(' ')
        .any(|s| s == expected)
        .then(|| id.to_string())
}

#[derive(Default)]
struct Seen {
    accepted: Vec<serde_json::Value>,
    unsigned: usize,
}

async fn receiver(addr: std::net::SocketAddr) -> Arc<Mutex<Seen>> {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let state = seen.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let seen = state.clone();
            async move {
                let mut seen = seen.lock().unwrap();
                match verified(&headers, &body) {
                    Some(_) => {
                        seen.accepted.push(serde_json::from_slice(&body).unwrap());
                        StatusCode::OK
                    }
                    None => {
                        seen.unsigned += 1;
                        StatusCode::UNAUTHORIZED
                    }
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_notifies_a_receiver_that_was_down_after_a_kill() {
    let data = tempfile::tempdir().unwrap();
    let hook_addr = free_addr();
    let hook = format!("http://{hook_addr}/hook");

    // 1. The receiver is down; the event is accepted; the process is killed at once.
    let addr = free_addr();
    let first = serve(data.path(), addr, &hook);
    until_listening(addr).await;
    let body = format!(
        r#"{{"id":"evt_first","type":"demo_requested","occurred_at":"2026-11-22T10:00:00Z","email":"{EMAIL}","profile":{{"job_title":"CTO","company":"Acme"}}}}"#
    );
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let signed = leadscore::sign::sign(SECRET, "msg_first", now, body.as_bytes()).unwrap();
    let mut headers: Vec<(&str, String)> = signed.lines().to_vec();
    headers.push(("content-type", "application/json".into()));
    let h: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let reply = common::send(addr, "POST", "/webhooks/forms/json", &h, body.as_bytes()).await;
    let mut first = first;
    first.kill().unwrap(); // SIGKILL
    assert_eq!(
        reply.status,
        200,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    let first_output = output(first);
    assert!(
        first_output.contains("notifications: webhook:crm"),
        "serve says where it notifies: {first_output}"
    );

    // 2. The receiver is up; serve starts again on the same data.
    let seen = receiver(hook_addr).await;
    let addr = free_addr();
    let second = serve(data.path(), addr, &hook);
    until_listening(addr).await;
    let mut moves = Vec::new();
    for _ in 0..300 {
        moves = seen
            .lock()
            .unwrap()
            .accepted
            .iter()
            .filter(|n| n["type"] == "lead.stage_changed")
            .cloned()
            .collect();
        if moves.iter().any(|n| n["data"]["to"] == "sql") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut second = second;
    second.kill().unwrap();
    let second_output = output(second);
    assert!(
        moves.iter().any(|n| n["data"]["to"] == "sql"),
        "no move to sql arrived: {moves:?}\n{second_output}"
    );
    for n in &moves {
        assert_eq!(n["data"]["email"], EMAIL);
        assert!(n["id"].as_str().unwrap().starts_with("ntf_"));
        assert!(
            n["data"]["url"].as_str().unwrap().contains("/leads/ld_"),
            "{n}"
        );
    }
    assert_eq!(seen.lock().unwrap().unsigned, 0);
    for out in [&first_output, &second_output] {
        assert!(!out.contains(EMAIL), "an email in serve's output:\n{out}");
    }
}

/// template.yaml: the stage notifier reads the table's stream with the filters its handler
/// expects, reports failed records, parks in a 14-day queue, runs daily, and gets no
/// webhook source secret or API key.
#[test]
fn the_stage_notifier_is_wired_in_the_template() {
    let template = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../template.yaml"),
    )
    .unwrap();
    let doc: serde_yaml::Value = serde_yaml::from_str(&template).unwrap();
    let resources = &doc["Resources"];
    let function = &resources["StageNotifierFunction"];
    assert_eq!(
        function["Properties"]["CodeUri"].as_str(),
        Some("functions/stage-notifier")
    );
    assert_eq!(
        function["Metadata"]["BuildMethod"].as_str(),
        Some("rust-cargolambda")
    );
    let vars: Vec<&str> = function["Properties"]["Environment"]["Variables"]
        .as_mapping()
        .unwrap()
        .keys()
        .filter_map(|k| k.as_str())
        .collect();
    for expected in [
        "LEADSCORE_EVENT_BUS",
        "LEADSCORE_DEAD_LETTER_QUEUE_URL",
        "LEADSCORE_PUBLIC_URL",
        "LEADSCORE_WEBHOOK_RECEIVER",
        "LEADSCORE_WEBHOOK_SECRET_RECEIVER",
    ] {
        assert!(vars.contains(&expected), "{expected} missing: {vars:?}");
    }
    assert!(!vars
        .iter()
        .any(|v| v.starts_with("LEADSCORE_SECRET_") || *v == "LEADSCORE_API_KEYS"));

    let source = &function["Properties"]["Events"]["LeadChanges"]["Properties"];
    assert_eq!(
        source["FunctionResponseTypes"][0].as_str(),
        Some("ReportBatchItemFailures")
    );
    assert_eq!(source["BisectBatchOnFunctionError"].as_bool(), Some(true));
    let patterns: Vec<serde_json::Value> = source["FilterCriteria"]["Filters"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|f| serde_json::from_str(f["Pattern"].as_str().unwrap()).unwrap())
        .collect();
    let sk = |p: &serde_json::Value| p["dynamodb"]["Keys"]["sk"]["S"].clone();
    assert!(patterns
        .iter()
        .any(|p| p["eventName"] == serde_json::json!(["INSERT"])
            && sk(p) == serde_json::json!([{"prefix": "E#"}])));
    assert!(patterns
        .iter()
        .any(|p| sk(p) == serde_json::json!(["STAGE", "ERASED"])));

    let queue = &resources["NotificationDeadLetterQueue"];
    assert_eq!(queue["Type"].as_str(), Some("AWS::SQS::Queue"));
    assert_eq!(
        queue["Properties"]["MessageRetentionPeriod"].as_u64(),
        Some(14 * 86_400)
    );
    let daily = &resources["StageNotifierDailySchedule"];
    assert_eq!(daily["Type"].as_str(), Some("AWS::Scheduler::Schedule"));
    assert_eq!(
        daily["Properties"]["ScheduleExpression"].as_str(),
        Some("rate(1 day)")
    );
    let input: serde_json::Value =
        serde_json::from_str(daily["Properties"]["Target"]["Input"].as_str().unwrap()).unwrap();
    assert_eq!(input, serde_json::json!({"run": "daily"}));
}
