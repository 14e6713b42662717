//! The rows of the form sources (`/webhooks/forms/{source}`).

use super::{hmac_in_header, Part, Scheme, Source, JSON, TOKEN_IN_URL};
use super::{Algorithm::*, Encoding::*};
use crate::{forms, Channel};
use Part::{Body, Method, Text, Timestamp};

const FORMS: &[Channel] = &[Channel::Forms];
const FORM_OR_MULTIPART: &[&str] = &["application/x-www-form-urlencoded", "multipart/form-data"];

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

pub(super) const SOURCES: &[Source] = &[
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
        parse: forms::segment::parse,
    },
];
