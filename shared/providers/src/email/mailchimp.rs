//! Mailchimp audience webhooks. They sign nothing: the secret goes in the URL as
//! `?token=<secret>`. They carry list changes only (no opens or clicks: those come through
//! Mandrill).

use super::{email_events, item, parse_email, plain_datetime, EmailItem, Mapped};
use crate::fields::{read_fields, Field};
use crate::parse::{body_str, digest};
use crate::util::form_pairs;
use crate::verify::Verified;
use crate::{AdapterError, Context, Inbound, Received};
use leadscore_scoring::Signal;
use serde_json::Value;

/// One list change (form fields `type`, `fired_at`, `data[...]`).
pub(crate) fn parse(
    inbound: &Inbound<'_>,
    _: &Verified,
    ctx: &Context<'_>,
) -> Result<Received, AdapterError> {
    body_str(inbound.body)?;
    let pairs = form_pairs(inbound.body);
    let get = |k: &str| {
        pairs
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let kind = get("type").ok_or_else(|| AdapterError::Malformed("no `type` field".into()))?;
    let fired_at = get("fired_at");
    let signal = match kind.as_str() {
        "subscribe" => Signal::NewsletterSubscribed,
        "unsubscribe" => Signal::Unsubscribed,
        "cleaned" if get("data[reason]").as_deref() == Some("abuse") => Signal::SpamComplaint,
        "cleaned" => Signal::Bounced,
        // profile, upemail, campaign: no behaviour of the person.
        _ => return email_events("mailchimp", vec![Mapped::Ignored], ctx.mapping),
    };
    let email = get("data[email]");
    let merges: Vec<Field> = pairs
        .iter()
        .filter_map(|(k, v)| {
            let tag = k.strip_prefix("data[merges][")?.strip_suffix(']')?;
            (tag != "EMAIL").then(|| Field::new(tag, Value::String(v.clone())))
        })
        .collect();
    let profile = read_fields(&merges, ctx.mapping).profile;
    let id = format!(
        "h{}",
        digest(&[
            &kind,
            fired_at.as_deref().unwrap_or_default(),
            get("data[id]")
                .or(email.clone())
                .as_deref()
                .unwrap_or_default(),
            get("data[list_id]").as_deref().unwrap_or_default(),
        ])
    );
    let item_ = EmailItem {
        email: parse_email(email),
        profile,
        ..EmailItem::new(
            id,
            signal,
            fired_at
                .as_deref()
                .and_then(plain_datetime)
                .unwrap_or(inbound.now),
        )
    };
    email_events("mailchimp", vec![item(item_)], ctx.mapping)
}
