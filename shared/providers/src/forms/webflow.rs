//! Webflow (`x-webflow-signature` hex HMAC-SHA256 of `timestamp:body`, timestamp in ms).
//! `payload.data` is keyed by the labels the site owner chose.

use super::{form_events, ignored_one, Submission};
use crate::fields::Field;
use crate::parse::rfc3339;
use crate::util::{at, parse_json, text_at};
use crate::verify::Verified;
use crate::{AdapterError, Context, Inbound, Received};
use serde_json::Value;

/// A `form_submission` trigger; other triggers are ignored.
pub(crate) fn parse(
    inbound: &Inbound<'_>,
    _: &Verified,
    ctx: &Context<'_>,
) -> Result<Received, AdapterError> {
    let body = parse_json(inbound.body)?;
    if text_at(&body, &["triggerType"]).as_deref() != Some("form_submission") {
        return Ok(ignored_one());
    }
    let payload = at(&body, &["payload"])
        .filter(|p| p.is_object())
        .ok_or_else(|| AdapterError::Malformed("no `payload` object".into()))?;
    let id = text_at(payload, &["id"])
        .ok_or_else(|| AdapterError::Malformed("no `payload.id`".into()))?;
    let fields = match at(payload, &["data"]) {
        Some(Value::Object(data)) => data
            .iter()
            .map(|(k, v)| Field::new(k.clone(), v.clone()))
            .collect(),
        _ => return Err(AdapterError::Malformed("no `payload.data` object".into())),
    };
    form_events(
        Submission {
            source: "webflow",
            provider_id: id,
            occurred_at: at(payload, &["submittedAt"])
                .and_then(rfc3339)
                .unwrap_or(inbound.now),
            form: text_at(payload, &["name"]),
            fields,
            email: None,
            anonymous_id: None,
        },
        ctx.mapping,
    )
}
