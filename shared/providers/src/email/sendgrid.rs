//! SendGrid's Event Webhook (signed with ECDSA: `Scheme::Ecdsa`). `sg_machine_open` opens
//! are bots; `delivered` dates the message for the bot rules.

use super::{email_events, first_of, item, parse_email, user_agent, EmailItem, Mapped};
use crate::parse::{digest, unix_seconds};
use crate::util::{parse_json, text_at};
use crate::verify::Verified;
use crate::{AdapterError, Context, Inbound, Received};
use leadscore_scoring::{Signal, Timestamp};
use serde_json::Value;

/// A JSON array of events.
pub(crate) fn parse(
    inbound: &Inbound<'_>,
    _: &Verified,
    ctx: &Context<'_>,
) -> Result<Received, AdapterError> {
    let body = parse_json(inbound.body)?;
    let Value::Array(events) = body else {
        return Err(AdapterError::Malformed(
            "expected a JSON array of events".into(),
        ));
    };
    let mut mapped = Vec::with_capacity(events.len());
    for (n, e) in events.iter().enumerate() {
        mapped.push(sendgrid_event(n, e, inbound.now)?);
    }
    email_events("sendgrid", mapped, ctx.mapping)
}

fn sendgrid_event(n: usize, e: &Value, now: Timestamp) -> Result<Mapped, AdapterError> {
    let kind = text_at(e, &["event"])
        .ok_or_else(|| AdapterError::Malformed(format!("event {n}: no `event`")))?;
    let at_time = e.get("timestamp").and_then(unix_seconds).unwrap_or(now);
    let message_id = text_at(e, &["sg_message_id"]);
    let signal = match kind.as_str() {
        "open" => Signal::EmailOpened,
        "click" => Signal::EmailClicked,
        "bounce" if text_at(e, &["type"]).as_deref() != Some("blocked") => Signal::Bounced,
        "spamreport" => Signal::SpamComplaint,
        "unsubscribe" | "group_unsubscribe" => Signal::Unsubscribed,
        "delivered" => {
            return Ok(match message_id {
                Some(message_id) => Mapped::Delivered {
                    message_id,
                    at: at_time,
                },
                None => Mapped::Ignored,
            })
        }
        _ => return Ok(Mapped::Ignored),
    };
    let id =
        text_at(e, &["sg_event_id"]).unwrap_or_else(|| format!("h{}", digest(&[&e.to_string()])));
    let machine_open = e.get("sg_machine_open") == Some(&Value::Bool(true));
    Ok(item(EmailItem {
        email: parse_email(text_at(e, &["email"])),
        url: text_at(e, &["url"]),
        campaign: first_of(e.get("category"))
            .or_else(|| text_at(e, &["marketing_campaign_name"]))
            .or_else(|| text_at(e, &["singlesend_name"])),
        message_id,
        user_agent: user_agent(e, &["useragent"]),
        robot: machine_open.then(|| "sg_machine_open (machine open)".to_string()),
        ..EmailItem::new(id, signal, at_time)
    }))
}
