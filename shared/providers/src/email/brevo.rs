//! Brevo: HTTP Basic credentials (secret `user:pass`) or a Bearer token. `proxy_open` is
//! Apple Mail Privacy Protection: a bot.

use super::{email_events, first_of, item, parse_email, plain_datetime, EmailItem, Mapped};
use crate::parse::{digest, unix_millis, unix_seconds};
use crate::util::{parse_json, text_at};
use crate::verify::Verified;
use crate::{AdapterError, Context, Inbound, Received};
use leadscore_scoring::{Signal, Timestamp};
use serde_json::Value;

/// One event, or an array of them.
pub(crate) fn parse(
    inbound: &Inbound<'_>,
    _: &Verified,
    ctx: &Context<'_>,
) -> Result<Received, AdapterError> {
    let body = parse_json(inbound.body)?;
    let events = match body {
        Value::Array(items) => items,
        obj @ Value::Object(_) => vec![obj],
        _ => {
            return Err(AdapterError::Malformed(
                "expected a JSON object or array".into(),
            ))
        }
    };
    let mapped = events
        .iter()
        .enumerate()
        .map(|(n, e)| brevo_event(n, e, inbound.now))
        .collect::<Result<Vec<_>, _>>()?;
    email_events("brevo", mapped, ctx.mapping)
}

fn brevo_event(n: usize, e: &Value, now: Timestamp) -> Result<Mapped, AdapterError> {
    let kind = text_at(e, &["event"])
        .ok_or_else(|| AdapterError::Malformed(format!("event {n}: no `event`")))?;
    let mut robot = None;
    let signal = match kind.as_str() {
        "click" => Signal::EmailClicked,
        "opened" | "unique_opened" => Signal::EmailOpened,
        "proxy_open" | "unique_proxy_open" => {
            robot = Some(format!("{kind} (Apple Mail Privacy Protection)"));
            Signal::EmailOpened
        }
        "hard_bounce" => Signal::Bounced,
        "spam" | "complaint" => Signal::SpamComplaint,
        "unsubscribed" | "unsubscribe" => Signal::Unsubscribed,
        "list_addition" | "listAddition" => Signal::NewsletterSubscribed,
        _ => return Ok(Mapped::Ignored),
    };
    let occurred_at = e
        .get("ts_epoch")
        .and_then(unix_millis)
        .or_else(|| e.get("ts_event").and_then(unix_seconds))
        .or_else(|| e.get("ts").and_then(unix_seconds))
        .or_else(|| {
            e.get("date")
                .and_then(Value::as_str)
                .and_then(plain_datetime)
        })
        .unwrap_or(now);
    let message_id = text_at(e, &["message-id"]);
    let url = text_at(e, &["link"]).or_else(|| text_at(e, &["URL"]));
    let email = text_at(e, &["email"]);
    // `id` is the account's webhook id, not the event's: derive one.
    let id = format!(
        "h{}",
        digest(&[
            message_id
                .as_deref()
                .or(text_at(e, &["camp_id"]).as_deref())
                .unwrap_or_default(),
            &kind,
            &occurred_at.millis().to_string(),
            url.as_deref().unwrap_or_default(),
            email.as_deref().unwrap_or_default(),
        ])
    );
    Ok(item(EmailItem {
        email: parse_email(email),
        url,
        campaign: first_of(e.get("tags"))
            .or_else(|| text_at(e, &["campaign name"]))
            .or_else(|| text_at(e, &["camp_id"])),
        message_id,
        robot,
        ..EmailItem::new(id, signal, occurred_at)
    }))
}
