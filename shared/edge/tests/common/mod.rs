//! Test support: real API Gateway (payload 2.0) request events, Standard Webhooks signing,
//! an app over a fresh embedded store, and a store that is down.
#![allow(dead_code)]

use async_trait::async_trait;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use lambda_http::{Body, Request, Response};
use leadscore_edge::{route, App};
use leadscore_scoring::{Event, LeadId, Rules, Stage, Timestamp, DEFAULT_RULES_TOML};
use leadscore_store::{
    Applied, Embedded, Erasure, LeadKey, LeadStore, Page, StoreError, StoredLead,
};
use serde_json::{json, Value};
use std::sync::Arc;

pub const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
pub const API_KEY: &str = "sk_test_sales_tool";
/// A read-only key (`dashboard:read:...`): every GET, no qualification or erasure.
pub const READ_KEY: &str = "sk_test_dashboard";
/// 2026-11-22T10:00:00Z
pub const NOW_MS: i64 = 1_795_341_600_000;

pub fn now() -> Timestamp {
    Timestamp::from_millis(NOW_MS)
}

pub fn vars() -> Vec<(String, String)> {
    vec![
        ("LEADSCORE_SECRET_JSON".into(), SECRET.into()),
        (
            "LEADSCORE_API_KEYS".into(),
            format!("other-key, sales-tool:write:{API_KEY}, dashboard:read:{READ_KEY}"),
        ),
        (
            "LEADSCORE_ALLOWED_ORIGINS".into(),
            "https://www.acme.io".into(),
        ),
        ("LEADSCORE_HTML_RATE_LIMIT".into(), "3".into()),
    ]
}

pub struct TestApp {
    pub app: App,
    pub store: Arc<dyn LeadStore>,
    _dir: tempfile::TempDir,
}

pub fn app() -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn LeadStore> = Arc::new(Embedded::open(dir.path()).unwrap());
    let app = App::new(store.clone(), DEFAULT_RULES_TOML, vars())
        .unwrap()
        .with_clock(now);
    TestApp {
        app,
        store,
        _dir: dir,
    }
}

/// An app over `store` (e.g. a `TestApp`'s) that reads the system clock, as deployed.
pub fn real_clock_app(store: Arc<dyn LeadStore>) -> App {
    App::new(store, DEFAULT_RULES_TOML, vars()).unwrap()
}

/// An app over `store` whose clock is `clock` (milliseconds), which a test moves on.
pub fn moving_clock_app(
    store: Arc<dyn LeadStore>,
    clock: Arc<std::sync::atomic::AtomicI64>,
) -> App {
    App::new(store, DEFAULT_RULES_TOML, vars())
        .unwrap()
        .with_clock(move || Timestamp::from_millis(clock.load(std::sync::atomic::Ordering::SeqCst)))
}

/// An API GET carrying `If-None-Match: tag`.
pub async fn api_get_if_none_match(app: &App, path: &str, query: &str, tag: &str) -> Answer {
    let auth = bearer();
    send(
        app,
        request(
            "GET",
            path,
            query,
            &[("authorization", &auth), ("if-none-match", tag)],
            b"",
        ),
    )
    .await
}

/// A payload 2.0 event as API Gateway sends it, parsed by lambda_http like in Lambda.
pub fn request(
    method: &str,
    path: &str,
    query: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Request {
    let mut h = serde_json::Map::new();
    for (n, v) in headers {
        h.insert(n.to_ascii_lowercase(), Value::String(v.to_string()));
    }
    h.entry("host").or_insert(json!("api.example.com"));
    let text = std::str::from_utf8(body).ok();
    let mut event = json!({
        "version": "2.0",
        "routeKey": format!("{method} {path}"),
        "rawPath": path,
        "rawQueryString": query,
        "headers": h,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abc123",
            "domainName": "api.example.com",
            "domainPrefix": "api",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.9",
                "userAgent": "test"
            },
            "requestId": "req-1",
            "routeKey": format!("{method} {path}"),
            "stage": "$default",
            "time": "22/Nov/2026:10:00:00 +0000",
            "timeEpoch": NOW_MS
        },
        "isBase64Encoded": text.is_none(),
    });
    if !query.is_empty() {
        let mut q = serde_json::Map::new();
        for pair in query.split('&') {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let v = percent_encoding::percent_decode_str(v)
                .decode_utf8_lossy()
                .to_string();
            q.insert(k.to_string(), Value::String(v));
        }
        event["queryStringParameters"] = Value::Object(q);
    }
    if !body.is_empty() {
        event["body"] = match text {
            Some(t) => Value::String(t.to_string()),
            None => Value::String(STANDARD.encode(body)),
        };
    }
    lambda_http::request::from_str(&event.to_string()).unwrap()
}

