//! Chatbot sources: intercom, drift, crisp, dialogflow. A visitor's message records
//! `chatbot_question`, plus a hand-raise when the text asks for one (`[mapping.chatbot]`);
//! an email given in the chat (a field, or an address in the text) identifies the person.
//! Each source's scheme is a row of `sources/chatbot.rs`; these functions only parse.

use crate::fields::{flatten_fields, read_fields, Field};
use crate::mapping::Mapping;
use crate::parse::{digest, event_id, unix_millis, unix_seconds};
use crate::util::{at, normalize, parse_json, text_at};
use crate::verify::Verified;
use crate::{AdapterError, Context, Inbound, Received, Reply};
use leadscore_scoring::{
    AnonymousId, Attributes, BantSource, BantUpdate, Email, Event, Identity, Signal, Timestamp,
};
use serde_json::Value;
use std::collections::BTreeSet;

/// One visitor message (or email capture) as every chat adapter sees it.
struct ChatMessage {
    source: &'static str,
    provider_id: String,
    occurred_at: Timestamp,
    /// The visitor's words, as plain text.
    text: Option<String>,
    /// Another text naming the visitor's intent (Dialogflow's matched intent).
    intent: Option<String>,
    email: Option<Email>,
    /// The chat tool's id of the visitor or session, prefixed with the source.
    visitor: Option<String>,
    fields: Vec<Field>,
}

fn visitor_id(source: &str, raw: &str) -> Option<AnonymousId> {
    let cleaned: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-') {
                c
            } else {
                '-'
            }
        })
        .take(110)
        .collect();
    AnonymousId::parse(&format!("{source}:{cleaned}")).ok()
}

fn chat_events(msg: ChatMessage, mapping: &Mapping) -> Result<Received, AdapterError> {
    let reading = read_fields(&msg.fields, mapping);
    let email = msg
        .email
        .or(reading.email)
        .or_else(|| msg.text.as_deref().and_then(email_in_text));
    let anonymous_id = msg
        .visitor
        .as_deref()
        .and_then(|v| visitor_id(msg.source, v))
        .or(reading.anonymous_id);
    let Some(identity) = Identity::new(email, anonymous_id) else {
        return Ok(Received {
            ignored: 1,
            ..Received::default()
        });
    };
    let attributes = Attributes {
        source: Some(msg.source.to_string()),
        ..reading.attributes
    };
    let mut signals: BTreeSet<Signal> = reading.signals;
    for text in [&msg.text, &msg.intent].into_iter().flatten() {
        signals.extend(Mapping::phrase_signals(&mapping.chatbot, &normalize(text)));
    }
    signals.remove(&Signal::ChatbotQuestion);
    let mut events = vec![Event {
        profile: reading.profile,
        attributes: attributes.clone(),
        bant: BantUpdate {
            source: BantSource::Chatbot,
            ..reading.bant
        },
        ..Event::new(
            event_id(msg.source, &msg.provider_id, None)?,
            Signal::ChatbotQuestion,
            msg.occurred_at,
            identity.clone(),
        )
    }];
    for signal in signals {
        events.push(Event {
            attributes: attributes.clone(),
            ..Event::new(
                event_id(msg.source, &msg.provider_id, Some(signal.as_str()))?,
                signal,
                msg.occurred_at,
                identity.clone(),
            )
        });
    }
    Ok(Received {
        events,
        ..Received::default()
    })
}

fn ignored_one() -> Received {
    Received {
        ignored: 1,
        ..Received::default()
    }
}

fn ok_reply() -> Reply {
    Reply {
        status: 200,
        content_type: "application/json",
        body: b"{}".to_vec(),
    }
}

fn first_text(v: &Value, paths: &[&[&str]]) -> Option<String> {
    paths.iter().find_map(|p| text_at(v, p))
}

/// Topics where a contact gives (or changes) their details. Deletions, archives, tags and
/// unsubscriptions are not email captures.
const INTERCOM_CAPTURE_TOPICS: &[&str] = &[
    "contact.created",
    "contact.user.created",
    "contact.lead.created",
    "contact.signed_up",
    "contact.lead.signed_up",
    "contact.added_email",
    "contact.lead.added_email",
    "user.created",
    "user.email.updated",
];

