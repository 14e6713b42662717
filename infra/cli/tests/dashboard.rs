//! The dashboard in a real browser: `leadscore serve` with a few leads (an SQL by a demo
//! request, an MQL by engagement, an html form carrying script and markup payloads), driven
//! through headless Chromium (chromedriver's WebDriver API, `tests/browser`). Screenshots of
//! each step, at a desktop and a phone size, go to `target/dashboard-screenshots/`.
//!
//! Chromium missing is a failure, not a skip: `infra/scripts/test` installs it.

mod browser;
mod common;

use std::net::SocketAddr;
use std::path::PathBuf;

use leadscore::serve::build;
use leadscore::sign;
use leadscore_scoring::Timestamp;
use serde_json::{json, Value};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const KEY: &str = "dashboard-test-key-1";
const ORIGIN: &str = "https://www.example.com";
/// What the html form's fields try to run: each would set the title and a window variable.
const SCRIPT: &str = "<script>window.__pwned='script';document.title='pwned'</script>";
const IMG: &str = "<img src=x onerror=\"window.__pwned='img';document.title='pwned'\">";
const ENTER: &str = "\u{E007}";

fn screenshots() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    target.join("dashboard-screenshots")
}

async fn spawn(data: &std::path::Path) -> SocketAddr {
    let vars = vec![
        ("LEADSCORE_SECRET_JSON".to_string(), SECRET.to_string()),
        (
            "LEADSCORE_API_KEYS".to_string(),
            format!("sales:write:{KEY}"),
        ),
        ("LEADSCORE_ALLOWED_ORIGINS".to_string(), ORIGIN.to_string()),
    ];
    let router = build(data, leadscore_scoring::DEFAULT_RULES_TOML, vars).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(leadscore::server::serve(listener, router));
    addr
}

fn hours_ago(hours: i64) -> String {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    Timestamp::from_unix_seconds(now - hours * 3600).to_rfc3339()
}

