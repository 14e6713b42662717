//! The fuzz targets as data: one row per provider source (its route and how it signs), and
//! the rules file. `sign.rs` is the one interpreter of the signing rows.

use leadscore_providers::Channel;

pub enum Target {
    Source(&'static Source),
    /// `Rules::from_toml_str` and `Mapping::from_rules_toml` on the same text.
    Rules,
}

pub struct Source {
    pub name: &'static str,
    pub channel: Channel,
    pub content_type: &'static str,
    pub auth: Auth,
}

#[derive(Clone, Copy)]
pub enum Hash {
    Sha1,
    Sha256,
}

#[derive(Clone, Copy)]
pub enum Encoding {
    Hex,
    Base64,
}

/// The HMAC key: the secret's bytes, or the base64 after `whsec_` (Standard Webhooks).
#[derive(Clone, Copy)]
pub enum Key {
    Secret,
    Whsec,
}

/// A piece of what a scheme signs, or of a header it sends beside the signature.
#[derive(Clone, Copy)]
pub enum Part {
    Body,
    Url,
    Lit(&'static str),
    /// The signing time, unix seconds / milliseconds.
    Seconds,
    Millis,
    MessageId,
}

pub enum Auth {
    /// `header: <prefix><encoding(HMAC(key, signed...))>`, plus `extra` headers.
    Hmac {
        header: &'static str,
        hash: Hash,
        key: Key,
        encoding: Encoding,
        prefix: &'static str,
        signed: &'static [Part],
        extra: &'static [(&'static str, Part)],
    },
    /// ECDSA P-256 / SHA-256, DER signature in base64 (SendGrid).
    Ecdsa {
        header: &'static str,
        signed: &'static [Part],
        extra: &'static [(&'static str, Part)],
    },
    /// The secret as `?token=` in the URL.
    UrlToken,
    /// The secret as a header's value.
    HeaderToken(&'static str),
    /// `Authorization: Basic base64(secret)`.
    Basic,
    /// `Authorization: Bearer <secret>`.
    Bearer,
    /// No secret: an allowed `Origin`.
    Origin(&'static str),
    /// Mailgun: `{"signature": {timestamp, token, signature}}` inside the JSON body.
    MailgunInBody,
    /// Mandrill: the body is the form field `mandrill_events`, signed with the URL.
    MandrillForm,
    /// Amazon SES: the body is the `Message` of an SNS envelope signed with RSA.
    SnsEnvelope,
}

const JSON: &str = "application/json";
const FORM: &str = "application/x-www-form-urlencoded";

const fn hmac(
    header: &'static str,
    hash: Hash,
    encoding: Encoding,
    prefix: &'static str,
    signed: &'static [Part],
    extra: &'static [(&'static str, Part)],
) -> Auth {
    Auth::Hmac {
        header,
        hash,
        key: Key::Secret,
        encoding,
        prefix,
        signed,
        extra,
    }
}

use Encoding::{Base64, Hex};
use Hash::{Sha1, Sha256};
use Part::{Body, Lit, MessageId, Millis, Seconds, Url};

