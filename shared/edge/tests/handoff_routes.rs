//! `/accounts` and `/segments` through `route`: what the notifier keeps, as the API shows it,
//! and every bad value a caller can send (a clear 4xx).

mod common;
use common::*;
use leadscore_store::HandoffRecord;
use serde_json::json;
use std::collections::BTreeSet;

#[tokio::test]
async fn accounts_are_listed_by_score_page_by_page() {
    let t = app();
    for (domain, score) in [("acme.io", 120), ("globex.com", 300), ("initech.com", -5)] {
        let doc = json!({"domain": domain, "score": score});
        t.store
            .put_account(domain, score, doc.to_string().as_bytes())
            .await
            .unwrap();
    }
    let first = api_get(&t.app, "/accounts", "sort=score&limit=2").await;
    assert_eq!(first.status, 200);
    let body = first.json();
    let domains: Vec<&str> = body["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["domain"].as_str().unwrap())
        .collect();
    assert_eq!(domains, ["globex.com", "acme.io"]);
    let next = body["next"].as_str().unwrap().to_string();
    let query = format!("cursor={}", urlencode(&next));
    let second = api_get(&t.app, "/accounts", &query).await.json();
    assert_eq!(second["accounts"][0]["domain"], "initech.com");
    assert!(second["next"].is_null());

    let one = api_get(&t.app, "/accounts/ACME.io", "").await;
    assert_eq!(one.status, 200);
    assert_eq!(one.json()["score"], 120);
}

#[tokio::test]
async fn bad_account_requests_are_4xx() {
    let t = app();
    for (path, query, status, says) in [
        ("/accounts", "sort=name", 400, "sorted by score"),
        ("/accounts", "limit=0", 400, "limit must be"),
        ("/accounts", "limit=101", 400, "limit must be"),
        ("/accounts", "cursor=nope", 400, "cursor"),
        ("/accounts", "colour=red", 400, "unknown query parameter"),
        (
            "/accounts/not%20a%20domain",
            "",
            400,
            "not a company domain",
        ),
        ("/accounts/localhost", "", 400, "not a company domain"),
        ("/accounts/gmail.com", "", 404, "free-mail or disposable"),
        (
            "/accounts/mailinator.com",
            "",
            404,
            "free-mail or disposable",
        ),
        ("/accounts/acme.io", "", 404, "no account acme.io"),
    ] {
        let answer = api_get(&t.app, path, query).await;
        assert_eq!(answer.status, status, "{path}?{query}");
        assert!(
            answer.message().contains(says),
            "{path}?{query}: {}",
            answer.message()
        );
    }
    let unsigned = send(&t.app, request("GET", "/accounts", "", &[], b"")).await;
    assert_eq!(unsigned.status, 401);
    let post = send(
        &t.app,
        request(
            "POST",
            "/accounts",
            "",
            &[("authorization", &bearer())],
            b"{}",
        ),
    )
    .await;
    assert_eq!(post.status, 405);
}

#[tokio::test]
async fn segments_come_from_the_rules_file_and_list_their_members_as_of_now() {
    let t = app();
    let listed = api_get(&t.app, "/segments", "").await.json();
    let names: Vec<&str> = listed["segments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"nurture"), "{listed}");

    let answer = send(
        &t.app,
        json_webhook("forms", &event_json("e1", "form_submitted", "ada@acme.io")),
    )
    .await;
    assert_eq!(answer.status, 200);
    let lead = api_get(&t.app, "/leads/ada%40acme.io", "").await.json();
    let id = leadscore_scoring::LeadId::parse(lead["id"].as_str().unwrap()).unwrap();
    let record = HandoffRecord {
        version: 0,
        body: b"{}".to_vec(),
        memberships: BTreeSet::from(["segment:nurture".to_string()]),
        summary: b"{}".to_vec(),
        erased_seen: None,
    };
    assert!(t.store.put_handoff(&id, &record).await.unwrap());
    let members = api_get(&t.app, "/segments/nurture", "limit=10").await;
    assert_eq!(members.status, 200);
    let body = members.json();
    assert_eq!(body["segment"], "nurture");
    assert_eq!(body["leads"][0]["lead"], lead["id"]);
    assert_eq!(body["leads"][0]["email"], "ada@acme.io");
    assert_eq!(body["leads"][0]["score"], lead["score"]["total"]);
    assert!(body["next"].is_null());

    for (path, query, status) in [
        ("/segments/unknown", "", 404),
        ("/segments/nurture", "limit=0", 400),
        ("/segments/nurture", "cursor=%%%", 400),
        ("/segments/nurture", "sort=score", 400),
        ("/segments", "x=1", 400),
    ] {
        let answer = api_get(&t.app, path, query).await;
        assert_eq!(answer.status, status, "{path}?{query}");
    }
}

#[tokio::test]
async fn storage_down_is_503_on_the_new_routes() {
    let app = leadscore_edge::App::new(
        std::sync::Arc::new(DownStore),
        leadscore_scoring::DEFAULT_RULES_TOML,
        vars(),
    )
    .unwrap();
    for path in ["/accounts", "/accounts/acme.io", "/segments/nurture"] {
        let answer = api_get(&app, path, "").await;
        assert_eq!(answer.status, 503, "{path}");
        assert!(answer.headers.contains_key("retry-after"));
    }
}

fn urlencode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}
