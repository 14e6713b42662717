//! The HTTP edge: every route of template.yaml, answered by [`route`]. The four Lambda
//! functions and `leadscore serve` all call this same code with API Gateway (payload 2.0)
//! requests.
//!
//! The edge parses requests into typed values, asks the provider adapters to verify and read
//! webhooks, applies events through the store, and maps every failure to HTTP once
//! ([`ApiError`]). It never logs a raw email address.

// The ledger worker and the notifier build the edge without routes (for the runtime, the
// worker and logs): the routes' shared helpers are unused there.
#![cfg_attr(
    not(any(feature = "webhooks", feature = "stage-api")),
    allow(dead_code)
)]

// Each function builds only its routes (features, see Cargo.toml): the webhook channels, or
// the stage API. `leadscore serve` and the tests build everything.
#[cfg(feature = "stage-api")]
mod accounts;
#[cfg(feature = "webhooks")]
mod captcha;
#[cfg(feature = "stage-api")]
mod dashboard;
mod error;
#[cfg(feature = "webhooks")]
mod fetch;
#[cfg(feature = "webhooks")]
mod html;
#[cfg(feature = "stage-api")]
mod insights;
#[cfg(feature = "stage-api")]
mod keys;
#[cfg(feature = "stage-api")]
mod leads;
#[cfg(feature = "webhooks")]
mod limiter;
pub mod logging;
#[cfg(feature = "stage-api")]
mod segments;
#[cfg(feature = "stage-api")]
mod stage;
#[cfg(feature = "webhooks")]
mod webhooks;
pub mod worker;

#[cfg(feature = "webhooks")]
pub use captcha::{CAPTCHA_PROVIDER_VAR, CAPTCHA_SECRET_VAR};
pub use error::{action_name, ApiError, RETRY_AFTER_SECONDS};
#[cfg(feature = "fetch")]
pub use fetch::HttpFetch;
#[cfg(feature = "webhooks")]
pub use fetch::{Fetch, NoFetch};
#[cfg(feature = "stage-api")]
pub use insights::InsightsBudget;
#[cfg(feature = "stage-api")]
pub use keys::Role;
#[cfg(feature = "stage-api")]
pub use leads::lead_document;

use lambda_http::{Body, Request, RequestExt, Response};
use leadscore_providers::Channel;
#[cfg(feature = "webhooks")]
use leadscore_providers::{Mapping, Secrets};
use leadscore_scoring::{OverShipped, Rules, RulesFile, Timestamp, DEFAULT_RULES_TOML};
use leadscore_store::LeadStore;
#[cfg(feature = "webhooks")]
use std::collections::BTreeMap;
use std::sync::Arc;
#[cfg(feature = "webhooks")]
use std::sync::Mutex;

/// Webhook bodies above this are refused (413) before anything is read.
pub const MAX_WEBHOOK_BODY: usize = 256 * 1024;
/// Qualification bodies are small JSON documents.
pub const MAX_API_BODY: usize = 64 * 1024;

type Clock = Arc<dyn Fn() -> Timestamp + Send + Sync>;

/// Everything a handler needs, built once per process (cold start) and shared.
#[derive(Clone)]
pub struct App {
    pub(crate) store: Arc<dyn LeadStore>,
    pub(crate) rules: Arc<Rules>,
    pub(crate) clock: Clock,
    #[cfg(feature = "webhooks")]
    pub(crate) mapping: Arc<Mapping>,
    #[cfg(feature = "webhooks")]
    pub(crate) secrets: Arc<Secrets>,
    /// SNS certificates, SNS subscriptions and human verification (built on first use).
    #[cfg(feature = "webhooks")]
    pub(crate) fetch: Arc<dyn Fetch>,
    #[cfg(feature = "webhooks")]
    pub(crate) certificates: Arc<Mutex<BTreeMap<String, Vec<u8>>>>,
    #[cfg(feature = "webhooks")]
    pub(crate) limiter: Arc<limiter::RateLimiter>,
    /// Human verification of html forms, when configured.
    #[cfg(feature = "webhooks")]
    pub(crate) captcha: Option<Arc<captcha::Captcha>>,
    /// The rules file's segments and account rules (`/segments`, `/accounts`).
    #[cfg(feature = "stage-api")]
    pub(crate) handoff: Arc<leadscore_handoff::HandoffConfig>,
    #[cfg(feature = "stage-api")]
    pub(crate) api_keys: Arc<Vec<keys::ApiKey>>,
    #[cfg(feature = "stage-api")]
    pub(crate) erasure_budget: std::time::Duration,
    #[cfg(feature = "stage-api")]
    pub(crate) insights_budget: InsightsBudget,
}

