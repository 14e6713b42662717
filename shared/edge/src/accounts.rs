//! `GET /accounts?sort=score` and `GET /accounts/{domain}`: companies, as the notifier and
//! the daily run keep them (never written by a webhook: see ARCHITECTURE.md, "Hand-off").

use crate::keys::Role;
use crate::leads::authorize;
use crate::{json_response, ApiError, App};
use lambda_http::{Body, Request, RequestExt, Response};
use leadscore_scoring::Email;
use leadscore_store::MAX_PAGE;
use serde_json::{json, Value};

/// Default page size of the accounts listing.
pub const DEFAULT_ACCOUNTS: u32 = 20;

/// `limit` and `cursor` from the query, with the other names a route accepts.
pub(crate) struct PageQuery {
    pub limit: u32,
    pub cursor: Option<String>,
    pub other: Vec<(String, String)>,
}

pub(crate) fn page_query(
    req: &Request,
    default: u32,
    accepted: &[&str],
) -> Result<PageQuery, ApiError> {
    let mut page = PageQuery {
        limit: default,
        cursor: None,
        other: Vec::new(),
    };
    for (name, value) in req.query_string_parameters().iter() {
        match name {
            "limit" => {
                page.limit = value
                    .parse::<u32>()
                    .ok()
                    .filter(|n| (1..=MAX_PAGE).contains(n))
                    .ok_or_else(|| {
                        ApiError::BadRequest(format!(
                            "limit must be a whole number from 1 to {MAX_PAGE}, not {value:?}"
                        ))
                    })?
            }
            "cursor" => page.cursor = Some(value.to_string()),
            other if accepted.contains(&other) => {
                page.other.push((other.to_string(), value.to_string()))
            }
            other => {
                let mut names: Vec<&str> = accepted.to_vec();
                names.extend(["limit", "cursor"]);
                return Err(ApiError::BadRequest(format!(
                    "unknown query parameter {other:?} (expected {})",
                    names.join(", ")
                )));
            }
        }
    }
    Ok(page)
}

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
