//! No request, however odd, makes an adapter panic: bodies are signed correctly (so parsing is
//! reached) and then are random bytes, corrupted fixtures, or fixtures with a value of the
//! wrong type at a random place.
#![cfg(all(feature = "forms", feature = "chatbot", feature = "email"))]

mod common;

use common::*;
use proptest::prelude::*;
use serde_json::Value;

const FIXTURES: &[(&str, &str)] = &[
    ("json", "json/batch.json"),
    ("html", "html/contact.form"),
    ("typeform", "typeform/form_response.json"),
    ("webflow", "webflow/form_submission.json"),
    ("tally", "tally/form_response.json"),
    ("hubspot", "hubspot/workflow_contact.json"),
    ("jotform", "jotform/submission.txt"),
    ("segment", "segment/identify.json"),
    ("intercom", "intercom/conversation_user_replied.json"),
    ("drift", "drift/contact_identified.json"),
    ("crisp", "crisp/message_send.json"),
    ("dialogflow", "dialogflow/es_request.json"),
    ("sendgrid", "sendgrid/scanner_burst.json"),
    ("mailgun", "mailgun/clicked.json"),
    ("mandrill", "mandrill/events.json"),
    ("postmark", "postmark/click.json"),
    ("brevo", "brevo/click.json"),
    ("ses", "ses/click.json"),
    ("mailchimp", "mailchimp/subscribe.form"),
];

fn check(source: &str, body: &[u8]) {
    let world = World::new();
    if let Ok(received) = world.receive(source, &signed(source, body, NOW)) {
        for e in &received.events {
            assert!(e.id.as_str().starts_with(&format!("{source}:")));
        }
    }
}

/// Every path to a value inside a JSON document.
fn paths(v: &Value, prefix: Vec<String>, out: &mut Vec<Vec<String>>) {
    out.push(prefix.clone());
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                let mut p = prefix.clone();
                p.push(k.clone());
                paths(child, p, out);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                let mut p = prefix.clone();
                p.push(i.to_string());
                paths(child, p, out);
            }
        }
        _ => {}
    }
}

fn replace_at(v: &mut Value, path: &[String], with: Value) {
    match path.split_first() {
        None => *v = with,
        Some((head, rest)) => {
            let child = match v {
                Value::Object(map) => map.get_mut(head),
                Value::Array(items) => head.parse::<usize>().ok().and_then(|i| items.get_mut(i)),
                _ => None,
            };
            if let Some(child) = child {
                replace_at(child, rest, with);
            }
        }
    }
}

fn odd_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        ".{0,40}".prop_map(Value::String),
        Just(Value::String("ada@example.com".into())),
        Just(Value::String("9999-12-31T23:59:59Z".into())),
        Just(serde_json::json!([])),
        Just(serde_json::json!({})),
        Just(serde_json::json!([{"a": [1, "x", null]}])),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 192, ..ProptestConfig::default() })]

    #[test]
    fn random_bodies(which in 0..FIXTURES.len(), body in proptest::collection::vec(any::<u8>(), 0..400)) {
        check(FIXTURES[which].0, &body);
    }

    #[test]
    fn corrupted_fixtures(which in 0..FIXTURES.len(), edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6)) {
        let (source, path) = FIXTURES[which];
        let mut body = fixture(path);
        for (at, byte) in edits {
            let i = at.index(body.len());
            body[i] = byte;
        }
        check(source, &body);
    }

    #[test]
    fn wrong_types_anywhere(which in 0..FIXTURES.len(), at in any::<prop::sample::Index>(), with in odd_value()) {
        let (source, path) = FIXTURES[which];
        let Ok(mut doc) = serde_json::from_slice::<Value>(&fixture(path)) else {
            return Ok(());
        };
        let mut all = Vec::new();
        paths(&doc, Vec::new(), &mut all);
        let target = all[at.index(all.len())].clone();
        replace_at(&mut doc, &target, with);
        check(source, &serde_json::to_vec(&doc).unwrap());
    }
}