/// The secret lead ids are derived with. Not `LEADSCORE_SECRET_*`: those name webhook sources.
pub const LEAD_ID_KEY_VAR: &str = "LEADSCORE_LEAD_ID_KEY";

/// Why the app could not be configured (at start, never per request).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

/// The shipped rules file as build.rs read it: no TOML to parse at start.
pub fn shipped_rules() -> Result<RulesFile, leadscore_scoring::RulesError> {
    RulesFile::from_json(include_str!(concat!(
        env!("OUT_DIR"),
        "/default_rules.json"
    )))
}

impl App {
    /// An app over `store`, with the rules file's text and the environment's variables
    /// (`LEADSCORE_SECRET_<SOURCE>`, `LEADSCORE_ALLOWED_ORIGINS`, `LEADSCORE_API_KEYS`,
    /// `LEADSCORE_HTML_RATE_LIMIT`, `LEADSCORE_CAPTCHA_PROVIDER`, `LEADSCORE_CAPTCHA_SECRET`,
    /// `LEADSCORE_LEAD_ID_KEY`).
    pub fn new(
        store: Arc<dyn LeadStore>,
        rules_toml: &str,
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<App, ConfigError> {
        let config = |e: &dyn std::fmt::Display| ConfigError(e.to_string());
        let files = OverShipped::rules_file(shipped_rules().map_err(|e| config(&e))?, rules_toml)
            .map_err(|e| config(&e))?;
        let file = files.in_force();
        let vars: Vec<(String, String)> = vars.into_iter().collect();
        let var = |name: &str| vars.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone());
        if let Some(key) = var(LEAD_ID_KEY_VAR) {
            leadscore_scoring::set_lead_id_key(key.trim().as_bytes()).map_err(|e| config(&e))?;
        }
        Ok(App {
            store,
            rules: Arc::new(file.rules.clone()),
            clock: Arc::new(leadscore_store::system_now),
            #[cfg(feature = "webhooks")]
            mapping: Arc::new(
                Mapping::from_sections(&files.shipped.sections, files.own_sections())
                    .map_err(|e| config(&e))?,
            ),
            #[cfg(feature = "webhooks")]
            secrets: Arc::new(Secrets::from_vars(vars.iter().cloned())),
            #[cfg(feature = "webhooks")]
            fetch: fetch::default_fetch(),
            #[cfg(feature = "webhooks")]
            certificates: Arc::new(Mutex::new(BTreeMap::new())),
            #[cfg(feature = "webhooks")]
            limiter: Arc::new(limiter::RateLimiter::new(limiter::per_minute(
                var("LEADSCORE_HTML_RATE_LIMIT").as_deref(),
            )?)),
            #[cfg(feature = "webhooks")]
            captcha: captcha::Captcha::from_vars(
                var(CAPTCHA_PROVIDER_VAR).as_deref(),
                var(CAPTCHA_SECRET_VAR).as_deref(),
            )?
            .map(Arc::new),
            #[cfg(feature = "stage-api")]
            handoff: Arc::new(
                leadscore_handoff::HandoffConfig::from_sections(
                    &files.shipped.sections,
                    files.own_sections(),
                )
                .map_err(|e| config(&e))?,
            ),
            #[cfg(feature = "stage-api")]
            api_keys: Arc::new(keys::parse_keys(
                &var("LEADSCORE_API_KEYS").unwrap_or_default(),
            )?),
            #[cfg(feature = "stage-api")]
            erasure_budget: leads::ERASURE_BUDGET,
            #[cfg(feature = "stage-api")]
            insights_budget: InsightsBudget::default(),
        })
    }

