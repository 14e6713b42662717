//! Every webhook source through `route`, with real API Gateway v2 request events built from the
//! real payload fixtures (tests/fixtures), signed as each provider signs (the adapters' test
//! helpers, reused). Every refused request leaves the store untouched.

mod common;
#[path = "../../providers/tests/common/mod.rs"]
mod providers;

use async_trait::async_trait;
use common::{bearer, send, Answer, DownStore, API_KEY};
use leadscore_edge::{App, Fetch};
use leadscore_scoring::{Rules, Stage, Timestamp, DEFAULT_RULES_TOML};
use leadscore_store::{Embedded, LeadStore};
use providers::{fixture, signed, signed_wrong, test_secret, ALL_SOURCES, NOW};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};

/// The happy-path fixture of each source.
const HAPPY: &[(&str, &str)] = &[
    ("json", "json/demo_requested.json"),
    ("html", "html/contact.form"),
    ("typeform", "typeform/form_response.json"),
    ("webflow", "webflow/form_submission.json"),
    ("tally", "tally/form_response.json"),
    ("hubspot", "hubspot/workflow_contact.json"),
    ("jotform", "jotform/submission.txt"),
    ("segment", "segment/track.json"),
    ("intercom", "intercom/conversation_user_created.json"),
    ("drift", "drift/new_message.json"),
    ("crisp", "crisp/message_send.json"),
    ("dialogflow", "dialogflow/es_request.json"),
    ("sendgrid", "sendgrid/click.json"),
    ("mailgun", "mailgun/clicked.json"),
    ("mandrill", "mandrill/events.json"),
    ("postmark", "postmark/click.json"),
    ("brevo", "brevo/click.json"),
    ("ses", "ses/click.json"),
    ("mailchimp", "mailchimp/subscribe.form"),
];

/// A fake outbound HTTP client: serves the committed test SNS certificate, records URLs.
#[derive(Default)]
struct FakeFetch {
    seen: Mutex<Vec<String>>,
}

#[async_trait]
impl Fetch for FakeFetch {
    async fn get(&self, url: &str) -> Result<Vec<u8>, String> {
        self.seen.lock().unwrap().push(url.to_string());
        if url.ends_with(".pem") {
            Ok(fixture("ses/test-signing-cert.pem"))
        } else {
            Ok(b"<ConfirmSubscriptionResponse/>".to_vec())
        }
    }

    async fn post_form(&self, url: &str, _: &[(&str, &str)]) -> Result<Vec<u8>, String> {
        self.seen.lock().unwrap().push(url.to_string());
        Err("no POST expected here (human verification is off)".into())
    }
}

struct World {
    app: App,
    store: Arc<dyn LeadStore>,
    fetch: Arc<FakeFetch>,
    _dir: tempfile::TempDir,
}

fn vars() -> Vec<(String, String)> {
    let mut vars: Vec<(String, String)> = ALL_SOURCES
        .iter()
        .filter(|s| **s != "html")
        .map(|s| {
            (
                format!("LEADSCORE_SECRET_{}", s.to_uppercase()),
                test_secret(s),
            )
        })
        .collect();
    vars.push((
        "LEADSCORE_ALLOWED_ORIGINS".into(),
        "https://www.example.com".into(),
    ));
    vars.push(("LEADSCORE_API_KEYS".into(), API_KEY.into()));
    vars.push(("LEADSCORE_HTML_RATE_LIMIT".into(), "3".into()));
    vars
}

fn world_with(vars: Vec<(String, String)>) -> World {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn LeadStore> = Arc::new(Embedded::open(dir.path()).unwrap());
    let fetch = Arc::new(FakeFetch::default());
    let app = App::new(store.clone(), DEFAULT_RULES_TOML, vars)
        .unwrap()
        .with_clock(|| Timestamp::from_unix_seconds(NOW))
        .with_fetch(fetch.clone());
    World {
        app,
        store,
        fetch,
        _dir: dir,
    }
}

fn world() -> World {
    world_with(vars())
}

/// The adapters' test request as the API Gateway event the function receives.
fn gateway(req: &providers::Request, source_ip: &str) -> lambda_http::Request {
    let rest = req.url.strip_prefix("https://").unwrap();
    let (domain, path_query) = rest.split_once('/').unwrap();
    let path_query = format!("/{path_query}");
    let (path, query) = path_query.split_once('?').unwrap_or((&path_query, ""));
    let mut headers = serde_json::Map::new();
    for (n, v) in &req.headers {
        headers.insert(n.to_ascii_lowercase(), Value::String(v.clone()));
    }
    headers.insert("host".into(), Value::String(domain.to_string()));
    let mut event = json!({
        "version": "2.0",
        "routeKey": format!("{} {path}", req.method),
        "rawPath": path,
        "rawQueryString": query,
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012", "apiId": "abc123", "domainName": domain,
            "http": {"method": req.method, "path": path, "protocol": "HTTP/1.1",
                     "sourceIp": source_ip, "userAgent": "provider"},
            "requestId": "req", "routeKey": "$default", "stage": "$default", "time": "",
            "timeEpoch": NOW * 1000
        },
        "isBase64Encoded": false,
    });
    if !query.is_empty() {
        let q: serde_json::Map<String, Value> = form_urlencoded::parse(query.as_bytes())
            .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
            .collect();
        event["queryStringParameters"] = Value::Object(q);
    }
    if !req.body.is_empty() {
        event["body"] = Value::String(String::from_utf8(req.body.clone()).unwrap());
    }
    lambda_http::request::from_str(&event.to_string()).unwrap()
}

