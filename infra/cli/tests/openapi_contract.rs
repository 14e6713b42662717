//! openapi.yaml describes the JSON contract of issues 4 and 5: documents written to that
//! contract validate, and the checker would notice a missing field.

use std::path::PathBuf;

use leadscore::openapi::OpenApi;
use serde_json::{json, Value};

fn api() -> OpenApi {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../openapi.yaml");
    OpenApi::parse(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn lead() -> Value {
    json!({
        "id": "ld_0123456789abcdef0123456789abcdef",
        "email": "ada@example.com",
        "stage": "mql",
        "pql": false,
        "score": {"fit": 30, "engagement": 45, "total": 75, "grade": "B"},
        "explanation": [{"rule": "fit.job_title.cto", "points": 30}, {"rule": "engagement.demo_requested", "points": 45}],
        "bant": {"budget": null, "authority": "cto", "need": null, "timeline": null, "complete": false},
        "stage_history": [
            {"from": null, "to": "lead", "at": "2026-11-22T10:00:00Z", "recorded_at": "2026-11-22T10:00:01Z", "cause": {"type": "rule", "rule": "lead.identified"}},
            {"from": "lead", "to": "mql", "at": "2026-11-22T10:05:00Z", "recorded_at": "2026-11-23T08:00:00Z", "cause": {"type": "rule", "rule": "mql.score"}}
        ],
        "signals": {"demo_requested": 1, "email_clicked": 3},
        "first_seen": "2026-11-22T10:00:00Z",
        "last_seen": "2026-11-22T10:05:00Z"
    })
}

fn errors(method: &str, path: &str, status: u16, body: &Value) -> Vec<String> {
    let api = api();
    let schema = api.response_schema(method, path, status).unwrap().unwrap();
    api.validate(&schema, body)
}

#[test]
fn the_lead_document_of_issue_5_validates() {
    assert_eq!(
        errors("GET", "/leads/{lead}", 200, &lead()),
        Vec::<String>::new()
    );
    let page = json!({"leads": [lead()], "next": "opaque"});
    assert_eq!(errors("GET", "/leads", 200, &page), Vec::<String>::new());
    let last = json!({"leads": [], "next": null});
    assert_eq!(errors("GET", "/leads", 200, &last), Vec::<String>::new());
}

#[test]
fn a_lead_without_its_score_or_with_an_unknown_stage_does_not() {
    let mut no_score = lead();
    no_score.as_object_mut().unwrap().remove("score");
    assert_eq!(
        errors("GET", "/leads/{lead}", 200, &no_score),
        vec!["$: missing required `score`"]
    );
    let mut shouting = lead();
    shouting["stage"] = json!("MQL");
    assert_eq!(errors("GET", "/leads/{lead}", 200, &shouting).len(), 1);
}

#[test]
fn the_webhook_answer_and_error_shapes() {
    for route in ["/webhooks/forms/{source}", "/webhooks/email/{source}"] {
        let ok = json!({"accepted": 2, "duplicates": 1, "ignored": 0});
        assert_eq!(errors("POST", route, 200, &ok), Vec::<String>::new());
        assert_eq!(errors("POST", route, 200, &json!({"accepted": 2})).len(), 2);
        let err = json!({"error": {"code": "unauthorized", "message": "webhook-signature does not match"}});
        assert_eq!(errors("POST", route, 401, &err), Vec::<String>::new());
    }
}
