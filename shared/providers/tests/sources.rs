//! The same checks for every source: happy path, wrong secret, body changed after signing,
//! stale timestamp, malformed body, wrong content type, redelivery, missing configuration.
#![cfg(all(feature = "forms", feature = "chatbot", feature = "email"))]

mod common;

use common::*;
use leadscore_providers::{AdapterError, Secrets};
use leadscore_scoring::Signal;

/// One happy-path fixture per source and the signals it must produce.
const HAPPY: &[(&str, &str, &[Signal])] = &[
    ("json", "json/demo_requested.json", &[Signal::DemoRequested]),
    (
        "html",
        "html/contact.form",
        &[
            Signal::FormSubmitted,
            Signal::NewsletterSubscribed,
            Signal::DemoRequested,
            Signal::ContactRequested,
        ],
    ),
    (
        "typeform",
        "typeform/form_response.json",
        &[Signal::FormSubmitted, Signal::DemoRequested],
    ),
    (
        "webflow",
        "webflow/form_submission.json",
        &[Signal::FormSubmitted, Signal::DemoRequested],
    ),
    (
        "tally",
        "tally/form_response.json",
        &[Signal::FormSubmitted, Signal::FreeTrialStarted],
    ),
    (
        "hubspot",
        "hubspot/workflow_contact.json",
        &[Signal::FormSubmitted, Signal::ContactRequested],
    ),
    (
        "jotform",
        "jotform/submission.txt",
        &[
            Signal::FormSubmitted,
            Signal::NewsletterSubscribed,
            Signal::ContactRequested,
        ],
    ),
    ("segment", "segment/track.json", &[Signal::DemoVideoWatched]),
    (
        "intercom",
        "intercom/conversation_user_created.json",
        &[Signal::ChatbotQuestion, Signal::DemoRequested],
    ),
    (
        "drift",
        "drift/new_message.json",
        &[Signal::ChatbotQuestion, Signal::ContactRequested],
    ),
    (
        "crisp",
        "crisp/message_send.json",
        &[
            Signal::ChatbotQuestion,
            Signal::DemoRequested,
            Signal::MeetingRequested,
        ],
    ),
    (
        "dialogflow",
        "dialogflow/es_request.json",
        &[Signal::ChatbotQuestion, Signal::DemoRequested],
    ),
    ("sendgrid", "sendgrid/click.json", &[Signal::EmailClicked]),
    ("mailgun", "mailgun/clicked.json", &[Signal::EmailClicked]),
    (
        "mandrill",
        "mandrill/events.json",
        &[
            Signal::EmailOpened,
            Signal::EmailClicked,
            Signal::EmailClicked,
            Signal::Bounced,
            Signal::SpamComplaint,
            Signal::Unsubscribed,
        ],
    ),
    ("postmark", "postmark/click.json", &[Signal::EmailClicked]),
    ("brevo", "brevo/click.json", &[Signal::EmailClicked]),
    ("ses", "ses/click.json", &[Signal::EmailClicked]),
    (
        "mailchimp",
        "mailchimp/subscribe.form",
        &[Signal::NewsletterSubscribed],
    ),
];

/// Sources whose scheme carries a timestamp (checked within 5 minutes).
const TIMESTAMPED: &[&str] = &["json", "webflow", "hubspot", "crisp", "sendgrid", "mailgun"];

/// Sources whose signature covers the body.
const BODY_SIGNED: &[&str] = &[
    "json", "typeform", "webflow", "tally", "hubspot", "segment", "intercom", "crisp", "sendgrid",
    "mandrill", "ses",
];

fn happy(source: &str) -> Vec<u8> {
    let (_, path, _) = HAPPY.iter().find(|(s, _, _)| *s == source).unwrap();
    fixture(path)
}

#[test]
fn every_source_has_a_happy_path() {
    let world = World::new();
    for (source, path, want) in HAPPY {
        let req = signed(source, &fixture(path), NOW - 30);
        let got = world
            .receive(source, &req)
            .unwrap_or_else(|e| panic!("{source}: {e}"));
        assert_eq!(signals(&got), want.to_vec(), "{source}");
        for e in &got.events {
            assert!(
                e.id.as_str().starts_with(&format!("{source}:")),
                "{source}: id {} is not prefixed",
                e.id
            );
            assert_eq!(e.attributes.source.as_deref(), Some(*source), "{source}");
        }
    }
    assert_eq!(HAPPY.len(), ALL_SOURCES.len());
}