/// Every lead in the store with its version: what "nothing written" compares.
async fn snapshot(store: &dyn LeadStore) -> Vec<(String, u64)> {
    let mut all = Vec::new();
    for stage in Stage::ALL {
        let rules = Rules::default_rules();
        let now = Timestamp::from_millis(i64::MAX / 4);
        let page = store
            .list_by_stage(stage, None, 100, None, &rules, now)
            .await
            .unwrap();
        all.extend(
            page.leads
                .iter()
                .map(|l| (l.state.id.to_string(), l.version)),
        );
    }
    all.sort();
    all
}

fn counts(answer: &Answer) -> (u64, u64, u64) {
    let v = answer.json();
    (
        v["accepted"].as_u64().unwrap(),
        v["duplicates"].as_u64().unwrap(),
        v["ignored"].as_u64().unwrap(),
    )
}

#[tokio::test]
async fn every_source_lands_once_and_refuses_a_wrong_signature() {
    for (source, path) in HAPPY {
        let w = world();
        let body = fixture(path);
        // For ses, the SES event inside a signed SNS envelope; the edge fetches the certificate.
        let req = signed(source, &body, NOW - 30);

        let wrong = send(
            &w.app,
            gateway(&signed_wrong(source, &body, NOW - 30), "198.51.100.1"),
        )
        .await;
        assert!(
            [401, 403].contains(&wrong.status),
            "{source}: wrong signature answered {} {}",
            wrong.status,
            String::from_utf8_lossy(&wrong.body)
        );
        assert!(
            snapshot(w.store.as_ref()).await.is_empty(),
            "{source}: refused but written"
        );

        let first = send(&w.app, gateway(&req, "198.51.100.2")).await;
        assert_eq!(
            first.status,
            200,
            "{source}: {}",
            String::from_utf8_lossy(&first.body)
        );
        let written = snapshot(w.store.as_ref()).await;
        assert!(!written.is_empty(), "{source}: nothing stored");
        if *source == "dialogflow" {
            // Dialogflow gets its fulfillment response, not our counts.
            assert!(first.json().is_object(), "{source}");
            continue;
        }
        let (accepted, duplicates, _) = counts(&first);
        assert!(
            accepted >= 1 && duplicates == 0,
            "{source}: {:?}",
            first.json()
        );

        let again = send(&w.app, gateway(&req, "198.51.100.3")).await;
        assert_eq!(again.status, 200, "{source}");
        let (accepted_again, duplicates_again, _) = counts(&again);
        assert_eq!(
            (accepted_again, duplicates_again),
            (0, accepted),
            "{source}: redelivery"
        );
        assert_eq!(
            snapshot(w.store.as_ref()).await,
            written,
            "{source}: redelivery wrote"
        );
    }
}

fn json_post(channel: &str, body: &[u8], signed_at: i64) -> providers::Request {
    let mut req = signed("json", body, signed_at);
    req.url = req
        .url
        .replace("/webhooks/forms/", &format!("/webhooks/{channel}/"));
    req
}

#[tokio::test]
async fn the_json_source_on_every_channel() {
    for channel in ["forms", "chatbot", "email"] {
        let w = world();
        let one = br#"{"id":"j1","type":"newsletter_subscribed","occurred_at":"2026-11-22T09:59:00Z","email":"ada@example.com"}"#;
        let answer = send(
            &w.app,
            gateway(&json_post(channel, one, NOW), "203.0.113.1"),
        )
        .await;
        assert_eq!(
            answer.status,
            200,
            "{channel}: {}",
            String::from_utf8_lossy(&answer.body)
        );
        assert_eq!(
            answer.json(),
            json!({"accepted":1,"duplicates":0,"ignored":0})
        );
        let batch = br#"[{"id":"j1","type":"newsletter_subscribed","email":"ada@example.com"},
                         {"id":"j2","type":"site_visit","anonymous_id":"anon-1"},
                         {"id":"j3","type":"email_opened","email":"bo@example.com"}]"#;
        let answer = send(
            &w.app,
            gateway(&json_post(channel, batch, NOW), "203.0.113.1"),
        )
        .await;
        assert_eq!(
            answer.json(),
            json!({"accepted":2,"duplicates":1,"ignored":0}),
            "{channel}"
        );
        assert_eq!(snapshot(w.store.as_ref()).await.len(), 3);
    }
}

