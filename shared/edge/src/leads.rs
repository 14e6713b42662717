//! The stage API: what sales tools poll (`GET /leads/{lead}`, `GET /leads?stage=..`) and where
//! they send back what sales learned (`POST /leads/{lead}/qualification`), plus erasure.

use crate::keys::{authorize_key, Role};
use crate::{action_name, header, json_response, ApiError, App, MAX_API_BODY};
use lambda_http::{Body, Request, RequestExt, Response};
use leadscore_scoring::{
    score, Attributes, BantAnswer, BantSource, BantUpdate, Email, Event, EventId, Identity, LeadId,
    LeadState, Rules, Signal, Stage, Timestamp,
};
use leadscore_store::{Erasure, LeadKey, StoredLead, MAX_PAGE};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

/// Default page size of the stage listing.
pub const DEFAULT_LIMIT: u32 = 50;

/// How long one DELETE erases before answering 202 (the ledger worker finishes; a repeated
/// DELETE also resumes): well inside the function's 10 s timeout.
pub(crate) const ERASURE_BUDGET: std::time::Duration = std::time::Duration::from_secs(5);

/// The request's API key, if it may do `need` (`keys.rs`): its name is the actor of what it
/// changes.
pub(crate) fn authorize(app: &App, req: &Request, need: Role) -> Result<String, ApiError> {
    authorize_key(&app.api_keys, req, need).map(|k| k.name.clone())
}

/// A lead named in a path: a lead id (`ld_...`) or an email address (URL-decoded already).
fn lead_key(raw: &str) -> Result<LeadKey, ApiError> {
    let raw = raw.trim();
    if raw.starts_with("ld_") {
        return LeadId::parse(raw)
            .map(LeadKey::Id)
            .map_err(|_| ApiError::BadRequest(format!("{raw:?} is not a lead id (ld_ + 32 hex)")));
    }
    if raw.contains('@') {
        return Email::parse(raw)
            .map(LeadKey::Email)
            .map_err(|e| ApiError::BadRequest(format!("lead: {e}")));
    }
    Err(ApiError::BadRequest(
        "lead must be a lead id (ld_...) or a URL-encoded email address".into(),
    ))
}

fn bant_answer<T: serde::Serialize>(answer: &Option<BantAnswer<T>>, met: bool) -> Value {
    match answer {
        None => Value::Null,
        Some(a) => json!({ "value": a.value, "source": a.source, "at": a.at, "met": met }),
    }
}

/// The lead document of the stage API, scored as of `now`. Field names are a contract.
pub fn lead_document(state: &LeadState, rules: &Rules, now: Timestamp) -> Value {
    let mut doc = lead_content(state, rules, now);
    stamp(&mut doc, now);
    doc
}

/// The lead document without `score.as_of`: everything a client sees but the time it was
/// asked at. The ETag hashes this, so it changes when a figure does (decay included) and not
/// merely because a millisecond passed.
fn lead_content(state: &LeadState, rules: &Rules, now: Timestamp) -> Value {
    let breakdown = score(state, rules, now);
    let status = rules.bant_status(&state.bant);
    let signals: Map<String, Value> = state
        .signal_counts()
        .into_iter()
        .map(|(s, n)| (s.as_str().to_string(), json!(n)))
        .collect();
    let history: Vec<Value> = state
        .stage_history
        .iter()
        .map(|t| {
            json!({
                "from": t.from, "to": t.to, "at": t.at, "recorded_at": t.recorded_at,
                "cause": t.cause,
            })
        })
        .collect();
    let superseded: Vec<Value> = state
        .superseded
        .iter()
        .map(|s| json!({ "action": action_name(s.action), "at": s.at, "stage": s.stage }))
        .collect();
    json!({
        "id": state.id,
        "email": state.email.as_ref().map(Email::as_str),
        "anonymous_ids": state.anonymous_ids,
        "stage": state.stage,
        "stage_entered_at": state.stage_entered_at,
        "stage_recorded_at": state.stage_recorded_at,
        "pql": state.pql,
        "disqualified": state.disqualified,
        "score": {
            "fit": breakdown.fit,
            "engagement": breakdown.engagement,
            "total": breakdown.total,
            "grade": breakdown.grade,
        },
        "explanation": breakdown.contributions,
        "bant": {
            "budget": bant_answer(&state.bant.budget, status.budget),
            "authority": bant_answer(&state.bant.authority, status.authority),
            "need": bant_answer(&state.bant.need, status.need),
            "timeline": bant_answer(&state.bant.timeline_months, status.timeline),
            "complete": status.complete(),
        },
        "stage_history": history,
        "superseded_actions": superseded,
        "signals": signals,
        "profile": state.profile,
        "first_seen": state.first_seen,
        "last_seen": state.last_seen,
    })
}

