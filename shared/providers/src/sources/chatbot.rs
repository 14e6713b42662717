//! The rows of the chatbot sources (`/webhooks/chatbot/{source}`).

use super::{hmac_in_header, Part, Place, Scheme, Source, JSON};
use super::{Algorithm::*, Encoding::*};
use crate::{chat, Channel};
use Part::{Body, Text, Timestamp};

const CHATBOT: &[Channel] = &[Channel::Chatbot];

pub(super) const SOURCES: &[Source] = &[
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
];