    /// The app from the process environment: rules from the file named by `LEADSCORE_RULES`,
    /// or the shipped default. The lead id key is required here (the deployed functions).
    pub fn from_env(store: Arc<dyn LeadStore>) -> Result<App, ConfigError> {
        if std::env::var(LEAD_ID_KEY_VAR).is_err() {
            return Err(ConfigError(format!(
                "{LEAD_ID_KEY_VAR} is not set: lead ids are derived with it (template.yaml \
                 passes it from Secrets Manager; locally, any 32 characters or more)"
            )));
        }
        let rules = match std::env::var("LEADSCORE_RULES") {
            Ok(path) if !path.trim().is_empty() => std::fs::read_to_string(&path)
                .map_err(|e| ConfigError(format!("LEADSCORE_RULES={path}: {e}")))?,
            _ => DEFAULT_RULES_TOML.to_string(),
        };
        App::new(store, &rules, std::env::vars())
    }

    /// Replaces the clock (tests).
    pub fn with_clock(mut self, clock: impl Fn() -> Timestamp + Send + Sync + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    #[cfg(feature = "stage-api")]
    /// Replaces how long a DELETE erases before answering 202 (tests of the background path).
    pub fn with_erasure_budget(mut self, budget: std::time::Duration) -> Self {
        self.erasure_budget = budget;
        self
    }

    #[cfg(feature = "stage-api")]
    /// Replaces how much of the live store `GET /insights` may read.
    pub fn with_insights_budget(mut self, budget: InsightsBudget) -> Self {
        self.insights_budget = budget;
        self
    }

    #[cfg(feature = "webhooks")]
    /// Replaces the HTTP client used for SNS certificates, subscription confirmations and
    /// human verification.
    pub fn with_fetch(mut self, fetch: Arc<dyn Fetch>) -> Self {
        self.fetch = fetch;
        self
    }

    pub fn rules(&self) -> &Rules {
        &self.rules
    }

    #[cfg(feature = "webhooks")]
    pub fn secrets(&self) -> &Secrets {
        &self.secrets
    }

    #[cfg(feature = "stage-api")]
    /// Whether the stage API is open to anyone (it is not without keys).
    pub fn has_api_keys(&self) -> bool {
        !self.api_keys.is_empty()
    }

    /// The ledger worker's upkeep of one id (see [`worker`]), with time enough to finish.
    pub async fn tend(
        &self,
        id: &leadscore_scoring::LeadId,
    ) -> Result<leadscore_store::Upkeep, leadscore_store::StoreError> {
        let budget = std::time::Duration::from_secs(300);
        self.store.tend(id, &self.rules, self.now(), budget).await
    }

    pub(crate) fn now(&self) -> Timestamp {
        (self.clock)()
    }
}

/// What a request asks for, parsed from its method and path (every route, even those a
/// function does not build: it answers them 404).
#[cfg_attr(not(feature = "stage-api"), allow(dead_code))]
pub(crate) enum Route {
    Webhook(Channel, String),
    Lead(String),
    Leads,
    Qualification(String),
    Insights,
    /// The dashboard's page (`None`) or one of its assets.
    Dashboard(Option<String>),
    Accounts,
    Account(String),
    Segments,
    Segment(String),
}

fn parse_route(path: &str) -> Option<Route> {
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').skip(1).collect();
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8()
            .map(|c| c.into_owned())
            .unwrap_or_else(|_| s.to_string())
    };
    match segments.as_slice() {
        ["webhooks", channel, source] => {
            let channel = match *channel {
                "forms" => Channel::Forms,
                "chatbot" => Channel::Chatbot,
                "email" => Channel::Email,
                _ => return None,
            };
            Some(Route::Webhook(channel, decode(source)))
        }
        ["leads"] => Some(Route::Leads),
        ["leads", lead] => Some(Route::Lead(decode(lead))),
        ["leads", lead, "qualification"] => Some(Route::Qualification(decode(lead))),
        ["insights"] => Some(Route::Insights),
        ["dashboard"] => Some(Route::Dashboard(None)),
        ["dashboard", asset] => Some(Route::Dashboard(Some(decode(asset)))),
        ["accounts"] => Some(Route::Accounts),
        ["accounts", domain] => Some(Route::Account(decode(domain))),
        ["segments"] => Some(Route::Segments),
        ["segments", name] => Some(Route::Segment(decode(name))),
        _ => None,
    }
}

/// The four Lambda functions of template.yaml, each answering only its own routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Function {
    FormSubmission,
    ChatbotMessage,
    NewsletterClick,
    StageQuery,
}