#[tokio::test]
async fn bad_json_requests_are_refused_and_write_nothing() {
    let w = world();
    let good = br#"{"id":"j1","type":"demo_requested","email":"ada@example.com"}"#.to_vec();
    let signed_now = || json_post("forms", &good, NOW);
    let cases: Vec<(&str, providers::Request, u16, &str)> = vec![
        (
            "tampered body",
            {
                let mut r = signed_now();
                r.body =
                    br#"{"id":"j1","type":"demo_requested","email":"eve@example.com"}"#.to_vec();
                r
            },
            401,
            "unauthorized",
        ),
        (
            "stale timestamp",
            json_post("forms", &good, NOW - 600),
            401,
            "unauthorized",
        ),
        (
            "future timestamp",
            json_post("forms", &good, NOW + 600),
            401,
            "unauthorized",
        ),
        (
            "no signature",
            signed_now().without_header("webhook-signature"),
            401,
            "unauthorized",
        ),
        (
            "wrong content type",
            signed_now().with_header("content-type", "text/plain"),
            415,
            "unsupported_media_type",
        ),
        (
            "malformed JSON",
            json_post("forms", b"{\"id\":", NOW),
            400,
            "bad_request",
        ),
        (
            "unknown signal",
            json_post(
                "forms",
                br#"{"id":"x","type":"demo","email":"a@b.io"}"#,
                NOW,
            ),
            400,
            "bad_request",
        ),
        (
            "bad email",
            json_post(
                "forms",
                br#"{"id":"x","type":"demo_requested","email":"nope"}"#,
                NOW,
            ),
            400,
            "bad_request",
        ),
        (
            "nobody",
            json_post("forms", br#"{"id":"x","type":"demo_requested"}"#, NOW),
            400,
            "bad_request",
        ),
        (
            "sales feedback",
            json_post(
                "forms",
                br#"{"id":"x","type":"deal_won","email":"a@b.io"}"#,
                NOW,
            ),
            400,
            "bad_request",
        ),
        (
            "too large",
            json_post("forms", &vec![b' '; 256 * 1024 + 1], NOW),
            413,
            "payload_too_large",
        ),
        (
            "unknown source",
            {
                let mut r = signed_now();
                r.url = r.url.replace("/json", "/fax");
                r
            },
            404,
            "not_found",
        ),
    ];
    for (what, req, status, code) in cases {
        let answer = send(&w.app, gateway(&req, "203.0.113.1")).await;
        assert_eq!(
            answer.status,
            status,
            "{what}: {}",
            String::from_utf8_lossy(&answer.body)
        );
        assert_eq!(answer.code(), code, "{what}");
        assert!(!answer.message().is_empty(), "{what}: says what was wrong");
    }
    assert!(snapshot(w.store.as_ref()).await.is_empty());
}

#[tokio::test]
async fn a_source_without_a_secret_names_the_variable() {
    let w = world_with(vec![("LEADSCORE_API_KEYS".into(), API_KEY.into())]);
    let body = fixture("typeform/form_response.json");
    let answer = send(
        &w.app,
        gateway(&signed("typeform", &body, NOW), "203.0.113.1"),
    )
    .await;
    assert_eq!(answer.status, 401);
    assert!(
        answer.message().contains("LEADSCORE_SECRET_TYPEFORM"),
        "{}",
        answer.message()
    );
    // An API key does not open a webhook either.
    let mut with_key = signed("typeform", &body, NOW);
    with_key.headers.push(("authorization".into(), bearer()));
    assert_eq!(
        send(&w.app, gateway(&with_key, "203.0.113.1")).await.status,
        401
    );
    assert!(snapshot(w.store.as_ref()).await.is_empty());
}

#[tokio::test]
async fn html_forms_origin_honeypot_and_rate_limit() {
    let w = world();
    let contact = fixture("html/contact.form");
    let ok = send(
        &w.app,
        gateway(&signed("html", &contact, NOW), "192.0.2.10"),
    )
    .await;
    assert_eq!(ok.status, 200, "{}", String::from_utf8_lossy(&ok.body));
    let written = snapshot(w.store.as_ref()).await;

    let foreign = send(
        &w.app,
        gateway(&signed_wrong("html", &contact, NOW), "192.0.2.11"),
    )
    .await;
    assert_eq!(foreign.status, 403);
    assert_eq!(foreign.code(), "forbidden");

    let bot = send(
        &w.app,
        gateway(
            &signed("html", &fixture("html/honeypot.form"), NOW),
            "192.0.2.12",
        ),
    )
    .await;
    assert_eq!(bot.status, 200);
    let (accepted, _, ignored) = counts(&bot);
    assert_eq!((accepted, ignored > 0), (0, true));
    assert_eq!(
        snapshot(w.store.as_ref()).await,
        written,
        "the honeypot submission wrote"
    );

    // LEADSCORE_HTML_RATE_LIMIT=3: the fourth post from one address in a minute waits.
    for _ in 0..2 {
        assert_eq!(
            send(
                &w.app,
                gateway(&signed("html", &contact, NOW), "192.0.2.10")
            )
            .await
            .status,
            200
        );
    }
    let limited = send(
        &w.app,
        gateway(&signed("html", &contact, NOW), "192.0.2.10"),
    )
    .await;
    assert_eq!(limited.status, 429);
    assert!(limited.header("retry-after").is_some());
    // Another address is not slowed down.
    assert_eq!(
        send(
            &w.app,
            gateway(&signed("html", &contact, NOW), "192.0.2.99")
        )
        .await
        .status,
        200
    );
}

#[tokio::test]
async fn url_checks_are_answered() {
    let w = world();
    for (source, query) in [("mailchimp", ""), ("mandrill", "")] {
        for method in ["GET", "HEAD"] {
            let req = providers::Request {
                method: method.into(),
                url: format!("https://hooks.example.com/webhooks/email/{source}{query}"),
                headers: vec![],
                body: vec![],
                now: Timestamp::from_unix_seconds(NOW),
            };
            let answer = send(&w.app, gateway(&req, "203.0.113.1")).await;
            assert_eq!(answer.status, 200, "{method} {source}");
        }
    }
}

#[tokio::test]
async fn sns_subscription_is_confirmed_and_the_certificate_cached() {
    let w = world();
    let confirm = providers::sns_envelope(
        "SubscriptionConfirmation",
        "You have chosen to subscribe",
        true,
    );
    let req = providers::Request::post(providers::url_of("ses"), "text/plain", confirm);
    let answer = send(&w.app, gateway(&req, "203.0.113.1")).await;
    assert_eq!(
        answer.status,
        200,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    let seen = w.fetch.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert!(seen[0].ends_with(".pem"));
    assert!(seen[1].contains("Action=ConfirmSubscription"));

    let click = signed("ses", &fixture("ses/click.json"), NOW - 30);
    let answer = send(&w.app, gateway(&click, "203.0.113.1")).await;
    assert_eq!(counts(&answer).0, 1);
    assert_eq!(
        w.fetch.seen.lock().unwrap().len(),
        2,
        "the certificate was fetched again"
    );

    let forged = providers::sns_envelope(
        "Notification",
        &String::from_utf8(fixture("ses/open.json")).unwrap(),
        false,
    );
    let req = providers::Request::post(providers::url_of("ses"), "text/plain", forged);
    assert_eq!(send(&w.app, gateway(&req, "203.0.113.1")).await.status, 401);
}

#[tokio::test]
async fn a_storage_outage_is_503_for_every_source() {
    let app = App::new(Arc::new(DownStore), DEFAULT_RULES_TOML, vars())
        .unwrap()
        .with_clock(|| Timestamp::from_unix_seconds(NOW));
    for (source, path) in HAPPY.iter().filter(|(s, _)| *s != "ses") {
        let answer = send(
            &app,
            gateway(&signed(source, &fixture(path), NOW - 30), "203.0.113.7"),
        )
        .await;
        assert_eq!(answer.status, 503, "{source}");
        assert_eq!(answer.header("retry-after"), Some("30"), "{source}");
    }
}

#[tokio::test]
async fn a_scanner_burst_scores_zero_and_a_human_click_scores() {
    let w = world();
    let click = |id: &str, at: &str, link: &str| {
        format!(
            r#"{{"id":"{id}","type":"email_clicked","occurred_at":"{at}","email":"ada@example.com",
                "attributes":{{"message_id":"m-42","url":"https://example.com/{link}","campaign":"q4"}}}}"#
        )
    };
    // A link scanner opens four links of one message within a second, in separate deliveries.
    for (i, (at, link)) in [
        ("2026-11-22T09:00:00.100Z", "a"),
        ("2026-11-22T09:00:00.400Z", "b"),
        ("2026-11-22T09:00:00.700Z", "c"),
        ("2026-11-22T09:00:01.000Z", "d"),
    ]
    .iter()
    .enumerate()
    {
        let body = click(&format!("s{i}"), at, link);
        let answer = send(
            &w.app,
            gateway(&json_post("email", body.as_bytes(), NOW), "203.0.113.1"),
        )
        .await;
        assert_eq!(counts(&answer).0, 1);
    }
    let doc = common::api_get(&w.app, "/leads/ada%40example.com", "")
        .await
        .json();
    let clicks = |doc: &Value| -> Vec<Value> {
        doc["explanation"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["rule"] == "signal:email_clicked")
            .cloned()
            .collect()
    };
    assert!(clicks(&doc).is_empty(), "the burst scored: {doc}");
    assert!(
        doc["signals"].get("email_clicked").is_none(),
        "bot clicks are not counted"
    );

    // The person reads the mail later and clicks once.
    let body = click("h1", "2026-11-22T09:45:00Z", "pricing");
    send(
        &w.app,
        gateway(&json_post("email", body.as_bytes(), NOW), "203.0.113.1"),
    )
    .await;
    let doc = common::api_get(&w.app, "/leads/ada%40example.com", "")
        .await
        .json();
    assert_eq!(
        clicks(&doc),
        vec![json!({"rule": "signal:email_clicked", "points": 3})]
    );
    assert_eq!(doc["signals"]["email_clicked"], 1);
}

