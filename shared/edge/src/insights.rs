//! `GET /insights`: the figures of `leadscore insights` (funnel, SLA, which signals convert,
//! trends) over HTTP, for the dashboard. The same code as the command: the store's records
//! grouped into histories (`leadscore-history`) and summed (`leadscore-insights`).
//!
//! The embedded store is local and read in full. DynamoDB is read by a Scan within a budget
//! (time and read capacity, `InsightsBudget`); when the budget runs out first, the figures
//! cover the whole ledgers read so far and the answer says it is partial: a large account
//! runs `leadscore insights --export` on a DynamoDB export, which costs the table nothing.

use crate::leads::authorize;
use crate::{json_response, ApiError, App};
use lambda_http::{Body, Request, RequestExt, Response};
use leadscore_history::{analyse, GroupOptions, HistoryError};
use leadscore_insights::{insights, InsightOptions};
use leadscore_scoring::Timestamp;
use leadscore_store::{ReadBudget, Reading};
use serde_json::json;
use std::time::Duration;

/// How much of the live store one request may read.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct InsightsBudget {
    /// Reading stops after this long; grouping and summing what was read follow.
    pub time: Duration,
    /// Read capacity per second the Scan may consume on average (0: no limit).
    pub max_read_units_per_second: f64,
    /// Parallel Scan segments.
    pub segments: u32,
}

impl Default for InsightsBudget {
    /// 4 s and 200 units a second: at most about 800 read units (an eventually consistent
    /// Scan reads 8 KB a unit: some 6 MB, tens of thousands of events), within the
    /// function's 10 s.
    fn default() -> Self {
        InsightsBudget {
            time: Duration::from_secs(4),
            max_read_units_per_second: 200.0,
            segments: 4,
        }
    }
}

/// The query: `as_of` (RFC 3339), `within_days`, `sla_hours`.
fn options(req: &Request) -> Result<(Option<Timestamp>, InsightOptions), ApiError> {
    let mut as_of = None;
    let mut options = InsightOptions::default();
    let number = |name: &str, value: &str, max: u32| {
        value
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| {
                ApiError::BadRequest(format!(
                    "{name} must be a whole number from 1 to {max}, not {value:?}"
                ))
            })
    };
    for (name, value) in req.query_string_parameters().iter() {
        match name {
            "as_of" => {
                as_of = Some(Timestamp::parse_rfc3339(value).map_err(|_| {
                    ApiError::BadRequest(format!(
                        "as_of must be an RFC 3339 date-time such as 2026-11-30T00:00:00Z, \
                         not {value:?}"
                    ))
                })?)
            }
            "within_days" => options.within_days = number(name, value, 3_650)?,
            "sla_hours" => options.sla_hours = number(name, value, 8_760)?,
            other => {
                return Err(ApiError::BadRequest(format!(
                    "unknown query parameter {other:?} (expected as_of, within_days, sla_hours)"
                )))
            }
        }
    }
    Ok((as_of, options))
}

pub(crate) async fn get(app: &App, req: &Request) -> Result<Response<Body>, ApiError> {
    authorize(app, req, crate::Role::Read)?;
    let (as_of, options) = options(req)?;
    let as_of = as_of.unwrap_or_else(|| app.now());
    let budget = app.insights_budget;
    let Reading {
        records,
        completion,
    } = app.store.read_records(ReadBudget {
        until: Some(tokio::time::Instant::now() + budget.time),
        segments: budget.segments,
        max_read_units_per_second: budget.max_read_units_per_second,
    });
    let rules = app.rules.clone();
    let summed = options.clone();
    let (report, stats) = analyse(
        records,
        GroupOptions::default(),
        |_| {},
        move |h| insights(h, &rules, as_of, &summed),
    )
    .await
    .map_err(|e| match e {
        HistoryError::Store(e) => ApiError::from(e),
        other => ApiError::Internal(other.to_string()),
    })?;
    let complete = completion.complete();
    let mut body = serde_json::to_value(&report).map_err(|e| ApiError::Internal(e.to_string()))?;
    body["read"] = json!({
        "complete": complete,
        "records": stats.records,
        "note": if complete {
            "every record of the store".to_string()
        } else {
            format!(
                "partial: the read budget ({} s, {} read units a second) ran out; these figures \
                 cover the {} records read (whole ledgers only). For the whole history run \
                 `leadscore insights --export` on a DynamoDB export to S3",
                budget.time.as_secs_f64(),
                budget.max_read_units_per_second,
                stats.records
            )
        },
    });
    tracing::info!(
        complete,
        records = stats.records,
        leads = report.leads,
        "insights"
    );
    Ok(json_response(200, &body))
}