/// Adds the time the document was scored at (`score.as_of`), which the ETag leaves out.
fn stamp(doc: &mut Value, now: Timestamp) {
    if let Some(score) = doc.get_mut("score").and_then(Value::as_object_mut) {
        score.insert("as_of".into(), json!(now));
    }
}

/// The validator of `content` (a document without its `as_of` times). Weak (`W/`): two
/// answers with one tag show the same lead and figures, scored at different instants.
fn etag(content: &Value) -> String {
    let digest = Sha256::digest(content.to_string().as_bytes());
    format!("W/\"{}\"", hex::encode(&digest[..16]))
}

/// Whether `If-None-Match` names `tag`, by weak comparison (RFC 9110: `W/` ignored).
fn if_none_match(req: &Request, tag: &str) -> bool {
    let tag = tag.trim_start_matches("W/");
    header(req, "if-none-match").is_some_and(|h| {
        h.split(',')
            .map(|t| t.trim().trim_start_matches("W/"))
            .any(|t| t == "*" || t == tag)
    })
}

/// Events shown by `?timeline=true`, newest first.
pub const TIMELINE_LIMIT: usize = 200;

pub(crate) async fn get(app: &App, req: &Request, lead: &str) -> Result<Response<Body>, ApiError> {
    authorize(app, req, Role::Read)?;
    let key = lead_key(lead)?;
    let mut timeline = false;
    for (name, value) in req.query_string_parameters().iter() {
        if name == "timeline" {
            timeline = match value {
                "true" | "1" => true,
                "false" | "0" => false,
                _ => {
                    return Err(ApiError::BadRequest(format!(
                        "timeline must be true or false, not {value:?}"
                    )))
                }
            };
        }
    }
    let now = app.now();
    let found = app.store.get(&key, &app.rules, now).await?;
    let StoredLead { state, .. } =
        found.ok_or_else(|| ApiError::NotFound("no such lead".into()))?;
    let mut doc = lead_content(&state, &app.rules, now);
    if timeline {
        let events = app.store.ledger(&state.id).await?;
        doc["timeline"] = timeline_of(events);
    }
    let tag = etag(&doc);
    stamp(&mut doc, now);
    revalidated(req, &tag, &doc)
}

/// `body` with its ETag, or 304 and no body when `If-None-Match` names that tag. `no-cache`:
/// a client revalidates every time (scores decay as time passes), and a 304 costs no body.
fn revalidated(req: &Request, tag: &str, body: &Value) -> Result<Response<Body>, ApiError> {
    let builder = Response::builder()
        .header("etag", tag)
        .header("cache-control", "private, no-cache");
    let response = if if_none_match(req, tag) {
        builder.status(304).body(Body::Empty)
    } else {
        builder
            .status(200)
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))
    };
    response.map_err(|e| ApiError::Internal(e.to_string()))
}

/// The lead's events as the dashboard shows them: what happened, when, from where.
fn timeline_of(mut events: Vec<Event>) -> Value {
    events.sort_by(|a, b| (b.occurred_at, &b.id).cmp(&(a.occurred_at, &a.id)));
    events.truncate(TIMELINE_LIMIT);
    let rows: Vec<Value> = events
        .iter()
        .map(|e| {
            json!({
                "at": e.occurred_at, "signal": e.signal, "event": e.id,
                "source": e.attributes.source, "asset": e.attributes.asset,
                "bot": e.is_bot(),
            })
        })
        .collect();
    Value::Array(rows)
}

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