/// Intercom (`X-Hub-Signature: sha1=<hex HMAC-SHA1(client secret, body)>`). The `ping`
/// topic is answered 200.
pub(crate) fn intercom(
    inbound: &Inbound<'_>,
    _: &Verified,
    ctx: &Context<'_>,
) -> Result<Received, AdapterError> {
    let body = parse_json(inbound.body)?;
    let topic =
        text_at(&body, &["topic"]).ok_or_else(|| AdapterError::Malformed("no `topic`".into()))?;
    if topic == "ping" {
        return Ok(Received {
            reply: Some(ok_reply()),
            ..Received::default()
        });
    }
    let id = text_at(&body, &["id"]).ok_or_else(|| AdapterError::Malformed("no `id`".into()))?;
    let item = at(&body, &["data", "item"])
        .filter(|i| i.is_object())
        .ok_or_else(|| AdapterError::Malformed("no `data.item` object".into()))?;
    let occurred_at = body
        .get("created_at")
        .and_then(unix_seconds)
        .or_else(|| item.get("updated_at").and_then(unix_seconds))
        .unwrap_or(inbound.now);

    let msg = if topic.starts_with("conversation.user.") {
        // The newest part the visitor wrote (replies), else the opening message.
        let reply = at(item, &["conversation_parts", "conversation_parts"])
            .and_then(Value::as_array)
            .and_then(|parts| {
                parts.iter().rev().find(|p| {
                    matches!(
                        text_at(p, &["author", "type"]).as_deref(),
                        Some("user" | "lead" | "contact")
                    )
                })
            })
            .and_then(|p| text_at(p, &["body"]));
        let text = reply
            .or_else(|| {
                first_text(
                    item,
                    &[&["source", "body"], &["conversation_message", "body"]],
                )
            })
            .map(|t| strip_html(&t));
        let email = first_text(
            item,
            &[
                &["source", "author", "email"],
                &["user", "email"],
                &["author", "email"],
            ],
        )
        .or_else(|| {
            at(item, &["contacts", "contacts"])
                .and_then(Value::as_array)
                .and_then(|c| c.first())
                .and_then(|c| text_at(c, &["email"]))
        })
        .and_then(|e| Email::parse(&e).ok());
        let visitor = at(item, &["contacts", "contacts"])
            .and_then(Value::as_array)
            .and_then(|c| c.first())
            .and_then(|c| text_at(c, &["id"]))
            .or_else(|| first_text(item, &[&["user", "id"], &["source", "author", "id"]]));
        ChatMessage {
            source: "intercom",
            provider_id: id,
            occurred_at,
            text,
            intent: None,
            email,
            visitor,
            fields: Vec::new(),
        }
    } else if INTERCOM_CAPTURE_TOPICS.contains(&topic.as_str()) {
        // A contact gave (or changed) their details: an email capture.
        let mut fields = Vec::new();
        for key in ["email", "name", "phone"] {
            if let Some(v) = item.get(key) {
                fields.push(Field::new(key, v.clone()));
            }
        }
        if let Some(attrs) = item.get("custom_attributes") {
            flatten_fields("", attrs, &mut fields);
        }
        if let Some(country) = at(item, &["location", "country"]) {
            fields.push(Field::new("country", country.clone()));
        }
        if text_at(item, &["email"]).is_none() {
            return Ok(ignored_one());
        }
        ChatMessage {
            source: "intercom",
            provider_id: id,
            occurred_at,
            text: None,
            intent: None,
            email: None,
            visitor: text_at(item, &["id"]),
            fields,
        }
    } else {
        // Admin replies, assignments, closes...: not the visitor speaking.
        return Ok(ignored_one());
    };
    chat_events(msg, ctx.mapping)
}

/// Drift (the app's verification token, in the `X-Verification-Token` header or the body's
/// `token`).
pub(crate) fn drift(
    inbound: &Inbound<'_>,
    _: &Verified,
    ctx: &Context<'_>,
) -> Result<Received, AdapterError> {
    let body = parse_json(inbound.body)?;
    let kind =
        text_at(&body, &["type"]).ok_or_else(|| AdapterError::Malformed("no `type`".into()))?;
    let data = body
        .get("data")
        .filter(|d| d.is_object())
        .ok_or_else(|| AdapterError::Malformed("no `data` object".into()))?;
    let occurred_at = data
        .get("createdAt")
        .and_then(unix_millis)
        .unwrap_or(inbound.now);
    let body_text = String::from_utf8_lossy(inbound.body);
    let provider_id =
        text_at(data, &["id"]).unwrap_or_else(|| format!("h{}", digest(&[&body_text])));
    let msg = match kind.as_str() {
        "new_message" => {
            // Drift calls its own agents "user"; the visitor is the "contact".
            if text_at(data, &["author", "type"]).as_deref() != Some("contact") {
                return Ok(ignored_one());
            }
            ChatMessage {
                source: "drift",
                provider_id,
                occurred_at,
                text: text_at(data, &["body"]).map(|t| strip_html(&t)),
                intent: None,
                email: first_text(data, &[&["author", "email"], &["contact", "email"]])
                    .and_then(|e| Email::parse(&e).ok()),
                visitor: first_text(data, &[&["author", "id"], &["conversationId"]]),
                fields: Vec::new(),
            }
        }
        "contact_identified" => {
            let mut fields = Vec::new();
            if let Some(attrs) = data.get("attributes") {
                flatten_fields("", attrs, &mut fields);
            }
            ChatMessage {
                source: "drift",
                provider_id: format!("{provider_id}:identified"),
                occurred_at,
                text: None,
                intent: None,
                email: None,
                visitor: text_at(data, &["id"]),
                fields,
            }
        }
        _ => return Ok(ignored_one()),
    };
    chat_events(msg, ctx.mapping)
}

