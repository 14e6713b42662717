//! Logs are structured and never carry a raw email address, whatever the route.

mod common;
use common::*;
use serde_json::json;
use std::io::Write;
use std::sync::{Arc, Mutex};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn no_email_address_reaches_the_logs() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let t = app();
    let email = "grace.hopper@navy.example";
    send(
        &t.app,
        json_webhook("forms", &event_json("l1", "demo_requested", email)),
    )
    .await;
    api_get(&t.app, "/leads/grace.hopper%40navy.example", "").await;
    qualify(
        &t.app,
        "grace.hopper%40navy.example",
        &json!({"id": "q", "action": "opportunity"}),
    )
    .await;
    api_get(&t.app, "/leads/nobody%40navy.example", "").await;
    let auth = bearer();
    send(
        &t.app,
        request(
            "DELETE",
            "/leads/grace.hopper%40navy.example",
            "",
            &[("authorization", &auth)],
            b"",
        ),
    )
    .await;

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("event applied"),
        "the handlers did log: {logs}"
    );
    assert!(
        logs.contains("\"lead\":\"ld_"),
        "leads are named by id: {logs}"
    );
    for leak in ["grace.hopper", "navy.example", "%40", "nobody@"] {
        assert!(!logs.contains(leak), "{leak:?} reached the logs: {logs}");
    }
}
