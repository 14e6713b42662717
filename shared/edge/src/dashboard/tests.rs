//! The dashboard's answers through `route` (headers, types, tags, 404) and what its files
//! may not contain under the Content-Security-Policy.

use super::{ASSETS, CONTENT_SECURITY_POLICY};
use crate::{route, App};
use lambda_http::{Body, Request, Response};
use leadscore_scoring::DEFAULT_RULES_TOML;
use leadscore_store::{Embedded, LeadStore};
use serde_json::{json, Value};
use std::sync::Arc;

fn app(dir: &tempfile::TempDir) -> App {
    let store: Arc<dyn LeadStore> = Arc::new(Embedded::open(dir.path()).unwrap());
    App::new(
        store,
        DEFAULT_RULES_TOML,
        vec![("LEADSCORE_API_KEYS".into(), "dashboard-test-key".into())],
    )
    .unwrap()
}

/// An API Gateway (payload 2.0) GET, as the function receives it.
fn get(path: &str, headers: &[(&str, &str)]) -> Request {
    let headers: serde_json::Map<String, Value> = headers
        .iter()
        .map(|(n, v)| (n.to_string(), json!(v)))
        .chain([("host".to_string(), json!("api.example.com"))])
        .collect();
    let event = json!({
        "version": "2.0",
        "routeKey": "GET /dashboard",
        "rawPath": path,
        "rawQueryString": "",
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012", "apiId": "abc123",
            "domainName": "api.example.com", "domainPrefix": "api",
            "http": { "method": "GET", "path": path, "protocol": "HTTP/1.1",
                      "sourceIp": "203.0.113.9", "userAgent": "test" },
            "requestId": "r1", "routeKey": "GET /dashboard", "stage": "$default",
            "time": "22/Nov/2026:10:00:00 +0000", "timeEpoch": 1_795_341_600_000_i64
        },
        "isBase64Encoded": false
    });
    lambda_http::request::from_str(&event.to_string()).unwrap()
}

async fn answer(path: &str, headers: &[(&str, &str)]) -> Response<Body> {
    let dir = tempfile::tempdir().unwrap();
    route(&app(&dir), get(path, headers)).await
}

fn header<'a>(response: &'a Response<Body>, name: &str) -> &'a str {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_else(|| panic!("no {name} header"))
}

fn text(response: &Response<Body>) -> String {
    String::from_utf8_lossy(response.body().as_ref()).into_owned()
}

#[tokio::test]
async fn every_file_has_its_type_the_policy_and_the_security_headers() {
    for (path, content_type) in [
        ("/dashboard", "text/html; charset=utf-8"),
        ("/dashboard/app.js", "text/javascript; charset=utf-8"),
        ("/dashboard/app.css", "text/css; charset=utf-8"),
    ] {
        let response = answer(path, &[]).await;
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(header(&response, "content-type"), content_type, "{path}");
        assert_eq!(
            header(&response, "content-security-policy"),
            CONTENT_SECURITY_POLICY
        );
        assert_eq!(header(&response, "x-content-type-options"), "nosniff");
        assert_eq!(header(&response, "referrer-policy"), "no-referrer");
        assert_eq!(header(&response, "cache-control"), "no-cache");
        assert!(header(&response, "etag").starts_with('"'), "{path}");
        assert!(!text(&response).is_empty());
    }
}

#[test]
fn the_policy_is_the_strict_one() {
    for directive in [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "connect-src 'self'",
        "img-src 'self' data:",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ] {
        assert!(
            CONTENT_SECURITY_POLICY
                .split(';')
                .any(|d| d.trim() == directive),
            "{directive} missing from {CONTENT_SECURITY_POLICY}"
        );
    }
    assert!(!CONTENT_SECURITY_POLICY.contains("unsafe"));
}

#[tokio::test]
async fn a_tag_the_browser_holds_answers_304_without_a_body() {
    let first = answer("/dashboard/app.js", &[]).await;
    let tag = header(&first, "etag").to_string();
    let again = answer("/dashboard/app.js", &[("if-none-match", &tag)]).await;
    assert_eq!(again.status(), 304);
    assert!(again.body().as_ref().is_empty());
    assert_eq!(
        header(&again, "content-security-policy"),
        CONTENT_SECURITY_POLICY
    );
    let other = answer("/dashboard/app.css", &[("if-none-match", &tag)]).await;
    assert_eq!(other.status(), 200, "another file's tag is not this one's");
}

