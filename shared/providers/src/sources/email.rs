//! The rows of the email sources (`/webhooks/email/{source}`).

use super::{Algorithm::*, Encoding::*};
use super::{Hmac, Part, Place, Scheme, Signature, Source, TestBatch, FORM, JSON, TOKEN_IN_URL};
use crate::{email, Channel};
use Part::Timestamp;

const EMAIL: &[Channel] = &[Channel::Email];
/// SNS posts JSON labelled text/plain.
const SNS_MEDIA: &[&str] = &["text/plain", "application/json"];

pub(super) const SOURCES: &[Source] = &[
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
