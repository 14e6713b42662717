//! `GET /accounts?sort=score` and `GET /accounts/{domain}`: companies, as the notifier and
//! the daily run keep them (never written by a webhook: see ARCHITECTURE.md, "Hand-off").

use crate::keys::Role;
use crate::leads::{authorize, page_query};
use crate::{json_response, ApiError, App};
use lambda_http::{Body, Request, Response};
use leadscore_scoring::Email;
use serde_json::{json, Value};

/// Default page size of the accounts listing.
pub const DEFAULT_ACCOUNTS: u32 = 20;

/// A stored account document as the API shows it.
fn document(body: &[u8]) -> Result<Value, ApiError> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::Internal(format!("unreadable account document: {e}")))
}

pub(crate) async fn list(app: &App, req: &Request) -> Result<Response<Body>, ApiError> {
    authorize(app, req, Role::Read)?;
    let page = page_query(req, DEFAULT_ACCOUNTS, &["sort"])?;
    for (_, sort) in &page.other {
        if sort != "score" {
            return Err(ApiError::BadRequest(format!(
                "accounts are sorted by score (sort=score), not {sort:?}"
            )));
        }
    }
    let (rows, next) = app
        .store
        .accounts_by_score(page.cursor.as_deref(), page.limit)
        .await?;
    let accounts = rows
        .iter()
        .map(|(_, body)| document(body))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(json_response(
        200,
        &json!({ "accounts": accounts, "next": next }),
    ))
}

pub(crate) async fn get(
    app: &App,
    req: &Request,
    domain: &str,
) -> Result<Response<Body>, ApiError> {
    authorize(app, req, Role::Read)?;
    page_query(req, 1, &[])?;
    let domain = domain.trim().to_ascii_lowercase();
    let valid = (3..=253).contains(&domain.len())
        && domain.contains('.')
        && !domain.starts_with(['.', '-'])
        && !domain.ends_with(['.', '-'])
        && domain
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
    if !valid {
        return Err(ApiError::BadRequest(format!(
            "{domain:?} is not a company domain such as acme.com"
        )));
    }
    let personal = Email::parse(&format!("someone@{domain}"))
        .ok()
        .and_then(|e| app.handoff.accounts().corporate_domain(&e, &app.rules))
        .is_none();
    if personal {
        return Err(ApiError::NotFound(format!(
            "{domain} is a free-mail or disposable domain: its people never make an account"
        )));
    }
    match app.store.account(&domain).await? {
        Some(body) => Ok(json_response(200, &document(&body)?)),
        None => Err(ApiError::NotFound(format!("no account {domain} (yet)"))),
    }
}
