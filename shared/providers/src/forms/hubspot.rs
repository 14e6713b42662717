//! HubSpot (v3 signature: base64 HMAC-SHA256 of method + URI + body + timestamp, in ms). A
//! workflow's "Send a webhook" action posts the whole contact; webhooks API batches name
//! contacts by id only and are ignored.

use super::{form_events, Submission};
use crate::fields::Field;
use crate::parse::{digest, unix_millis};
use crate::util::parse_json;
use crate::verify::Verified;
use crate::{AdapterError, Context, Inbound, Received};
use serde_json::Value;

/// A contact object, or an array of webhooks API events (ignored).
pub(crate) fn parse(
    inbound: &Inbound<'_>,
    _: &Verified,
    ctx: &Context<'_>,
) -> Result<Received, AdapterError> {
    let body = parse_json(inbound.body)?;
    match &body {
        // The webhooks API: subscription events that name a contact by id only.
        Value::Array(items) => Ok(Received {
            ignored: u32::try_from(items.len()).unwrap_or(u32::MAX),
            ..Received::default()
        }),
        Value::Object(_) => hubspot_contact(&body, inbound, ctx),
        _ => Err(AdapterError::Malformed(
            "expected a contact object or an array of events".into(),
        )),
    }
}

/// A workflow's "Send a webhook" action: the whole contact, properties as plain values or as
/// `{"value": ...}` objects (the v1 contact format).
fn hubspot_contact(
    body: &Value,
    inbound: &Inbound<'_>,
    ctx: &Context<'_>,
) -> Result<Received, AdapterError> {
    let Some(Value::Object(properties)) = body.get("properties") else {
        return Err(AdapterError::Malformed("no `properties` object".into()));
    };
    let mut form = None;
    let mut fields = Vec::new();
    for (name, v) in properties {
        let value = match v {
            Value::Object(o) => o.get("value").cloned().unwrap_or(Value::Null),
            other => other.clone(),
        };
        if name == "recent_conversion_event_name" {
            form = crate::fields::value_text(&value);
        } else if !name.starts_with("hs_") && !HUBSPOT_SYSTEM.contains(&name.as_str()) {
            fields.push(Field::new(name.clone(), value));
        }
    }
    let occurred_at = ["occurredAt", "updatedAt"]
        .iter()
        .find_map(|k| body.get(*k).and_then(unix_millis))
        .or_else(|| {
            properties
                .get("lastmodifieddate")
                .and_then(|v| unix_millis(v.get("value").unwrap_or(v)))
        })
        .unwrap_or(inbound.now);
    // No event id in a workflow call: the same body is the same delivery.
    let body_text = String::from_utf8_lossy(inbound.body);
    form_events(
        Submission {
            source: "hubspot",
            provider_id: format!("h{}", digest(&[&body_text])),
            occurred_at,
            form,
            fields,
            email: None,
            anonymous_id: None,
        },
        ctx.mapping,
    )
}

const HUBSPOT_SYSTEM: &[&str] = &[
    "createdate",
    "lastmodifieddate",
    "lifecyclestage",
    "associatedcompanyid",
    "num_conversion_events",
    "num_unique_conversion_events",
    "first_conversion_event_name",
    "first_conversion_date",
    "recent_conversion_date",
    "ip_city",
    "ip_country",
    "ip_state",
];
