//! Test helpers: fixtures, test secrets, and requests signed exactly as each provider signs
//! them (with test keys: HMAC secrets below, a fixed P-256 key for SendGrid, and the committed
//! test RSA key and certificate for SNS).
#![allow(dead_code)]

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use hmac::{Hmac, Mac};
use leadscore_providers::{
    receive, AdapterError, Channel, Context, Inbound, Mapping, Received, Secrets,
};
use leadscore_scoring::{Event, Signal, Timestamp};
use std::collections::BTreeMap;

/// 2026-11-22T10:00:00Z, the time every test request is received at.
pub const NOW: i64 = 1_795_341_600;
pub const HOOKS: &str = "https://hooks.example.com";
pub const SNS_CERT_URL: &str =
    "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-0000000000000000000000.pem";
pub const SES_TOPIC: &str = "arn:aws:sns:eu-west-1:123456789012:ses-events";
pub const JSON_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
pub const HONEYPOT_URL: &str = "https://example.com/hp/";

pub fn fixture(path: &str) -> Vec<u8> {
    // The repository's tests/fixtures: real provider payloads, shared by every crate's tests.
    let full = format!("{}/../../tests/fixtures/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&full).unwrap_or_else(|e| panic!("fixture {full}: {e}"))
}

/// The secret configured for each source in these tests.
pub fn test_secret(source: &str) -> String {
    match source {
        "json" => JSON_SECRET.to_string(),
        "sendgrid" => B64.encode(sendgrid_public_key_der()),
        "ses" => format!("arn:aws:sns:us-east-1:123456789012:other, {SES_TOPIC}"),
        "drift" => "drift-verification-token".to_string(),
        "postmark" | "dialogflow" => format!("hook-user:{source}-password"),
        other => format!("{other}-test-secret"),
    }
}

pub const ALL_SOURCES: &[&str] = &[
    "json",
    "html",
    "typeform",
    "webflow",
    "tally",
    "hubspot",
    "jotform",
    "segment",
    "intercom",
    "drift",
    "crisp",
    "dialogflow",
    "sendgrid",
    "mailgun",
    "mandrill",
    "postmark",
    "brevo",
    "ses",
    "mailchimp",
];

pub fn secrets() -> Secrets {
    let mut vars: Vec<(String, String)> = ALL_SOURCES
        .iter()
        .filter(|s| **s != "html")
        .map(|s| (Secrets::variable(s), test_secret(s)))
        .collect();
    vars.push((
        "LEADSCORE_ALLOWED_ORIGINS".into(),
        "https://www.example.com, https://example.com/".into(),
    ));
    vars.push(("UNRELATED".into(), "x".into()));
    Secrets::from_vars(vars)
}

pub fn mapping() -> Mapping {
    Mapping::from_rules_toml(&format!(
        "version = 1\n[mapping.bots]\nhoneypot_urls = [\"{HONEYPOT_URL}\"]\n"
    ))
    .expect("test mapping")
}

pub fn certificates() -> BTreeMap<String, Vec<u8>> {
    BTreeMap::from([(
        SNS_CERT_URL.to_string(),
        fixture("ses/test-signing-cert.pem"),
    )])
}

/// The environment a deployed function would have.
pub struct World {
    pub secrets: Secrets,
    pub mapping: Mapping,
    pub certs: BTreeMap<String, Vec<u8>>,
}

impl World {
    pub fn new() -> Self {
        World {
            secrets: secrets(),
            mapping: mapping(),
            certs: certificates(),
        }
    }

    pub fn receive(&self, source: &str, req: &Request) -> Result<Received, AdapterError> {
        let ctx = Context {
            secrets: &self.secrets,
            mapping: &self.mapping,
            sns_certificates: &self.certs,
        };
        receive(channel_of(source), source, &req.inbound(), &ctx)
    }
}

/// The route of `source` (for `json`, on every route: the first channel built).
pub fn channel_of(source: &str) -> Channel {
    let channels = [Channel::Forms, Channel::Chatbot, Channel::Email];
    let serving = |c: &Channel| c.sources().contains(&source);
    let built = channels.iter().find(|c| c.is_built() && serving(c));
    match built.or_else(|| channels.iter().find(|c| serving(c))) {
        Some(channel) => *channel,
        None => panic!("no channel for {source}"),
    }
}

#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub now: Timestamp,
}

