//! Turns a plain HTTP request into the API Gateway HTTP API (payload 2.0) request the Lambda
//! functions receive, so the local server runs the handlers on exactly what AWS sends: path
//! parameters, raw query string, source IP, joined headers and all. [`request`] builds the
//! typed event and hands it to lambda_http's own conversion (no JSON in between: the local
//! server's hot path); its tests hold it equal to the JSON event lambda_http reads in AWS.

/// A route template matched against a request path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matched {
    /// `METHOD /template`, API Gateway's `routeKey`.
    pub route_key: String,
    pub params: Vec<(String, String)>,
}

/// Matches like API Gateway: literal segments equal, `{name}` takes one non-empty segment,
/// the method must be the route's own (an HTTP API has no implicit HEAD or OPTIONS). When
/// several routes match, the most specific wins, as in API Gateway: a literal segment beats
/// a `{name}` at the first place they differ (`POST /webhooks/forms/html` over
/// `POST /webhooks/forms/{source}`), whatever the order of `routes`.
pub fn match_route<'a>(
    routes: impl IntoIterator<Item = (&'a str, &'a str)>,
    method: &str,
    path: &str,
) -> Option<Matched> {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let mut best: Option<(Vec<bool>, Matched)> = None;
    for (route_method, template) in routes {
        if !route_method.eq_ignore_ascii_case(method) {
            continue;
        }
        let parts: Vec<&str> = template.trim_start_matches('/').split('/').collect();
        if parts.len() != segments.len() {
            continue;
        }
        let mut params = Vec::new();
        let matched = parts.iter().zip(&segments).all(|(part, seg)| {
            match part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                Some(name) if !seg.is_empty() => {
                    params.push((name.to_string(), percent_decode(seg)));
                    true
                }
                Some(_) => false,
                None => part == seg,
            }
        });
        if !matched {
            continue;
        }
        let literal: Vec<bool> = parts.iter().map(|p| !p.starts_with('{')).collect();
        if best.as_ref().is_some_and(|(b, _)| *b >= literal) {
            continue;
        }
        best = Some((
            literal,
            Matched {
                route_key: format!("{} {}", route_method.to_ascii_uppercase(), template),
                params,
            },
        ));
    }
    best.map(|(_, m)| m)
}

