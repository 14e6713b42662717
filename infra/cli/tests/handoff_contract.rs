//! Accounts and segments end to end: events through the webhook route, the stage notifier's
//! daily run over the same store, then `/accounts` and `/segments` as the API answers them,
//! valid against openapi.yaml and with the figures the leads call for.

use std::path::PathBuf;
use std::sync::Arc;

use lambda_http::Body;
use leadscore::openapi::OpenApi;
use leadscore_edge::{route, App};
use leadscore_notify::{Destinations, NoParking, Notifier};
use leadscore_scoring::{Timestamp, DEFAULT_RULES_TOML};
use leadscore_store::LeadStore;
use serde_json::{json, Value};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

fn request(
    method: &str,
    path: &str,
    query: &str,
    headers: &[(&str, String)],
    body: &str,
) -> lambda_http::Request {
    let h: serde_json::Map<String, Value> = headers
        .iter()
        .map(|(n, v)| (n.to_string(), Value::String(v.clone())))
        .collect();
    let mut event = json!({
        "version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": query,
        "headers": h,
        "requestContext": {"accountId": "1", "apiId": "a", "domainName": "api.example.com",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.1", "userAgent": "t"},
            "requestId": "r", "routeKey": "$default", "stage": "$default", "time": "", "timeEpoch": 0},
        "isBase64Encoded": false,
    });
    if !query.is_empty() {
        let q: serde_json::Map<String, Value> = query
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
            .collect();
        event["queryStringParameters"] = Value::Object(q);
    }
    if !body.is_empty() {
        event["body"] = Value::String(body.to_string());
    }
    lambda_http::request::from_str(&event.to_string()).unwrap()
}

async fn call(app: &App, req: lambda_http::Request) -> (u16, Value) {
    let (parts, body): (_, Body) = route(app, req).await.into_parts();
    (
        parts.status.as_u16(),
        serde_json::from_slice(&body).unwrap_or(Value::Null),
    )
}

fn api() -> OpenApi {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../openapi.yaml");
    OpenApi::parse(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn assert_valid(api: &OpenApi, path: &str, status: u16, body: &Value) {
    let schema = api
        .response_schema("GET", path, status)
        .unwrap()
        .unwrap_or_else(|| panic!("openapi.yaml has no {status} for GET {path}"));
    assert_eq!(
        api.validate(&schema, body),
        Vec::<String>::new(),
        "{path}: {body}"
    );
}

fn now() -> Timestamp {
    // Milliseconds: the events are dated to the nanosecond, and a `now` truncated to the
    // second would come before them.
    Timestamp::from_millis(
        (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64,
    )
}

#[tokio::test]
async fn accounts_and_segments_follow_the_leads() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn LeadStore> = Arc::new(leadscore_store::Embedded::open(dir.path()).unwrap());
    let vars = vec![
        ("LEADSCORE_SECRET_JSON".to_string(), SECRET.to_string()),
        ("LEADSCORE_API_KEYS".to_string(), "dash:read:k".to_string()),
    ];
    let app = App::new(store.clone(), DEFAULT_RULES_TOML, vars).unwrap();
    let occurred = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let people = [
        ("e1", "demo_requested", "ada@acme.io", "CTO"),
        ("e2", "form_submitted", "bob@acme.io", "Finance analyst"),
        ("e3", "form_submitted", "cy@gmail.com", "Engineer"),
    ];
    for (id, signal, email, title) in people {
        let body = json!({"id": id, "type": signal, "occurred_at": occurred, "email": email,
                          "profile": {"job_title": title}})
        .to_string();
        let ts = time::OffsetDateTime::now_utc().unix_timestamp();
        let signed = leadscore::sign::sign(SECRET, &format!("m{id}"), ts, body.as_bytes()).unwrap();
        let mut headers: Vec<(&str, String)> = signed.lines().to_vec();
        headers.push(("content-type", "application/json".to_string()));
        let (status, _) = call(
            &app,
            request("POST", "/webhooks/forms/json", "", &headers, &body),
        )
        .await;
        assert_eq!(status, 200);
    }
    // Before any hand-off, no account exists: webhooks never write one.
    let auth = [("authorization", "Bearer k".to_string())];
    let (_, empty) = call(&app, request("GET", "/accounts", "", &auth, "")).await;
    assert_eq!(empty["accounts"], json!([]));

    let notifier = Notifier::new(
        store.clone(),
        DEFAULT_RULES_TOML,
        Destinations::new(Vec::new(), Arc::new(NoParking)),
        "https://api.example.com",
    )
    .unwrap();
    notifier.daily(now()).await.unwrap();

    let api = api();
    let (status, list) = call(&app, request("GET", "/accounts", "sort=score", &auth, "")).await;
    assert_eq!(status, 200);
    assert_valid(&api, "/accounts", 200, &list);
    let accounts = list["accounts"].as_array().unwrap();
    assert_eq!(
        accounts.len(),
        1,
        "gmail.com never makes an account: {list}"
    );
    let (status, acme) = call(&app, request("GET", "/accounts/acme.io", "", &auth, "")).await;
    assert_eq!(status, 200);
    assert_valid(&api, "/accounts/{domain}", 200, &acme);
    assert_eq!(acme["contacts"], 2);
    assert_eq!(acme["stage"], "sql", "the furthest stage of its leads");
    let roles: Vec<&str> = acme["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    assert!(
        roles.contains(&"decision_maker")
            && roles.contains(&"finance")
            && roles.contains(&"technical"),
        "{acme}"
    );
    assert!(acme["missing_roles"]
        .as_array()
        .unwrap()
        .contains(&json!("user")));
    let (status, gmail) = call(&app, request("GET", "/accounts/gmail.com", "", &auth, "")).await;
    assert_eq!(status, 404);
    assert_valid(&api, "/accounts/{domain}", 404, &gmail);

    let (status, segments) = call(&app, request("GET", "/segments", "", &auth, "")).await;
    assert_eq!(status, 200);
    assert_valid(&api, "/segments", 200, &segments);
    let (status, nurture) = call(
        &app,
        request("GET", "/segments/nurture", "limit=100", &auth, ""),
    )
    .await;
    assert_eq!(status, 200);
    assert_valid(&api, "/segments/{name}", 200, &nurture);
    let emails: Vec<&str> = nurture["leads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["email"].as_str().unwrap())
        .collect();
    // The SQL is for sales, not nurturing; the two leads are.
    assert!(
        emails.contains(&"bob@acme.io") && emails.contains(&"cy@gmail.com"),
        "{nurture}"
    );
    assert!(!emails.contains(&"ada@acme.io"), "{nurture}");
    let (status, unknown) = call(&app, request("GET", "/segments/none", "", &auth, "")).await;
    assert_eq!(status, 404);
    assert_valid(&api, "/segments/{name}", 404, &unknown);
}
