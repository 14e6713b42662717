//! A typed event: what adapters produce at the edge and the ledger keeps forever.

use crate::{BantUpdate, EventId, Identity, Profile, Signal, Timestamp};
use serde::{Deserialize, Serialize};

/// Context of an event. Every field optional; none of it is personal data beyond the URL.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attributes {
    /// Provider or source that delivered the event (`typeform`, `sendgrid`, `sales`...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub campaign: Option<String>,
    /// The downloaded asset, watched video, favourited product...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asset: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub form: Option<String>,
    /// The email message the event is about (opens, clicks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    /// Who acted, for sales feedback (e.g. the rep or the CRM integration).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    /// Why, for explicit moves (reject, disqualify, lost).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The bot classifier's verdict on an email click or open. Bot events are kept, never scored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BotVerdict {
    pub is_bot: bool,
    /// Why, e.g. `burst: 4 links in 1.2 s`, `scanner user agent`, `provider robot flag`.
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub id: EventId,
    pub signal: Signal,
    pub occurred_at: Timestamp,
    pub identity: Identity,
    #[serde(default, skip_serializing_if = "Profile::is_empty")]
    pub profile: Profile,
    #[serde(default)]
    pub attributes: Attributes,
    #[serde(default, skip_serializing_if = "BantUpdate::is_empty")]
    pub bant: BantUpdate,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bot: Option<BotVerdict>,
}

impl Event {
    /// A minimal event; fill the rest with struct update syntax.
    pub fn new(id: EventId, signal: Signal, occurred_at: Timestamp, identity: Identity) -> Self {
        Event {
            id,
            signal,
            occurred_at,
            identity,
            profile: Profile::default(),
            attributes: Attributes::default(),
            bant: BantUpdate::default(),
            bot: None,
        }
    }

    /// Bot-flagged events are recorded but never move a score or a stage.
    pub fn is_bot(&self) -> bool {
        self.bot.as_ref().is_some_and(|b| b.is_bot)
    }
}
