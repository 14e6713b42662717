//! Mandrill (Mailchimp Transactional): form field `mandrill_events`, a JSON array. The
//! signature (over the URL and the sorted fields), the URL checks and the empty test batch are
//! the verifier's. `user_agent_parsed.type = robot` is Mandrill's bot flag.

use super::{email_events, first_of, item, parse_email, user_agent, EmailItem, Mapped};
use crate::parse::{digest, unix_seconds};
use crate::util::{at, form_pairs, text_at};
use crate::verify::Verified;
use crate::{AdapterError, Context, Inbound, Received};
use leadscore_scoring::{Signal, Timestamp};
use serde_json::Value;

/// The JSON array in the form field `mandrill_events`.
pub(crate) fn parse(
    inbound: &Inbound<'_>,
    _: &Verified,
    ctx: &Context<'_>,
) -> Result<Received, AdapterError> {
    let pairs = form_pairs(inbound.body);
    let raw_events = pairs
        .iter()
        .find(|(k, _)| k == "mandrill_events")
        .map(|(_, v)| v.as_str())
        .ok_or_else(|| AdapterError::Malformed("no `mandrill_events` field".into()))?;
    let events: Value = serde_json::from_str(raw_events)
        .map_err(|e| AdapterError::Malformed(format!("`mandrill_events` is not JSON: {e}")))?;
    let Value::Array(events) = events else {
        return Err(AdapterError::Malformed(
            "`mandrill_events` is not a JSON array".into(),
        ));
    };
    let mapped = events
        .iter()
        .enumerate()
        .map(|(n, e)| mandrill_event(n, e, inbound.now))
        .collect::<Result<Vec<_>, _>>()?;
    email_events("mandrill", mapped, ctx.mapping)
}

fn mandrill_event(n: usize, e: &Value, now: Timestamp) -> Result<Mapped, AdapterError> {
    if !e.is_object() {
        return Err(AdapterError::Malformed(format!(
            "event {n} is not an object"
        )));
    }
    // Sync events (whitelist/blacklist) carry `type` instead of `event`.
    let Some(kind) = text_at(e, &["event"]) else {
        return Ok(Mapped::Ignored);
    };
    let signal = match kind.as_str() {
        "open" => Signal::EmailOpened,
        "click" => Signal::EmailClicked,
        "spam" => Signal::SpamComplaint,
        "unsub" => Signal::Unsubscribed,
        "hard_bounce" => Signal::Bounced,
        _ => return Ok(Mapped::Ignored),
    };
    let ts = e.get("ts").and_then(unix_seconds).unwrap_or(now);
    let msg_id = text_at(e, &["msg", "_id"]).or_else(|| text_at(e, &["_id"]));
    let url = text_at(e, &["url"]);
    // No unique event id: (message, event, time, link) identifies one.
    let id = format!(
        "h{}",
        digest(&[
            msg_id.as_deref().unwrap_or_default(),
            &kind,
            &ts.millis().to_string(),
            url.as_deref().unwrap_or_default(),
        ])
    );
    let robot = (text_at(e, &["user_agent_parsed", "type"]).as_deref() == Some("robot"))
        .then(|| "user_agent_parsed.type robot".to_string());
    Ok(item(EmailItem {
        email: parse_email(text_at(e, &["msg", "email"])),
        url,
        campaign: first_of(at(e, &["msg", "tags"]))
            .or_else(|| text_at(e, &["msg", "metadata", "campaign"])),
        message_id: msg_id,
        user_agent: user_agent(e, &["user_agent"]),
        robot,
        sent_at: at(e, &["msg", "ts"]).and_then(unix_seconds),
        ..EmailItem::new(id, signal, ts)
    }))
}