impl Function {
    fn serves(self, route: &Route) -> bool {
        matches!(
            (self, route),
            (Function::FormSubmission, Route::Webhook(Channel::Forms, _))
                | (
                    Function::ChatbotMessage,
                    Route::Webhook(Channel::Chatbot, _)
                )
                | (Function::NewsletterClick, Route::Webhook(Channel::Email, _))
                | (
                    Function::StageQuery,
                    Route::Lead(_)
                        | Route::Leads
                        | Route::Qualification(_)
                        | Route::Insights
                        | Route::Dashboard(_)
                        | Route::Accounts
                        | Route::Account(_)
                        | Route::Segments
                        | Route::Segment(_)
                )
        )
    }
}

/// A function's main: logs, the DynamoDB store and the app built once per cold start, then
/// the Lambda runtime loop answering `function`'s routes.
pub async fn run_lambda(function: Function) -> Result<(), lambda_http::Error> {
    logging::init();
    // A bad retention would otherwise keep everything silently.
    leadscore_store::retention_from_env().map_err(ConfigError)?;
    let store = Arc::new(leadscore_store::Dynamo::from_env().await);
    let app = App::from_env(store)?;
    tracing::info!(?function, "cold start");
    lambda_http::run(lambda_http::service_fn(move |req: Request| {
        let app = app.clone();
        async move { Ok::<_, std::convert::Infallible>(route_for(&app, function, req).await) }
    }))
    .await
}

/// Like [`route`], for one function: another function's route is not found here (API
/// Gateway never sends one; this keeps each function to its least-privilege role).
pub async fn route_for(app: &App, function: Function, req: Request) -> Response<Body> {
    let path = req.raw_http_path().to_string();
    match parse_route(&path) {
        Some(r) if function.serves(&r) => route(app, req).await,
        _ => error_response(&ApiError::NotFound(format!(
            "{function:?} does not serve {} {}",
            req.method(),
            route_name(&path)
        ))),
    }
}

/// Answers one API Gateway request. Never panics on request data; every failure becomes a
/// JSON error with the right status.
pub async fn route(app: &App, req: Request) -> Response<Body> {
    let method = req.method().as_str().to_string();
    let path = req.raw_http_path().to_string();
    let path = if path.is_empty() {
        req.uri().path().to_string()
    } else {
        path
    };
    let answer = async {
        match parse_route(&path) {
            None => Err(ApiError::NotFound(format!("no route for {method} {path}"))),
            Some(Route::Webhook(channel, source)) => {
                webhook(app, &req, &method, &path, channel, &source).await
            }
            Some(route) => stage_api(app, &req, &method, &path, route).await,
        }
    };
    let response = within_budget(&req, answer)
        .await
        .unwrap_or_else(|e| error_response(&e));
    let status = response.status().as_u16();
    if status >= 500 {
        tracing::error!(%method, route = route_name(&path), status, "request failed");
    } else {
        tracing::info!(%method, route = route_name(&path), status, "answered");
    }
    response
}

/// A webhook, in a build with webhook channels.
#[cfg(feature = "webhooks")]
async fn webhook(
    app: &App,
    req: &Request,
    method: &str,
    path: &str,
    channel: Channel,
    source: &str,
) -> Result<Response<Body>, ApiError> {
    match method {
        "POST" => webhooks::receive(app, req, channel, source).await,
        "GET" | "HEAD" if channel == Channel::Email => {
            webhooks::receive(app, req, channel, source).await
        }
        _ => Err(ApiError::MethodNotAllowed(format!("{method} on {path}"))),
    }
}

#[cfg(not(feature = "webhooks"))]
async fn webhook(
    _: &App,
    _: &Request,
    method: &str,
    path: &str,
    _: Channel,
    _: &str,
) -> Result<Response<Body>, ApiError> {
    Err(not_built(method, path))
}

#[cfg(feature = "stage-api")]
use stage::route as stage_api;

#[cfg(not(feature = "stage-api"))]
async fn stage_api(
    _: &App,
    _: &Request,
    method: &str,
    path: &str,
    _: Route,
) -> Result<Response<Body>, ApiError> {
    Err(not_built(method, path))
}

/// A route this function's build leaves out (another function serves it).
#[cfg(not(all(feature = "webhooks", feature = "stage-api")))]
fn not_built(method: &str, path: &str) -> ApiError {
    ApiError::NotFound(format!("no route for {method} {path} in this function"))
}

