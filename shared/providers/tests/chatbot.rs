//! Chatbot sources: questions, hand-raises in English and French, email capture, handshakes.
#![cfg(feature = "chatbot")]

mod common;

use common::*;
use leadscore_providers::{AdapterError, Mapping, Reply};
use leadscore_scoring::{BantSource, Signal};

fn got(source: &str, path: &str) -> leadscore_providers::Received {
    World::new()
        .receive(source, &signed(source, &fixture(path), NOW))
        .unwrap_or_else(|e| panic!("{source} {path}: {e}"))
}

#[test]
fn intercom_conversations_record_questions_and_hand_raises() {
    let created = got("intercom", "intercom/conversation_user_created.json");
    let q = event(&created, Signal::ChatbotQuestion);
    assert_eq!(q.id.as_str(), "intercom:notif_123456-56465-546546");
    assert_eq!(email_of(q), "bob@example.com");
    assert_eq!(
        q.identity.anonymous_id.as_ref().unwrap().as_str(),
        "intercom:5ee3aa"
    );
    assert_eq!(
        event(&created, Signal::DemoRequested).id.as_str(),
        "intercom:notif_123456-56465-546546:demo_requested"
    );

    // A French reply asking for prices, with an email typed in the message.
    let replied = got("intercom", "intercom/conversation_user_replied.json");
    assert_eq!(
        signals(&replied),
        vec![Signal::ChatbotQuestion, Signal::ContactRequested]
    );
    let q = event(&replied, Signal::ChatbotQuestion);
    assert_eq!(email_of(q), "claire@entreprise.fr");
    assert_eq!(
        q.identity.anonymous_id.as_ref().unwrap().as_str(),
        "intercom:5ee3bb"
    );
}

#[test]
fn intercom_contacts_are_email_captures() {
    let contact = got("intercom", "intercom/contact_created.json");
    let q = event(&contact, Signal::ChatbotQuestion);
    assert_eq!(email_of(q), "dan@example.com");
    assert_eq!(q.profile.job_title.as_deref(), Some("Founder"));
}

#[test]
fn intercom_ping_is_answered() {
    let ping = got("intercom", "intercom/ping.json");
    assert!(ping.events.is_empty());
    assert_eq!(ping.reply.as_ref().map(|r| r.status), Some(200));
}

#[test]
fn intercom_admin_topics_are_ignored() {
    let body = br#"{"id":"notif_9","topic":"conversation.admin.replied","data":{"item":{"id":"1"}},"created_at":1795341480}"#;
    let r = World::new()
        .receive("intercom", &signed("intercom", body, NOW))
        .unwrap();
    assert_eq!((r.events.len(), r.ignored), (0, 1));
}

#[test]
fn drift_messages_and_identified_contacts() {
    let msg = got("drift", "drift/new_message.json");
    assert_eq!(
        signals(&msg),
        vec![Signal::ChatbotQuestion, Signal::ContactRequested]
    );
    let q = event(&msg, Signal::ChatbotQuestion);
    assert_eq!(q.id.as_str(), "drift:4300000001");
    assert_eq!(
        q.identity.anonymous_id.as_ref().unwrap().as_str(),
        "drift:7700000001"
    );

    let identified = got("drift", "drift/contact_identified.json");
    let q = event(&identified, Signal::ChatbotQuestion);
    assert_eq!(email_of(q), "eve@example.org");
    assert_eq!(
        q.identity.anonymous_id.as_ref().unwrap().as_str(),
        "drift:7700000001"
    );
    assert_eq!(q.profile.company.as_deref(), Some("Example Org"));

    let agent = got("drift", "drift/agent_message.json");
    assert_eq!((agent.events.len(), agent.ignored), (0, 1));
}

#[test]
fn drift_token_may_come_in_the_body_only() {
    let req = signed("drift", &fixture("drift/new_message.json"), NOW)
        .without_header("x-verification-token");
    assert!(World::new().receive("drift", &req).is_ok());
    let body = String::from_utf8(fixture("drift/new_message.json"))
        .unwrap()
        .replace("drift-verification-token", "forged");
    let req = signed("drift", body.as_bytes(), NOW).without_header("x-verification-token");
    assert!(matches!(
        World::new().receive("drift", &req),
        Err(AdapterError::Unauthorized(_))
    ));
}

