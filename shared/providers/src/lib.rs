//! Provider adapters: verify what a provider sent, exactly per its signing scheme, and turn its
//! payload into typed [`Event`]s. Pure and synchronous: no I/O, no clock (the time of the
//! request is in [`Inbound::now`]). The HTTP edge does everything that touches the world
//! (reading the request, the store, fetching an SNS certificate, answering).
//!
//! Every source authenticates exactly per its provider's scheme (see README.md), answers its
//! provider's handshakes with a [`Reply`], and maps what it carries to canonical signals with
//! ids derived from the provider's own ids (`<source>:<id>`), so a redelivery yields the same
//! ids and the store drops it as a duplicate.
//!
//! Each source's scheme is data, a row of `sources/` (media types, where the signature is,
//! what is signed, the timestamp); `verify.rs` is the one verifier that runs those rows, and
//! the adapters (`forms/`, `chat.rs`, `email/`, `generic.rs`) only parse.
//!
//! # Features
//!
//! One per webhook channel, so that each Lambda function links only the adapters of the
//! routes it serves; all three are on by default.
//!
//! - `forms`: html, typeform, webflow, tally, hubspot, jotform, segment (`form-submission`).
//! - `chatbot`: intercom, drift, crisp, dialogflow (`chatbot-message`).
//! - `email`: sendgrid, mailgun, mandrill, postmark, brevo, ses, mailchimp
//!   (`newsletter-click`). It alone pulls `p256` (SendGrid's ECDSA signature) and `rsa` with
//!   `x509-cert` (SES's SNS messages, signed under a certificate): the other channels verify
//!   HMACs, tokens and credentials only, with `hmac`, `sha1` and `sha2`.
//!
//! The `json` source comes with any of them. Whatever is built, [`Channel`] and
//! [`Channel::sources`] list every route, and [`receive`] refuses a channel left out
//! ([`AdapterError::UnknownSource`], a 404) instead of parsing it; a build without any
//! channel (`stage-query`) keeps the types, [`Mapping`] and the verifier, and no adapter.

mod auth;
#[cfg(feature = "chatbot")]
mod chat;
#[cfg(feature = "email")]
mod email;
#[cfg(any(feature = "forms", feature = "chatbot", feature = "email"))]
mod fields;
#[cfg(feature = "forms")]
mod forms;
#[cfg(any(feature = "forms", feature = "chatbot", feature = "email"))]
mod generic;
mod mapping;
#[cfg(any(feature = "forms", feature = "chatbot", feature = "email"))]
mod parse;
#[cfg(feature = "email")]
mod sns;
mod sources;
mod util;
mod verify;

pub use mapping::Mapping;

use leadscore_scoring::{Event, Timestamp};
use std::collections::BTreeMap;
use std::net::IpAddr;

/// Which webhook route a request came in on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Channel {
    Forms,
    Chatbot,
    Email,
}

impl Channel {
    /// The `{source}` values this channel accepts, as in the README's table.
    pub fn sources(self) -> &'static [&'static str] {
        match self {
            Channel::Forms => &[
                "html", "json", "typeform", "webflow", "tally", "hubspot", "jotform", "segment",
            ],
            Channel::Chatbot => &["intercom", "drift", "crisp", "dialogflow", "json"],
            Channel::Email => &[
                "sendgrid",
                "mailgun",
                "mandrill",
                "postmark",
                "brevo",
                "ses",
                "mailchimp",
                "json",
            ],
        }
    }

    /// Whether this build has the channel's adapters (its Cargo feature, see the crate's
    /// documentation). [`Channel::sources`] lists the routes either way.
    pub fn is_built(self) -> bool {
        match self {
            Channel::Forms => cfg!(feature = "forms"),
            Channel::Chatbot => cfg!(feature = "chatbot"),
            Channel::Email => cfg!(feature = "email"),
        }
    }
}

/// One HTTP request as the adapters see it. Header names are lower-case.
#[derive(Debug, Clone)]
pub struct Inbound<'a> {
    pub method: &'a str,
    /// The full URL the provider called (some schemes sign it: Mandrill, Twilio-style).
    pub url: &'a str,
    pub headers: &'a [(String, String)],
    pub body: &'a [u8],
    pub client_ip: Option<IpAddr>,
    pub now: Timestamp,
}

impl Inbound<'_> {
    /// The first header of that (lower-case) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Secrets, tokens and public keys by source, from `LEADSCORE_SECRET_<SOURCE>`, plus the html
/// source's allowed origins (`LEADSCORE_ALLOWED_ORIGINS`, comma-separated).
#[derive(Debug, Clone, Default)]
pub struct Secrets {
    by_source: BTreeMap<String, String>,
    pub allowed_origins: Vec<String>,
}

