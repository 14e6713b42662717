//! `leadscore serve` end to end over real HTTP: the Lambda handlers behind the local server,
//! the embedded store on disk, and the route table of template.yaml.

mod common;

use leadscore::serve::{build, local_routes};
use leadscore::sign;

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const KEY: &str = "local-key";

async fn spawn(data: &std::path::Path) -> std::net::SocketAddr {
    let vars = vec![
        ("LEADSCORE_SECRET_JSON".to_string(), SECRET.to_string()),
        ("LEADSCORE_API_KEYS".to_string(), KEY.to_string()),
    ];
    let router = build(data, leadscore_scoring::DEFAULT_RULES_TOML, vars).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(leadscore::server::serve(listener, router));
    addr
}

fn signed_headers(id: &str, body: &[u8]) -> Vec<(String, String)> {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let signed = sign::sign(SECRET, id, now, body).unwrap();
    let mut headers: Vec<(String, String)> = signed
        .lines()
        .iter()
        .map(|(n, v)| (n.to_string(), v.clone()))
        .collect();
    headers.push(("content-type".into(), "application/json".into()));
    headers
}

#[tokio::test]
async fn a_signed_event_lands_and_the_lead_reads_back_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let body = br#"{"id":"evt_1","type":"demo_requested","occurred_at":"2026-11-22T10:00:00Z","email":"ada@example.com","profile":{"job_title":"CTO"}}"#;
    let headers = signed_headers("msg_1", body);
    let h: Vec<(&str, &str)> = headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    {
        let addr = spawn(dir.path()).await;
        let reply = common::send(addr, "POST", "/webhooks/forms/json", &h, body).await;
        assert_eq!(
            reply.status,
            200,
            "{}",
            String::from_utf8_lossy(&reply.body)
        );
        assert_eq!(
            reply.json(),
            serde_json::json!({"accepted":1,"duplicates":0,"ignored":0})
        );
    }
    // The embedded store holds a file lock: the first server's store is dropped with its
    // runtime only at process end, so a second server gets its own copy of the data dir.
    let copy = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), copy.path().join(entry.file_name())).unwrap();
    }
    let addr = spawn(copy.path()).await;
    let auth = format!("Bearer {KEY}");
    let reply = common::send(
        addr,
        "GET",
        "/leads/ada%40example.com",
        &[("authorization", &auth)],
        b"",
    )
    .await;
    assert_eq!(reply.status, 200);
    let doc = reply.json();
    assert_eq!(doc["stage"], "sql");
    assert_eq!(doc["email"], "ada@example.com");
    let again = common::send(addr, "POST", "/webhooks/forms/json", &h, body).await;
    assert_eq!(again.json()["duplicates"], 1);
}

#[tokio::test]
async fn the_local_server_serves_exactly_the_template_routes() {
    let dir = tempfile::tempdir().unwrap();
    let addr = spawn(dir.path()).await;
    let routes = local_routes().unwrap();
    assert_eq!(routes.len(), 17);
    for (method, path) in &routes {
        let concrete = path
            .replace("{source}", "json")
            .replace("{lead}", "ada%40example.com")
            .replace("{asset}", "app.js")
            .replace("{domain}", "acme.io")
            .replace("{name}", "nurture");
        let reply = common::send(addr, method, &concrete, &[], b"").await;
        if path.starts_with("/dashboard") {
            // The page and its assets need no key: the data they fetch does.
            assert_eq!(reply.status, 200, "{method} {path}");
            continue;
        }
        // Routed: our handler answered (API Gateway's own 404 body is {"message":"Not Found"}).
        if method != "HEAD" {
            assert!(
                reply.json().get("error").is_some(),
                "{method} {path}: {}",
                String::from_utf8_lossy(&reply.body)
            );
        }
        assert_ne!(reply.status, 404, "{method} {path} was not routed");
    }
    // html has its own route, which wins over {source} as in API Gateway: the handler gets
    // the literal route key (and no path parameter).
    let local: Vec<(&str, &str)> = routes
        .iter()
        .map(|(m, p)| (m.as_str(), p.as_str()))
        .collect();
    let html = leadscore::apigw::match_route(local.iter().copied(), "POST", "/webhooks/forms/html")
        .unwrap();
    assert_eq!(html.route_key, "POST /webhooks/forms/html");
    assert!(html.params.is_empty());
    let reply = common::send(addr, "POST", "/webhooks/forms/html", &[], b"").await;
    assert_eq!(
        reply.status, 401,
        "html without LEADSCORE_ALLOWED_ORIGINS is closed"
    );
    assert!(
        reply.json()["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("LEADSCORE_ALLOWED_ORIGINS"),
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    for (method, path) in [
        ("PUT", "/leads/x"),
        ("GET", "/webhooks/forms/json"),
        ("GET", "/nowhere"),
    ] {
        let reply = common::send(addr, method, path, &[], b"").await;
        assert_eq!(reply.status, 404, "{method} {path}");
        assert_eq!(reply.json(), serde_json::json!({"message": "Not Found"}));
    }
}

#[test]
fn a_local_store_keeps_its_lead_id_key_with_its_data() {
    std::env::remove_var(leadscore_edge::LEAD_ID_KEY_VAR);
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let key = leadscore::serve::local_lead_id_key(&data).unwrap();
    assert_eq!(key.len(), 64, "32 random bytes, hex");
    assert_eq!(leadscore::serve::local_lead_id_key(&data).unwrap(), key);
    let other = tempfile::tempdir().unwrap();
    assert_ne!(
        leadscore::serve::local_lead_id_key(other.path()).unwrap(),
        key,
        "each store draws its own"
    );
}
