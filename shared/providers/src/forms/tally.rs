//! Tally (`Tally-Signature` base64 HMAC-SHA256 of the body). Choice answers are option ids:
//! they are shown as their text.

use super::{form_events, ignored_one, Submission};
use crate::fields::Field;
use crate::parse::rfc3339;
use crate::util::{at, parse_json, text_at};
use crate::verify::Verified;
use crate::{AdapterError, Context, Inbound, Received};
use serde_json::Value;

/// A `FORM_RESPONSE` event; other event types are ignored.
pub(crate) fn parse(
    inbound: &Inbound<'_>,
    _: &Verified,
    ctx: &Context<'_>,
) -> Result<Received, AdapterError> {
    let body = parse_json(inbound.body)?;
    let id = text_at(&body, &["eventId"])
        .ok_or_else(|| AdapterError::Malformed("no `eventId`".into()))?;
    if text_at(&body, &["eventType"]).as_deref() != Some("FORM_RESPONSE") {
        return Ok(ignored_one());
    }
    let raw_fields = at(&body, &["data", "fields"])
        .and_then(Value::as_array)
        .ok_or_else(|| AdapterError::Malformed("no `data.fields` array".into()))?;
    let mut fields = Vec::new();
    for f in raw_fields {
        let kind = text_at(f, &["type"]).unwrap_or_default();
        let Some(mut value) = f.get("value").cloned() else {
            continue;
        };
        // Choice answers are option ids: show their text.
        if let Some(options) = f.get("options").and_then(Value::as_array) {
            let text_of = |id: &Value| {
                options
                    .iter()
                    .find(|o| o.get("id") == Some(id))
                    .and_then(|o| o.get("text").cloned())
                    .unwrap_or_else(|| id.clone())
            };
            value = match value {
                Value::Array(ids) => Value::Array(ids.iter().map(text_of).collect()),
                single => text_of(&single),
            };
        }
        let mut names: Vec<String> = text_at(f, &["label"]).into_iter().collect();
        names.extend(text_at(f, &["key"]));
        fields.push(Field {
            names,
            value,
            choice: matches!(
                kind.as_str(),
                "MULTIPLE_CHOICE" | "DROPDOWN" | "CHECKBOXES" | "MULTI_SELECT" | "RANKING"
            ),
            email_typed: kind == "INPUT_EMAIL",
        });
    }
    form_events(
        Submission {
            source: "tally",
            provider_id: id,
            occurred_at: at(&body, &["createdAt"])
                .and_then(rfc3339)
                .unwrap_or(inbound.now),
            form: text_at(&body, &["data", "formName"]),
            fields,
            email: None,
            anonymous_id: None,
        },
        ctx.mapping,
    )
}
