//! Every webhook source, described once as data: the routes it is on, what it accepts, and its
//! authentication scheme. `verify::verify` is the one interpreter of these rows; an adapter
//! only parses what a verified request carries. Adding a provider is a row and a parser.
//!
//! The words rows are written with are in `scheme.rs`; the rows of each channel are in
//! `forms.rs`, `chatbot.rs` and `email.rs`, built with the channel's feature (`json` is here:
//! it is on every channel's route).

mod scheme;

#[cfg(feature = "chatbot")]
mod chatbot;
#[cfg(feature = "email")]
mod email;
#[cfg(feature = "forms")]
mod forms;

pub(crate) use scheme::*;

use crate::verify::Verified;
use crate::{AdapterError, Channel, Context, Inbound, Received};

/// Turns a verified request into events.
pub(crate) type Parse = fn(&Inbound<'_>, &Verified, &Context<'_>) -> Result<Received, AdapterError>;

/// One webhook source.
pub(crate) struct Source {
    /// The `{source}` of `/webhooks/{channel}/{source}`; `LEADSCORE_SECRET_<NAME>` is its secret.
    pub name: &'static str,
    pub channels: &'static [Channel],
    /// GET and HEAD are the provider's check of the URL when the webhook is saved: answered
    /// 200 before anything else. Every other method but POST is refused.
    pub url_check: bool,
    /// Accepted media types (the Content-Type before any `;`).
    pub media: &'static [&'static str],
    pub scheme: Scheme,
    pub parse: Parse,
}

/// `json`, our own format, on the routes of every channel.
#[cfg(any(feature = "forms", feature = "chatbot", feature = "email"))]
const GENERIC: &[Source] = &[Source {
    name: "json",
    channels: &[Channel::Forms, Channel::Chatbot, Channel::Email],
    url_check: false,
    media: JSON,
    scheme: Scheme::StandardWebhooks,
    parse: crate::generic::json,
}];

/// The sources of this build, as in the README's tables.
const TABLES: &[&[Source]] = &[
    #[cfg(any(feature = "forms", feature = "chatbot", feature = "email"))]
    GENERIC,
    #[cfg(feature = "forms")]
    forms::SOURCES,
    #[cfg(feature = "chatbot")]
    chatbot::SOURCES,
    #[cfg(feature = "email")]
    email::SOURCES,
];

/// Every row of this build.
pub(crate) fn all() -> impl Iterator<Item = &'static Source> {
    TABLES.iter().flat_map(|t| t.iter())
}

/// The row of `source` on `channel`.
pub(crate) fn find(channel: Channel, source: &str) -> Option<&'static Source> {
    all().find(|s| s.name == source && s.channels.contains(&channel))
}

#[cfg(test)]
mod tests;
