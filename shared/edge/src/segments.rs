//! `GET /segments` (the rules file's segments) and `GET /segments/{name}` (who is in one, as
//! the notifier last evaluated it; each member read and scored as of now).

use crate::keys::Role;
use crate::leads::{authorize, page_query};
use crate::{json_response, ApiError, App};
use lambda_http::{Body, Request, Response};
use leadscore_scoring::score;
use leadscore_store::LeadKey;
use serde_json::{json, Value};

/// Default page size of a segment's members.
pub const DEFAULT_MEMBERS: u32 = 50;

pub(crate) async fn list(app: &App, req: &Request) -> Result<Response<Body>, ApiError> {
    authorize(app, req, Role::Read)?;
    page_query(req, 1, &[])?;
    let segments: Vec<Value> = app
        .handoff
        .segments()
        .iter()
        .map(|s| json!({ "name": s.name(), "description": s.description() }))
        .collect();
    Ok(json_response(200, &json!({ "segments": segments })))
}

pub(crate) async fn members(
    app: &App,
    req: &Request,
    name: &str,
) -> Result<Response<Body>, ApiError> {
    authorize(app, req, Role::Read)?;
    let page = page_query(req, DEFAULT_MEMBERS, &[])?;
    if app.handoff.segment(name).is_none() {
        return Err(ApiError::NotFound(format!(
            "no segment {name:?} in the rules file (GET /segments lists them)"
        )));
    }
    let index = format!("segment:{name}");
    let (rows, next) = app
        .store
        .members(&index, page.cursor.as_deref(), page.limit)
        .await?;
    let now = app.now();
    let mut leads = Vec::with_capacity(rows.len());
    for (id, _) in rows {
        // Read now: the email and the score as of the request (an erased lead reads as gone).
        let Some(lead) = app.store.get(&LeadKey::Id(id), &app.rules, now).await? else {
            continue;
        };
        let s = score(&lead.state, &app.rules, now);
        leads.push(json!({
            "lead": lead.state.id,
            "email": lead.state.email.as_ref().map(|e| e.as_str()),
            "stage": lead.state.stage,
            "score": s.total,
            "grade": s.grade,
        }));
    }
    Ok(json_response(
        200,
        &json!({ "segment": name, "leads": leads, "next": next }),
    ))
}