/// A Mailgun delivery, and the same signature object carrying another event: what someone
/// who captured one delivery could send within its 5 minutes.
fn mailgun_and_forgery() -> (providers::Request, providers::Request) {
    let genuine = providers::signed("mailgun", &fixture("mailgun/clicked.json"), NOW);
    let mut doc: Value = serde_json::from_slice(&genuine.body).unwrap();
    doc["event-data"]["recipient"] = json!("victim@example.com");
    doc["event-data"]["id"] = json!("forged-0001");
    let mut forged = genuine.clone();
    forged.body = serde_json::to_vec(&doc).unwrap();
    (genuine, forged)
}

#[tokio::test]
async fn a_mailgun_signature_cannot_carry_another_body() {
    let w = world();
    let (genuine, forged) = mailgun_and_forgery();
    let first = send(&w.app, gateway(&genuine, "198.51.100.7")).await;
    assert_eq!(
        first.status,
        200,
        "{}",
        String::from_utf8_lossy(&first.body)
    );
    assert_eq!(counts(&first), (1, 0, 0));
    // Mailgun's own retry of the same delivery is a redelivery, as before.
    let again = send(&w.app, gateway(&genuine, "198.51.100.7")).await;
    assert_eq!(counts(&again), (0, 1, 0));

    let before = snapshot(w.store.as_ref()).await;
    let replay = send(&w.app, gateway(&forged, "203.0.113.66")).await;
    assert_eq!(
        replay.status,
        401,
        "{}",
        String::from_utf8_lossy(&replay.body)
    );
    assert_eq!(replay.code(), "unauthorized");
    assert!(
        replay.message().contains("another body"),
        "{}",
        replay.message()
    );
    assert_eq!(snapshot(w.store.as_ref()).await, before, "nothing written");
}

