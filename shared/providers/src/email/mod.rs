//! Email sources: sendgrid, mailgun, mandrill, postmark, brevo, ses, mailchimp, one module
//! each. Each maps its provider's events to [`EmailItem`]s; `email_events` judges bots
//! (`bots.rs`) and builds the events, the same way for all.

mod bots;
pub(crate) mod brevo;
pub(crate) mod mailchimp;
pub(crate) mod mailgun;
pub(crate) mod mandrill;
pub(crate) mod postmark;
pub(crate) mod sendgrid;
pub(crate) mod ses;

use crate::mapping::Mapping;
use crate::parse::event_id;
use crate::util::at;
use crate::{AdapterError, Received};
use leadscore_scoring::{Attributes, Email, Event, Identity, Profile, Signal, Timestamp};
use serde_json::Value;
use std::collections::BTreeMap;

/// One provider event that maps to a signal.
#[derive(Debug, Clone)]
pub(crate) struct EmailItem {
    pub provider_id: String,
    pub signal: Signal,
    pub occurred_at: Timestamp,
    pub email: Option<Email>,
    pub url: Option<String>,
    pub campaign: Option<String>,
    pub message_id: Option<String>,
    /// `Some("")` when the provider sent an empty user agent (a bot sign); `None` when the
    /// provider sends none at all.
    pub user_agent: Option<String>,
    /// The provider's own machine/robot flag, as a reason.
    pub robot: Option<String>,
    /// When the message was sent or delivered, if the payload says.
    pub sent_at: Option<Timestamp>,
    pub profile: Profile,
}

impl EmailItem {
    pub(crate) fn new(provider_id: String, signal: Signal, occurred_at: Timestamp) -> Self {
        EmailItem {
            provider_id,
            signal,
            occurred_at,
            email: None,
            url: None,
            campaign: None,
            message_id: None,
            user_agent: None,
            robot: None,
            sent_at: None,
            profile: Profile::default(),
        }
    }
}

/// What one provider event amounts to.
pub(crate) enum Mapped {
    Item(Box<EmailItem>),
    /// A delivery receipt: dates the message for the "seconds after delivery" rule.
    Delivered {
        message_id: String,
        at: Timestamp,
    },
    Ignored,
}

pub(crate) fn item(i: EmailItem) -> Mapped {
    Mapped::Item(Box::new(i))
}

/// Judges bots, then builds the events of one request.
pub(crate) fn email_events(
    source: &'static str,
    mapped: Vec<Mapped>,
    mapping: &Mapping,
) -> Result<Received, AdapterError> {
    let mut received = Received::default();
    let mut delivered: BTreeMap<String, Timestamp> = BTreeMap::new();
    let mut items = Vec::new();
    for m in mapped {
        match m {
            Mapped::Item(i) => items.push(*i),
            Mapped::Delivered { message_id, at } => {
                received.ignored += 1;
                delivered
                    .entry(message_id)
                    .and_modify(|t| *t = (*t).min(at))
                    .or_insert(at);
            }
            Mapped::Ignored => received.ignored += 1,
        }
    }
    let verdicts = bots::verdicts(&items, &delivered, mapping);
    for (item, bot) in items.into_iter().zip(verdicts) {
        let Some(email) = item.email else {
            received.ignored += 1;
            continue;
        };
        let identity = Identity {
            email: Some(email),
            anonymous_id: None,
        };
        received.events.push(Event {
            profile: item.profile,
            attributes: Attributes {
                source: Some(source.to_string()),
                url: item.url,
                campaign: item.campaign,
                message_id: item.message_id,
                ..Attributes::default()
            },
            bot,
            ..Event::new(
                event_id(source, &item.provider_id, None)?,
                item.signal,
                item.occurred_at,
                identity,
            )
        });
    }
    Ok(received)
}

pub(crate) fn parse_email(v: Option<String>) -> Option<Email> {
    v.and_then(|e| Email::parse(&e).ok())
}

/// A string or the first of an array of strings (SendGrid's `category`, tags).
pub(crate) fn first_of(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Array(items) => items.iter().find_map(|i| first_of(Some(i))),
        _ => None,
    }
}

pub(crate) fn user_agent(v: &Value, path: &[&str]) -> Option<String> {
    at(v, path).map(|ua| ua.as_str().unwrap_or_default().to_string())
}

/// `YYYY-MM-DD HH:MM:SS`, taken as UTC (Mailchimp's `fired_at`, Brevo's `date`).
pub(crate) fn plain_datetime(s: &str) -> Option<Timestamp> {
    let s = s.trim();
    let iso = format!("{}Z", s.replacen(' ', "T", 1));
    Timestamp::parse_rfc3339(&iso).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_datetimes_are_utc() {
        assert_eq!(
            plain_datetime("2009-03-26 21:40:57").unwrap(),
            Timestamp::parse_rfc3339("2009-03-26T21:40:57Z").unwrap()
        );
        assert!(plain_datetime("yesterday").is_none());
    }
}
