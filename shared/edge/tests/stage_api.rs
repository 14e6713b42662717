//! The stage API through `route`, with API Gateway v2 requests, over an embedded store.

mod common;
use common::*;
use serde_json::json;

async fn seed(app: &leadscore_edge::App, id: &str, signal: &str, email: &str) {
    let answer = send(app, json_webhook("forms", &event_json(id, signal, email))).await;
    assert_eq!(
        answer.status,
        200,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
}

#[tokio::test]
async fn the_lead_document_has_the_contract_fields() {
    let t = app();
    seed(&t.app, "e1", "demo_requested", "Ada@Acme.io").await;
    let answer = api_get(&t.app, "/leads/ada%40acme.io", "").await;
    assert_eq!(answer.status, 200);
    let doc = answer.json();
    for field in [
        "id",
        "email",
        "stage",
        "pql",
        "score",
        "explanation",
        "bant",
        "stage_history",
        "signals",
        "first_seen",
        "last_seen",
    ] {
        assert!(doc.get(field).is_some(), "missing {field}");
    }
    assert_eq!(doc["email"], "ada@acme.io");
    assert_eq!(doc["stage"], "sql");
    assert_eq!(doc["signals"]["demo_requested"], 1);
    for k in ["fit", "engagement", "total", "grade"] {
        assert!(doc["score"].get(k).is_some(), "score.{k}");
    }
    let sum: i64 = doc["explanation"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["points"].as_i64().unwrap())
        .sum();
    assert_eq!(sum, doc["score"]["total"].as_i64().unwrap());
    assert_eq!(doc["bant"]["complete"], false);
    let history = doc["stage_history"].as_array().unwrap();
    assert_eq!(history.last().unwrap()["to"], "sql");
    assert_eq!(
        history.last().unwrap()["cause"]["rule"],
        "sql.hand_raise.demo_requested"
    );
    // The same lead by its id.
    let id = doc["id"].as_str().unwrap().to_string();
    let by_id = api_get(&t.app, &format!("/leads/{id}"), "").await;
    assert_eq!(by_id.status, 200);
    assert_eq!(by_id.json()["email"], "ada@acme.io");
}

#[tokio::test]
async fn etag_and_if_none_match() {
    let t = app();
    seed(&t.app, "e1", "form_submitted", "bo@acme.io").await;
    let first = api_get(&t.app, "/leads/bo%40acme.io", "").await;
    let tag = first.header("etag").unwrap().to_string();
    let auth = bearer();
    let again = send(
        &t.app,
        request(
            "GET",
            "/leads/bo%40acme.io",
            "",
            &[("authorization", &auth), ("if-none-match", &tag)],
            b"",
        ),
    )
    .await;
    assert_eq!(again.status, 304);
    assert!(again.body.is_empty());
    // A change gives a new tag.
    seed(&t.app, "e2", "content_downloaded", "bo@acme.io").await;
    let changed = send(
        &t.app,
        request(
            "GET",
            "/leads/bo%40acme.io",
            "",
            &[("authorization", &auth), ("if-none-match", &tag)],
            b"",
        ),
    )
    .await;
    assert_eq!(changed.status, 200);
    assert_ne!(changed.header("etag").unwrap(), tag);
}

#[tokio::test]
async fn the_etag_holds_while_nothing_visible_changes_under_the_real_clock() {
    let t = app();
    // Seeded under the frozen clock (the test signatures are dated at it), read as deployed.
    seed(&t.app, "e1", "form_submitted", "cy@acme.io").await;
    let live = real_clock_app(t.store.clone());
    let path = "/leads/cy%40acme.io";
    let first = api_get(&live, path, "").await;
    assert_eq!(first.status, 200);
    let tag = first.header("etag").unwrap().to_string();
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let second = api_get(&live, path, "").await;
    assert_ne!(
        first.json()["score"]["as_of"],
        second.json()["score"]["as_of"],
        "each answer is scored as of its request"
    );
    assert_eq!(second.header("etag"), Some(tag.as_str()));
    let again = api_get_if_none_match(&live, path, "", &tag).await;
    assert_eq!(again.status, 304);
    assert!(again.body.is_empty());
    assert_eq!(again.header("etag"), Some(tag.as_str()));
    // The tag is weak (the instant differs); its opaque part, or the tag in a list, matches.
    assert!(tag.starts_with("W/\""), "{tag}");
    assert_eq!(
        api_get_if_none_match(&live, path, "", &tag[2..])
            .await
            .status,
        304
    );
    let listed = format!("\"other\", {tag}");
    assert_eq!(
        api_get_if_none_match(&live, path, "", &listed).await.status,
        304
    );
    // A stage move is a visible change.
    let moved = qualify(
        &live,
        "cy%40acme.io",
        &json!({"id": "q1", "action": "opportunity"}),
    )
    .await;
    assert_eq!(moved.status, 200);
    let changed = api_get_if_none_match(&live, path, "", &tag).await;
    assert_eq!(changed.status, 200);
    assert_eq!(changed.json()["stage"], "opportunity");
    assert_ne!(changed.header("etag"), Some(tag.as_str()));
}

#[tokio::test]
async fn the_etag_changes_when_the_score_decays() {
    let t = app();
    let clock = std::sync::Arc::new(std::sync::atomic::AtomicI64::new(NOW_MS));
    let app = moving_clock_app(t.store.clone(), clock.clone());
    seed(&app, "e1", "form_submitted", "di@acme.io").await;
    let path = "/leads/di%40acme.io";
    let first = api_get(&app, path, "").await;
    let tag = first.header("etag").unwrap().to_string();
    let engagement = first.json()["score"]["engagement"].clone();
    // An hour on, the decayed points still round to the same figures: same tag.
    clock.fetch_add(3_600_000, std::sync::atomic::Ordering::SeqCst);
    assert_eq!(
        api_get_if_none_match(&app, path, "", &tag).await.status,
        304
    );
    // Two half-lives on (30 days each), the engagement figure has fallen: a new tag.
    clock.fetch_add(60 * 86_400_000, std::sync::atomic::Ordering::SeqCst);
    let decayed = api_get_if_none_match(&app, path, "", &tag).await;
    assert_eq!(decayed.status, 200);
    assert_ne!(decayed.json()["score"]["engagement"], engagement);
    assert_ne!(decayed.header("etag"), Some(tag.as_str()));
}

#[tokio::test]
async fn listing_pages_have_an_etag() {
    let t = app();
    for i in 0..3 {
        seed(
            &t.app,
            &format!("d{i}"),
            "demo_requested",
            &format!("q{i}@acme.io"),
        )
        .await;
    }
    let live = real_clock_app(t.store.clone());
    let first = api_get(&live, "/leads", "stage=sql&limit=2").await;
    assert_eq!(first.status, 200);
    assert_eq!(first.header("cache-control"), Some("private, no-cache"));
    let tag = first.header("etag").unwrap().to_string();
    let again = api_get_if_none_match(&live, "/leads", "stage=sql&limit=2", &tag).await;
    assert_eq!(again.status, 304);
    assert!(again.body.is_empty());
    // Another page is another document.
    let next = first.json()["next"].as_str().unwrap().to_string();
    let second = api_get_if_none_match(
        &live,
        "/leads",
        &format!("stage=sql&limit=2&cursor={next}"),
        &tag,
    )
    .await;
    assert_eq!(second.status, 200);
    assert_ne!(second.header("etag"), Some(tag.as_str()));
    // A lead leaving the page's stage changes the page.
    let on_page = first.json()["leads"][0]["email"]
        .as_str()
        .unwrap()
        .replace('@', "%40");
    let moved = qualify(
        &live,
        &on_page,
        &json!({"id": "q1", "action": "opportunity"}),
    )
    .await;
    assert_eq!(moved.status, 200);
    let changed = api_get_if_none_match(&live, "/leads", "stage=sql&limit=2", &tag).await;
    assert_eq!(changed.status, 200);
    assert_ne!(changed.header("etag"), Some(tag.as_str()));
}

#[tokio::test]
async fn api_keys_are_required_and_checked() {
    let t = app();
    seed(&t.app, "e1", "form_submitted", "cy@acme.io").await;
    let secret_bearer = format!("Bearer {SECRET}");
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (vec![], "missing `Authorization: Bearer <API key>` header"),
        (vec![("authorization", "Bearer nope")], "wrong API key"),
        (
            vec![("authorization", "Basic c2s6")],
            "missing `Authorization: Bearer <API key>` header",
        ),
        // A webhook secret never opens the stage API.
        (vec![("authorization", &secret_bearer)], "wrong API key"),
    ];
    for (headers, message) in cases {
        let answer = send(
            &t.app,
            request("GET", "/leads/cy%40acme.io", "", &headers, b""),
        )
        .await;
        assert_eq!(answer.status, 401, "{headers:?}");
        assert_eq!(answer.code(), "unauthorized");
        assert_eq!(answer.message(), message);
    }
    // Without any key configured the API is closed, and says how to open it.
    let closed = leadscore_edge::App::new(
        t.store.clone(),
        leadscore_scoring::DEFAULT_RULES_TOML,
        vec![("LEADSCORE_SECRET_JSON".to_string(), SECRET.to_string())],
    )
    .unwrap();
    let answer = api_get(&closed, "/leads/cy%40acme.io", "").await;
    assert_eq!(answer.status, 401);
    assert!(answer.message().contains("LEADSCORE_API_KEYS"));
}

