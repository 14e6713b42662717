//! Mailgun. Its signature (in the body: hex HMAC-SHA256 of `timestamp + token`) covers neither
//! the event nor the recipient, so the verifier hands the token to the edge
//! (`Received::signed_token`), which remembers it with the body it came with.

use super::{email_events, first_of, item, parse_email, user_agent, EmailItem, Mapped};
use crate::parse::unix_seconds;
use crate::util::{parse_json, text_at};
use crate::verify::Verified;
use crate::{AdapterError, Context, Inbound, Received};
use leadscore_scoring::Signal;

/// One event under `event-data`. The edge receives the signed token from the verifier.
pub(crate) fn parse(
    inbound: &Inbound<'_>,
    _: &Verified,
    ctx: &Context<'_>,
) -> Result<Received, AdapterError> {
    let body = parse_json(inbound.body)?;
    let e = body
        .get("event-data")
        .filter(|d| d.is_object())
        .ok_or_else(|| AdapterError::Malformed("no `event-data` object".into()))?;
    let kind = text_at(e, &["event"])
        .ok_or_else(|| AdapterError::Malformed("no `event-data.event`".into()))?;
    let at_time = e
        .get("timestamp")
        .and_then(unix_seconds)
        .unwrap_or(inbound.now);
    let message_id = text_at(e, &["message", "headers", "message-id"]);
    let signal = match kind.as_str() {
        "clicked" => Signal::EmailClicked,
        "opened" => Signal::EmailOpened,
        "unsubscribed" => Signal::Unsubscribed,
        "complained" => Signal::SpamComplaint,
        "failed" if text_at(e, &["severity"]).as_deref() == Some("permanent") => Signal::Bounced,
        "delivered" => {
            let mapped = match message_id {
                Some(message_id) => Mapped::Delivered {
                    message_id,
                    at: at_time,
                },
                None => Mapped::Ignored,
            };
            return email_events("mailgun", vec![mapped], ctx.mapping);
        }
        _ => return email_events("mailgun", vec![Mapped::Ignored], ctx.mapping),
    };
    let id =
        text_at(e, &["id"]).ok_or_else(|| AdapterError::Malformed("no `event-data.id`".into()))?;
    // client-type "robot" and a non-empty `bot` are Mailgun's own flags (unverified in a
    // primary source: read tolerantly).
    let robot = match (
        text_at(e, &["client-info", "client-type"]),
        text_at(e, &["client-info", "bot"]),
    ) {
        (_, Some(b)) => Some(format!("client-info.bot {b}")),
        (Some(t), _) if t == "robot" => Some("client-type robot".to_string()),
        _ => None,
    };
    let item_ = EmailItem {
        email: parse_email(text_at(e, &["recipient"])),
        url: text_at(e, &["url"]),
        campaign: first_of(e.get("tags")).or_else(|| text_at(e, &["user-variables", "campaign"])),
        message_id,
        user_agent: user_agent(e, &["client-info", "user-agent"]),
        robot,
        ..EmailItem::new(id, signal, at_time)
    };
    email_events("mailgun", vec![item(item_)], ctx.mapping)
}