#[test]
fn a_wrong_secret_is_refused() {
    let world = World::new();
    for source in ALL_SOURCES {
        let req = signed_wrong(source, &happy(source), NOW);
        let err = world.receive(source, &req).unwrap_err();
        let expected = if *source == "html" {
            matches!(err, AdapterError::OriginNotAllowed(_))
        } else {
            matches!(err, AdapterError::Unauthorized(_))
        };
        assert!(expected, "{source}: {err:?}");
    }
}

#[test]
fn a_body_changed_after_signing_is_refused() {
    let world = World::new();
    for source in BODY_SIGNED {
        let mut req = signed(source, &happy(source), NOW);
        // Replace one digit of the body, keeping it parseable (for SNS, inside the signed
        // Message: UnsubscribeURL is not signed, by SNS's design).
        let pos = if *source == "ses" {
            let start = String::from_utf8_lossy(&req.body)
                .find("\"Message\"")
                .unwrap();
            start
                + req.body[start..]
                    .iter()
                    .position(|b| b.is_ascii_digit())
                    .unwrap()
        } else {
            req.body
                .iter()
                .rposition(|b| b.is_ascii_digit())
                .expect("a digit")
        };
        req.body[pos] = if req.body[pos] == b'1' { b'2' } else { b'1' };
        let err = world.receive(source, &req).unwrap_err();
        assert!(
            matches!(err, AdapterError::Unauthorized(_)),
            "{source}: {err:?}"
        );
    }
}

#[test]
fn a_missing_signature_is_refused() {
    let world = World::new();
    for (source, header) in [
        ("json", "webhook-signature"),
        ("typeform", "typeform-signature"),
        ("webflow", "x-webflow-signature"),
        ("tally", "tally-signature"),
        ("hubspot", "x-hubspot-signature-v3"),
        ("intercom", "x-hub-signature"),
        ("crisp", "x-crisp-signature"),
        ("dialogflow", "authorization"),
        ("sendgrid", "x-twilio-email-event-webhook-signature"),
        ("mandrill", "x-mandrill-signature"),
        ("postmark", "authorization"),
        ("brevo", "authorization"),
    ] {
        let req = signed(source, &happy(source), NOW).without_header(header);
        let err = world.receive(source, &req).unwrap_err();
        assert!(
            matches!(&err, AdapterError::Unauthorized(m) if m.contains("missing")),
            "{source}: {err:?}"
        );
    }
}

#[test]
fn stale_and_future_timestamps_are_refused() {
    let world = World::new();
    for source in TIMESTAMPED {
        for skew in [-301, 301, -3600] {
            let req = signed(source, &happy(source), NOW + skew);
            let err = world.receive(source, &req).unwrap_err();
            assert!(
                matches!(err, AdapterError::Stale(_)),
                "{source} {skew}: {err:?}"
            );
        }
        // Within the window both ways.
        for skew in [-299, 299] {
            let req = signed(source, &happy(source), NOW + skew);
            assert!(world.receive(source, &req).is_ok(), "{source} {skew}");
        }
    }
}