#[tokio::test]
async fn read_keys_read_and_only_write_keys_change_a_lead() {
    let t = app();
    seed(&t.app, "e1", "form_submitted", "cy@acme.io").await;
    let read = format!("Bearer {READ_KEY}");
    let as_reader = |method: &'static str, path: &'static str, body: &'static [u8]| {
        request(
            method,
            path,
            "",
            &[
                ("authorization", read.as_str()),
                ("content-type", "application/json"),
            ],
            body,
        )
    };
    for path in ["/leads/cy%40acme.io", "/accounts", "/segments", "/insights"] {
        let answer = send(&t.app, as_reader("GET", path, b"")).await;
        assert_eq!(
            answer.status,
            200,
            "GET {path}: {}",
            String::from_utf8_lossy(&answer.body)
        );
    }
    let before = api_get(&t.app, "/leads/cy%40acme.io", "").await.json();
    let qualify = send(
        &t.app,
        as_reader(
            "POST",
            "/leads/cy%40acme.io/qualification",
            br#"{"id":"r1","action":"disqualify","reason":"test"}"#,
        ),
    )
    .await;
    let erase = send(&t.app, as_reader("DELETE", "/leads/cy%40acme.io", b"")).await;
    for answer in [qualify, erase] {
        assert_eq!(answer.status, 403);
        assert_eq!(answer.code(), "forbidden");
        assert!(answer.message().contains("\"dashboard\" is read-only"));
    }
    let after = api_get(&t.app, "/leads/cy%40acme.io", "").await.json();
    assert_eq!(before["stage_history"], after["stage_history"]);
    assert_eq!(before["signals"], after["signals"]);
}

