//! `json`, our own format for any sender (Standard Webhooks), and `segment`, the Segment /
//! RudderStack webhook destination (identify, track, page). Their schemes are rows of
//! `sources.rs`; these functions only parse.

use crate::fields::{country_code, flatten_fields, read_fields};
use crate::util::{at, event_id, parse_json, rfc3339, text_at};
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
fn items(v: Value) -> Vec<Value> {
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

/// Segment (signed with `X-Signature`, hex HMAC-SHA1 of the body, unverified in a primary
/// source) or RudderStack (a configured header, for which we take `Authorization`: Bearer
/// token, or Basic `user:password`): one call, an array, or `{"batch": [...]}`.
pub(crate) fn segment(
    inbound: &Inbound<'_>,
    _: &Verified,
    ctx: &Context<'_>,
) -> Result<Received, AdapterError> {
    let body = parse_json(inbound.body)?;
    let calls = match body {
        Value::Object(mut o) if o.get("batch").is_some_and(Value::is_array) => {
            items(o.remove("batch").unwrap_or_default())
        }
        other => items(other),
    };
    let mut received = Received::default();
    for (i, call) in calls.iter().enumerate() {
        match segment_call(i, call, inbound.now, ctx)? {
            Some(event) => received.events.push(event),
            None => received.ignored += 1,
        }
    }
    Ok(received)
}

fn segment_call(
    i: usize,
    call: &Value,
    now: Timestamp,
    ctx: &Context<'_>,
) -> Result<Option<Event>, AdapterError> {
    let bad = |what: &str| AdapterError::Malformed(format!("call {i}: {what}"));
    let kind = text_at(call, &["type"]).ok_or_else(|| bad("no `type`"))?;
    let message_id = text_at(call, &["messageId"]).ok_or_else(|| bad("no `messageId`"))?;
    let mapping = ctx.mapping;
    let signal = match kind.as_str() {
        "track" => {
            let name = text_at(call, &["event"]).ok_or_else(|| bad("track without `event`"))?;
            mapping.event_signal(&name)
        }
        "page" | "screen" => mapping.page_signal,
        "identify" => mapping.identify_signal,
        // group, alias: about accounts and ids, not a person's behaviour.
        _ => None,
    };
    let Some(signal) = signal else {
        return Ok(None);
    };
    let mut fields = Vec::new();
    for path in [&["traits"][..], &["context", "traits"]] {
        if let Some(traits) = at(call, path) {
            flatten_fields("", traits, &mut fields);
        }
    }
    let reading = read_fields(&fields, mapping);
    let email = reading
        .email
        .or_else(|| text_at(call, &["properties", "email"]).and_then(|e| Email::parse(&e).ok()));
    let anonymous_id = text_at(call, &["anonymousId"]).and_then(|a| AnonymousId::parse(&a).ok());
    let Some(identity) = Identity::new(email, anonymous_id) else {
        return Ok(None);
    };
    let occurred_at = ["timestamp", "originalTimestamp", "sentAt", "receivedAt"]
        .iter()
        .find_map(|k| call.get(*k).and_then(rfc3339))
        .unwrap_or(now);
    let props = |keys: &[&str]| keys.iter().find_map(|k| text_at(call, &["properties", k]));
    let attributes = Attributes {
        source: Some("segment".into()),
        url: text_at(call, &["context", "page", "url"]).or_else(|| props(&["url"])),
        campaign: text_at(call, &["context", "campaign", "name"]).or_else(|| props(&["campaign"])),
        asset: props(&["asset", "video", "title", "name", "product_id", "sku"]),
        form: props(&["form", "form_id"]),
        ..Attributes::default()
    };
    Ok(Some(Event {
        profile: reading.profile,
        attributes,
        bant: reading.bant,
        ..Event::new(
            event_id("segment", &message_id, None)?,
            signal,
            occurred_at,
            identity,
        )
    }))
}
