//! The stage API's routes (`/leads`, qualification, erasure, `/insights`, `/dashboard`,
//! `/accounts`, `/segments`): built into stage-query and `leadscore serve` only.

use crate::{accounts, dashboard, insights, leads, segments, ApiError, App, Route};
use lambda_http::{Body, Request, Response};

pub(crate) async fn route(
    app: &App,
    req: &Request,
    method: &str,
    path: &str,
    route: Route,
) -> Result<Response<Body>, ApiError> {
    let not_allowed = || Err(ApiError::MethodNotAllowed(format!("{method} on {path}")));
    match (route, method) {
        (Route::Leads, "GET") => leads::list(app, req).await,
        (Route::Lead(lead), "GET") => leads::get(app, req, &lead).await,
        (Route::Lead(lead), "DELETE") => leads::erase(app, req, &lead).await,
        (Route::Qualification(lead), "POST") => leads::qualify(app, req, &lead).await,
        (Route::Insights, "GET") => insights::get(app, req).await,
        (Route::Dashboard(asset), "GET") => dashboard::page(app, req, asset.as_deref()).await,
        (Route::Accounts, "GET") => accounts::list(app, req).await,
        (Route::Account(domain), "GET") => accounts::get(app, req, &domain).await,
        (Route::Segments, "GET") => segments::list(app, req).await,
        (Route::Segment(name), "GET") => segments::members(app, req, &name).await,
        // Webhooks are routed before this.
        (Route::Webhook(..), _) => Err(ApiError::NotFound(format!("no route for {method} {path}"))),
        _ => not_allowed(),
    }
}
