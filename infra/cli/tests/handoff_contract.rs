//! Accounts and segments end to end: events through the webhook route, the stage notifier's
//! daily run over the same store, then `/accounts` and `/segments` as the API answers them,
//! valid against openapi.yaml and with the figures the leads call for.

mod handler;

use std::sync::Arc;

use handler::{api, assert_valid_get, call, request, SECRET};
use leadscore_edge::App;
use leadscore_notify::{Destinations, NoParking, Notifier};
use leadscore_scoring::{Timestamp, DEFAULT_RULES_TOML};
use leadscore_store::LeadStore;
use serde_json::json;

fn now() -> Timestamp {
    // Milliseconds: the events are dated to the nanosecond, and a `now` truncated to the
    // second would come before them.
    Timestamp::from_millis(
        (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64,
    )
}

#[tokio::test]
async fn accounts_and_segments_follow_the_leads() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn LeadStore> = Arc::new(leadscore_store::Embedded::open(dir.path()).unwrap());
    let vars = vec![
        ("LEADSCORE_SECRET_JSON".to_string(), SECRET.to_string()),
        ("LEADSCORE_API_KEYS".to_string(), "dash:read:k".to_string()),
    ];
    let app = App::new(store.clone(), DEFAULT_RULES_TOML, vars).unwrap();
    let occurred = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let people = [
        ("e1", "demo_requested", "ada@acme.io", "CTO"),
        ("e2", "form_submitted", "bob@acme.io", "Finance analyst"),
        ("e3", "form_submitted", "cy@gmail.com", "Engineer"),
    ];
    for (id, signal, email, title) in people {
        let body = json!({"id": id, "type": signal, "occurred_at": occurred, "email": email,
                          "profile": {"job_title": title}})
        .to_string();
        let ts = time::OffsetDateTime::now_utc().unix_timestamp();
        let signed = leadscore::sign::sign(SECRET, &format!("m{id}"), ts, body.as_bytes()).unwrap();
        let mut headers: Vec<(&str, String)> = signed.lines().to_vec();
        headers.push(("content-type", "application/json".to_string()));
        let (status, _) = call(
            &app,
            request("POST", "/webhooks/forms/json", "", &headers, &body),
        )
        .await;
        assert_eq!(status, 200);
    }
    // Before any hand-off, no account exists: webhooks never write one.
    let auth = [("authorization", "Bearer k".to_string())];
    let (_, empty) = call(&app, request("GET", "/accounts", "", &auth, "")).await;
    assert_eq!(empty["accounts"], json!([]));

    let notifier = Notifier::new(
        store.clone(),
        DEFAULT_RULES_TOML,
        Destinations::new(Vec::new(), Arc::new(NoParking)),
        "https://api.example.com",
    )
    .unwrap();
    notifier.daily(now()).await.unwrap();

    let api = api();
    let (status, list) = call(&app, request("GET", "/accounts", "sort=score", &auth, "")).await;
    assert_eq!(status, 200);
    assert_valid_get(&api, "/accounts", 200, &list);
    let accounts = list["accounts"].as_array().unwrap();
    assert_eq!(
        accounts.len(),
        1,
        "gmail.com never makes an account: {list}"
    );
    let (status, acme) = call(&app, request("GET", "/accounts/acme.io", "", &auth, "")).await;
    assert_eq!(status, 200);
    assert_valid_get(&api, "/accounts/{domain}", 200, &acme);
    assert_eq!(acme["contacts"], 2);
    assert_eq!(acme["stage"], "sql", "the furthest stage of its leads");
    let roles: Vec<&str> = acme["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    assert!(
        roles.contains(&"decision_maker")
            && roles.contains(&"finance")
            && roles.contains(&"technical"),
        "{acme}"
    );
    assert!(acme["missing_roles"]
        .as_array()
        .unwrap()
        .contains(&json!("user")));
    let (status, gmail) = call(&app, request("GET", "/accounts/gmail.com", "", &auth, "")).await;
    assert_eq!(status, 404);
    assert_valid_get(&api, "/accounts/{domain}", 404, &gmail);

    let (status, segments) = call(&app, request("GET", "/segments", "", &auth, "")).await;
    assert_eq!(status, 200);
    assert_valid_get(&api, "/segments", 200, &segments);
    let (status, nurture) = call(
        &app,
        request("GET", "/segments/nurture", "limit=100", &auth, ""),
    )
    .await;
    assert_eq!(status, 200);
    assert_valid_get(&api, "/segments/{name}", 200, &nurture);
    let emails: Vec<&str> = nurture["leads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["email"].as_str().unwrap())
        .collect();
    // The SQL is for sales, not nurturing; the two leads are.
    assert!(
        emails.contains(&"bob@acme.io") && emails.contains(&"cy@gmail.com"),
        "{nurture}"
    );
    assert!(!emails.contains(&"ada@acme.io"), "{nurture}");
    let (status, unknown) = call(&app, request("GET", "/segments/none", "", &auth, "")).await;
    assert_eq!(status, 404);
    assert_valid_get(&api, "/segments/{name}", 404, &unknown);
}