pub(crate) async fn list(app: &App, req: &Request) -> Result<Response<Body>, ApiError> {
    authorize(app, req, Role::Read)?;
    let query = page_query(req, DEFAULT_LIMIT, &["stage", "changed_since"])?;
    let mut stage = None;
    let mut changed_since = None;
    for (name, value) in &query.other {
        match name.as_str() {
            "stage" => {
                stage = Some(
                    value
                        .parse::<Stage>()
                        .map_err(|e| ApiError::BadRequest(e.to_string()))?,
                )
            }
            _ => {
                changed_since = Some(Timestamp::parse_rfc3339(value).map_err(|_| {
                    ApiError::BadRequest(format!(
                        "changed_since must be an RFC 3339 date-time such as \
                         2026-11-22T10:00:00Z, not {value:?}"
                    ))
                })?)
            }
        }
    }
    let stage = stage.ok_or_else(|| {
        ApiError::BadRequest("the stage query parameter is required, e.g. ?stage=sql".into())
    })?;
    let now = app.now();
    let page = app
        .store
        .list_by_stage(
            stage,
            changed_since,
            query.limit,
            query.cursor.as_deref(),
            &app.rules,
            now,
        )
        .await?;
    let leads: Vec<Value> = page
        .leads
        .iter()
        .map(|l| lead_content(&l.state, &app.rules, now))
        .collect();
    let mut body = json!({ "leads": leads, "next": page.next });
    let tag = etag(&body);
    if let Some(leads) = body["leads"].as_array_mut() {
        for doc in leads {
            stamp(doc, now);
        }
    }
    revalidated(req, &tag, &body)
}

