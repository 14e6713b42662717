//! The local server as a client sees it: API Gateway's routing and event shape, over HTTP.

mod common;

use std::sync::Arc;

use lambda_http::{Body, RequestExt};
use leadscore::server::{self, Handler};

/// A handler that answers with what it was given, as the function would have seen it.
fn echo() -> Handler {
    Arc::new(|req: lambda_http::Request| {
        Box::pin(async move {
            let body = serde_json::json!({
                "method": req.method().as_str(),
                "path": req.uri().path(),
                "params": req.path_parameters().iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<Vec<_>>(),
                "query_b": req.query_string_parameters().first("b"),
                "body": String::from_utf8_lossy(req.body().as_ref()),
                "request_id": req.lambda_context_ref().map(|c| c.request_id.clone()),
                "source_ip": match req.request_context_ref() {
                    Some(lambda_http::request::RequestContext::ApiGatewayV2(c)) => c.http.source_ip.clone(),
                    _ => None,
                },
            });
            lambda_http::Response::builder()
                .status(201)
                .header("content-type", "application/json")
                .header("x-from", "handler")
                .body(Body::Text(body.to_string()))
                .unwrap()
        })
    })
}

async fn spawn() -> std::net::SocketAddr {
    let routes = vec![
        (
            "POST".to_string(),
            "/leads/{lead}/qualification".to_string(),
        ),
        ("HEAD".to_string(), "/webhooks/email/{source}".to_string()),
    ];
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(server::serve(listener, server::app(routes, echo())));
    addr
}

#[tokio::test]
async fn a_matched_request_reaches_the_handler_as_an_api_gateway_event() {
    let addr = spawn().await;
    let reply = common::send(
        addr,
        "POST",
        "/leads/ada%40example.com/qualification?b=two%20words",
        &[("content-type", "application/json")],
        br#"{"id":"q1"}"#,
    )
    .await;
    assert_eq!(reply.status, 201);
    assert_eq!(reply.header("x-from"), Some("handler"));
    let seen = reply.json();
    assert_eq!(seen["method"], "POST");
    assert_eq!(seen["path"], "/leads/ada%40example.com/qualification");
    assert_eq!(
        seen["params"],
        serde_json::json!([["lead", "ada@example.com"]])
    );
    assert_eq!(seen["query_b"], "two words");
    assert_eq!(seen["body"], r#"{"id":"q1"}"#);
    assert_eq!(seen["source_ip"], "127.0.0.1");
    assert!(seen["request_id"]
        .as_str()
        .is_some_and(|id| id.starts_with("local-")));
}

#[tokio::test]
async fn head_routes_answer_without_a_body() {
    let addr = spawn().await;
    let reply = common::send(addr, "HEAD", "/webhooks/email/mandrill", &[], b"").await;
    assert_eq!(reply.status, 201);
    assert!(reply.body.is_empty());
}

#[tokio::test]
async fn unrouted_requests_get_api_gateways_404() {
    let addr = spawn().await;
    for (method, target) in [
        ("GET", "/nope"),
        ("GET", "/leads/x/qualification"),
        ("DELETE", "/webhooks/email/x"),
    ] {
        let reply = common::send(addr, method, target, &[], b"").await;
        assert_eq!(reply.status, 404, "{method} {target}");
        assert_eq!(reply.json(), serde_json::json!({"message": "Not Found"}));
    }
}