#[test]
fn crisp_messages_in_french_and_email_capture() {
    let msg = got("crisp", "crisp/message_send.json");
    assert_eq!(
        signals(&msg),
        vec![
            Signal::ChatbotQuestion,
            Signal::DemoRequested,
            Signal::MeetingRequested
        ]
    );
    assert_eq!(msg.events[0].id.as_str(), "crisp:150698569649423");
    let session = "crisp:session_36ba3566-9651-4790-afc8-ffedbccc317f";
    assert_eq!(
        msg.events[0]
            .identity
            .anonymous_id
            .as_ref()
            .unwrap()
            .as_str(),
        session
    );

    let set_email = got("crisp", "crisp/session_set_email.json");
    let q = event(&set_email, Signal::ChatbotQuestion);
    assert_eq!(email_of(q), "marie@exemple.fr");
    assert_eq!(q.identity.anonymous_id.as_ref().unwrap().as_str(), session);
}

#[test]
fn crisp_operator_messages_are_ignored() {
    let body = String::from_utf8(fixture("crisp/message_send.json"))
        .unwrap()
        .replace("\"from\": \"user\"", "\"from\": \"operator\"");
    let r = World::new()
        .receive("crisp", &signed("crisp", body.as_bytes(), NOW))
        .unwrap();
    assert_eq!((r.events.len(), r.ignored), (0, 1));
}

#[test]
fn dialogflow_es_is_answered_and_recorded() {
    let r = got("dialogflow", "dialogflow/es_request.json");
    assert_eq!(
        r.reply,
        Some(Reply {
            status: 200,
            content_type: "application/json",
            body: b"{}".to_vec()
        })
    );
    assert_eq!(
        signals(&r),
        vec![Signal::ChatbotQuestion, Signal::DemoRequested]
    );
    let q = event(&r, Signal::ChatbotQuestion);
    assert_eq!(q.id.as_str(), "dialogflow:response-id-es-0001");
    assert_eq!(email_of(q), "sam@example.com");
    assert_eq!(q.bant.budget, Some(20_000));
    assert_eq!(q.bant.source, BantSource::Chatbot);
    assert_eq!(
        q.identity.anonymous_id.as_ref().unwrap().as_str(),
        "dialogflow:abc-123"
    );
}

#[test]
fn dialogflow_cx_in_french() {
    let r = got("dialogflow", "dialogflow/cx_request.json");
    assert!(r.reply.is_some());
    assert_eq!(
        signals(&r),
        vec![Signal::ChatbotQuestion, Signal::ContactRequested]
    );
    assert_eq!(email_of(&r.events[0]), "lou@example.com");
}

#[test]
fn dialogflow_accepts_a_bearer_header_too() {
    let req = signed("dialogflow", &fixture("dialogflow/cx_request.json"), NOW)
        .with_header("authorization", "Bearer hook-user:dialogflow-password");
    assert!(World::new().receive("dialogflow", &req).is_ok());
    let req = req.with_header("authorization", "Digest abc");
    assert!(matches!(
        World::new().receive("dialogflow", &req),
        Err(AdapterError::Unauthorized(_))
    ));
}

#[test]
fn chatbot_phrases_come_from_the_mapping() {
    let world = World {
        mapping: Mapping::from_rules_toml(
            "[mapping.chatbot]\ndemo_requested = [\"walkthrough\"]\n",
        )
        .unwrap(),
        ..World::new()
    };
    let ask = |text: &str| {
        let body = String::from_utf8(fixture("crisp/message_send.json"))
            .unwrap()
            .replace("Bonjour, je voudrais une démo et prendre rendez-vous", text);
        signals(
            &world
                .receive("crisp", &signed("crisp", body.as_bytes(), NOW))
                .unwrap(),
        )
    };
    assert_eq!(
        ask("a walkthrough please"),
        vec![Signal::ChatbotQuestion, Signal::DemoRequested]
    );
    assert_eq!(ask("a demo please"), vec![Signal::ChatbotQuestion]);
}

#[test]
fn intercom_deleted_contacts_are_not_captures() {
    let body = String::from_utf8(fixture("intercom/contact_created.json"))
        .unwrap()
        .replace("contact.user.created", "contact.deleted");
    let r = World::new()
        .receive("intercom", &signed("intercom", body.as_bytes(), NOW))
        .unwrap();
    assert_eq!((r.events.len(), r.ignored), (0, 1));
}