impl Secrets {
    /// Reads the variables from an environment listing (e.g. `std::env::vars()`).
    pub fn from_vars(vars: impl IntoIterator<Item = (String, String)>) -> Self {
        let mut secrets = Secrets::default();
        for (name, value) in vars {
            if let Some(source) = name.strip_prefix("LEADSCORE_SECRET_") {
                secrets.by_source.insert(source.to_ascii_lowercase(), value);
            } else if name == "LEADSCORE_ALLOWED_ORIGINS" {
                secrets.allowed_origins = value
                    .split(',')
                    .map(|o| o.trim().trim_end_matches('/').to_string())
                    .filter(|o| !o.is_empty())
                    .collect();
            }
        }
        secrets
    }

    pub fn get(&self, source: &str) -> Option<&str> {
        self.by_source.get(source).map(String::as_str)
    }

    /// The variable that configures `source`, for error messages.
    pub fn variable(source: &str) -> String {
        format!("LEADSCORE_SECRET_{}", source.to_ascii_uppercase())
    }
}

/// Everything an adapter may consult besides the request.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    pub secrets: &'a Secrets,
    pub mapping: &'a Mapping,
    /// SNS signing certificates (PEM) already fetched, by their `SigningCertURL`.
    pub sns_certificates: &'a BTreeMap<String, Vec<u8>>,
}

/// A reply the provider expects instead of the usual webhook answer (URL checks, pings,
/// Dialogflow's fulfillment response).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    pub content_type: &'static str,
    pub body: Vec<u8>,
}

/// What a verified request carried.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Received {
    pub events: Vec<Event>,
    /// Items the request carried that map to no signal (delivered, processed, unknown types).
    pub ignored: u32,
    /// Set for handshakes and for providers that expect a specific answer body.
    pub reply: Option<Reply>,
    /// An SNS subscription to confirm by GET-ting this URL (already checked to be an
    /// `https://sns.<region>.amazonaws.com/` URL).
    pub confirm_subscription: Option<String>,
    /// Set by schemes whose signature does not cover the body (Mailgun signs `timestamp +
    /// token`): the edge binds the token to this body until it expires, so a captured
    /// signature cannot carry another event.
    pub signed_token: Option<SignedToken>,
}

/// A signed token that authenticates a request but not its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedToken {
    pub token: String,
    /// When the signature stops being accepted (its timestamp plus the 5 minutes allowed).
    pub expires_at: Timestamp,
}

/// Why a request was refused. The edge maps each to one HTTP status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdapterError {
    #[error("unknown source `{0}` for this route")]
    UnknownSource(String),
    /// No secret configured: every request is refused (401) and the message names the variable.
    #[error("source `{name}` is not configured: set {variable}")]
    NotConfigured { name: String, variable: String },
    /// Missing or wrong signature, token or key (401).
    #[error("{0}")]
    Unauthorized(String),
    /// A timestamped scheme outside +-5 minutes (401).
    #[error("timestamp outside the allowed 5 minutes: {0}")]
    Stale(String),
    /// html source: an Origin not in LEADSCORE_ALLOWED_ORIGINS (403).
    #[error("origin not allowed: {0}")]
    OriginNotAllowed(String),
    /// The body cannot be read (400); the message says what is wrong.
    #[error("malformed body: {0}")]
    Malformed(String),
    /// Wrong Content-Type for this source (415).
    #[error("unsupported content type: {0}")]
    UnsupportedMediaType(String),
    /// The request needs an SNS certificate not in the context: fetch it and call again.
    #[error("SNS signing certificate needed: {0}")]
    NeedCertificate(String),
    /// The rules file's `[mapping]` section is invalid (at load time, not per request).
    #[error("invalid [mapping] in the rules file: {0}")]
    InvalidMapping(String),
}

/// Verifies and parses one request for `source` on `channel`: the source's row of the table
/// is run by the one verifier, then its parser reads the verified request.
pub fn receive(
    channel: Channel,
    source: &str,
    inbound: &Inbound<'_>,
    ctx: &Context<'_>,
) -> Result<Received, AdapterError> {
    // A channel whose feature is off is served by another function, never routed here; it is
    // refused before the table is read, since the `json` row is on every channel's route.
    if !channel.is_built() {
        return Err(AdapterError::UnknownSource(source.to_string()));
    }
    // The table holds exactly the sources of `Channel::sources` of the channels built (tested
    // in sources/tests.rs).
    let row = sources::find(channel, source)
        .ok_or_else(|| AdapterError::UnknownSource(source.to_string()))?;
    match verify::verify(row, inbound, ctx)? {
        verify::Verdict::Answer(received) => Ok(received),
        verify::Verdict::Deliver(verified) => {
            let mut received = (row.parse)(inbound, &verified, ctx)?;
            received.signed_token = verified.signed_token;
            Ok(received)
        }
    }
}
