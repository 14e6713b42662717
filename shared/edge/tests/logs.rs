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

/// What the handlers log under `AWS_LAMBDA_LOG_LEVEL=level`: a webhook and a lookup that
/// succeed (info lines), then one that meets a storage failure (error lines).
async fn logs_at(level: &str) -> String {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_env_filter(leadscore_edge::logging::filter(Some(level)))
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let t = app();
    send(
        &t.app,
        json_webhook("forms", &event_json("l1", "demo_requested", "ada@acme.io")),
    )
    .await;
    api_get(&t.app, "/leads/ada%40acme.io", "").await;
    let down = leadscore_edge::App::new(
        Arc::new(DownStore),
        leadscore_scoring::DEFAULT_RULES_TOML,
        vars(),
    )
    .unwrap()
    .with_clock(now);
    let failed = api_get(&down, "/leads/ada%40acme.io", "").await;
    assert_eq!(failed.status, 503);
    let logs = captured.0.lock().unwrap().clone();
    String::from_utf8(logs).unwrap()
}

#[tokio::test]
async fn log_level_fatal_keeps_errors_only() {
    // template.yaml allows FATAL; tracing has no such level, so it keeps errors only.
    for level in ["FATAL", "fatal", "ERROR"] {
        let logs = logs_at(level).await;
        assert!(
            logs.contains("\"level\":\"ERROR\""),
            "{level}: errors are logged: {logs}"
        );
        for quiet in ["\"level\":\"INFO\"", "\"level\":\"WARN\"", "event applied"] {
            assert!(!logs.contains(quiet), "{level}: {quiet} was logged: {logs}");
        }
    }
    let info = logs_at("INFO").await;
    assert!(info.contains("event applied"), "INFO logs info: {info}");
    for (lambda, directive) in [
        (Some("TRACE"), "trace"),
        (Some("debug"), "debug"),
        (Some("INFO"), "info"),
        (Some(" Warn "), "warn"),
        (Some("ERROR"), "error"),
        (Some("FATAL"), "error"),
        (Some("verbose"), "info"),
        (None, "info"),
    ] {
        assert_eq!(
            leadscore_edge::logging::level_directive(lambda),
            directive,
            "{lambda:?}"
        );
    }
}