/// Signed json events (an array), as a provider would post them.
async fn post_events(addr: SocketAddr, msg: &str, events: &Value) {
    let body = events.to_string();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let signed = sign::sign(SECRET, msg, now, body.as_bytes()).unwrap();
    let lines = signed.lines();
    let mut headers: Vec<(&str, &str)> = lines.iter().map(|(n, v)| (*n, v.as_str())).collect();
    headers.push(("content-type", "application/json"));
    let reply = common::send(
        addr,
        "POST",
        "/webhooks/forms/json",
        &headers,
        body.as_bytes(),
    )
    .await;
    assert_eq!(
        reply.status,
        200,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
}

fn urlencode(pairs: &[(&str, &str)]) -> String {
    let enc = |s: &str| {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

async fn seed(addr: SocketAddr) {
    // An SQL by a demo request.
    post_events(
        addr,
        "msg_ada",
        &json!([{"id": "ada-demo", "type": "demo_requested", "occurred_at": hours_ago(3),
                 "email": "ada@acme.com",
                 "profile": {"job_title": "CTO", "company": "Acme", "company_size": 250, "country": "FR"}}]),
    )
    .await;
    // An MQL by engagement: 10 + 4 x 8 + 5 + 2 x 8 = 63 points, over the 50 of the rules.
    let mut bob = vec![
        json!({"id": "bob-news", "type": "newsletter_subscribed", "occurred_at": hours_ago(60), "email": "bob@globex.com",
               "profile": {"job_title": "Head of Operations", "company": "Globex"}}),
        json!({"id": "bob-follow", "type": "social_followed", "occurred_at": hours_ago(59), "email": "bob@globex.com"}),
    ];
    for n in 0..4 {
        bob.push(
            json!({"id": format!("bob-dl-{n}"), "type": "content_downloaded",
                        "occurred_at": hours_ago(58 - n), "email": "bob@globex.com"}),
        );
    }
    for n in 0..2 {
        bob.push(
            json!({"id": format!("bob-video-{n}"), "type": "demo_video_watched",
                        "occurred_at": hours_ago(53 - n), "email": "bob@globex.com"}),
        );
    }
    post_events(addr, "msg_bob", &Value::Array(bob)).await;
    // A lead, not yet an MQL.
    post_events(
        addr,
        "msg_carol",
        &json!([{"id": "carol-news", "type": "newsletter_subscribed", "occurred_at": hours_ago(1), "email": "carol@initech.com"}]),
    )
    .await;
    // A plain html form (a demo request: an SQL) whose answers are markup and script.
    let form = urlencode(&[
        ("form_name", "Request a demo"),
        ("email", "mallory@example.org"),
        ("first_name", IMG),
        ("company", SCRIPT),
        ("message", &format!("{SCRIPT} and {IMG}")),
    ]);
    let reply = common::send(
        addr,
        "POST",
        "/webhooks/forms/html",
        &[
            ("content-type", "application/x-www-form-urlencoded"),
            ("origin", ORIGIN),
        ],
        form.as_bytes(),
    )
    .await;
    assert_eq!(
        reply.status,
        200,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    // The form and the demo request it names: two events.
    assert!(
        reply.json()["accepted"].as_u64() >= Some(1),
        "{}",
        reply.json()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_shows_the_funnel_a_lead_escaped_and_records_a_call() {
    let dir = tempfile::tempdir().unwrap();
    let addr = spawn(dir.path()).await;
    seed(addr).await;
    let base = format!("http://{addr}");
    let shots = screenshots();

    // `/` is the dashboard, served with its policy.
    let root = common::send(addr, "GET", "/", &[], b"").await;
    assert_eq!(root.status, 302);
    assert_eq!(root.header("location"), Some("/dashboard"));
    let page = common::send(addr, "GET", "/dashboard", &[], b"").await;
    assert_eq!(page.status, 200);
    assert!(page
        .header("content-security-policy")
        .is_some_and(|csp| csp.contains("script-src 'self'")));

    let driver = browser::Driver::start().await;
    let web = driver.session(1280, 900).await;
    web.goto(&format!("{base}/")).await;
    assert!(
        web.url().await.ends_with("/dashboard"),
        "/ did not redirect"
    );

    // The key, typed once (Enter submits the form).
    let input = web.find("#key-input").await;
    web.screenshot(&shots, "01-key").await;
    web.type_into(&input, &format!("{KEY}{ENTER}")).await;
    web.wait_text(".funnel", "SQL").await;
    web.wait_text("table", "mallory@example.org").await;
    web.wait_text("table", "bob@globex.com").await;
    web.screenshot(&shots, "02-overview").await;
    let stored = web
        .run(
            "return sessionStorage.getItem('leadscore.apiKey')",
            json!([]),
        )
        .await;
    assert_eq!(stored, json!(KEY), "the key is kept for the tab");

    // The SLA form keeps its hours and draws the overview again (a page module reaches the
    // routes through view.js's render, which app.js hands over at start).
    web.run(
        "const v = document.getElementById('view'); const p = document.createElement('p'); \
         p.className = 'drawn-before'; v.firstChild.append(p); \
         document.getElementById('sla-hours').value = '';",
        json!([]),
    )
    .await;
    let hours = web.find("#sla-hours").await;
    web.type_into(&hours, &format!("12{ENTER}")).await;
    let redrawn = "return !document.querySelector('.drawn-before') \
                   && document.getElementById('sla-hours')?.value === '12' \
                   && sessionStorage.getItem('leadscore.slaHours') === '12';";
    web.wait_until(
        redrawn,
        "the SLA form keeps 12 hours and draws the overview again",
    )
    .await;
    web.wait_text("table", "bob@globex.com").await;

    // The funnel's SQL bar lists the SQLs; one of them is the html form's lead.
    let sql = web.find(".funnel a[href='#/stage/sql']").await;
    web.click(&sql).await;
    web.wait_text("h1", "SQLs").await;
    web.wait_text("table", "ada@acme.com").await;
    web.screenshot(&shots, "03-sqls").await;
    let mallory = web.link("mallory@example.org").await;
    web.click(&mallory).await;
    web.wait_text("#profile", "<script>").await;
    web.wait_text("#timeline", "demo_requested").await;
    web.screenshot(&shots, "04-lead-with-payloads").await;
    let profile = web.find("#profile").await;
    let shown = web.text(&profile).await;
    assert!(
        shown.contains(SCRIPT),
        "the script is shown as text: {shown}"
    );
    assert!(shown.contains(IMG), "the img tag is shown as text: {shown}");
    let effects = web
        .run(
            "return [window.__pwned === undefined ? null : window.__pwned, document.title, \
             document.querySelectorAll('#view script, #view img, #view iframe').length];",
            json!([]),
        )
        .await;
    assert_eq!(
        effects,
        json!([null, "leadscore · mallory@example.org", 0]),
        "a payload ran or became markup"
    );

    // The MQL: a phone call's BANT answers, then sales accept it.
    let mqls = web.link("MQLs").await;
    web.click(&mqls).await;
    let bob = web.link("bob@globex.com").await;
    web.click(&bob).await;
    web.wait_text("#lead-stage", "MQL").await;
    let budget = web.find("#bant-budget").await;
    web.type_into(&budget, "5000").await;
    let need = web.find("#bant-need").await;
    web.type_into(&need, "replace spreadsheets").await;
    let timeline = web.find("#bant-timeline").await;
    web.type_into(&timeline, &format!("3{ENTER}")).await;
    web.wait_text(".success", "stays MQL").await;
    web.wait_text(".facts", "replace spreadsheets").await;
    web.screenshot(&shots, "05-bant-recorded").await;

    let record = web.find("#decision-form button[type=submit]").await;
    web.click(&record).await; // "accept" is the first action
    web.wait_text(".success", "moved from MQL to SQL").await;
    web.wait_text("#lead-stage", "SQL").await;
    web.wait_text("table", "sales: accepted").await;
    web.screenshot(&shots, "06-accepted").await;
    // Accepting again is refused by the API: the page says what the stage allows.
    let record = web.find("#decision-form button[type=submit]").await;
    web.click(&record).await;
    web.wait_text("#decision-form .error", "Allowed now").await;
    web.screenshot(&shots, "07-refused").await;

    // The API answered the page's calls with the lead as the store has it.
    let auth = format!("Bearer {KEY}");
    let lead = common::send(
        addr,
        "GET",
        "/leads/bob%40globex.com",
        &[("authorization", &auth)],
        b"",
    )
    .await
    .json();
    assert_eq!(lead["stage"], "sql");
    assert_eq!(lead["bant"]["budget"]["value"], 5000);

    // The other pages load without an error (accounts and segments may still be empty).
    for (nav, heading, shot) in [
        ("Insights", "Conversion between stages", "08-insights"),
        ("Accounts", "By score", "09-accounts"),
        ("Segments", "Segments", "10-segments"),
    ] {
        let link = web.link(nav).await;
        web.click(&link).await;
        web.wait_text("#view h1, #view h2", heading).await;
        web.screenshot(&shots, shot).await;
        let failed = web
            .run("return Array.from(document.querySelectorAll('#view .alert')).map(e => e.textContent);", json!([]))
            .await;
        assert_eq!(failed, json!([]), "{nav} shows an error");
    }

    // A phone: the same pages, no sideways scrolling of the page.
    web.resize(390, 844).await;
    web.goto(&format!("{base}/dashboard#/")).await;
    web.wait_text(".funnel", "MQL").await;
    web.wait_text("table", "ada@acme.com").await;
    web.screenshot(&shots, "11-phone-overview").await;
    let fits = "return document.documentElement.scrollWidth <= window.innerWidth + 1;";
    assert_eq!(
        web.run(fits, json!([])).await,
        json!(true),
        "the overview overflows a phone"
    );
    let bob = web.link("bob@globex.com").await;
    web.click(&bob).await;
    web.wait_text("#lead-stage", "SQL").await;
    web.screenshot(&shots, "12-phone-lead").await;
    assert_eq!(
        web.run(fits, json!([])).await,
        json!(true),
        "the lead page overflows a phone"
    );

    // The console: no policy violation, no script error.
    match web.browser_log().await {
        Ok(entries) => {
            let bad: Vec<&Value> = entries
                .iter()
                .filter(|e| {
                    let m = e["message"].as_str().unwrap_or_default();
                    // The refused accept above is a 409 the page asked for and showed.
                    let expected = m.contains("status of 409");
                    (e["level"] == "SEVERE" && !expected)
                        || m.contains("Content Security Policy")
                        || m.contains("Refused to")
                })
                .collect();
            assert!(bad.is_empty(), "the browser logged: {bad:?}");
        }
        Err(e) => panic!("chromedriver gave no browser log: {e}"),
    }

    // A wrong key: asked again, with the API's reason.
    web.run(
        "sessionStorage.setItem('leadscore.apiKey', 'wrong');",
        json!([]),
    )
    .await;
    web.goto(&format!("{base}/dashboard")).await;
    web.wait_text("#key-message", "refused the key").await;
    web.screenshot(&shots, "13-phone-wrong-key").await;
    web.close().await;
}