impl Request {
    pub fn post(url: String, content_type: &str, body: Vec<u8>) -> Self {
        Request {
            method: "POST".into(),
            url,
            headers: vec![("content-type".into(), content_type.into())],
            body,
            now: Timestamp::from_unix_seconds(NOW),
        }
    }

    pub fn inbound(&self) -> Inbound<'_> {
        Inbound {
            method: &self.method,
            url: &self.url,
            headers: &self.headers,
            body: &self.body,
            client_ip: None,
            now: self.now,
        }
    }

    /// Sets (or replaces) a header.
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.retain(|(n, _)| n != name);
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    pub fn without_header(mut self, name: &str) -> Self {
        self.headers.retain(|(n, _)| n != name);
        self
    }

    pub fn received_at(mut self, unix_seconds: i64) -> Self {
        self.now = Timestamp::from_unix_seconds(unix_seconds);
        self
    }
}

fn hmac256(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut m = Hmac::<sha2::Sha256>::new_from_slice(key).unwrap();
    m.update(data);
    m.finalize().into_bytes().to_vec()
}

fn hmac1(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut m = Hmac::<sha1::Sha1>::new_from_slice(key).unwrap();
    m.update(data);
    m.finalize().into_bytes().to_vec()
}

fn sendgrid_key() -> p256::ecdsa::SigningKey {
    p256::ecdsa::SigningKey::from_bytes(&[7u8; 32].into()).unwrap()
}

pub fn sendgrid_public_key_der() -> Vec<u8> {
    use p256::pkcs8::EncodePublicKey;
    sendgrid_key()
        .verifying_key()
        .to_public_key_der()
        .unwrap()
        .as_bytes()
        .to_vec()
}

fn sns_sign(string_to_sign: &str) -> String {
    use rsa::pkcs8::DecodePrivateKey;
    use rsa::signature::{SignatureEncoding, Signer};
    let pem = String::from_utf8(fixture("ses/test-signing-key.pem")).unwrap();
    let key = rsa::RsaPrivateKey::from_pkcs8_pem(&pem).unwrap();
    let signer = rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(key);
    B64.encode(signer.sign(string_to_sign.as_bytes()).to_bytes())
}

/// An SNS envelope around an SES event (`Notification`) or a `SubscriptionConfirmation`,
/// signed with the test key (SignatureVersion 2). `good = false` signs other bytes.
pub fn sns_envelope(kind: &str, message: &str, good: bool) -> Vec<u8> {
    // Deterministic per message, so a redelivery carries the same MessageId (as SNS's does).
    let message_id = format!("sns-{:016x}", fnv(message.as_bytes()));
    let timestamp = "2026-11-22T09:58:30.000Z";
    let subscribe_url = "https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=arn:aws:sns:eu-west-1:123456789012:ses-events&Token=2336412f37";
    let mut fields: Vec<(&str, String)> = vec![
        ("Message", message.to_string()),
        ("MessageId", message_id.clone()),
    ];
    if kind == "Notification" {
        fields.push(("Timestamp", timestamp.into()));
        fields.push(("TopicArn", SES_TOPIC.into()));
        fields.push(("Type", kind.into()));
    } else {
        fields.push(("SubscribeURL", subscribe_url.into()));
        fields.push(("Timestamp", timestamp.into()));
        fields.push(("Token", "2336412f37".into()));
        fields.push(("TopicArn", SES_TOPIC.into()));
        fields.push(("Type", kind.into()));
    }
    let mut string_to_sign: String = fields.iter().map(|(k, v)| format!("{k}\n{v}\n")).collect();
    if !good {
        string_to_sign.push('x');
    }
    let mut envelope = serde_json::Map::new();
    for (k, v) in fields {
        envelope.insert(k.into(), v.into());
    }
    envelope.insert("SignatureVersion".into(), "2".into());
    envelope.insert("Signature".into(), sns_sign(&string_to_sign).into());
    envelope.insert("SigningCertURL".into(), SNS_CERT_URL.into());
    envelope.insert(
        "UnsubscribeURL".into(),
        "https://sns.eu-west-1.amazonaws.com/?Action=Unsubscribe".into(),
    );
    serde_json::to_vec(&envelope).unwrap()
}