#[tokio::test]
async fn a_caller_cannot_name_the_actor() {
    let t = app();
    seed(&t.app, "e1", "demo_requested", "cy@acme.io").await;
    let before = api_get(&t.app, "/leads/cy%40acme.io", "").await.json();
    let answer = qualify(
        &t.app,
        "cy%40acme.io",
        &json!({"id": "q1", "action": "accept", "actor": "the-boss"}),
    )
    .await;
    assert_eq!(answer.status, 400);
    assert!(
        answer.message().contains("names the API key"),
        "{}",
        answer.message()
    );
    let doc = api_get(&t.app, "/leads/cy%40acme.io", "").await.json();
    assert_eq!(doc["stage_history"], before["stage_history"]);
}

#[tokio::test]
async fn malformed_api_keys_stop_the_app_at_start() {
    for raw in ["a:owner:k", "x:read:k1, x:write:k2", "n:read:"] {
        let app = leadscore_edge::App::new(
            std::sync::Arc::new(DownStore),
            leadscore_scoring::DEFAULT_RULES_TOML,
            vec![("LEADSCORE_API_KEYS".to_string(), raw.to_string())],
        );
        assert!(app.is_err(), "{raw}");
    }
}

#[tokio::test]
async fn the_timeline_lists_a_leads_events_newest_first() {
    let t = app();
    seed(&t.app, "e1", "form_submitted", "cy@acme.io").await;
    seed(&t.app, "e2", "email_clicked", "cy@acme.io").await;
    let plain = api_get(&t.app, "/leads/cy%40acme.io", "").await.json();
    assert!(plain.get("timeline").is_none());
    let doc = api_get(&t.app, "/leads/cy%40acme.io", "timeline=true")
        .await
        .json();
    let events: Vec<&str> = doc["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(events.len(), 2);
    let signals: Vec<&str> = doc["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["signal"].as_str().unwrap())
        .collect();
    assert!(signals.contains(&"form_submitted") && signals.contains(&"email_clicked"));
    let bad = api_get(&t.app, "/leads/cy%40acme.io", "timeline=yes").await;
    assert_eq!(bad.status, 400);
}

#[tokio::test]
async fn api_keys_never_open_webhooks() {
    let t = app();
    let body = event_json("e1", "form_submitted", "di@acme.io").to_string();
    let auth = bearer();
    let answer = send(
        &t.app,
        request(
            "POST",
            "/webhooks/forms/json",
            "",
            &[
                ("authorization", &auth),
                ("content-type", "application/json"),
            ],
            body.as_bytes(),
        ),
    )
    .await;
    assert_eq!(answer.status, 401);
    assert!(t
        .store
        .get(
            &leadscore_store::LeadKey::Email(
                leadscore_scoring::Email::parse("di@acme.io").unwrap()
            ),
            &leadscore_scoring::Rules::default_rules(),
            leadscore_scoring::Timestamp::from_millis(i64::MAX / 4),
        )
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn bad_lookups() {
    let t = app();
    let cases = [
        ("/leads/nobody%40acme.io", 404, "not_found"),
        (
            "/leads/ld_00000000000000000000000000000000",
            404,
            "not_found",
        ),
        ("/leads/ld_nothex", 400, "bad_request"),
        ("/leads/not-an-email", 400, "bad_request"),
        ("/leads/%40acme.io", 400, "bad_request"),
    ];
    for (path, status, code) in cases {
        let answer = api_get(&t.app, path, "").await;
        assert_eq!(answer.status, status, "{path}");
        assert_eq!(answer.code(), code, "{path}");
    }
}

#[tokio::test]
async fn listing_by_stage_with_pages() {
    let t = app();
    for i in 0..5 {
        seed(
            &t.app,
            &format!("d{i}"),
            "demo_requested",
            &format!("p{i}@acme.io"),
        )
        .await;
    }
    seed(&t.app, "f1", "form_submitted", "lead@acme.io").await;
    let mut emails = Vec::new();
    let mut query = "stage=SQL&limit=2".to_string();
    loop {
        let answer = api_get(&t.app, "/leads", &query).await;
        assert_eq!(
            answer.status,
            200,
            "{}",
            String::from_utf8_lossy(&answer.body)
        );
        let page = answer.json();
        for lead in page["leads"].as_array().unwrap() {
            assert_eq!(lead["stage"], "sql");
            emails.push(lead["email"].as_str().unwrap().to_string());
        }
        match page["next"].as_str() {
            Some(cursor) => query = format!("stage=sql&limit=2&cursor={cursor}"),
            None => break,
        }
    }
    emails.sort();
    assert_eq!(
        emails,
        [
            "p0@acme.io",
            "p1@acme.io",
            "p2@acme.io",
            "p3@acme.io",
            "p4@acme.io"
        ]
    );
    let future = api_get(
        &t.app,
        "/leads",
        "stage=sql&changed_since=2030-01-01T00:00:00Z",
    )
    .await;
    assert_eq!(future.json()["leads"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn bad_listing_parameters() {
    let t = app();
    let cases = [
        ("", "the stage query parameter is required"),
        ("stage=won", "unknown stage \"won\""),
        (
            "stage=sql&changed_since=yesterday",
            "changed_since must be an RFC 3339 date-time",
        ),
        (
            "stage=sql&limit=0",
            "limit must be a whole number from 1 to 100",
        ),
        (
            "stage=sql&limit=101",
            "limit must be a whole number from 1 to 100",
        ),
        (
            "stage=sql&limit=ten",
            "limit must be a whole number from 1 to 100",
        ),
        (
            "stage=sql&cursor=garbage",
            "cursor is not one this API issued",
        ),
        ("stage=sql&page=2", "unknown query parameter \"page\""),
    ];
    for (query, message) in cases {
        let answer = api_get(&t.app, "/leads", query).await;
        assert_eq!(answer.status, 400, "{query}");
        assert!(
            answer.message().contains(message),
            "{query}: {}",
            answer.message()
        );
    }
}

#[tokio::test]
async fn sales_walk_a_lead_through_qualification() {
    let t = app();
    seed(&t.app, "e1", "content_downloaded", "eve@acme.io").await;
    let lead = "eve%40acme.io";
    let answer = qualify(&t.app, lead, &json!({"id": "q1", "action": "accept"})).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.json()["stage"], "sql");
    // Idempotent by the client's id.
    let again = qualify(&t.app, lead, &json!({"id": "q1", "action": "accept"})).await;
    assert_eq!(again.status, 200);
    assert_eq!(again.json()["stage_history"].as_array().unwrap().len(), 2);
    let bant = qualify(
        &t.app,
        lead,
        &json!({"id": "q2", "action": "bant", "bant": {"budget": 40000, "authority": "CFO", "need": "pipeline", "timeline": 3}}),
    )
    .await;
    assert_eq!(bant.status, 200);
    assert_eq!(bant.json()["bant"]["complete"], true);
    assert_eq!(bant.json()["bant"]["budget"]["source"], "sales_call");
    let opp = qualify(&t.app, lead, &json!({"id": "q3", "action": "opportunity"})).await;
    assert_eq!(opp.json()["stage"], "opportunity");
    let won = qualify(&t.app, lead, &json!({"id": "q4", "action": "won"})).await;
    let doc = won.json();
    assert_eq!(doc["stage"], "customer");
    let last = doc["stage_history"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    // The actor is the API key's name, never something the caller says.
    assert_eq!(last["cause"]["actor"], "sales-tool");
    assert_eq!(last["cause"]["action"], "deal_won");
    // An invalid move: 409 with the current stage and what is allowed.
    let conflict = qualify(&t.app, lead, &json!({"id": "q5", "action": "accept"})).await;
    assert_eq!(conflict.status, 409);
    let body = conflict.json();
    assert_eq!(body["error"]["code"], "invalid_transition");
    assert_eq!(body["error"]["current_stage"], "customer");
    assert_eq!(body["error"]["allowed"], json!(["bant", "evangelist"]));
    let ev = qualify(&t.app, lead, &json!({"id": "q6", "action": "evangelist"})).await;
    assert_eq!(ev.json()["stage"], "evangelist");
}

#[tokio::test]
async fn reject_recycles_with_a_reason() {
    let t = app();
    seed(&t.app, "e1", "demo_requested", "fay@acme.io").await;
    let answer = qualify(
        &t.app,
        "fay%40acme.io",
        &json!({"id": "r1", "action": "reject", "reason": "student"}),
    )
    .await;
    assert_eq!(answer.status, 200);
    let doc = answer.json();
    assert_eq!(doc["stage"], "lead");
    let last = doc["stage_history"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["cause"]["reason"], "student");
    let dq = qualify(
        &t.app,
        "fay%40acme.io",
        &json!({"id": "r2", "action": "disqualify", "reason": "competitor"}),
    )
    .await;
    assert_eq!(dq.json()["disqualified"]["reason"], "competitor");
}

#[tokio::test]
async fn bad_qualifications_write_nothing() {
    let t = app();
    seed(&t.app, "e1", "form_submitted", "gus@acme.io").await;
    let lead = "gus%40acme.io";
    let cases = [
        (
            json!({"id": "x", "action": "promote"}),
            400,
            "unknown action \"promote\"",
        ),
        (
            json!({"id": "x", "action": "reject"}),
            400,
            "reject moves the lead back: give a reason",
        ),
        (
            json!({"id": "x", "action": "disqualify", "reason": " "}),
            400,
            "give a reason",
        ),
        (
            json!({"id": "x", "action": "bant"}),
            400,
            "action bant needs a bant object",
        ),
        (
            json!({"id": "x", "action": "bant", "bant": {}}),
            400,
            "bant needs at least one of",
        ),
        (
            json!({"id": "x", "action": "bant", "bant": {"budget": "lots"}}),
            400,
            "qualification body",
        ),
        (
            json!({"id": "", "action": "accept"}),
            400,
            "id must be 1 to 200 printable characters",
        ),
        (json!({"action": "accept"}), 400, "missing field `id`"),
        (
            json!({"id": "x", "action": "accept", "reasn": "typo"}),
            400,
            "unknown field `reasn`",
        ),
        (
            json!({"id": "x", "action": "won"}),
            409,
            "won is not allowed while the lead is lead",
        ),
    ];
    for (body, status, message) in cases {
        let answer = qualify(&t.app, lead, &body).await;
        assert_eq!(answer.status, status, "{body}");
        assert!(
            answer.message().contains(message),
            "{body}: {}",
            answer.message()
        );
    }
    let auth = bearer();
    let not_json = send(
        &t.app,
        request(
            "POST",
            "/leads/gus%40acme.io/qualification",
            "",
            &[
                ("authorization", &auth),
                ("content-type", "application/json"),
            ],
            b"{oops",
        ),
    )
    .await;
    assert_eq!(not_json.status, 400);
    let wrong_type = send(
        &t.app,
        request(
            "POST",
            "/leads/gus%40acme.io/qualification",
            "",
            &[("authorization", &auth), ("content-type", "text/plain")],
            br#"{"id":"x","action":"accept"}"#,
        ),
    )
    .await;
    assert_eq!(wrong_type.status, 415);
    let unknown = qualify(
        &t.app,
        "nobody%40acme.io",
        &json!({"id": "x", "action": "accept"}),
    )
    .await;
    assert_eq!(unknown.status, 404);
    // Nothing of the above was applied.
    let doc = api_get(&t.app, "/leads/gus%40acme.io", "").await.json();
    assert_eq!(doc["stage"], "lead");
    assert_eq!(doc["signals"].as_object().unwrap().len(), 1);
}

#[tokio::test]
async fn erasure() {
    let t = app();
    seed(&t.app, "e1", "form_submitted", "hal@acme.io").await;
    let auth = bearer();
    let gone = send(
        &t.app,
        request(
            "DELETE",
            "/leads/hal%40acme.io",
            "",
            &[("authorization", &auth)],
            b"",
        ),
    )
    .await;
    assert_eq!(gone.status, 204);
    assert_eq!(
        api_get(&t.app, "/leads/hal%40acme.io", "").await.status,
        404
    );
    let again = send(
        &t.app,
        request(
            "DELETE",
            "/leads/hal%40acme.io",
            "",
            &[("authorization", &auth)],
            b"",
        ),
    )
    .await;
    assert_eq!(again.status, 404);
    let unauth = send(
        &t.app,
        request("DELETE", "/leads/hal%40acme.io", "", &[], b""),
    )
    .await;
    assert_eq!(unauth.status, 401);
}

#[tokio::test]
async fn storage_down_is_503_with_retry_after() {
    let app = leadscore_edge::App::new(
        std::sync::Arc::new(DownStore),
        leadscore_scoring::DEFAULT_RULES_TOML,
        vars(),
    )
    .unwrap()
    .with_clock(now);
    for answer in [
        api_get(&app, "/leads/ada%40acme.io", "").await,
        api_get(&app, "/leads", "stage=sql").await,
        send(
            &app,
            json_webhook("forms", &event_json("e1", "form_submitted", "ada@acme.io")),
        )
        .await,
    ] {
        assert_eq!(answer.status, 503);
        assert_eq!(answer.header("retry-after"), Some("30"));
        assert_eq!(answer.code(), "storage_unavailable");
        assert!(
            !answer.message().contains("connection refused"),
            "causes stay in the log"
        );
    }
}

#[tokio::test]
async fn unknown_routes_and_methods() {
    let t = app();
    let auth = bearer();
    let cases = [
        ("GET", "/nowhere", 404),
        ("PUT", "/leads/ada%40acme.io", 405),
        ("GET", "/webhooks/forms/json", 405),
        ("POST", "/webhooks/sms/json", 404),
    ];
    for (method, path, status) in cases {
        let answer = send(
            &t.app,
            request(method, path, "", &[("authorization", &auth)], b""),
        )
        .await;
        assert_eq!(answer.status, status, "{method} {path}");
        assert!(answer.json()["error"]["code"].is_string());
    }
}

#[tokio::test]
async fn each_function_answers_only_its_routes() {
    use leadscore_edge::{route_for, Function};
    let t = app();
    let auth = bearer();
    let get_lead = || {
        request(
            "GET",
            "/leads/ada%40acme.io",
            "",
            &[("authorization", &auth)],
            b"",
        )
    };
    let answer = route_for(&t.app, Function::FormSubmission, get_lead()).await;
    assert_eq!(answer.status().as_u16(), 404);
    let answer = route_for(&t.app, Function::StageQuery, get_lead()).await;
    assert_eq!(answer.status().as_u16(), 404, "unknown lead, but routed");
    let webhook = json_webhook("forms", &event_json("e1", "form_submitted", "ada@acme.io"));
    let answer = route_for(&t.app, Function::NewsletterClick, webhook).await;
    assert_eq!(answer.status().as_u16(), 404);
    let webhook = json_webhook("forms", &event_json("e1", "form_submitted", "ada@acme.io"));
    let answer = route_for(&t.app, Function::FormSubmission, webhook).await;
    assert_eq!(answer.status().as_u16(), 200);
}
