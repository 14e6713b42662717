//! `json`, our own format for any sender (Standard Webhooks), on the routes of every channel.
//! Its scheme is a row of `sources.rs`; this only parses.

use crate::fields::country_code;
use crate::parse::event_id;
use crate::util::parse_json;
use crate::verify::Verified;
use crate::{AdapterError, Context, Inbound, Received};
use leadscore_scoring::{
    AnonymousId, Attributes, BantSource, BantUpdate, Email, Event, Identity, Profile, Signal,
    SignalKind, Timestamp,
};
use serde::Deserialize;
use serde_json::Value;

/// One event of our generic format (README: "json").
#[derive(Debug, Deserialize)]
struct JsonEvent {
    id: String,
    #[serde(rename = "type")]
    signal: String,
    #[serde(default)]
    occurred_at: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    anonymous_id: Option<String>,
    #[serde(default)]
    profile: Profile,
    #[serde(default)]
    attributes: Attributes,
    #[serde(default)]
    bant: BantUpdate,
}

/// The body as a list: one object, or an array of them.
pub(crate) fn items(v: Value) -> Vec<Value> {
    match v {
        Value::Array(items) => items,
        other => vec![other],
    }
}

/// One event or an array of them; without `occurred_at`, an event is dated when it was signed.
pub(crate) fn json(
    inbound: &Inbound<'_>,
    verified: &Verified,
    _: &Context<'_>,
) -> Result<Received, AdapterError> {
    let signed_at = verified.signed_at.unwrap_or(inbound.now);
    let body = parse_json(inbound.body)?;
    let mut events = Vec::new();
    for (i, item) in items(body).into_iter().enumerate() {
        events.push(json_event(i, item, signed_at)?);
    }
    Ok(Received {
        events,
        ..Received::default()
    })
}

fn json_event(i: usize, item: Value, signed_at: Timestamp) -> Result<Event, AdapterError> {
    let bad = |what: String| AdapterError::Malformed(format!("event {i}: {what}"));
    let raw: JsonEvent = serde_json::from_value(item).map_err(|e| bad(e.to_string()))?;
    let signal: Signal = raw.signal.parse().map_err(|_| {
        bad(format!(
            "unknown type `{}`: expected a signal name such as demo_requested",
            raw.signal
        ))
    })?;
    if signal.kind() == SignalKind::SalesFeedback {
        return Err(bad(format!(
            "`{signal}` is sales feedback: send it to POST /leads/{{lead}}/qualification"
        )));
    }
    let email = raw
        .email
        .as_deref()
        .map(Email::parse)
        .transpose()
        .map_err(|_| bad("`email` is not a valid email address".into()))?;
    let anonymous_id = raw
        .anonymous_id
        .as_deref()
        .map(AnonymousId::parse)
        .transpose()
        .map_err(|e| bad(format!("`anonymous_id`: {e}")))?;
    let identity = Identity::new(email, anonymous_id)
        .ok_or_else(|| bad("needs `email` or `anonymous_id`".into()))?;
    let occurred_at = match &raw.occurred_at {
        Some(s) => Timestamp::parse_rfc3339(s).map_err(|e| bad(format!("`occurred_at`: {e}")))?,
        None => signed_at,
    };
    let mut attributes = raw.attributes;
    attributes.source.get_or_insert_with(|| "json".to_string());
    let mut profile = raw.profile;
    // "France" or "fr" become "FR", like form answers; unknown names are kept as sent.
    if let Some(country) = profile.country.take() {
        profile.country = Some(country_code(&country).unwrap_or(country));
    }
    Ok(Event {
        profile,
        attributes,
        bant: BantUpdate {
            source: BantSource::Form,
            ..raw.bant
        },
        ..Event::new(
            event_id("json", &raw.id, None)?,
            signal,
            occurred_at,
            identity,
        )
    })
}
