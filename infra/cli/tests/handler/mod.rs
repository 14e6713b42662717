//! Calling `leadscore_edge::route` as API Gateway does (payload 2.0 events), and checking the
//! answers against openapi.yaml: shared by the contract tests.
#![allow(dead_code)]

use std::path::PathBuf;

use lambda_http::Body;
use leadscore::openapi::OpenApi;
use leadscore_edge::{route, App};
use serde_json::{json, Value};

pub const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

pub fn request(
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

pub async fn call(app: &App, req: lambda_http::Request) -> (u16, Value) {
    let (parts, body): (_, Body) = route(app, req).await.into_parts();
    (
        parts.status.as_u16(),
        serde_json::from_slice(&body).unwrap_or(Value::Null),
    )
}

pub fn api() -> OpenApi {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../openapi.yaml");
    OpenApi::parse(&std::fs::read_to_string(path).unwrap()).unwrap()
}

pub fn assert_valid_get(api: &OpenApi, path: &str, status: u16, body: &Value) {
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
