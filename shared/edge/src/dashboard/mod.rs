//! `GET /dashboard` and `GET /dashboard/{asset}`: the sales dashboard, a static page (HTML, CSS
//! and a few small script modules compiled in) that reads the JSON API with the API key the
//! user types.
//!
//! The page itself is public: it holds no data. Everything it shows comes from the API, with
//! `authorization: Bearer <key>` (kept in the tab's sessionStorage), and is put in the page
//! as text (`textContent`), never as markup. The Content-Security-Policy below forbids any
//! script or style but these files, so even a bug there could not run what a lead sent.

use crate::{error_response, header, ApiError, App};
use lambda_http::{Body, Request, RequestExt, Response};
use sha2::{Digest, Sha256};

/// Sent with every dashboard answer. No inline script or style, nothing from elsewhere, no
/// framing; the script talks to this API only.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; \
     form-action 'self'; frame-ancestors 'none'";

/// One file of the dashboard.
struct Asset {
    /// The `{asset}` of the path; the page itself is `None`.
    name: Option<&'static str>,
    content_type: &'static str,
    body: &'static str,
}

/// A module script must come with a JavaScript type: a browser refuses to run it otherwise.
const JS: &str = "text/javascript; charset=utf-8";

/// One script module.
const fn js(name: &'static str, body: &'static str) -> Asset {
    Asset {
        name: Some(name),
        content_type: JS,
        body,
    }
}

/// The page first, then its files: the style, and the script in modules, `app.js` the entry
/// `index.html` loads and the others imported by `./name.js` (the tests check each import
/// names one of these, and each module is imported).
const ASSETS: [Asset; 10] = [
    Asset {
        name: None,
        content_type: "text/html; charset=utf-8",
        body: include_str!("index.html"),
    },
    js("app.js", include_str!("app.js")),
    Asset {
        name: Some("app.css"),
        content_type: "text/css; charset=utf-8",
        body: include_str!("app.css"),
    },
    js("dom.js", include_str!("dom.js")),
    js("api.js", include_str!("api.js")),
    js("view.js", include_str!("view.js")),
    js("lists.js", include_str!("lists.js")),
    js("lead.js", include_str!("lead.js")),
    js("accounts.js", include_str!("accounts.js")),
    js("insights.js", include_str!("insights.js")),
];

/// The page (`asset` = None) or one of its files, with its ETag; 304 when `If-None-Match`
/// names it. `no-cache`: a browser revalidates (a 304 costs no body), so a deployed change
/// shows at once without versioned file names.
pub(crate) async fn page(
    _app: &App,
    req: &Request,
    asset: Option<&str>,
) -> Result<Response<Body>, ApiError> {
    if asset.is_none() && req.raw_http_path().ends_with('/') {
        // `/dashboard/`: the page's files and the API are named relative to `/dashboard`.
        return Response::builder()
            .status(308)
            .header("location", "../dashboard")
            .body(Body::Empty)
            .map(secured)
            .map_err(|e| ApiError::Internal(e.to_string()));
    }
    let Some(found) = ASSETS.iter().find(|a| a.name == asset) else {
        let names: Vec<&str> = ASSETS.iter().filter_map(|a| a.name).collect();
        let missing = ApiError::NotFound(format!(
            "no dashboard asset {:?} (there are {})",
            asset.unwrap_or_default(),
            names.join(", ")
        ));
        return Ok(secured(error_response(&missing)));
    };
    let tag = etag(found.body);
    let builder = Response::builder()
        .header("etag", &tag)
        .header("cache-control", "no-cache");
    let response = if if_none_match(req, &tag) {
        builder.status(304).body(Body::Empty)
    } else {
        builder
            .status(200)
            .header("content-type", found.content_type)
            .body(Body::from(found.body))
    };
    response
        .map(secured)
        .map_err(|e| ApiError::Internal(e.to_string()))
}

/// The security headers every dashboard answer carries, the 404 of an unknown file too.
fn secured(mut response: Response<Body>) -> Response<Body> {
    let headers = response.headers_mut();
    for (name, value) in [
        ("content-security-policy", CONTENT_SECURITY_POLICY),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "no-referrer"),
        ("x-frame-options", "DENY"),
        ("cross-origin-opener-policy", "same-origin"),
    ] {
        headers.insert(name, http::HeaderValue::from_static(value));
    }
    response
}

/// A strong tag: the files are fixed for a build.
fn etag(body: &str) -> String {
    let digest = Sha256::digest(body.as_bytes());
    format!("\"{}\"", hex::encode(&digest[..12]))
}

fn if_none_match(req: &Request, tag: &str) -> bool {
    header(req, "if-none-match").is_some_and(|h| {
        h.split(',')
            .map(|t| t.trim().trim_start_matches("W/"))
            .any(|t| t == "*" || t == tag)
    })
}

#[cfg(test)]
mod tests;