pub(crate) async fn erase(
    app: &App,
    req: &Request,
    lead: &str,
) -> Result<Response<Body>, ApiError> {
    let actor = authorize(app, req, Role::Write)?;
    let key = lead_key(lead)?;
    tracing::info!(actor = %actor, "erasure asked");
    let response = match app.store.erase(&key, app.now(), app.erasure_budget).await? {
        Erasure::Unknown => return Err(ApiError::NotFound("no such lead".into())),
        Erasure::Done => {
            tracing::info!("lead erased");
            Response::builder().status(204).body(Body::Empty)
        }
        Erasure::InProgress => {
            // The lead already reads as absent. The ledger worker finishes it (the erasure
            // marker on the table's stream wakes it); the same DELETE also resumes it.
            tracing::info!("lead erasure in progress");
            Response::builder()
                .status(202)
                .header("content-type", "application/json")
                .header("retry-after", "1")
                .body(Body::from(
                    json!({ "status": "in_progress",
                            "message": "erasure begun: the lead no longer reads, and the rest is erased in the background; the same DELETE resumes it too, and answers 404 once nothing is left" })
                    .to_string(),
                ))
        }
    };
    response.map_err(|e| ApiError::Internal(e.to_string()))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Qualification {
    id: String,
    action: String,
    #[serde(default)]
    reason: Option<String>,
    /// Refused: the actor is the API key's name, not something a caller says.
    #[serde(default)]
    actor: Option<Value>,
    #[serde(default)]
    bant: Option<BantBody>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BantBody {
    budget: Option<u64>,
    authority: Option<String>,
    need: Option<String>,
    /// Months until they intend to buy.
    timeline: Option<u32>,
}

fn action_signal(action: &str) -> Result<Signal, ApiError> {
    const ACTIONS: [Signal; 8] = [
        Signal::SalesAccepted,
        Signal::SalesRejected,
        Signal::BantReported,
        Signal::OpportunityOpened,
        Signal::DealWon,
        Signal::DealLost,
        Signal::Disqualified,
        Signal::EvangelistConfirmed,
    ];
    ACTIONS
        .into_iter()
        .find(|s| action_name(*s) == action)
        .ok_or_else(|| {
            ApiError::BadRequest(format!(
                "unknown action {action:?}: expected one of accept, reject, bant, opportunity, \
                 won, lost, disqualify, evangelist"
            ))
        })
}

pub(crate) async fn qualify(
    app: &App,
    req: &Request,
    lead: &str,
) -> Result<Response<Body>, ApiError> {
    let actor = authorize(app, req, Role::Write)?;
    let key = lead_key(lead)?;
    let body: &[u8] = req.body().as_ref();
    if body.len() > MAX_API_BODY {
        return Err(ApiError::TooLarge {
            limit: MAX_API_BODY,
        });
    }
    let content_type = header(req, "content-type").unwrap_or_default();
    if !content_type
        .split(';')
        .next()
        .is_some_and(|ct| ct.trim().eq_ignore_ascii_case("application/json"))
    {
        return Err(ApiError::UnsupportedMediaType(format!(
            "send the qualification as application/json, not {content_type:?}"
        )));
    }
    let q: Qualification = serde_json::from_slice(body)
        .map_err(|e| ApiError::BadRequest(format!("qualification body: {e}")))?;
    if q.actor.is_some() {
        return Err(ApiError::BadRequest(
            "actor is not sent: the stage history names the API key (LEADSCORE_API_KEYS \
             name:role:key); give each rep or tool its own key"
                .into(),
        ));
    }
    let signal = action_signal(q.action.trim())?;
    let reason = q
        .reason
        .map(|r| r.trim().to_string())
        .filter(|r| !r.is_empty());
    if reason.is_none()
        && matches!(
            signal,
            Signal::SalesRejected | Signal::Disqualified | Signal::DealLost
        )
    {
        return Err(ApiError::BadRequest(format!(
            "{} moves the lead back: give a reason",
            q.action.trim()
        )));
    }
    let bant = match (&q.bant, signal) {
        (None, Signal::BantReported) => {
            return Err(ApiError::BadRequest(
                "action bant needs a bant object with budget, authority, need or timeline".into(),
            ))
        }
        (None, _) => BantUpdate::default(),
        (Some(b), _) => BantUpdate {
            budget: b.budget,
            authority: b.authority.clone().filter(|s| !s.trim().is_empty()),
            need: b.need.clone().filter(|s| !s.trim().is_empty()),
            timeline_months: b.timeline,
            source: BantSource::SalesCall,
        },
    };
    if signal == Signal::BantReported && bant.is_empty() {
        return Err(ApiError::BadRequest(
            "bant needs at least one of budget, authority, need, timeline".into(),
        ));
    }

    let now = app.now();
    let found = app.store.get(&key, &app.rules, now).await?;
    let StoredLead { state, .. } =
        found.ok_or_else(|| ApiError::NotFound("no such lead".into()))?;
    // Scoped to the lead: a client's ids need only be unique per lead.
    let id = EventId::parse(&format!("qual:{}:{}", state.id, q.id.trim()))
        .ok()
        .filter(|_| !q.id.trim().is_empty() && q.id.trim().len() <= 200)
        .ok_or_else(|| ApiError::BadRequest("id must be 1 to 200 printable characters".into()))?;
    let identity = Identity::new(
        state.email.clone(),
        state.anonymous_ids.iter().next().cloned(),
    )
    .ok_or_else(|| ApiError::Internal("a stored lead without identity".into()))?;
    let mut event = Event::new(id, signal, now, identity);
    if state.email.is_some() {
        // Sales act on the identified lead; the anonymous id is only its alias.
        event.identity.anonymous_id = None;
    }
    event.bant = bant;
    event.attributes = Attributes {
        source: Some("sales".into()),
        actor: Some(actor),
        reason,
        ..Attributes::default()
    };
    let applied = app.store.apply(&event, &app.rules, now).await?;
    let state = match applied.state {
        Some(state) => state,
        // A client's retry: the lead as it is now.
        None => {
            app.store
                .get(&LeadKey::Id(applied.lead_id.clone()), &app.rules, now)
                .await?
                .ok_or_else(|| ApiError::NotFound("no such lead".into()))?
                .state
        }
    };
    tracing::info!(
        lead = %applied.lead_id,
        action = action_name(signal),
        duplicate = applied.duplicate,
        stage = %state.stage,
        "qualification"
    );
    Ok(json_response(200, &lead_document(&state, &app.rules, now)))
}
