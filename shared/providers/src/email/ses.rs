//! `ses`: Amazon SES events delivered by SNS over HTTPS (the SNS envelope is verified by
//! `sns.rs`). No 5-minute window: SNS retries keep the original `Timestamp`, and a replayed
//! message carries the same `MessageId`, hence the same event id.

use super::{email_events, EmailItem, Mapped};
use crate::parse::rfc3339;
use crate::sns::{field, is_sns_url};
use crate::util::{at, parse_json, text_at};
use crate::verify::Verified;
use crate::{AdapterError, Context, Inbound, Received};
use leadscore_scoring::{Email, Signal, Timestamp};
use serde_json::Value;

/// A `SubscriptionConfirmation` to confirm, or a `Notification` carrying one SES event.
pub(crate) fn parse(
    inbound: &Inbound<'_>,
    _: &Verified,
    ctx: &Context<'_>,
) -> Result<Received, AdapterError> {
    let envelope = parse_json(inbound.body)?;
    let kind = field(&envelope, "Type")?;
    match kind {
        "SubscriptionConfirmation" => {
            let url = field(&envelope, "SubscribeURL")?;
            if !is_sns_url(url, false) {
                return Err(AdapterError::Malformed(format!(
                    "SubscribeURL {url} is not an https://sns.<region>.amazonaws.com/ URL"
                )));
            }
            Ok(Received {
                confirm_subscription: Some(url.to_string()),
                ..Received::default()
            })
        }
        "Notification" => {
            let message_id = field(&envelope, "MessageId")?.to_string();
            let message: Value =
                serde_json::from_str(field(&envelope, "Message")?).map_err(|e| {
                    AdapterError::Malformed(format!("SNS Message is not SES JSON: {e}"))
                })?;
            let mapped = ses_event(&message_id, &message, inbound.now)?;
            email_events("ses", mapped, ctx.mapping)
        }
        // UnsubscribeConfirmation and anything new.
        _ => Ok(Received {
            ignored: 1,
            ..Received::default()
        }),
    }
}

/// SES event publishing (`eventType`) or classic notifications (`notificationType`).
fn ses_event(message_id: &str, m: &Value, now: Timestamp) -> Result<Vec<Mapped>, AdapterError> {
    let kind = text_at(m, &["eventType"])
        .or_else(|| text_at(m, &["notificationType"]))
        .ok_or_else(|| AdapterError::Malformed("SES message without `eventType`".into()))?;
    let mail = m
        .get("mail")
        .ok_or_else(|| AdapterError::Malformed("SES message without `mail`".into()))?;
    let ses_message_id = text_at(mail, &["messageId"]);
    let sent_at = mail.get("timestamp").and_then(rfc3339);
    let campaign = at(mail, &["tags", "campaign"])
        .and_then(|t| t.get(0))
        .and_then(Value::as_str)
        .map(str::to_string);
    let first_destination = at(mail, &["destination"])
        .and_then(|d| d.get(0))
        .and_then(Value::as_str)
        .map(str::to_string);
    let base = |signal: Signal,
                time: Option<Timestamp>,
                email: Option<String>,
                n: Option<usize>| EmailItem {
        email: email.and_then(|e| Email::parse(&e).ok()),
        campaign: campaign.clone(),
        message_id: ses_message_id.clone(),
        sent_at,
        ..EmailItem::new(
            match n {
                Some(n) => format!("{message_id}:{n}"),
                None => message_id.to_string(),
            },
            signal,
            time.unwrap_or(now),
        )
    };
    let recipients = |list: &str, key: &str| -> Vec<String> {
        at(m, &[key, list])
            .and_then(Value::as_array)
            .map(|r| {
                r.iter()
                    .filter_map(|x| text_at(x, &["emailAddress"]))
                    .collect()
            })
            .unwrap_or_default()
    };
    let one = |i: EmailItem| vec![Mapped::Item(Box::new(i))];
    let many = |signal: Signal, key: &str, list: &str| -> Vec<Mapped> {
        let time = at(m, &[key, "timestamp"]).and_then(rfc3339);
        let all = recipients(list, key);
        let several = all.len() > 1;
        all.into_iter()
            .enumerate()
            .map(|(n, e)| Mapped::Item(Box::new(base(signal, time, Some(e), several.then_some(n)))))
            .collect()
    };
    Ok(match kind.as_str() {
        "Click" => {
            let c = m.get("click").unwrap_or(&Value::Null);
            let link_campaign = at(c, &["linkTags", "campaign"])
                .and_then(|t| t.get(0))
                .and_then(Value::as_str)
                .map(str::to_string);
            let mut i = base(
                Signal::EmailClicked,
                c.get("timestamp").and_then(rfc3339),
                first_destination,
                None,
            );
            i.url = text_at(c, &["link"]);
            i.user_agent = c
                .get("userAgent")
                .map(|u| u.as_str().unwrap_or_default().to_string());
            i.campaign = link_campaign.or(i.campaign);
            one(i)
        }
        "Open" => {
            let o = m.get("open").unwrap_or(&Value::Null);
            let mut i = base(
                Signal::EmailOpened,
                o.get("timestamp").and_then(rfc3339),
                first_destination,
                None,
            );
            i.user_agent = o
                .get("userAgent")
                .map(|u| u.as_str().unwrap_or_default().to_string());
            one(i)
        }
        "Bounce" if text_at(m, &["bounce", "bounceType"]).as_deref() == Some("Permanent") => {
            many(Signal::Bounced, "bounce", "bouncedRecipients")
        }
        "Complaint" => many(Signal::SpamComplaint, "complaint", "complainedRecipients"),
        "Subscription"
            if at(
                m,
                &["subscription", "newTopicPreferences", "unsubscribeAll"],
            ) == Some(&Value::Bool(true)) =>
        {
            one(base(
                Signal::Unsubscribed,
                at(m, &["subscription", "timestamp"]).and_then(rfc3339),
                first_destination,
                None,
            ))
        }
        _ => vec![Mapped::Ignored],
    })
}
