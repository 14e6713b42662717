//! The JSON the handlers really return validates against openapi.yaml: the lead document,
//! the listing, the webhook answer, and the errors, produced by `leadscore_edge::route`.

mod handler;

use std::sync::Arc;

use handler::{api, call, request, SECRET};
use leadscore::openapi::OpenApi;
use leadscore_edge::App;
use serde_json::Value;

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
