//! The dashboard's answers through `route` (headers, types, tags, 404), what its files may
//! not contain under the Content-Security-Policy, and that its script's modules import one
//! another only (a missing module fails here, not in a browser).

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

/// The script's modules: every JavaScript asset, by name.
fn scripts() -> impl Iterator<Item = (&'static str, &'static str)> {
    ASSETS
        .iter()
        .filter(|a| a.content_type.starts_with("text/javascript"))
        .map(|a| (a.name.expect("a script has a name"), a.body))
}

#[tokio::test]
async fn every_file_has_its_type_the_policy_and_the_security_headers() {
    for asset in &ASSETS {
        let path = match asset.name {
            None => "/dashboard".to_string(),
            Some(name) => format!("/dashboard/{name}"),
        };
        // A module with another type is refused by the browser: the type follows the name.
        let content_type = match asset.name.and_then(|n| n.rsplit_once('.')) {
            None => "text/html; charset=utf-8",
            Some((_, "js")) => "text/javascript; charset=utf-8",
            Some((_, "css")) => "text/css; charset=utf-8",
            Some(_) => panic!("{path}: neither a script nor a style"),
        };
        let response = answer(&path, &[]).await;
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
        assert_eq!(text(&response), asset.body, "{path}");
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
        // The message lists the files there are.
        let message = body["error"]["message"].as_str().unwrap_or_default();
        for name in ASSETS.iter().filter_map(|a| a.name) {
            assert!(message.contains(name), "{path}: {message} omits {name}");
        }
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
    // Every script and style is one of ours, so a src or href names one of the assets.
    let ours: Vec<String> = ASSETS
        .iter()
        .filter_map(|a| a.name)
        .map(|n| format!("\"dashboard/{n}\""))
        .collect();
    for (name, tag) in tags.iter().filter(|(n, _)| n == "script" || n == "link") {
        assert!(
            ours.iter().any(|o| tag.contains(o.as_str())) || tag.contains("data:,"),
            "<{name}> loads something other than the dashboard's files: {tag}"
        );
    }
    // One script, the entry; a module (`import` is a syntax error in a classic script), which
    // runs once the page is parsed as `defer` would.
    let loaded: Vec<&String> = tags
        .iter()
        .filter(|(n, _)| n == "script")
        .map(|(_, t)| t)
        .collect();
    assert_eq!(loaded.len(), 1, "{loaded:?}");
    assert!(
        loaded[0].contains("type=\"module\"") && loaded[0].contains("src=\"dashboard/app.js\""),
        "the entry is not loaded as a module: <{}>",
        loaded[0]
    );
}

#[test]
fn no_script_writes_markup() {
    let mut checked = 0;
    for (name, script) in scripts() {
        checked += 1;
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
            assert!(!script.contains(sink), "{name} uses {sink}");
        }
    }
    assert!(checked > 1, "{checked} script(s) found among the assets");
}

/// The specifiers of a module's static imports (`import ... from '...'`, `import '...'`,
/// `export ... from '...'`): the quoted text ending each statement that starts a line with
/// `import` or a re-export (a simple scan of our own files, written that way).
fn imports(script: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let starts = std::iter::once(0).chain(script.match_indices('\n').map(|(i, _)| i + 1));
    for start in starts {
        let rest = &script[start..];
        let is_import = rest.starts_with("import ") || rest.starts_with("import{");
        let is_export = ["export {", "export{", "export *"]
            .iter()
            .any(|p| rest.starts_with(p));
        if !is_import && !is_export {
            continue;
        }
        let statement = rest[..rest.find(';').unwrap_or(rest.len())].trim_end();
        let quoted = statement
            .strip_suffix(['\'', '"'])
            .and_then(|s| s.rfind(['\'', '"']).map(|q| &s[q + 1..]));
        match quoted {
            Some(specifier) => out.push(specifier),
            None if is_export => {} // `export { a, b };`: names of this module
            None => panic!("an import this scan cannot read: {statement}"),
        }
    }
    out
}

#[test]
fn every_import_names_one_of_the_modules_and_every_module_is_imported() {
    assert_eq!(
        imports(
            "import { a,\n  b } from './x.js';\nimport \"./y.js\";\nexport * from './z.js';\n\
             export { c };\nconst s = 'import ' + \"from './no.js'\";\n"
        ),
        ["./x.js", "./y.js", "./z.js"],
        "the scan itself"
    );
    let modules: Vec<&str> = scripts().map(|(name, _)| name).collect();
    let mut imported = vec!["app.js"]; // the entry: index.html loads it
    for (name, script) in scripts() {
        for specifier in imports(script) {
            // A bare name or a URL is not served here, nor allowed by the policy.
            let target = specifier.strip_prefix("./").unwrap_or_else(|| {
                panic!("{name} imports {specifier:?}: not ./ and one of {modules:?}")
            });
            assert!(
                modules.contains(&target),
                "{name} imports {specifier}, which is not one of {modules:?}"
            );
            imported.push(target);
        }
        // A dynamic import would escape the scan above; the page needs none.
        assert!(!script.contains("import("), "{name} imports dynamically");
    }
    for module in &modules {
        assert!(
            imported.contains(module),
            "{module} is served but no module imports it"
        );
    }
    let entry = scripts().find(|(n, _)| *n == "app.js").map(|(_, s)| s);
    assert!(
        imports(entry.unwrap_or_default()).len() > 1,
        "app.js imports the pages"
    );
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
