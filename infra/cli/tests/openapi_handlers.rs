//! The JSON the handlers really return validates against openapi.yaml: the lead document,
//! the listing, the webhook answer, and the errors, produced by `leadscore_edge::route`.

use std::path::PathBuf;
use std::sync::Arc;

use lambda_http::Body;
use leadscore::openapi::OpenApi;
use leadscore_edge::{route, App};
use serde_json::{json, Value};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

fn api() -> OpenApi {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../openapi.yaml");
    OpenApi::parse(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn request(
    method: &str,
    path: &str,
    query: &str,
    headers: &[(&str, String)],
    body: &str,
) -> lambda_http::Request {
    let mut h = serde_json::Map::new();
    for (n, v) in headers {
        h.insert(n.to_string(), Value::String(v.clone()));
    }
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

fn assert_valid(api: &OpenApi, method: &str, path: &str, status: u16, body: &Value) {
    let schema = api
        .response_schema(method, path, status)
        .unwrap()
        .unwrap_or_else(|| panic!("openapi.yaml has no {status} for {method} {path}"));
    assert_eq!(
        api.validate(&schema, body),
        Vec::<String>::new(),
        "{method} {path} {status}: {body}"
    );
}

#[tokio::test]
async fn handler_responses_match_the_openapi_document() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(leadscore_store::Embedded::open(dir.path()).unwrap());
    let vars = vec![
        ("LEADSCORE_SECRET_JSON".to_string(), SECRET.to_string()),
        ("LEADSCORE_API_KEYS".to_string(), "k".to_string()),
    ];
    let app = App::new(store, leadscore_scoring::DEFAULT_RULES_TOML, vars).unwrap();
    let api = api();
    let auth = ("authorization", "Bearer k".to_string());

    let body = r#"{"id":"e1","type":"demo_requested","occurred_at":"2026-11-22T10:00:00Z","email":"ada@example.com"}"#;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let signed = leadscore::sign::sign(SECRET, "m1", now, body.as_bytes()).unwrap();
    let mut headers: Vec<(&str, String)> = signed.lines().to_vec();
    headers.push(("content-type", "application/json".to_string()));
    let (status, answer) = call(
        &app,
        request("POST", "/webhooks/forms/json", "", &headers, body),
    )
    .await;
    assert_eq!(status, 200);
    assert_valid(&api, "POST", "/webhooks/forms/{source}", 200, &answer);

    let (status, lead) = call(
        &app,
        request(
            "GET",
            "/leads/ada%40example.com",
            "",
            std::slice::from_ref(&auth),
            "",
        ),
    )
    .await;
    assert_eq!(status, 200);
    assert_valid(&api, "GET", "/leads/{lead}", 200, &lead);

    let (status, page) = call(
        &app,
        request(
            "GET",
            "/leads",
            "stage=sql",
            std::slice::from_ref(&auth),
            "",
        ),
    )
    .await;
    assert_eq!(status, 200);
    assert_valid(&api, "GET", "/leads", 200, &page);

    let q = r#"{"id":"q1","action":"opportunity"}"#;
    let json_ct = ("content-type", "application/json".to_string());
    let (status, doc) = call(
        &app,
        request(
            "POST",
            "/leads/ada%40example.com/qualification",
            "",
            &[auth.clone(), json_ct.clone()],
            q,
        ),
    )
    .await;
    assert_eq!(status, 200);
    assert_valid(&api, "POST", "/leads/{lead}/qualification", 200, &doc);

    let q = r#"{"id":"q2","action":"accept"}"#;
    let (status, conflict) = call(
        &app,
        request(
            "POST",
            "/leads/ada%40example.com/qualification",
            "",
            &[auth.clone(), json_ct],
            q,
        ),
    )
    .await;
    assert_eq!(status, 409);
    assert_valid(&api, "POST", "/leads/{lead}/qualification", 409, &conflict);

    let (status, unauthorized) = call(
        &app,
        request("GET", "/leads/ada%40example.com", "", &[], ""),
    )
    .await;
    assert_eq!(status, 401);
    assert_valid(&api, "GET", "/leads/{lead}", 401, &unauthorized);

    let (status, bad) = call(
        &app,
        request(
            "GET",
            "/leads",
            "stage=nope",
            std::slice::from_ref(&auth),
            "",
        ),
    )
    .await;
    assert_eq!(status, 400);
    assert_valid(&api, "GET", "/leads", 400, &bad);

    let (status, insights) = call(
        &app,
        request("GET", "/insights", "", std::slice::from_ref(&auth), ""),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(insights["leads"], 1);
    assert_valid(&api, "GET", "/insights", 200, &insights);
    let (status, bad) = call(
        &app,
        request(
            "GET",
            "/insights",
            "within_days=0",
            std::slice::from_ref(&auth),
            "",
        ),
    )
    .await;
    assert_eq!(status, 400);
    assert_valid(&api, "GET", "/insights", 400, &bad);

    let (status, unsigned) = call(
        &app,
        request(
            "POST",
            "/webhooks/email/json",
            "",
            &[("content-type", "application/json".to_string())],
            body,
        ),
    )
    .await;
    assert_eq!(status, 401);
    assert_valid(&api, "POST", "/webhooks/email/{source}", 401, &unsigned);
}
