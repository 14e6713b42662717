//! Every webhook source, described once as data: the routes it is on, what it accepts, and its
//! authentication scheme. `verify::verify` is the one interpreter of these rows; an adapter
//! only parses what a verified request carries. Adding a provider is a row and a parser.

use crate::util::{FORM, JSON};
use crate::verify::Verified;
use crate::{chat, email, forms, generic};
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

/// How a source proves a request comes from its provider.
#[derive(Debug)]
pub(crate) enum Scheme {
    /// Nothing can sign a plain HTML form: its Origin (or Referer) must be one of
    /// `LEADSCORE_ALLOWED_ORIGINS`, which stands in for the secret.
    Origin,
    /// A MAC of some of the request's bytes under the secret.
    Hmac(Hmac),
    /// Standard Webhooks: `webhook-id`, `webhook-timestamp`, `webhook-signature` (a list of
    /// `v1,<base64>`) over `{id}.{timestamp}.{body}`, key = base64 after `whsec_`, 5 minutes.
    StandardWebhooks,
    /// ECDSA P-256 / SHA-256 over `timestamp + body`, the signature in base64 DER, the secret
    /// being the provider's base64 public key; 5 minutes.
    Ecdsa {
        signature: &'static str,
        timestamp: &'static str,
    },
    /// SNS's RSA signature over its envelope, under a certificate served by an SNS host; the
    /// secret lists the topics allowed (see `sns.rs`).
    Sns,
    /// The secret itself, sent as is and compared in constant time: the first of `places` the
    /// request carries is the one checked. `label` names it in messages.
    SharedToken {
        places: &'static [Place],
        label: &'static str,
    },
    /// `Authorization: Basic` (secret `user:password`) or `Authorization: Bearer <secret>`.
    Authorization,
    /// `then` when the request has the `header`, else `otherwise` (Segment signs, RudderStack
    /// sends a token to the same route).
    Either {
        header: &'static str,
        then: &'static Scheme,
        otherwise: &'static Scheme,
    },
}