/// Crisp (`X-Crisp-Signature` = hex HMAC-SHA256(secret, `[<timestamp>;<body>]`) with
/// `X-Crisp-Request-Timestamp`).
pub(crate) fn crisp(
    inbound: &Inbound<'_>,
    _: &Verified,
    ctx: &Context<'_>,
) -> Result<Received, AdapterError> {
    let body = parse_json(inbound.body)?;
    let event =
        text_at(&body, &["event"]).ok_or_else(|| AdapterError::Malformed("no `event`".into()))?;
    let data = body
        .get("data")
        .filter(|d| d.is_object())
        .ok_or_else(|| AdapterError::Malformed("no `data` object".into()))?;
    let occurred_at = data
        .get("timestamp")
        .or_else(|| body.get("timestamp"))
        .and_then(unix_millis)
        .unwrap_or(inbound.now);
    let session = text_at(data, &["session_id"]);
    let msg = match event.as_str() {
        "message:send" => {
            if text_at(data, &["from"]).as_deref() != Some("user")
                || text_at(data, &["type"]).as_deref() != Some("text")
            {
                return Ok(ignored_one());
            }
            let id = text_at(data, &["fingerprint"])
                .ok_or_else(|| AdapterError::Malformed("no `data.fingerprint`".into()))?;
            ChatMessage {
                source: "crisp",
                provider_id: id,
                occurred_at,
                text: text_at(data, &["content"]),
                intent: None,
                email: None,
                visitor: session,
                fields: Vec::new(),
            }
        }
        "session:set_email" => {
            let email = text_at(data, &["email"]).unwrap_or_default();
            ChatMessage {
                source: "crisp",
                provider_id: format!(
                    "email:h{}",
                    digest(&[session.as_deref().unwrap_or_default(), &email])
                ),
                occurred_at,
                text: None,
                intent: None,
                email: Email::parse(&email).ok(),
                visitor: session,
                fields: Vec::new(),
            }
        }
        _ => return Ok(ignored_one()),
    };
    chat_events(msg, ctx.mapping)
}

/// Dialogflow ES or CX fulfillment (`Authorization` Basic, ES's basic auth, or Bearer, a
/// header configured on a CX webhook). Always answered with an empty fulfillment response
/// (`{}`), so the agent's own responses are used.
pub(crate) fn dialogflow(
    inbound: &Inbound<'_>,
    _: &Verified,
    ctx: &Context<'_>,
) -> Result<Received, AdapterError> {
    let body = parse_json(inbound.body)?;
    let (id, text, intent, session, params) = if let Some(id) = text_at(&body, &["responseId"]) {
        (
            id,
            text_at(&body, &["queryResult", "queryText"]),
            text_at(&body, &["queryResult", "intent", "displayName"]),
            text_at(&body, &["session"]),
            at(&body, &["queryResult", "parameters"]),
        )
    } else if let Some(id) = text_at(&body, &["detectIntentResponseId"]) {
        (
            id,
            first_text(&body, &[&["text"], &["transcript"]]),
            first_text(
                &body,
                &[&["intentInfo", "displayName"], &["fulfillmentInfo", "tag"]],
            ),
            text_at(&body, &["sessionInfo", "session"]),
            at(&body, &["sessionInfo", "parameters"]),
        )
    } else {
        return Err(AdapterError::Malformed(
            "neither `responseId` (ES) nor `detectIntentResponseId` (CX)".into(),
        ));
    };
    let mut fields = Vec::new();
    if let Some(params) = params {
        flatten_fields("", params, &mut fields);
    }
    let msg = ChatMessage {
        source: "dialogflow",
        provider_id: id,
        occurred_at: inbound.now,
        text,
        intent,
        email: None,
        // `projects/.../sessions/<id>`: the last segment names the conversation.
        visitor: session
            .as_deref()
            .and_then(|s| s.rsplit('/').next())
            .map(str::to_string),
        fields,
    };
    let mut received = chat_events(msg, ctx.mapping)?;
    received.reply = Some(ok_reply());
    Ok(received)
}

/// Text of an HTML fragment (chat messages): tags dropped, common entities decoded.
fn strip_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_tag = false;
    for c in s.chars() {
        match c {
            '<' => {
                in_tag = true;
                out.push(' ');
            }
            '>' if in_tag => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// The first word of `text` that is an email address.
fn email_in_text(text: &str) -> Option<leadscore_scoring::Email> {
    text.split(|c: char| c.is_whitespace() || matches!(c, ',' | ';' | '<' | '>' | '(' | ')'))
        .filter(|w| w.contains('@'))
        .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric()))
        .find_map(|w| leadscore_scoring::Email::parse(w).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_is_stripped_and_emails_found() {
        assert_eq!(strip_html("<p>Hi &amp; <b>bye</b></p>"), "Hi & bye");
        let e = email_in_text("reach me at <Bob@Example.com>, thanks").unwrap();
        assert_eq!(e.as_str(), "bob@example.com");
        assert!(email_in_text("no address here @ all").is_none());
    }
}