pub static SOURCES: &[Source] = &[
    Source {
        name: "json",
        channel: Channel::Forms,
        content_type: JSON,
        auth: Auth::Hmac {
            header: "webhook-signature",
            hash: Sha256,
            key: Key::Whsec,
            encoding: Base64,
            prefix: "v1,",
            signed: &[MessageId, Lit("."), Seconds, Lit("."), Body],
            extra: &[("webhook-id", MessageId), ("webhook-timestamp", Seconds)],
        },
    },
    Source {
        name: "html",
        channel: Channel::Forms,
        content_type: FORM,
        auth: Auth::Origin("https://www.example.com"),
    },
    Source {
        name: "typeform",
        channel: Channel::Forms,
        content_type: JSON,
        auth: hmac(
            "typeform-signature",
            Sha256,
            Base64,
            "sha256=",
            &[Body],
            &[],
        ),
    },
    Source {
        name: "webflow",
        channel: Channel::Forms,
        content_type: JSON,
        auth: hmac(
            "x-webflow-signature",
            Sha256,
            Hex,
            "",
            &[Millis, Lit(":"), Body],
            &[("x-webflow-timestamp", Millis)],
        ),
    },
    Source {
        name: "tally",
        channel: Channel::Forms,
        content_type: JSON,
        auth: hmac("tally-signature", Sha256, Base64, "", &[Body], &[]),
    },
    Source {
        name: "hubspot",
        channel: Channel::Forms,
        content_type: JSON,
        auth: hmac(
            "x-hubspot-signature-v3",
            Sha256,
            Base64,
            "",
            &[Lit("POST"), Url, Body, Millis],
            &[("x-hubspot-request-timestamp", Millis)],
        ),
    },
    Source {
        name: "jotform",
        channel: Channel::Forms,
        content_type: "multipart/form-data; boundary=----jotformBoundary7MA4YWxkTrZu0gW",
        auth: Auth::UrlToken,
    },
    Source {
        name: "segment",
        channel: Channel::Forms,
        content_type: JSON,
        auth: hmac("x-signature", Sha1, Hex, "", &[Body], &[]),
    },
    Source {
        name: "intercom",
        channel: Channel::Chatbot,
        content_type: JSON,
        auth: hmac("x-hub-signature", Sha1, Hex, "sha1=", &[Body], &[]),
    },
    Source {
        name: "drift",
        channel: Channel::Chatbot,
        content_type: JSON,
        auth: Auth::HeaderToken("x-verification-token"),
    },
    Source {
        name: "crisp",
        channel: Channel::Chatbot,
        content_type: JSON,
        auth: hmac(
            "x-crisp-signature",
            Sha256,
            Hex,
            "",
            &[Lit("["), Millis, Lit(";"), Body, Lit("]")],
            &[("x-crisp-request-timestamp", Millis)],
        ),
    },
    Source {
        name: "dialogflow",
        channel: Channel::Chatbot,
        content_type: JSON,
        auth: Auth::Basic,
    },
    Source {
        name: "sendgrid",
        channel: Channel::Email,
        content_type: JSON,
        auth: Auth::Ecdsa {
            header: "x-twilio-email-event-webhook-signature",
            signed: &[Seconds, Body],
            extra: &[("x-twilio-email-event-webhook-timestamp", Seconds)],
        },
    },
    Source {
        name: "mailgun",
        channel: Channel::Email,
        content_type: JSON,
        auth: Auth::MailgunInBody,
    },
    Source {
        name: "mandrill",
        channel: Channel::Email,
        content_type: FORM,
        auth: Auth::MandrillForm,
    },
    Source {
        name: "postmark",
        channel: Channel::Email,
        content_type: JSON,
        auth: Auth::Basic,
    },
    Source {
        name: "brevo",
        channel: Channel::Email,
        content_type: JSON,
        auth: Auth::Bearer,
    },
    Source {
        name: "ses",
        channel: Channel::Email,
        content_type: "text/plain; charset=UTF-8",
        auth: Auth::SnsEnvelope,
    },
    Source {
        name: "mailchimp",
        channel: Channel::Email,
        content_type: FORM,
        auth: Auth::UrlToken,
    },
];

pub const RULES: &str = "rules";

/// Every target's name: the sources, then `rules`.
pub fn names() -> impl Iterator<Item = &'static str> {
    SOURCES.iter().map(|s| s.name).chain([RULES])
}

pub fn by_name(name: &str) -> Option<Target> {
    if name == RULES {
        return Some(Target::Rules);
    }
    SOURCES.iter().find(|s| s.name == name).map(Target::Source)
}

/// Sources the adapters accept that have no row here (a provider added without a target).
pub fn missing_sources() -> Vec<&'static str> {
    let mut missing: Vec<&'static str> = [Channel::Forms, Channel::Chatbot, Channel::Email]
        .iter()
        .flat_map(|c| c.sources().iter().copied())
        .filter(|name| SOURCES.iter().all(|s| s.name != *name))
        .collect();
    missing.dedup();
    missing
}