/// How long before Lambda's deadline a request gives up and answers 503 + Retry-After:
/// time to write the answer and its log line.
pub const ANSWER_MARGIN: std::time::Duration = std::time::Duration::from_millis(700);

/// A request's budget without a Lambda deadline (`leadscore serve`): long enough for the
/// slowest answer (an erasure's 5 s, `GET /insights` of a local store), short of hanging.
pub const LOCAL_BUDGET: std::time::Duration = std::time::Duration::from_secs(60);

/// Runs `answer` within the invocation's time: until Lambda's deadline less
/// `ANSWER_MARGIN`. The store gives up its own retries in time (`deadline::within`); a call
/// still pending then is dropped and the answer is 503 + Retry-After. What a dropped call
/// may already have written is idempotent (event ids, conditional writes): the provider's
/// retry finds it as a duplicate.
async fn within_budget(
    req: &Request,
    answer: impl std::future::Future<Output = Result<Response<Body>, ApiError>>,
) -> Result<Response<Body>, ApiError> {
    let budget = match req.lambda_context_ref().filter(|c| c.deadline > 0) {
        Some(ctx) => {
            let left = ctx
                .deadline()
                .duration_since(std::time::SystemTime::now())
                .unwrap_or_default();
            left.saturating_sub(ANSWER_MARGIN)
        }
        None => LOCAL_BUDGET,
    };
    let deadline = tokio::time::Instant::now() + budget;
    let answer = leadscore_store::deadline::within(deadline, answer);
    match tokio::time::timeout_at(deadline, answer).await {
        Ok(answer) => answer,
        Err(_) => Err(ApiError::Unavailable(format!(
            "out of time: storage did not answer within the request's {} ms",
            budget.as_millis()
        ))),
    }
}

/// The route template, for logs: never the raw path, which may hold an email.
fn route_name(path: &str) -> &'static str {
    match parse_route(path) {
        // API Gateway's own route for html (its own throttle), so its name in logs too.
        Some(Route::Webhook(Channel::Forms, source)) if source == "html" => "/webhooks/forms/html",
        Some(Route::Webhook(Channel::Forms, _)) => "/webhooks/forms/{source}",
        Some(Route::Webhook(Channel::Chatbot, _)) => "/webhooks/chatbot/{source}",
        Some(Route::Webhook(Channel::Email, _)) => "/webhooks/email/{source}",
        Some(Route::Leads) => "/leads",
        Some(Route::Lead(_)) => "/leads/{lead}",
        Some(Route::Qualification(_)) => "/leads/{lead}/qualification",
        Some(Route::Insights) => "/insights",
        Some(Route::Dashboard(None)) => "/dashboard",
        Some(Route::Dashboard(Some(_))) => "/dashboard/{asset}",
        Some(Route::Accounts) => "/accounts",
        Some(Route::Account(_)) => "/accounts/{domain}",
        Some(Route::Segments) => "/segments",
        Some(Route::Segment(_)) => "/segments/{name}",
        None => "unrouted",
    }
}

pub(crate) fn error_response(e: &ApiError) -> Response<Body> {
    match e {
        ApiError::Internal(cause) | ApiError::Unavailable(cause) => {
            tracing::error!(code = e.code(), cause = %cause, "request failed");
        }
        _ => {}
    }
    let mut builder = Response::builder()
        .status(e.status())
        .header("content-type", "application/json");
    if let Some(seconds) = e.retry_after() {
        builder = builder.header("retry-after", seconds.to_string());
    }
    builder
        .body(Body::from(e.body().to_string()))
        .unwrap_or_else(|_| Response::new(Body::Empty))
}

pub(crate) fn json_response(status: u16, body: &serde_json::Value) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap_or_else(|_| Response::new(Body::Empty))
}

/// The first value of a header, if it is valid text.
pub(crate) fn header<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

/// The caller's IP as API Gateway saw it.
#[cfg(feature = "webhooks")]
pub(crate) fn client_ip(req: &Request) -> Option<std::net::IpAddr> {
    match req.request_context_ref() {
        Some(lambda_http::request::RequestContext::ApiGatewayV2(ctx)) => {
            ctx.http.source_ip.as_deref().and_then(|ip| ip.parse().ok())
        }
        _ => None,
    }
}
