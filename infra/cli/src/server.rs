//! The local HTTP server: every route of the template, answered by the same handler code the
//! Lambda functions run. Each request becomes the API Gateway request the function would get
//! (typed, no JSON in between: see [`crate::apigw`]); a request no route matches gets API
//! Gateway's own 404.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use axum::body::{Body as AxumBody, Bytes};
use axum::extract::{ConnectInfo, DefaultBodyLimit, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;

use crate::apigw::{self, HttpRequest};

/// API Gateway's own payload limit; the handlers enforce the smaller webhook limit themselves.
const MAX_BODY: usize = 10 * 1024 * 1024;

pub type HandlerFuture =
    Pin<Box<dyn Future<Output = lambda_http::Response<lambda_http::Body>> + Send>>;

/// What answers a matched request: in `leadscore serve`, `leadscore_edge::route`.
pub type Handler = Arc<dyn Fn(lambda_http::Request) -> HandlerFuture + Send + Sync>;

#[derive(Clone)]
struct Local {
    routes: Arc<Vec<(String, String)>>,
    handler: Handler,
    requests: Arc<AtomicU64>,
}

/// An axum app serving `routes` (method, path template) through `handler`.
pub fn app(routes: Vec<(String, String)>, handler: Handler) -> Router {
    Router::new()
        .fallback(answer)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(Local {
            routes: Arc::new(routes),
            handler,
            requests: Arc::new(AtomicU64::new(0)),
        })
}

/// Serves `app` until the listener fails or the process is stopped.
pub async fn serve(listener: tokio::net::TcpListener, app: Router) -> std::io::Result<()> {
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await
}

async fn answer(
    State(local): State<Local>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path();
    if path == "/" && matches!(method, Method::GET | Method::HEAD) {
        // Someone opening the server in a browser wants the dashboard (not an API route:
        // API Gateway has no such redirect; the deployed dashboard is at /dashboard).
        return (StatusCode::FOUND, [("location", "/dashboard")]).into_response();
    }
    let Some(route) = apigw::match_route(
        local.routes.iter().map(|(m, p)| (m.as_str(), p.as_str())),
        method.as_str(),
        path,
    ) else {
        tracing::info!(%method, path, status = 404, "no route");
        return (
            StatusCode::NOT_FOUND,
            [("content-type", "application/json")],
            r#"{"message":"Not Found"}"#,
        )
            .into_response();
    };
    let n = local.requests.fetch_add(1, Ordering::Relaxed);
    let now_ms = time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000;
    let request_id = format!("local-{now_ms}-{n}");
    let http = HttpRequest {
        method: method.as_str(),
        path,
        raw_query: uri.query().unwrap_or(""),
        headers: headers
            .iter()
            .filter_map(|(n, v)| Some((n.as_str().to_string(), v.to_str().ok()?.to_string())))
            .collect(),
        body: &body,
        source_ip: peer.ip().to_string(),
        now_ms: now_ms as i64,
        request_id: request_id.clone(),
    };
    let mut request = apigw::request(&http, &route);
    let mut context = lambda_http::Context::default();
    context.request_id = request_id;
    request.extensions_mut().insert(context);

    let response = (local.handler)(request).await;
    let (parts, body) = response.into_parts();
    tracing::info!(%method, route = %route.route_key, status = parts.status.as_u16(), "answered");
    Response::from_parts(parts, AxumBody::from(body.to_vec()))
}
