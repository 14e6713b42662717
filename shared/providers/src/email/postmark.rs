//! Postmark: HTTP Basic credentials put in the webhook URL (`https://user:pass@...`); the
//! secret is `user:pass`.

use super::{email_events, item, parse_email, user_agent, EmailItem, Mapped};
use crate::parse::{digest, rfc3339};
use crate::util::{parse_json, text_at};
use crate::verify::Verified;
use crate::{AdapterError, Context, Inbound, Received};
use leadscore_scoring::Signal;
use serde_json::Value;

/// One event, by `RecordType`.
pub(crate) fn parse(
    inbound: &Inbound<'_>,
    _: &Verified,
    ctx: &Context<'_>,
) -> Result<Received, AdapterError> {
    let e = parse_json(inbound.body)?;
    let kind = text_at(&e, &["RecordType"])
        .ok_or_else(|| AdapterError::Malformed("no `RecordType`".into()))?;
    let (signal, time_key, email_key) = match kind.as_str() {
        "Click" => (Signal::EmailClicked, "ReceivedAt", "Recipient"),
        "Open" => (Signal::EmailOpened, "ReceivedAt", "Recipient"),
        "Bounce"
            if matches!(
                text_at(&e, &["Type"]).as_deref(),
                Some("HardBounce" | "BadEmailAddress")
            ) =>
        {
            (Signal::Bounced, "BouncedAt", "Email")
        }
        "SpamComplaint" => (Signal::SpamComplaint, "BouncedAt", "Email"),
        "SubscriptionChange"
            if e.get("SuppressSending") == Some(&Value::Bool(true))
                && text_at(&e, &["SuppressionReason"]).as_deref() == Some("ManualSuppression") =>
        {
            (Signal::Unsubscribed, "ChangedAt", "Recipient")
        }
        _ => return email_events("postmark", vec![Mapped::Ignored], ctx.mapping),
    };
    let occurred_at = e.get(time_key).and_then(rfc3339).unwrap_or(inbound.now);
    let message_id = text_at(&e, &["MessageID"]);
    let url = text_at(&e, &["OriginalLink"]);
    let id = format!(
        "h{}",
        digest(&[
            message_id.as_deref().unwrap_or_default(),
            &kind,
            url.as_deref().unwrap_or_default(),
            &text_at(&e, &[time_key]).unwrap_or_default(),
            &text_at(&e, &["ID"]).unwrap_or_default(),
        ])
    );
    let item_ = EmailItem {
        email: parse_email(text_at(&e, &[email_key]).or_else(|| text_at(&e, &["Email"]))),
        url,
        campaign: text_at(&e, &["Tag"]),
        message_id,
        user_agent: matches!(signal, Signal::EmailClicked | Signal::EmailOpened)
            .then(|| user_agent(&e, &["UserAgent"]))
            .flatten(),
        ..EmailItem::new(id, signal, occurred_at)
    };
    email_events("postmark", vec![item(item_)], ctx.mapping)
}