/// API Gateway passes path parameters decoded (`ada%40example.com` -> `ada@example.com`).
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = |b: u8| (b as char).to_digit(16);
            if let (Some(hi), Some(lo)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((hi * 16 + lo) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Content types API Gateway passes as text; anything else arrives base64-encoded.
fn is_text(content_type: Option<&str>) -> bool {
    let Some(ct) = content_type else {
        return true;
    };
    let ct = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    ct.starts_with("text/")
        || ct == "application/json"
        || ct.ends_with("+json")
        || ct == "application/x-www-form-urlencoded"
        || ct == "application/xml"
        || ct.ends_with("+xml")
}

/// What the local server knows about one request.
pub struct HttpRequest<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub raw_query: &'a str,
    /// Header names lower-case, repeated headers in arrival order.
    pub headers: Vec<(String, String)>,
    pub body: &'a [u8],
    pub source_ip: String,
    /// Unix milliseconds.
    pub now_ms: i64,
    pub request_id: String,
}

/// The request the handlers get for `req`, matched to `route`: the payload 2.0 event, typed,
/// through lambda_http's conversion of API Gateway events (as a Lambda function reads it).
pub fn request(req: &HttpRequest<'_>, route: &Matched) -> lambda_http::Request {
    use lambda_http::aws_lambda_events::apigw::{
        ApiGatewayV2httpRequest, ApiGatewayV2httpRequestContext,
    };
    use lambda_http::http::{HeaderMap, HeaderName, HeaderValue, Method};
    let mut headers = HeaderMap::new();
    let mut cookies = Vec::new();
    for (name, value) in &req.headers {
        if name == "cookie" {
            cookies.extend(value.split("; ").map(str::to_string));
            continue;
        }
        let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) else {
            continue;
        };
        // API Gateway joins repeated headers with commas.
        let joined = match headers.get(&name) {
            Some(existing) => {
                let mut both = existing.as_bytes().to_vec();
                both.push(b',');
                both.extend_from_slice(value.as_bytes());
                HeaderValue::from_bytes(&both).unwrap_or(value)
            }
            None => value,
        };
        headers.insert(name, joined);
    }
    let header = |name: &str| {
        req.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };
    let mut context = ApiGatewayV2httpRequestContext::default();
    context.route_key = Some(route.route_key.clone());
    context.account_id = Some("000000000000".into());
    context.stage = Some("$default".into());
    context.request_id = Some(req.request_id.clone());
    context.apiid = Some("local".into());
    context.domain_name = Some(header("host").unwrap_or_else(|| "localhost".into()));
    context.domain_prefix = Some("local".into());
    context.time = Some(String::new());
    context.time_epoch = req.now_ms;
    context.http.method = Method::from_bytes(req.method.as_bytes()).unwrap_or(Method::GET);
    context.http.path = Some(req.path.to_string());
    context.http.protocol = Some("HTTP/1.1".into());
    context.http.source_ip = Some(req.source_ip.clone());
    context.http.user_agent = Some(header("user-agent").unwrap_or_default());
    let mut event = ApiGatewayV2httpRequest::default();
    event.version = Some("2.0".into());
    event.route_key = Some(route.route_key.clone());
    event.raw_path = Some(req.path.to_string());
    event.raw_query_string = Some(req.raw_query.to_string());
    event.cookies = (!cookies.is_empty()).then_some(cookies);
    event.headers = headers;
    event.path_parameters = route.params.iter().cloned().collect();
    event.request_context = context;
    let mut request: lambda_http::Request =
        lambda_http::request::LambdaRequest::ApiGatewayV2(event).into();
    // The body as API Gateway passes it: text for text types, else the bytes (what lambda_http
    // decodes from base64).
    let text_body = is_text(header("content-type").as_deref())
        .then(|| std::str::from_utf8(req.body).ok())
        .flatten();
    *request.body_mut() = match text_body {
        _ if req.body.is_empty() => lambda_http::Body::Empty,
        Some(text) => lambda_http::Body::Text(text.to_string()),
        None => lambda_http::Body::Binary(req.body.to_vec()),
    };
    request
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::{engine::general_purpose::STANDARD, Engine};
    use serde_json::{json, Map, Value};

    /// The same request as the JSON event API Gateway sends: what the typed path is held
    /// equal to.
    fn event(req: &HttpRequest<'_>, route: &Matched) -> Value {
        let mut headers = Map::new();
        let mut cookies = Vec::new();
        for (name, value) in &req.headers {
            if name == "cookie" {
                cookies.extend(value.split("; ").map(|c| Value::String(c.to_string())));
                continue;
            }
            // API Gateway joins repeated headers with commas.
            match headers.get_mut(name) {
                Some(Value::String(existing)) => {
                    existing.push(',');
                    existing.push_str(value);
                }
                _ => {
                    headers.insert(name.clone(), Value::String(value.clone()));
                }
            }
        }
        let content_type = req
            .headers
            .iter()
            .find(|(n, _)| n == "content-type")
            .map(|(_, v)| v.as_str());
        let user_agent = req
            .headers
            .iter()
            .find(|(n, _)| n == "user-agent")
            .map(|(_, v)| v.as_str())
            .unwrap_or("");
        let host = req
            .headers
            .iter()
            .find(|(n, _)| n == "host")
            .map(|(_, v)| v.as_str())
            .unwrap_or("localhost");
        let text_body = if is_text(content_type) {
            std::str::from_utf8(req.body).ok()
        } else {
            None
        };
        let (body, base64) = match text_body {
            _ if req.body.is_empty() => (Value::Null, false),
            Some(text) => (Value::String(text.to_string()), false),
            None => (Value::String(STANDARD.encode(req.body)), true),
        };
        let params: Map<String, Value> = route
            .params
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        let mut event = json!({
            "version": "2.0",
            "routeKey": route.route_key,
            "rawPath": req.path,
            "rawQueryString": req.raw_query,
            "headers": headers,
            "requestContext": {
                "accountId": "000000000000",
                "apiId": "local",
                "domainName": host,
                "domainPrefix": "local",
                "http": {
                    "method": req.method,
                    "path": req.path,
                    "protocol": "HTTP/1.1",
                    "sourceIp": req.source_ip,
                    "userAgent": user_agent,
                },
                "requestId": req.request_id,
                "routeKey": route.route_key,
                "stage": "$default",
                "time": "",
                "timeEpoch": req.now_ms,
            },
            "isBase64Encoded": base64,
        });
        if !params.is_empty() {
            event["pathParameters"] = Value::Object(params);
        }
        if !cookies.is_empty() {
            event["cookies"] = Value::Array(cookies);
        }
        if !body.is_null() {
            event["body"] = body;
        }
        event
    }
    use lambda_http::{Body, RequestExt};

    const ROUTES: [(&str, &str); 4] = [
        ("GET", "/leads"),
        ("GET", "/leads/{lead}"),
        ("POST", "/leads/{lead}/qualification"),
        ("HEAD", "/webhooks/email/{source}"),
    ];

    #[test]
    fn matches_templates_like_api_gateway() {
        let m = match_route(ROUTES, "GET", "/leads/ada%40example.com").unwrap();
        assert_eq!(m.route_key, "GET /leads/{lead}");
        assert_eq!(m.params, vec![("lead".into(), "ada@example.com".into())]);
        assert_eq!(
            match_route(ROUTES, "POST", "/leads/x/qualification")
                .unwrap()
                .route_key,
            "POST /leads/{lead}/qualification"
        );
        assert!(
            match_route(ROUTES, "DELETE", "/leads/x").is_none(),
            "method is part of the route"
        );
        assert!(
            match_route(ROUTES, "GET", "/leads/").is_none(),
            "empty segment"
        );
        assert!(match_route(ROUTES, "GET", "/leads/x/y").is_none());
        assert!(match_route(ROUTES, "GET", "/nope").is_none());
    }

    #[test]
    fn a_literal_route_wins_over_a_parameter_like_api_gateway() {
        for routes in [
            [
                ("POST", "/webhooks/forms/{source}"),
                ("POST", "/webhooks/forms/html"),
            ],
            [
                ("POST", "/webhooks/forms/html"),
                ("POST", "/webhooks/forms/{source}"),
            ],
        ] {
            let html = match_route(routes, "POST", "/webhooks/forms/html").unwrap();
            assert_eq!(html.route_key, "POST /webhooks/forms/html");
            assert!(html.params.is_empty());
            let json = match_route(routes, "POST", "/webhooks/forms/json").unwrap();
            assert_eq!(json.route_key, "POST /webhooks/forms/{source}");
            assert_eq!(json.params, vec![("source".into(), "json".into())]);
        }
    }

    #[test]
    fn keeps_broken_percent_escapes_as_they_are() {
        assert_eq!(percent_decode("a%4"), "a%4");
        assert_eq!(percent_decode("a%zz"), "a%zz");
        assert_eq!(percent_decode("%41%42"), "AB");
        assert_eq!(
            percent_decode("%aé"),
            "%aé",
            "no panic inside a multi-byte character"
        );
    }

    fn request<'a>(ct: &str, body: &'a [u8]) -> HttpRequest<'a> {
        HttpRequest {
            method: "POST",
            path: "/leads/ld_1/qualification",
            raw_query: "a=1&b=two%20words",
            headers: vec![
                ("host".into(), "127.0.0.1:3000".into()),
                ("content-type".into(), ct.into()),
                ("x-multi".into(), "1".into()),
                ("x-multi".into(), "2".into()),
            ],
            body,
            source_ip: "10.0.0.7".into(),
            now_ms: 1_700_000_000_000,
            request_id: "req-1".into(),
        }
    }

    #[test]
    fn lambda_http_reads_the_event_as_it_reads_api_gateway_events() {
        let route = match_route(ROUTES, "POST", "/leads/ld_1/qualification").unwrap();
        let event = event(&request("application/json", br#"{"id":"q1"}"#), &route);
        let req = lambda_http::request::from_str(&event.to_string()).unwrap();
        assert_eq!(req.method(), "POST");
        assert_eq!(req.uri().path(), "/leads/ld_1/qualification");
        assert_eq!(req.path_parameters().first("lead"), Some("ld_1"));
        assert_eq!(req.query_string_parameters().first("b"), Some("two words"));
        assert_eq!(req.headers()["x-multi"], "1,2");
        assert_eq!(req.body(), &Body::Text(r#"{"id":"q1"}"#.into()));
        match req.request_context() {
            lambda_http::request::RequestContext::ApiGatewayV2(ctx) => {
                assert_eq!(ctx.http.source_ip.as_deref(), Some("10.0.0.7"));
                assert_eq!(
                    ctx.route_key.as_deref(),
                    Some("POST /leads/{lead}/qualification")
                );
            }
            other => panic!("not an HTTP API context: {other:?}"),
        }
    }

    /// What the handlers read of a request: the same from the typed path as from the JSON.
    fn seen(req: &lambda_http::Request) -> String {
        let ctx = match req.request_context() {
            lambda_http::request::RequestContext::ApiGatewayV2(ctx) => ctx,
            other => panic!("not an HTTP API context: {other:?}"),
        };
        let mut headers: Vec<(String, String)> = req
            .headers()
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_str().unwrap().to_string()))
            .collect();
        headers.sort();
        // Maps print in no fixed order: compare them sorted.
        let sorted = |m: lambda_http::aws_lambda_events::query_map::QueryMap| {
            let mut pairs: Vec<(String, String)> = m
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            pairs.sort();
            pairs
        };
        format!(
            "{} {} {:?} {:?} {:?} {:?} {headers:?} {:?} {:?}",
            req.method(),
            req.uri(),
            req.raw_http_path(),
            sorted(req.query_string_parameters()),
            sorted(req.path_parameters()),
            req.body().as_ref(),
            serde_json::to_value(ctx).unwrap(),
            req.lambda_context_ref().map(|c| c.request_id.clone()),
        )
    }

    #[test]
    fn the_typed_request_is_the_one_lambda_http_reads_from_the_event() {
        let route = match_route(ROUTES, "POST", "/leads/ld_1/qualification").unwrap();
        let bodies: [(&str, &[u8]); 4] = [
            ("application/json", br#"{"id":"q1"}"#),
            ("multipart/form-data; boundary=x", b"--x\r\n\xff\r\n--x--"),
            ("text/plain", b""),
            ("application/json", b"not utf-8 \xff"),
        ];
        for (ct, body) in bodies {
            let mut http = request(ct, body);
            http.headers.push(("cookie".into(), "a=1; b=2".into()));
            let typed = super::request(&http, &route);
            let parsed = lambda_http::request::from_str(&event(&http, &route).to_string()).unwrap();
            assert_eq!(seen(&typed), seen(&parsed), "{ct}");
        }
    }

    #[test]
    fn binary_bodies_travel_base64_encoded() {
        let route = match_route(ROUTES, "POST", "/leads/ld_1/qualification").unwrap();
        let body = b"--x\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n\xff\r\n--x--";
        let event = event(&request("multipart/form-data; boundary=x", body), &route);
        assert_eq!(event["isBase64Encoded"], true);
        let req = lambda_http::request::from_str(&event.to_string()).unwrap();
        assert_eq!(req.body().as_ref(), body);
    }
}