fn fnv(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf29ce484222325u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x100000001b3)
    })
}

/// A request for `source` carrying `body`, signed at `signed_at` (unix seconds) with the test
/// secret, received at `NOW`. Body-signing schemes (Mailgun's in-body signature, Mandrill's
/// form field, SNS's envelope) wrap `body` the way the provider does.
pub fn signed(source: &str, body: &[u8], signed_at: i64) -> Request {
    sign(source, body, signed_at, true)
}

/// Like `signed`, with the wrong secret, token or key.
pub fn signed_wrong(source: &str, body: &[u8], signed_at: i64) -> Request {
    sign(source, body, signed_at, false)
}

pub fn url_of(source: &str) -> String {
    let channel = match channel_of(source) {
        Channel::Forms => "forms",
        Channel::Chatbot => "chatbot",
        Channel::Email => "email",
    };
    format!("{HOOKS}/webhooks/{channel}/{source}")
}

fn sign(source: &str, body: &[u8], signed_at: i64, good: bool) -> Request {
    let secret = if good {
        test_secret(source)
    } else if source == "json" {
        "whsec_dGhpcyBpcyBub3QgdGhlIHJpZ2h0IGtleQ==".to_string()
    } else if source == "postmark" || source == "dialogflow" {
        "hook-user:wrong-password".to_string()
    } else {
        "not-the-secret".to_string()
    };
    let url = url_of(source);
    let json = "application/json";
    let ts = signed_at.to_string();
    let ts_ms = (signed_at * 1000).to_string();
    let body_vec = body.to_vec();
    match source {
        "json" => {
            let key = B64.decode(secret.trim_start_matches("whsec_")).unwrap();
            let id = "msg_2Kf8test";
            let mut signed = format!("{id}.{ts}.").into_bytes();
            signed.extend_from_slice(body);
            let sig = B64.encode(hmac256(&key, &signed));
            Request::post(url, json, body_vec)
                .with_header("webhook-id", id)
                .with_header("webhook-timestamp", &ts)
                .with_header("webhook-signature", &format!("v1,{sig}"))
        }
        "html" => Request::post(url, "application/x-www-form-urlencoded", body_vec).with_header(
            "origin",
            if good {
                "https://www.example.com"
            } else {
                "https://evil.example"
            },
        ),
        "typeform" => {
            let sig = B64.encode(hmac256(secret.as_bytes(), body));
            Request::post(url, json, body_vec)
                .with_header("typeform-signature", &format!("sha256={sig}"))
        }
        "webflow" => {
            let mut signed = format!("{ts_ms}:").into_bytes();
            signed.extend_from_slice(body);
            Request::post(url, json, body_vec)
                .with_header("x-webflow-timestamp", &ts_ms)
                .with_header(
                    "x-webflow-signature",
                    &hex::encode(hmac256(secret.as_bytes(), &signed)),
                )
        }
        "tally" => {
            let sig = B64.encode(hmac256(secret.as_bytes(), body));
            Request::post(url, json, body_vec).with_header("tally-signature", &sig)
        }
        "hubspot" => {
            let mut signed = format!("POST{url}").into_bytes();
            signed.extend_from_slice(body);
            signed.extend_from_slice(ts_ms.as_bytes());
            let sig = B64.encode(hmac256(secret.as_bytes(), &signed));
            Request::post(url, json, body_vec)
                .with_header("x-hubspot-request-timestamp", &ts_ms)
                .with_header("x-hubspot-signature-v3", &sig)
        }
        "jotform" => Request::post(
            format!("{url}?token={secret}"),
            "multipart/form-data; boundary=----jotformBoundary7MA4YWxkTrZu0gW",
            body_vec,
        ),
        "segment" => {
            let sig = hex::encode(hmac1(secret.as_bytes(), body));
            Request::post(url, json, body_vec).with_header("x-signature", &sig)
        }
        "intercom" => {
            let sig = hex::encode(hmac1(secret.as_bytes(), body));
            Request::post(url, json, body_vec)
                .with_header("x-hub-signature", &format!("sha1={sig}"))
        }
        "drift" => Request::post(url, json, body_vec).with_header("x-verification-token", &secret),
        "crisp" => {
            let mut signed = format!("[{ts_ms};").into_bytes();
            signed.extend_from_slice(body);
            signed.push(b']');
            Request::post(url, json, body_vec)
                .with_header("x-crisp-request-timestamp", &ts_ms)
                .with_header(
                    "x-crisp-signature",
                    &hex::encode(hmac256(secret.as_bytes(), &signed)),
                )
        }
        "dialogflow" | "postmark" => Request::post(url, json, body_vec)
            .with_header("authorization", &format!("Basic {}", B64.encode(&secret))),
        "brevo" => Request::post(url, json, body_vec)
            .with_header("authorization", &format!("Bearer {secret}")),
        "sendgrid" => {
            use p256::ecdsa::signature::Signer;
            let key = if good {
                sendgrid_key()
            } else {
                p256::ecdsa::SigningKey::from_bytes(&[9u8; 32].into()).unwrap()
            };
            let mut signed = ts.clone().into_bytes();
            signed.extend_from_slice(body);
            let sig: p256::ecdsa::Signature = key.sign(&signed);
            Request::post(url, json, body_vec)
                .with_header("x-twilio-email-event-webhook-timestamp", &ts)
                .with_header(
                    "x-twilio-email-event-webhook-signature",
                    &B64.encode(sig.to_der().as_bytes()),
                )
        }
        "mailgun" => {
            // The signature travels inside the body.
            // Only an object can carry the signature (property tests send anything).
            let mut doc: serde_json::Value = match serde_json::from_slice(body) {
                Ok(doc @ serde_json::Value::Object(_)) => doc,
                _ => return Request::post(url, json, body_vec),
            };
            let token = format!("token{signed_at}abcdef0123456789abcdef0123456789");
            let sig = hex::encode(hmac256(
                secret.as_bytes(),
                format!("{ts}{token}").as_bytes(),
            ));
            doc["signature"] =
                serde_json::json!({"timestamp": ts, "token": token, "signature": sig});
            Request::post(url, json, serde_json::to_vec(&doc).unwrap())
        }
        "mandrill" => {
            let events = String::from_utf8_lossy(body).trim().to_string();
            let form: String = form_urlencoded::Serializer::new(String::new())
                .append_pair("mandrill_events", &events)
                .finish();
            let sig = B64.encode(hmac1(
                secret.as_bytes(),
                format!("{url}mandrill_events{events}").as_bytes(),
            ));
            Request::post(url, "application/x-www-form-urlencoded", form.into_bytes())
                .with_header("x-mandrill-signature", &sig)
        }
        "ses" => {
            let message = String::from_utf8_lossy(body).trim().to_string();
            Request::post(
                url,
                "text/plain; charset=UTF-8",
                sns_envelope("Notification", &message, good),
            )
        }
        "mailchimp" => Request::post(
            format!("{url}?token={secret}"),
            "application/x-www-form-urlencoded",
            body_vec,
        ),
        other => panic!("no signer for {other}"),
    }
}

pub fn signals(received: &Received) -> Vec<Signal> {
    received.events.iter().map(|e| e.signal).collect()
}

pub fn ids(received: &Received) -> Vec<String> {
    received
        .events
        .iter()
        .map(|e| e.id.as_str().to_string())
        .collect()
}

pub fn event(received: &Received, signal: Signal) -> &Event {
    received
        .events
        .iter()
        .find(|e| e.signal == signal)
        .unwrap_or_else(|| panic!("no {signal} in {:?}", signals(received)))
}

pub fn email_of(e: &Event) -> &str {
    e.identity.email.as_ref().map(|m| m.as_str()).unwrap_or("")
}