pub struct Answer {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    /// The error code of a JSON error answer.
    pub fn code(&self) -> String {
        self.json()["error"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }
    pub fn message(&self) -> String {
        self.json()["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }
}

pub async fn send(app: &App, req: Request) -> Answer {
    let response: Response<Body> = route(app, req).await;
    let (parts, body) = response.into_parts();
    Answer {
        status: parts.status.as_u16(),
        headers: parts.headers,
        body: body.to_vec(),
    }
}

/// Standard Webhooks headers for `body` signed with `secret` at unix second `ts`.
pub fn sign(secret: &str, id: &str, ts: i64, body: &[u8]) -> Vec<(String, String)> {
    let key = STANDARD
        .decode(secret.trim_start_matches("whsec_"))
        .unwrap();
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{id}.{ts}.").as_bytes());
    mac.update(body);
    let sig = STANDARD.encode(mac.finalize().into_bytes());
    vec![
        ("webhook-id".into(), id.into()),
        ("webhook-timestamp".into(), ts.to_string()),
        ("webhook-signature".into(), format!("v1,{sig}")),
        ("content-type".into(), "application/json".into()),
    ]
}

/// A signed `json` webhook POST on `channel`.
pub fn json_webhook(channel: &str, body: &Value) -> Request {
    let bytes = body.to_string().into_bytes();
    let id = format!("msg_{}", body["id"].as_str().unwrap_or("batch"));
    let headers = sign(SECRET, &id, NOW_MS / 1000, &bytes);
    let h: Vec<(&str, &str)> = headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    request("POST", &format!("/webhooks/{channel}/json"), "", &h, &bytes)
}

pub fn bearer() -> String {
    format!("Bearer {API_KEY}")
}

pub async fn api_get(app: &App, path: &str, query: &str) -> Answer {
    let auth = bearer();
    send(
        app,
        request("GET", path, query, &[("authorization", &auth)], b""),
    )
    .await
}

pub async fn qualify(app: &App, lead: &str, body: &Value) -> Answer {
    let auth = bearer();
    let bytes = body.to_string().into_bytes();
    send(
        app,
        request(
            "POST",
            &format!("/leads/{lead}/qualification"),
            "",
            &[
                ("authorization", &auth),
                ("content-type", "application/json"),
            ],
            &bytes,
        ),
    )
    .await
}

pub fn event_json(id: &str, signal: &str, email: &str) -> Value {
    json!({
        "id": id,
        "type": signal,
        "occurred_at": "2026-11-22T09:59:00Z",
        "email": email,
    })
}

/// A store whose backend is down: every call is `Unavailable`.
pub struct DownStore;

#[async_trait]
impl LeadStore for DownStore {
    async fn apply(&self, _: &Event, _: &Rules, _: Timestamp) -> Result<Applied, StoreError> {
        Err(StoreError::Unavailable("connection refused".into()))
    }
    async fn get(
        &self,
        _: &LeadKey,
        _: &Rules,
        _: Timestamp,
    ) -> Result<Option<StoredLead>, StoreError> {
        Err(StoreError::Unavailable("connection refused".into()))
    }
    async fn list_by_stage(
        &self,
        _: Stage,
        _: Option<Timestamp>,
        _: u32,
        _: Option<&str>,
        _: &Rules,
        _: Timestamp,
    ) -> Result<Page, StoreError> {
        Err(StoreError::Unavailable("connection refused".into()))
    }
    async fn ledger(&self, _: &LeadId) -> Result<Vec<Event>, StoreError> {
        Err(StoreError::Unavailable("connection refused".into()))
    }
    async fn erase(
        &self,
        _: &LeadKey,
        _: Timestamp,
        _: std::time::Duration,
    ) -> Result<Erasure, StoreError> {
        Err(StoreError::Unavailable("connection refused".into()))
    }
    async fn tend(
        &self,
        _: &LeadId,
        _: &Rules,
        _: Timestamp,
        _: std::time::Duration,
    ) -> Result<leadscore_store::Upkeep, StoreError> {
        Err(StoreError::Unavailable("connection refused".into()))
    }
    fn read_records(&self, _: leadscore_store::ReadBudget) -> leadscore_store::Reading {
        leadscore_store::Reading::failed(StoreError::Unavailable("connection refused".into()))
    }
    async fn check_delivery(
        &self,
        _: &leadscore_store::Delivery,
        _: Timestamp,
    ) -> Result<leadscore_store::DeliveryCheck, StoreError> {
        Err(StoreError::Unavailable("connection refused".into()))
    }
    async fn record_delivery(
        &self,
        _: &leadscore_store::Delivery,
        _: Timestamp,
    ) -> Result<leadscore_store::DeliveryCheck, StoreError> {
        Err(StoreError::Unavailable("connection refused".into()))
    }
    async fn handoff(
        &self,
        _: &LeadId,
    ) -> Result<Option<leadscore_store::HandoffRecord>, StoreError> {
        Err(StoreError::Unavailable("connection refused".into()))
    }
    async fn put_handoff(
        &self,
        _: &LeadId,
        _: &leadscore_store::HandoffRecord,
    ) -> Result<bool, StoreError> {
        Err(StoreError::Unavailable("connection refused".into()))
    }
    async fn members(
        &self,
        _: &str,
        _: Option<&str>,
        _: u32,
    ) -> Result<(Vec<(LeadId, Vec<u8>)>, Option<String>), StoreError> {
        Err(StoreError::Unavailable("connection refused".into()))
    }
    async fn put_account(&self, _: &str, _: i64, _: &[u8]) -> Result<(), StoreError> {
        Err(StoreError::Unavailable("connection refused".into()))
    }
    async fn delete_account(&self, _: &str) -> Result<(), StoreError> {
        Err(StoreError::Unavailable("connection refused".into()))
    }
    async fn account(&self, _: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Err(StoreError::Unavailable("connection refused".into()))
    }
    async fn accounts_by_score(
        &self,
        _: Option<&str>,
        _: u32,
    ) -> Result<(Vec<(String, Vec<u8>)>, Option<String>), StoreError> {
        Err(StoreError::Unavailable("connection refused".into()))
    }
    async fn erased_at(&self, _: &LeadId) -> Result<Option<Timestamp>, StoreError> {
        Err(StoreError::Unavailable("connection refused".into()))
    }
}

/// One siteverify call: the URL and the form fields sent.
pub type SiteverifyCall = (String, Vec<(String, String)>);

/// A human-verification provider behind the app's `Fetch` (no network): every siteverify
/// gets `answer`, or fails as unreachable; the URL and form of each call are kept.
pub struct FakeSiteverify {
    answer: Result<Value, String>,
    calls: std::sync::Mutex<Vec<SiteverifyCall>>,
}

impl FakeSiteverify {
    pub fn answering(answer: Value) -> Arc<Self> {
        Arc::new(FakeSiteverify {
            answer: Ok(answer),
            calls: Default::default(),
        })
    }

    pub fn unreachable() -> Arc<Self> {
        Arc::new(FakeSiteverify {
            answer: Err("connection refused".into()),
            calls: Default::default(),
        })
    }

    /// The calls so far: (URL, form fields).
    pub fn calls(&self) -> Vec<SiteverifyCall> {
        self.calls.lock().unwrap().clone()
    }
}

#[async_trait]
impl leadscore_edge::Fetch for FakeSiteverify {
    async fn get(&self, url: &str) -> Result<Vec<u8>, String> {
        Err(format!("no GET expected here ({url})"))
    }

    async fn post_form(&self, url: &str, form: &[(&str, &str)]) -> Result<Vec<u8>, String> {
        let form = form
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        self.calls.lock().unwrap().push((url.to_string(), form));
        self.answer
            .as_ref()
            .map(|v| v.to_string().into_bytes())
            .map_err(Clone::clone)
    }
}

/// The variables that turn human verification on for html forms.
pub fn captcha_vars(provider: &str, secret: &str) -> Vec<(String, String)> {
    vec![
        (leadscore_edge::CAPTCHA_PROVIDER_VAR.into(), provider.into()),
        (leadscore_edge::CAPTCHA_SECRET_VAR.into(), secret.into()),
    ]
}
