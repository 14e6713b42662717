//! Typeform (`Typeform-Signature: sha256=` base64 HMAC-SHA256 of the body). Answers are read
//! by type, named by their question's title and `ref`; hidden fields are read too.

use super::{form_events, ignored_one, Submission};
use crate::fields::Field;
use crate::parse::rfc3339;
use crate::util::{at, parse_json, text_at};
use crate::verify::Verified;
use crate::{AdapterError, Context, Inbound, Received};
use serde_json::Value;

/// A `form_response` event; other event types are ignored.
pub(crate) fn parse(
    inbound: &Inbound<'_>,
    _: &Verified,
    ctx: &Context<'_>,
) -> Result<Received, AdapterError> {
    let body = parse_json(inbound.body)?;
    let event_id = text_at(&body, &["event_id"])
        .ok_or_else(|| AdapterError::Malformed("no `event_id`".into()))?;
    if text_at(&body, &["event_type"]).as_deref() != Some("form_response") {
        return Ok(ignored_one());
    }
    let response = at(&body, &["form_response"])
        .filter(|r| r.is_object())
        .ok_or_else(|| AdapterError::Malformed("no `form_response` object".into()))?;
    let titles: Vec<(String, String)> = at(response, &["definition", "fields"])
        .and_then(Value::as_array)
        .map(|fields| {
            fields
                .iter()
                .filter_map(|f| Some((text_at(f, &["id"])?, text_at(f, &["title"])?)))
                .collect()
        })
        .unwrap_or_default();
    let mut fields = Vec::new();
    for answer in at(response, &["answers"])
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let kind = text_at(answer, &["type"]).unwrap_or_default();
        let (value, choice) = match kind.as_str() {
            "choice" => (
                at(answer, &["choice", "label"])
                    .or_else(|| at(answer, &["choice", "other"]))
                    .cloned(),
                true,
            ),
            "choices" => {
                let mut labels: Vec<Value> = at(answer, &["choices", "labels"])
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                labels.extend(at(answer, &["choices", "other"]).cloned());
                (Some(Value::Array(labels)), true)
            }
            "payment" => (None, false),
            other => (answer.get(other).cloned(), false),
        };
        let Some(value) = value else { continue };
        let field_id = text_at(answer, &["field", "id"]).unwrap_or_default();
        let mut names: Vec<String> = titles
            .iter()
            .filter(|(id, _)| *id == field_id)
            .map(|(_, t)| t.clone())
            .collect();
        names.extend(text_at(answer, &["field", "ref"]));
        if names.is_empty() {
            names.push(field_id);
        }
        fields.push(Field {
            names,
            value,
            choice,
            email_typed: kind == "email",
        });
    }
    if let Some(Value::Object(hidden)) = at(response, &["hidden"]) {
        fields.extend(hidden.iter().map(|(k, v)| Field::new(k.clone(), v.clone())));
    }
    form_events(
        Submission {
            source: "typeform",
            provider_id: event_id,
            occurred_at: at(response, &["submitted_at"])
                .and_then(rfc3339)
                .unwrap_or(inbound.now),
            form: text_at(response, &["definition", "title"]),
            fields,
            email: None,
            anonymous_id: None,
        },
        ctx.mapping,
    )
}
