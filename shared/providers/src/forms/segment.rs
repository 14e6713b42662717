//! `segment`: the Segment / RudderStack webhook destination (identify, track, page, screen),
//! on the forms route. Its scheme is a row of `sources/forms.rs`; this only parses.

use crate::fields::{flatten_fields, read_fields};
use crate::generic::items;
use crate::mapping::Mapping;
use crate::parse::{event_id, rfc3339};
use crate::util::{at, normalize, parse_json, text_at};
use crate::verify::Verified;
use crate::{AdapterError, Context, Inbound, Received};
use leadscore_scoring::{
    AnonymousId, Attributes, Email, Event, Identity, Signal, SignalKind, Timestamp,
};
use serde_json::Value;

/// Segment (signed with `X-Signature`, hex HMAC-SHA1 of the body, unverified in a primary
/// source) or RudderStack (a configured header, for which we take `Authorization`: Bearer
/// token, or Basic `user:password`): one call, an array, or `{"batch": [...]}`.
pub(crate) fn parse(
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

impl Mapping {
    /// The signal of a tracked event name (Segment / RudderStack `track`): the mapping, or a
    /// canonical signal name as is.
    pub(crate) fn event_signal(&self, name: &str) -> Option<Signal> {
        let key = normalize(name);
        self.events.get(&key).copied().or_else(|| {
            key.replace(' ', "_")
                .parse::<Signal>()
                .ok()
                .filter(|s| s.kind() != SignalKind::SalesFeedback)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_entries_override_defaults_key_by_key() {
        let m = Mapping::from_rules_toml(
            "version = 1\n[mapping.events]\n\"Webinar Attended\" = \"content_downloaded\"\n",
        )
        .unwrap();
        assert_eq!(
            m.event_signal("webinar_attended"),
            Some(Signal::ContentDownloaded)
        );
        // defaults are still there
        assert_eq!(
            m.event_signal("Demo Requested"),
            Some(Signal::DemoRequested)
        );
        assert_eq!(m.event_signal("deal_won"), None);
    }
}
