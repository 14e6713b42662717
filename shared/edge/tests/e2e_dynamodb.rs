//! End to end through DynamoDB Local: the same handler the Lambdas run, over the DynamoDB
//! store (the test command starts DynamoDB Local and exports AWS_ENDPOINT_URL_DYNAMODB).

mod common;
use common::*;
use leadscore_edge::App;
use leadscore_store::Dynamo;
use serde_json::json;
use std::sync::Arc;

async fn dynamo_app() -> App {
    let store = Dynamo::scratch("e2e").await.unwrap();
    App::new(
        Arc::new(store),
        leadscore_scoring::DEFAULT_RULES_TOML,
        vars(),
    )
    .unwrap()
    .with_clock(now)
}

#[tokio::test]
async fn a_lead_from_webhook_to_erasure_on_dynamodb() {
    let app = dynamo_app().await;
    let event = json!({
        "id": "e2e-1", "type": "demo_requested", "occurred_at": "2026-11-22T09:59:00Z",
        "email": "ada@example.com", "profile": {"job_title": "CTO", "company_size": 250}
    });
    let answer = send(&app, json_webhook("forms", &event)).await;
    assert_eq!(
        answer.status,
        200,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    assert_eq!(
        answer.json(),
        json!({"accepted":1,"duplicates":0,"ignored":0})
    );
    let again = send(&app, json_webhook("forms", &event)).await;
    assert_eq!(
        again.json(),
        json!({"accepted":0,"duplicates":1,"ignored":0})
    );

    let doc = api_get(&app, "/leads/ada%40example.com", "").await;
    assert_eq!(doc.status, 200);
    assert_eq!(doc.json()["stage"], "sql");

    let page = api_get(&app, "/leads", "stage=sql").await.json();
    assert_eq!(page["leads"].as_array().unwrap().len(), 1);
    assert_eq!(page["next"], serde_json::Value::Null);

    let moved = qualify(
        &app,
        "ada%40example.com",
        &json!({"id": "q1", "action": "opportunity"}),
    )
    .await;
    assert_eq!(moved.status, 200);
    assert_eq!(moved.json()["stage"], "opportunity");
    assert_eq!(
        api_get(&app, "/leads", "stage=sql").await.json()["leads"],
        json!([])
    );

    let auth = bearer();
    let gone = send(
        &app,
        request(
            "DELETE",
            "/leads/ada%40example.com",
            "",
            &[("authorization", &auth)],
            b"",
        ),
    )
    .await;
    assert_eq!(gone.status, 204);
    assert_eq!(
        api_get(&app, "/leads/ada%40example.com", "").await.status,
        404
    );
}