/// The embedded store, with `apply_batch` failing the first time (storage down mid-request).
struct FailsOnce {
    inner: Arc<dyn LeadStore>,
    failed: Mutex<bool>,
}

#[async_trait]
impl LeadStore for FailsOnce {
    async fn apply(
        &self,
        e: &leadscore_scoring::Event,
        r: &Rules,
        now: Timestamp,
    ) -> Result<leadscore_store::Applied, leadscore_store::StoreError> {
        self.inner.apply(e, r, now).await
    }
    async fn apply_batch(
        &self,
        events: &[leadscore_scoring::Event],
        r: &Rules,
        now: Timestamp,
    ) -> Vec<Result<leadscore_store::Applied, leadscore_store::StoreError>> {
        let first = !std::mem::replace(&mut *self.failed.lock().unwrap(), true);
        if first {
            let down = leadscore_store::StoreError::Unavailable("throttled".into());
            return events.iter().map(|_| Err(down.clone())).collect();
        }
        self.inner.apply_batch(events, r, now).await
    }
    async fn get(
        &self,
        k: &leadscore_store::LeadKey,
        r: &Rules,
        now: Timestamp,
    ) -> Result<Option<leadscore_store::StoredLead>, leadscore_store::StoreError> {
        self.inner.get(k, r, now).await
    }
    async fn list_by_stage(
        &self,
        s: Stage,
        since: Option<Timestamp>,
        limit: u32,
        cursor: Option<&str>,
        r: &Rules,
        now: Timestamp,
    ) -> Result<leadscore_store::Page, leadscore_store::StoreError> {
        self.inner
            .list_by_stage(s, since, limit, cursor, r, now)
            .await
    }
    async fn ledger(
        &self,
        id: &leadscore_scoring::LeadId,
    ) -> Result<Vec<leadscore_scoring::Event>, leadscore_store::StoreError> {
        self.inner.ledger(id).await
    }
    async fn erase(
        &self,
        k: &leadscore_store::LeadKey,
        now: Timestamp,
        budget: std::time::Duration,
    ) -> Result<leadscore_store::Erasure, leadscore_store::StoreError> {
        self.inner.erase(k, now, budget).await
    }
    async fn tend(
        &self,
        id: &leadscore_scoring::LeadId,
        r: &Rules,
        now: Timestamp,
        budget: std::time::Duration,
    ) -> Result<leadscore_store::Upkeep, leadscore_store::StoreError> {
        self.inner.tend(id, r, now, budget).await
    }
    fn read_records(&self, b: leadscore_store::ReadBudget) -> leadscore_store::Reading {
        self.inner.read_records(b)
    }
    async fn check_delivery(
        &self,
        d: &leadscore_store::Delivery,
        now: Timestamp,
    ) -> Result<leadscore_store::DeliveryCheck, leadscore_store::StoreError> {
        self.inner.check_delivery(d, now).await
    }
    async fn record_delivery(
        &self,
        d: &leadscore_store::Delivery,
        now: Timestamp,
    ) -> Result<leadscore_store::DeliveryCheck, leadscore_store::StoreError> {
        self.inner.record_delivery(d, now).await
    }
    async fn handoff(
        &self,
        id: &leadscore_scoring::LeadId,
    ) -> Result<Option<leadscore_store::HandoffRecord>, leadscore_store::StoreError> {
        self.inner.handoff(id).await
    }
    async fn put_handoff(
        &self,
        id: &leadscore_scoring::LeadId,
        record: &leadscore_store::HandoffRecord,
    ) -> Result<bool, leadscore_store::StoreError> {
        self.inner.put_handoff(id, record).await
    }
    async fn members(
        &self,
        index: &str,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<
        (Vec<(leadscore_scoring::LeadId, Vec<u8>)>, Option<String>),
        leadscore_store::StoreError,
    > {
        self.inner.members(index, cursor, limit).await
    }
    async fn put_account(
        &self,
        domain: &str,
        score: i64,
        body: &[u8],
    ) -> Result<(), leadscore_store::StoreError> {
        self.inner.put_account(domain, score, body).await
    }
    async fn delete_account(&self, domain: &str) -> Result<(), leadscore_store::StoreError> {
        self.inner.delete_account(domain).await
    }
    async fn account(&self, domain: &str) -> Result<Option<Vec<u8>>, leadscore_store::StoreError> {
        self.inner.account(domain).await
    }
    async fn accounts_by_score(
        &self,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<(Vec<(String, Vec<u8>)>, Option<String>), leadscore_store::StoreError> {
        self.inner.accounts_by_score(cursor, limit).await
    }
    async fn erased_at(
        &self,
        id: &leadscore_scoring::LeadId,
    ) -> Result<Option<Timestamp>, leadscore_store::StoreError> {
        self.inner.erased_at(id).await
    }
}

#[tokio::test]
async fn a_mailgun_retry_after_a_503_lands_and_its_token_stays_bound() {
    let w = world();
    let flaky: Arc<dyn LeadStore> = Arc::new(FailsOnce {
        inner: w.store.clone(),
        failed: Mutex::new(false),
    });
    let app = App::new(flaky, DEFAULT_RULES_TOML, vars())
        .unwrap()
        .with_clock(|| Timestamp::from_unix_seconds(NOW));
    let (genuine, forged) = mailgun_and_forgery();
    let down = send(&app, gateway(&genuine, "198.51.100.7")).await;
    assert_eq!(down.status, 503);
    assert_eq!(snapshot(w.store.as_ref()).await, vec![], "nothing written");
    let retry = send(&app, gateway(&genuine, "198.51.100.7")).await;
    assert_eq!(
        retry.status,
        200,
        "{}",
        String::from_utf8_lossy(&retry.body)
    );
    assert_eq!(counts(&retry), (1, 0, 0));
    let replay = send(&app, gateway(&forged, "203.0.113.66")).await;
    assert_eq!(replay.status, 401);
}

// Human verification of html forms (LEADSCORE_CAPTCHA_PROVIDER / _SECRET), with a fake
// siteverify behind the app's Fetch.

const CAPTCHA_SECRET: &str = "0x4AAAAAAAtest-secret";

fn captcha_world(provider: &str, siteverify: Arc<common::FakeSiteverify>) -> World {
    let mut vars = vars();
    vars.extend(common::captcha_vars(provider, CAPTCHA_SECRET));
    let mut w = world_with(vars);
    w.app = w.app.clone().with_fetch(siteverify);
    w
}

/// The contact form with `extra` fields (already urlencoded) appended.
fn contact_with(extra: &str) -> Vec<u8> {
    let mut body = fixture("html/contact.form");
    while body.last() == Some(&b'\n') {
        body.pop();
    }
    body.extend_from_slice(extra.as_bytes());
    body
}

async fn ledger_text(store: &dyn LeadStore, email: &str) -> String {
    let key = leadscore_store::LeadKey::Email(leadscore_scoring::Email::parse(email).unwrap());
    let now = Timestamp::from_unix_seconds(NOW);
    let lead = store
        .get(&key, &Rules::default_rules(), now)
        .await
        .unwrap()
        .expect("the lead was stored");
    serde_json::to_string(&store.ledger(&lead.state.id).await.unwrap()).unwrap()
}

#[tokio::test]
async fn html_forms_with_a_verified_token_land_without_the_token() {
    let siteverify = common::FakeSiteverify::answering(json!({
        "success": true, "challenge_ts": "2026-11-22T09:59:58Z", "hostname": "www.example.com",
        "error-codes": []
    }));
    let w = captcha_world("turnstile", siteverify.clone());
    let body = contact_with("&cf-turnstile-response=0.tok%2Ben-1");
    let answer = send(&w.app, gateway(&signed("html", &body, NOW), "192.0.2.10")).await;
    assert_eq!(
        answer.status,
        200,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    assert!(counts(&answer).0 >= 1);
    let calls = siteverify.calls();
    assert_eq!(calls.len(), 1);
    let (url, form) = &calls[0];
    assert_eq!(
        url,
        "https://challenges.cloudflare.com/turnstile/v0/siteverify"
    );
    let field = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    assert_eq!(field("secret"), Some(CAPTCHA_SECRET));
    assert_eq!(field("response"), Some("0.tok+en-1"));
    assert_eq!(
        field("remoteip"),
        Some("192.0.2.10"),
        "the client IP, as advised"
    );
    // The token is no answer of the visitor's: not kept as a profile field.
    let ledger = ledger_text(w.store.as_ref(), "ada@example.com").await;
    assert!(ledger.contains("Acme"), "{ledger}");
    assert!(
        !ledger.contains("0.tok") && !ledger.contains("turnstile"),
        "{ledger}"
    );
    // Other sources never meet the widget.
    let typeform = fixture("typeform/form_response.json");
    let signed_typeform = send(
        &w.app,
        gateway(&signed("typeform", &typeform, NOW - 30), "192.0.2.10"),
    )
    .await;
    assert_eq!(signed_typeform.status, 200);
    assert_eq!(siteverify.calls().len(), 1);
}

#[tokio::test]
async fn html_forms_in_multipart_carry_their_token_too() {
    let siteverify = common::FakeSiteverify::answering(json!({"success": true}));
    let w = captcha_world("hcaptcha", siteverify.clone());
    let body = "--b1\r\nContent-Disposition: form-data; name=\"email\"\r\n\r\nmo@example.com\r\n--b1\r\nContent-Disposition: form-data; name=\"h-captcha-response\"\r\n\r\nP1_token\r\n--b1\r\nContent-Disposition: form-data; name=\"g-recaptcha-response\"\r\n\r\nP1_token\r\n--b1--\r\n";
    let req = signed("html", body.as_bytes(), NOW)
        .with_header("content-type", "multipart/form-data; boundary=b1");
    let answer = send(&w.app, gateway(&req, "192.0.2.10")).await;
    assert_eq!(
        answer.status,
        200,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    let calls = siteverify.calls();
    assert_eq!(calls[0].0, "https://api.hcaptcha.com/siteverify");
    assert!(calls[0].1.contains(&("response".into(), "P1_token".into())));
    let ledger = ledger_text(w.store.as_ref(), "mo@example.com").await;
    assert!(!ledger.contains("P1_token"), "{ledger}");
}

#[tokio::test]
async fn html_forms_without_a_valid_token_are_refused_and_store_nothing() {
    // (provider's answer, token sent, status, error code, what the message says)
    type Case = (
        Arc<common::FakeSiteverify>,
        Option<&'static str>,
        u16,
        &'static str,
        &'static str,
    );
    let cases: Vec<Case> = vec![
        (
            common::FakeSiteverify::answering(json!({"success": true})),
            None,
            403,
            "forbidden",
            "cf-turnstile-response",
        ),
        (
            common::FakeSiteverify::answering(json!({"success": true})),
            Some("+++"),
            403,
            "forbidden",
            "cf-turnstile-response",
        ),
        (
            common::FakeSiteverify::answering(
                json!({"success": false, "error-codes": ["invalid-input-response"]}),
            ),
            Some("forged"),
            403,
            "forbidden",
            "invalid-input-response",
        ),
        (
            common::FakeSiteverify::answering(
                json!({"success": false, "error-codes": ["timeout-or-duplicate"]}),
            ),
            Some("replayed"),
            403,
            "forbidden",
            "timeout-or-duplicate",
        ),
        (
            common::FakeSiteverify::unreachable(),
            Some("fine"),
            503,
            "storage_unavailable",
            "",
        ),
        (
            common::FakeSiteverify::answering(
                json!({"success": false, "error-codes": ["internal-error"]}),
            ),
            Some("fine"),
            503,
            "storage_unavailable",
            "",
        ),
        (
            common::FakeSiteverify::answering(json!("<html>bad gateway</html>")),
            Some("fine"),
            503,
            "storage_unavailable",
            "",
        ),
        // Our secret is wrong: every visitor would be refused, so it is our error.
        (
            common::FakeSiteverify::answering(
                json!({"success": false, "error-codes": ["invalid-input-secret"]}),
            ),
            Some("fine"),
            500,
            "internal",
            "internal error",
        ),
    ];
    for (siteverify, token, status, code, says) in cases {
        let w = captcha_world("turnstile", siteverify.clone());
        let body = match token {
            Some(t) => contact_with(&format!("&cf-turnstile-response={t}")),
            None => contact_with(""),
        };
        let answer = send(&w.app, gateway(&signed("html", &body, NOW), "192.0.2.10")).await;
        assert_eq!(answer.status, status, "{token:?}: {}", answer.message());
        assert_eq!(answer.code(), code, "{token:?}");
        assert!(
            answer.message().contains(says),
            "{token:?}: {}",
            answer.message()
        );
        if status == 503 {
            assert!(answer.header("retry-after").is_some(), "{token:?}");
        }
        let verified = siteverify.calls().len();
        assert_eq!(
            verified,
            usize::from(token.is_some_and(|t| t != "+++")),
            "{token:?}: a form without a token costs no siteverify call"
        );
        assert!(
            snapshot(w.store.as_ref()).await.is_empty(),
            "{token:?}: a refused form wrote"
        );
    }
}

#[tokio::test]
async fn the_per_ip_limit_comes_before_any_siteverify_call() {
    let siteverify = common::FakeSiteverify::answering(json!({"success": true}));
    let w = captcha_world("recaptcha", siteverify.clone());
    // LEADSCORE_HTML_RATE_LIMIT=3 in these tests.
    for n in 0..5 {
        let body = contact_with(&format!("&g-recaptcha-response=t{n}"));
        let answer = send(&w.app, gateway(&signed("html", &body, NOW), "192.0.2.20")).await;
        assert_eq!(answer.status, if n < 3 { 200 } else { 429 }, "{n}");
    }
    assert_eq!(siteverify.calls().len(), 3);
    assert!(siteverify
        .calls()
        .iter()
        .all(|(url, _)| url == "https://www.google.com/recaptcha/api/siteverify"));
}

#[test]
fn human_verification_is_configured_whole_or_not_at_all() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn LeadStore> = Arc::new(Embedded::open(dir.path()).unwrap());
    let with = |extra: Vec<(&str, &str)>| {
        let mut vars = vars();
        vars.extend(
            extra
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string())),
        );
        App::new(store.clone(), DEFAULT_RULES_TOML, vars)
            .err()
            .map(|e| e.to_string())
    };
    assert_eq!(with(vec![]), None);
    assert_eq!(
        with(vec![
            ("LEADSCORE_CAPTCHA_PROVIDER", ""),
            ("LEADSCORE_CAPTCHA_SECRET", "")
        ]),
        None,
        "the template's empty defaults: off"
    );
    for (vars, says) in [
        (
            vec![("LEADSCORE_CAPTCHA_PROVIDER", "turnstile")],
            "needs LEADSCORE_CAPTCHA_SECRET",
        ),
        (
            vec![("LEADSCORE_CAPTCHA_SECRET", "0x4AAA")],
            "but LEADSCORE_CAPTCHA_PROVIDER is not",
        ),
        (
            vec![
                ("LEADSCORE_CAPTCHA_PROVIDER", "captcha.com"),
                ("LEADSCORE_CAPTCHA_SECRET", "x"),
            ],
            "turnstile, hcaptcha, recaptcha",
        ),
    ] {
        let err = with(vars.clone()).unwrap_or_else(|| panic!("{vars:?} started"));
        assert!(err.contains(says), "{vars:?}: {err}");
    }
    // The captcha secret is not read as a webhook source's secret.
    let app = App::new(
        store.clone(),
        DEFAULT_RULES_TOML,
        common::captcha_vars("hcaptcha", "0x4AAA"),
    )
    .unwrap();
    assert!(app.secrets().get("captcha").is_none());
}

#[tokio::test]
async fn the_html_route_is_served_by_the_form_function_only() {
    use leadscore_edge::{route_for, Function};
    let w = world();
    let req = || {
        gateway(
            &signed("html", &fixture("html/contact.form"), NOW),
            "192.0.2.30",
        )
    };
    assert_eq!(req().uri().path(), "/webhooks/forms/html");
    for (function, status) in [
        (Function::ChatbotMessage, 404),
        (Function::StageQuery, 404),
        (Function::FormSubmission, 200),
    ] {
        let answer = route_for(&w.app, function, req()).await;
        assert_eq!(answer.status().as_u16(), status, "{function:?}");
    }
}