#[tokio::test]
async fn an_unknown_file_is_the_api_s_json_404_with_the_headers_too() {
    for path in [
        "/dashboard/nope.js",
        "/dashboard/index.html",
        "/dashboard/..%2Fapp.js",
    ] {
        let response = answer(path, &[]).await;
        assert_eq!(response.status(), 404, "{path}");
        assert_eq!(header(&response, "content-type"), "application/json");
        let body: Value = serde_json::from_str(&text(&response)).unwrap();
        assert_eq!(body["error"]["code"], "not_found", "{path}");
        assert_eq!(
            header(&response, "content-security-policy"),
            CONTENT_SECURITY_POLICY
        );
        assert_eq!(header(&response, "x-content-type-options"), "nosniff");
    }
}

#[tokio::test]
async fn the_page_needs_no_key_but_the_data_does() {
    // The page holds no data; what it shows comes from the API with the user's key.
    assert_eq!(answer("/dashboard", &[]).await.status(), 200);
    assert_eq!(answer("/leads", &[]).await.status(), 401);
}

/// The attributes of every tag of `html` (a simple scan: our own file, not arbitrary HTML).
fn tags(html: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find('<') {
        let after = &rest[start + 1..];
        let end = after.find('>').unwrap_or(after.len());
        let inside = &after[..end];
        if !inside.starts_with('!') && !inside.starts_with('/') {
            let name: String = inside
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric())
                .collect();
            out.push((name.to_ascii_lowercase(), inside.to_string()));
        }
        rest = &after[end.min(after.len())..];
    }
    out
}

/// Attribute names of a tag's text (`name=` or a bare name), lower-cased.
fn attribute_names(tag: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut quoted: Option<char> = None;
    let mut word = String::new();
    for c in tag.chars().chain([' ']) {
        match quoted {
            Some(q) if c == q => quoted = None,
            Some(_) => {}
            None if c == '"' || c == '\'' => quoted = Some(c),
            None if c.is_whitespace() || c == '=' || c == '/' => {
                if !word.is_empty() {
                    names.push(word.to_ascii_lowercase());
                    word.clear();
                }
            }
            None => word.push(c),
        }
    }
    names.into_iter().skip(1).collect()
}

#[test]
fn the_page_has_no_inline_script_style_or_handler() {
    let index = ASSETS[0].body;
    let tags = tags(index);
    assert!(tags.iter().any(|(n, _)| n == "script"));
    for (name, tag) in &tags {
        let attributes = attribute_names(tag);
        if name == "script" {
            assert!(
                attributes.iter().any(|a| a == "src"),
                "an inline <script>: {tag}"
            );
        }
        assert!(name != "style", "an inline <style> element");
        for attribute in &attributes {
            assert!(attribute != "style", "a style= attribute: <{tag}>");
            assert!(
                !attribute.starts_with("on"),
                "an event handler attribute: <{tag}>"
            );
        }
        assert!(!tag.contains("javascript:"), "a javascript: URL in <{tag}>");
    }
    for url in ["http://", "https://", "src=\"//", "href=\"//"] {
        assert!(!index.contains(url), "index.html refers to {url}");
    }
    // Every script is one of ours, so a src names one of the assets.
    for (name, tag) in tags.iter().filter(|(n, _)| n == "script" || n == "link") {
        assert!(
            tag.contains("dashboard/app.js")
                || tag.contains("dashboard/app.css")
                || tag.contains("data:,"),
            "<{name}> loads something other than the dashboard's files: {tag}"
        );
    }
}

#[test]
fn the_script_never_writes_markup() {
    let script = ASSETS[1].body;
    for sink in [
        "innerHTML",
        "outerHTML",
        "insertAdjacentHTML",
        "document.write",
        "eval(",
        "new Function",
        "setAttribute('on",
        "setAttribute(\"on",
    ] {
        assert!(!script.contains(sink), "app.js uses {sink}");
    }
}

#[test]
fn the_script_and_style_fetch_nothing_from_elsewhere() {
    for asset in &ASSETS[1..] {
        // The SVG namespace is a name, not something fetched.
        let body = asset.body.replace("http://www.w3.org/2000/svg", "");
        for url in ["http://", "https://", "@import", "url("] {
            assert!(!body.contains(url), "{:?} refers to {url}", asset.name);
        }
    }
}

#[tokio::test]
async fn a_trailing_slash_goes_back_to_the_page_its_relative_links_expect() {
    let response = answer("/dashboard/", &[]).await;
    assert_eq!(response.status(), 308);
    assert_eq!(header(&response, "location"), "../dashboard");
}