/// An HMAC scheme.
#[derive(Debug)]
pub(crate) struct Hmac {
    pub algorithm: Algorithm,
    pub signature: Signature,
    /// The signed bytes, concatenated in this order.
    pub signed: &'static [Part],
    /// Where the signed time is (unix seconds, or milliseconds above 10^11); refused more than
    /// 5 minutes away from the time of receipt.
    pub timestamp: Option<Place>,
    /// An empty batch the provider signs with a published key to test the URL, before the
    /// real key can be configured.
    pub test_batch: Option<TestBatch>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Algorithm {
    Sha1,
    Sha256,
}

/// Where the signature is and how it is written.
#[derive(Debug)]
pub(crate) struct Signature {
    pub place: Place,
    /// Text before the MAC (`sha256=`), required.
    pub prefix: Option<&'static str>,
    pub encoding: Encoding,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Encoding {
    Hex,
    Base64,
}

/// Where a value travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Place {
    /// A header, named as the provider documents it (looked up in any case).
    Header(&'static str),
    /// A query parameter of the called URL.
    Query(&'static str),
    /// A string or number at this path of the JSON body.
    Body(&'static [&'static str]),
}

/// A piece of the signed bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Part {
    Text(&'static str),
    /// The raw body.
    Body,
    /// The timestamp as sent.
    Timestamp,
    /// The HTTP method.
    Method,
    /// The full URL called, with these percent-escapes decoded (either case).
    Url {
        decoded: &'static [(&'static str, &'static str)],
    },
    /// Every form field's name then value, sorted by name.
    SortedFormFields,
    /// A one-time token. The signature covers it but not the body, so the token is handed to
    /// the edge (`Received::signed_token`), which binds it to the body it came with.
    Token(Place),
}

/// The provider's URL test: this form field holding `empty`, signed with `key`.
#[derive(Debug)]
pub(crate) struct TestBatch {
    pub field: &'static str,
    pub empty: &'static str,
    pub key: &'static str,
}

const FORMS: &[Channel] = &[Channel::Forms];
const CHATBOT: &[Channel] = &[Channel::Chatbot];
const EMAIL: &[Channel] = &[Channel::Email];
const FORM_OR_MULTIPART: &[&str] = &["application/x-www-form-urlencoded", "multipart/form-data"];
/// SNS posts JSON labelled text/plain.
const SNS_MEDIA: &[&str] = &["text/plain", "application/json"];

/// HubSpot decodes these characters of the URI before signing it (per its v3 documentation).
const HUBSPOT_DECODED: &[(&str, &str)] = &[
    ("%3A", ":"),
    ("%2F", "/"),
    ("%3F", "?"),
    ("%40", "@"),
    ("%21", "!"),
    ("%24", "$"),
    ("%27", "'"),
    ("%28", "("),
    ("%29", ")"),
    ("%2A", "*"),
    ("%2C", ","),
    ("%3B", ";"),
];

const TOKEN_IN_URL: Scheme = Scheme::SharedToken {
    places: &[Place::Query("token")],
    label: "`token` query parameter",
};

const fn hmac_in_header(
    algorithm: Algorithm,
    header: &'static str,
    prefix: Option<&'static str>,
    encoding: Encoding,
    signed: &'static [Part],
    timestamp: Option<&'static str>,
) -> Scheme {
    Scheme::Hmac(Hmac {
        algorithm,
        signature: Signature {
            place: Place::Header(header),
            prefix,
            encoding,
        },
        signed,
        timestamp: match timestamp {
            Some(h) => Some(Place::Header(h)),
            None => None,
        },
        test_batch: None,
    })
}

use Algorithm::{Sha1, Sha256};
use Encoding::{Base64, Hex};
use Part::{Body, Method, Text, Timestamp};

/// The sources, as in the README's tables.
pub(crate) const SOURCES: &[Source] = &[
    Source {
        name: "json",
        channels: &[Channel::Forms, Channel::Chatbot, Channel::Email],
        url_check: false,
        media: JSON,
        scheme: Scheme::StandardWebhooks,
        parse: generic::json,
    },
    // ---- forms ----
    Source {
        name: "html",
        channels: FORMS,
        url_check: false,
        media: FORM_OR_MULTIPART,
        scheme: Scheme::Origin,
        parse: forms::html::parse,
    },
    Source {
        name: "typeform",
        channels: FORMS,
        url_check: false,
        media: JSON,
        scheme: hmac_in_header(
            Sha256,
            "Typeform-Signature",
            Some("sha256="),
            Base64,
            &[Body],
            None,
        ),
        parse: forms::typeform::parse,
    },
    Source {
        name: "webflow",
        channels: FORMS,
        url_check: false,
        media: JSON,
        scheme: hmac_in_header(
            Sha256,
            "x-webflow-signature",
            None,
            Hex,
            &[Timestamp, Text(":"), Body],
            Some("x-webflow-timestamp"),
        ),
        parse: forms::webflow::parse,
    },
    Source {
        name: "tally",
        channels: FORMS,
        url_check: false,
        media: JSON,
        scheme: hmac_in_header(Sha256, "Tally-Signature", None, Base64, &[Body], None),
        parse: forms::tally::parse,
    },
    Source {
        name: "hubspot",
        channels: FORMS,
        url_check: false,
        media: JSON,
        scheme: hmac_in_header(
            Sha256,
            "X-HubSpot-Signature-v3",
            None,
            Base64,
            &[
                Method,
                Part::Url {
                    decoded: HUBSPOT_DECODED,
                },
                Body,
                Timestamp,
            ],
            Some("X-HubSpot-Request-Timestamp"),
        ),
        parse: forms::hubspot::parse,
    },
    Source {
        name: "jotform",
        channels: FORMS,
        url_check: false,
        media: FORM_OR_MULTIPART,
        scheme: TOKEN_IN_URL,
        parse: forms::jotform::parse,
    },
    Source {
        name: "segment",
        channels: FORMS,
        url_check: false,
        media: JSON,
        scheme: Scheme::Either {
            header: "X-Signature",
            then: &hmac_in_header(Sha1, "X-Signature", None, Hex, &[Body], None),
            otherwise: &Scheme::Authorization,
        },
        parse: generic::segment,
    },
    // ---- chatbots ----
    Source {
        name: "intercom",
        channels: CHATBOT,
        url_check: false,
        media: JSON,
        scheme: hmac_in_header(Sha1, "X-Hub-Signature", Some("sha1="), Hex, &[Body], None),
        parse: chat::intercom,
    },
    Source {
        name: "drift",
        channels: CHATBOT,
        url_check: false,
        media: JSON,
        scheme: Scheme::SharedToken {
            places: &[
                Place::Header("X-Verification-Token"),
                Place::Body(&["token"]),
            ],
            label: "verification token",
        },
        parse: chat::drift,
    },
    Source {
        name: "crisp",
        channels: CHATBOT,
        url_check: false,
        media: JSON,
        scheme: hmac_in_header(
            Sha256,
            "X-Crisp-Signature",
            None,
            Hex,
            &[Text("["), Timestamp, Text(";"), Body, Text("]")],
            Some("X-Crisp-Request-Timestamp"),
        ),
        parse: chat::crisp,
    },
    Source {
        name: "dialogflow",
        channels: CHATBOT,
        url_check: false,
        media: JSON,
        scheme: Scheme::Authorization,
        parse: chat::dialogflow,
    },
    // ---- email ----
    Source {
        name: "sendgrid",
        channels: EMAIL,
        url_check: false,
        media: JSON,
        scheme: Scheme::Ecdsa {
            signature: "X-Twilio-Email-Event-Webhook-Signature",
            timestamp: "X-Twilio-Email-Event-Webhook-Timestamp",
        },
        parse: email::sendgrid::parse,
    },
    Source {
        name: "mailgun",
        channels: EMAIL,
        url_check: false,
        media: JSON,
        scheme: Scheme::Hmac(Hmac {
            algorithm: Sha256,
            signature: Signature {
                place: Place::Body(&["signature", "signature"]),
                prefix: None,
                encoding: Hex,
            },
            signed: &[Timestamp, Part::Token(Place::Body(&["signature", "token"]))],
            timestamp: Some(Place::Body(&["signature", "timestamp"])),
            test_batch: None,
        }),
        parse: email::mailgun::parse,
    },
    Source {
        name: "mandrill",
        channels: EMAIL,
        url_check: true,
        media: FORM,
        scheme: Scheme::Hmac(Hmac {
            algorithm: Sha1,
            signature: Signature {
                place: Place::Header("X-Mandrill-Signature"),
                prefix: None,
                encoding: Base64,
            },
            signed: &[Part::Url { decoded: &[] }, Part::SortedFormFields],
            timestamp: None,
            test_batch: Some(TestBatch {
                field: "mandrill_events",
                empty: "[]",
                key: "test-webhook",
            }),
        }),
        parse: email::mandrill::parse,
    },
    Source {
        name: "postmark",
        channels: EMAIL,
        url_check: false,
        media: JSON,
        scheme: Scheme::Authorization,
        parse: email::postmark::parse,
    },
    Source {
        name: "brevo",
        channels: EMAIL,
        url_check: false,
        media: JSON,
        scheme: Scheme::Authorization,
        parse: email::brevo::parse,
    },
    Source {
        name: "ses",
        channels: EMAIL,
        url_check: false,
        media: SNS_MEDIA,
        scheme: Scheme::Sns,
        parse: email::ses::parse,
    },
    Source {
        name: "mailchimp",
        channels: EMAIL,
        url_check: true,
        media: FORM,
        scheme: TOKEN_IN_URL,
        parse: email::mailchimp::parse,
    },
];

/// The row of `source` on `channel`.
pub(crate) fn find(channel: Channel, source: &str) -> Option<&'static Source> {
    SOURCES
        .iter()
        .find(|s| s.name == source && s.channels.contains(&channel))
}

#[cfg(test)]
mod tests;