#[test]
fn malformed_bodies_say_what_is_wrong() {
    let world = World::new();
    let not_json = b"{\"truncated\": ".to_vec();
    let cases: Vec<(&str, Request, &str)> = vec![
        ("json", signed("json", &not_json, NOW), "not JSON"),
        ("json", signed("json", br#"{"id":"e1","type":"demo","email":"a@b.co"}"#, NOW), "unknown type `demo`"),
        ("json", signed("json", br#"{"id":"e1","type":"deal_won","email":"a@b.co"}"#, NOW), "sales feedback"),
        ("json", signed("json", br#"{"id":"e1","type":"site_visit"}"#, NOW), "needs `email` or `anonymous_id`"),
        ("json", signed("json", br#"{"id":"e1","type":"site_visit","email":"nope"}"#, NOW), "`email` is not a valid"),
        ("json", signed("json", br#"[{"id":"e1","type":"site_visit","email":"a@b.co"},{"type":"site_visit"}]"#, NOW), "event 1"),
        ("json", signed("json", br#"{"id":"e1","type":"site_visit","email":"a@b.co","occurred_at":"yesterday"}"#, NOW), "occurred_at"),
        ("html", signed("html", b"", NOW), "no fields"),
        ("html", signed("html", b"\xff\xfe=1", NOW), "UTF-8"),
        ("typeform", signed("typeform", &not_json, NOW), "not JSON"),
        ("typeform", signed("typeform", br#"{"event_id":"x","event_type":"form_response"}"#, NOW), "form_response"),
        ("webflow", signed("webflow", &not_json, NOW), "not JSON"),
        ("webflow", signed("webflow", br#"{"triggerType":"form_submission","payload":{"id":"x"}}"#, NOW), "payload.data"),
        ("tally", signed("tally", &not_json, NOW), "not JSON"),
        ("tally", signed("tally", br#"{"eventId":"x","eventType":"FORM_RESPONSE","data":{}}"#, NOW), "data.fields"),
        ("hubspot", signed("hubspot", &not_json, NOW), "not JSON"),
        ("hubspot", signed("hubspot", br#"{"vid":1}"#, NOW), "properties"),
        ("jotform", signed("jotform", b"--X\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n", NOW), "does not end"),
        ("jotform", signed("jotform", b"------jotformBoundary7MA4YWxkTrZu0gW\r\nContent-Disposition: form-data; name=\"submissionID\"\r\n\r\n1\r\n------jotformBoundary7MA4YWxkTrZu0gW\r\nContent-Disposition: form-data; name=\"rawRequest\"\r\n\r\n{oops\r\n------jotformBoundary7MA4YWxkTrZu0gW--\r\n", NOW), "rawRequest"),
        ("segment", signed("segment", &not_json, NOW), "not JSON"),
        ("segment", signed("segment", br#"{"type":"track","event":"Demo Requested"}"#, NOW), "messageId"),
        ("intercom", signed("intercom", &not_json, NOW), "not JSON"),
        ("intercom", signed("intercom", br#"{"id":"n1","data":{}}"#, NOW), "topic"),
        ("drift", signed("drift", &not_json, NOW), "not JSON"),
        ("drift", signed("drift", br#"{"type":"new_message"}"#, NOW), "data"),
        ("crisp", signed("crisp", &not_json, NOW), "not JSON"),
        ("crisp", signed("crisp", br#"{"event":"message:send","data":{"from":"user","type":"text"}}"#, NOW), "fingerprint"),
        ("dialogflow", signed("dialogflow", &not_json, NOW), "not JSON"),
        ("dialogflow", signed("dialogflow", br#"{"queryResult":{}}"#, NOW), "responseId"),
        ("sendgrid", signed("sendgrid", &not_json, NOW), "not JSON"),
        ("sendgrid", signed("sendgrid", br#"{"event":"click"}"#, NOW), "JSON array"),
        ("sendgrid", signed("sendgrid", br#"[{"email":"a@b.co"}]"#, NOW), "event 0: no `event`"),
        ("mailgun", signed("mailgun", &not_json, NOW), "not JSON"),
        ("mailgun", signed("mailgun", br#"{"event-data":"nope"}"#, NOW), "event-data"),
        ("mandrill", signed("mandrill", b"not json", NOW), "`mandrill_events` is not JSON"),
        ("mandrill", signed("mandrill", br#"{"event":"click"}"#, NOW), "not a JSON array"),
        ("postmark", signed("postmark", &not_json, NOW), "not JSON"),
        ("postmark", signed("postmark", br#"{"MessageID":"x"}"#, NOW), "RecordType"),
        ("brevo", signed("brevo", &not_json, NOW), "not JSON"),
        ("brevo", signed("brevo", br#"{"email":"a@b.co"}"#, NOW), "no `event`"),
        ("ses", Request::post(url_of("ses"), "text/plain", not_json.clone()), "not JSON"),
        ("ses", signed("ses", br#"{"mail":{}}"#, NOW), "eventType"),
        ("ses", signed("ses", b"not json", NOW), "not SES JSON"),
        ("mailchimp", signed("mailchimp", b"data[email]=a%40b.co", NOW), "no `type`"),
    ];
    for (source, req, needle) in cases {
        match world.receive(source, &req) {
            Err(AdapterError::Malformed(m)) => {
                assert!(
                    m.contains(needle),
                    "{source}: {m:?} should mention {needle:?}"
                )
            }
            other => panic!("{source}: expected Malformed mentioning {needle:?}, got {other:?}"),
        }
    }
}

#[test]
fn a_wrong_content_type_is_refused() {
    let world = World::new();
    for source in ALL_SOURCES {
        let req = signed(source, &happy(source), NOW).with_header("content-type", "text/html");
        let err = world.receive(source, &req).unwrap_err();
        assert!(
            matches!(&err, AdapterError::UnsupportedMediaType(m) if m.contains("text/html")),
            "{source}: {err:?}"
        );
        let req = signed(source, &happy(source), NOW).without_header("content-type");
        assert!(
            matches!(
                world.receive(source, &req),
                Err(AdapterError::UnsupportedMediaType(_))
            ),
            "{source} without Content-Type"
        );
    }
}

#[test]
fn a_redelivery_yields_the_same_event_ids() {
    let world = World::new();
    for source in ALL_SOURCES {
        let first = world
            .receive(source, &signed(source, &happy(source), NOW - 30))
            .unwrap();
        // The provider retries a little later, signing again.
        let retry = world
            .receive(
                source,
                &signed(source, &happy(source), NOW + 20).received_at(NOW + 20),
            )
            .unwrap();
        assert!(!first.events.is_empty(), "{source}");
        assert_eq!(ids(&first), ids(&retry), "{source}");
        // Payloads without an event time are dated when received; all others are identical.
        if !["jotform", "dialogflow"].contains(source) {
            assert_eq!(first.events, retry.events, "{source}: same events");
        }
        let mut unique = ids(&first);
        unique.sort();
        unique.dedup();
        assert_eq!(
            unique.len(),
            first.events.len(),
            "{source}: ids unique within a request"
        );
    }
}

#[test]
fn an_unconfigured_source_names_its_variable() {
    let world = World {
        secrets: Secrets::from_vars(Vec::new()),
        ..World::new()
    };
    for source in ALL_SOURCES {
        let err = world
            .receive(source, &signed(source, &happy(source), NOW))
            .unwrap_err();
        let variable = if *source == "html" {
            "LEADSCORE_ALLOWED_ORIGINS".to_string()
        } else {
            Secrets::variable(source)
        };
        assert_eq!(
            err,
            AdapterError::NotConfigured {
                name: source.to_string(),
                variable: variable.clone()
            },
            "{source}"
        );
        assert!(err.to_string().contains(&variable));
    }
}

#[test]
fn unknown_sources_and_other_routes_are_refused() {
    let world = World::new();
    let req = signed("typeform", &happy("typeform"), NOW);
    let ctx = leadscore_providers::Context {
        secrets: &world.secrets,
        mapping: &world.mapping,
        sns_certificates: &world.certs,
    };
    for (channel, source) in [
        (leadscore_providers::Channel::Email, "typeform"),
        (leadscore_providers::Channel::Forms, "sendgrid"),
        (leadscore_providers::Channel::Chatbot, "nope"),
    ] {
        assert_eq!(
            leadscore_providers::receive(channel, source, &req.inbound(), &ctx),
            Err(AdapterError::UnknownSource(source.to_string()))
        );
    }
}

#[test]
fn only_post_carries_events() {
    let world = World::new();
    for source in ALL_SOURCES
        .iter()
        .filter(|s| !["mailchimp", "mandrill"].contains(s))
    {
        let mut req = signed(source, &happy(source), NOW);
        req.method = "GET".into();
        assert!(
            matches!(world.receive(source, &req), Err(AdapterError::Malformed(m)) if m.contains("GET")),
            "{source}"
        );
    }
}
