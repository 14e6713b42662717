//! Requests as a provider would send them, signed with test secrets (the same ones as
//! shared/providers/tests/common), so that fuzzed bodies reach the parsers past the check.

use crate::targets::{Auth, Encoding, Hash, Key, Part, Source};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use hmac::{Hmac, Mac};
use leadscore_providers::{Channel, Mapping, Secrets};
use std::collections::BTreeMap;
use std::sync::LazyLock;

/// 2026-11-22T10:00:00Z: every request is signed and received then.
pub const NOW: i64 = 1_795_341_600;
const MESSAGE_ID: &str = "msg_2Kf8fuzz";
const HOOKS: &str = "https://hooks.example.com";
const JSON_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const SNS_CERT_URL: &str =
    "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-0000000000000000000000.pem";
const SES_TOPIC: &str = "arn:aws:sns:eu-west-1:123456789012:ses-events";
// The committed test key and certificate (no network: the certificate is already "fetched").
const SNS_CERT: &str = include_str!("../../../tests/fixtures/ses/test-signing-cert.pem");
const SNS_KEY: &str = include_str!("../../../tests/fixtures/ses/test-signing-key.pem");

/// One request as the fuzz target hands it to `receive`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// What a deployed function would have: secrets, mapping, fetched SNS certificates, plus the
/// private keys the tests sign with. Built once per process (AFL's persistent loop).
pub struct World {
    pub secrets: Secrets,
    pub mapping: Mapping,
    pub certificates: BTreeMap<String, Vec<u8>>,
    sendgrid_key: p256::ecdsa::SigningKey,
    sns_key: rsa::pkcs1v15::SigningKey<sha2::Sha256>,
}

pub static WORLD: LazyLock<World> = LazyLock::new(|| {
    use rsa::pkcs8::DecodePrivateKey;
    let sendgrid_key = match p256::ecdsa::SigningKey::from_bytes(&[7u8; 32].into()) {
        Ok(key) => key,
        Err(e) => panic!("test P-256 key: {e}"),
    };
    let sns_key = match rsa::RsaPrivateKey::from_pkcs8_pem(SNS_KEY) {
        Ok(key) => rsa::pkcs1v15::SigningKey::new(key),
        Err(e) => panic!("test RSA key: {e}"),
    };
    let mut vars: Vec<(String, String)> = crate::targets::SOURCES
        .iter()
        .filter(|s| s.name != "html")
        .map(|s| (Secrets::variable(s.name), secret_of(s.name, &sendgrid_key)))
        .collect();
    vars.push((
        "LEADSCORE_ALLOWED_ORIGINS".into(),
        "https://www.example.com, https://example.com/".into(),
    ));
    let mapping = Mapping::from_rules_toml(
        "version = 1\n[mapping.bots]\nhoneypot_urls = [\"https://example.com/hp/\"]\n",
    );
    World {
        secrets: Secrets::from_vars(vars),
        mapping: mapping.unwrap_or_else(|e| panic!("test mapping: {e}")),
        certificates: BTreeMap::from([(SNS_CERT_URL.to_string(), SNS_CERT.as_bytes().to_vec())]),
        sendgrid_key,
        sns_key,
    }
});

/// The secret configured for each source, as in the adapters' tests.
fn secret_of(source: &str, sendgrid_key: &p256::ecdsa::SigningKey) -> String {
    use p256::pkcs8::EncodePublicKey;
    match source {
        "json" => JSON_SECRET.to_string(),
        "sendgrid" => match sendgrid_key.verifying_key().to_public_key_der() {
            Ok(der) => B64.encode(der.as_bytes()),
            Err(e) => panic!("test P-256 public key: {e}"),
        },
        "ses" => format!("arn:aws:sns:us-east-1:123456789012:other, {SES_TOPIC}"),
        "drift" => "drift-verification-token".to_string(),
        "postmark" | "dialogflow" => format!("hook-user:{source}-password"),
        other => format!("{other}-test-secret"),
    }
}

fn secret(source: &Source) -> &'static str {
    WORLD.secrets.get(source.name).unwrap_or_default()
}

pub fn url_of(source: &Source) -> String {
    let channel = match source.channel {
        Channel::Forms => "forms",
        Channel::Chatbot => "chatbot",
        Channel::Email => "email",
    };
    format!("{HOOKS}/webhooks/{channel}/{}", source.name)
}

fn part<'a>(part: &'a Part, url: &'a str, body: &'a [u8]) -> std::borrow::Cow<'a, [u8]> {
    use std::borrow::Cow;
    match part {
        Part::Body => Cow::Borrowed(body),
        Part::Url => Cow::Borrowed(url.as_bytes()),
        Part::Lit(s) => Cow::Borrowed(s.as_bytes()),
        Part::Seconds => Cow::Owned(NOW.to_string().into_bytes()),
        Part::Millis => Cow::Owned((NOW * 1000).to_string().into_bytes()),
        Part::MessageId => Cow::Borrowed(MESSAGE_ID.as_bytes()),
    }
}

fn concat(parts: &[Part], url: &str, body: &[u8]) -> Vec<u8> {
    parts
        .iter()
        .flat_map(|p| part(p, url, body).into_owned())
        .collect()
}

fn mac(hash: Hash, key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC takes keys of any length.
    match hash {
        Hash::Sha1 => Hmac::<sha1::Sha1>::new_from_slice(key)
            .map(|m| m.chain_update(data).finalize().into_bytes().to_vec()),
        Hash::Sha256 => Hmac::<sha2::Sha256>::new_from_slice(key)
            .map(|m| m.chain_update(data).finalize().into_bytes().to_vec()),
    }
    .unwrap_or_default()
}

fn encode(encoding: Encoding, bytes: &[u8]) -> String {
    match encoding {
        Encoding::Hex => hex::encode(bytes),
        Encoding::Base64 => B64.encode(bytes),
    }
}

/// `body` sent to `source` the way the provider sends it, signed with the test secret.
pub fn signed(source: &Source, body: &[u8]) -> Request {
    let mut url = url_of(source);
    let mut headers = vec![("content-type".to_string(), source.content_type.to_string())];
    let mut body = body.to_vec();
    let extra_headers =
        |headers: &mut Vec<(String, String)>, extra: &[(&str, Part)], url: &str, body: &[u8]| {
            for (name, p) in extra {
                let value = String::from_utf8_lossy(&part(p, url, body)).into_owned();
                headers.push((name.to_string(), value));
            }
        };
    match &source.auth {
        Auth::Hmac {
            header,
            hash,
            key,
            encoding,
            prefix,
            signed,
            extra,
        } => {
            let secret = secret(source);
            let key = match key {
                Key::Secret => secret.as_bytes().to_vec(),
                Key::Whsec => B64
                    .decode(secret.trim_start_matches("whsec_"))
                    .unwrap_or_default(),
            };
            let sig = mac(*hash, &key, &concat(signed, &url, &body));
            headers.push((
                header.to_string(),
                format!("{prefix}{}", encode(*encoding, &sig)),
            ));
            extra_headers(&mut headers, extra, &url, &body);
        }
        Auth::Ecdsa {
            header,
            signed,
            extra,
        } => {
            use p256::ecdsa::signature::Signer;
            let sig: p256::ecdsa::Signature = WORLD.sendgrid_key.sign(&concat(signed, &url, &body));
            headers.push((header.to_string(), B64.encode(sig.to_der().as_bytes())));
            extra_headers(&mut headers, extra, &url, &body);
        }
        Auth::UrlToken => url = format!("{url}?token={}", secret(source)),
        Auth::HeaderToken(header) => headers.push((header.to_string(), secret(source).into())),
        Auth::Basic => headers.push((
            "authorization".into(),
            format!("Basic {}", B64.encode(secret(source))),
        )),
        Auth::Bearer => {
            headers.push(("authorization".into(), format!("Bearer {}", secret(source))))
        }
        Auth::Origin(origin) => headers.push(("origin".into(), origin.to_string())),
        Auth::MailgunInBody => body = mailgun_signed(secret(source), &body),
        Auth::MandrillForm => {
            let events = String::from_utf8_lossy(&body);
            let sig = mac(
                Hash::Sha1,
                secret(source).as_bytes(),
                format!("{url}mandrill_events{events}").as_bytes(),
            );
            headers.push(("x-mandrill-signature".into(), B64.encode(sig)));
            body = form_urlencoded::Serializer::new(String::new())
                .append_pair("mandrill_events", &events)
                .finish()
                .into_bytes();
        }
        Auth::SnsEnvelope => body = sns_envelope(&String::from_utf8_lossy(&body)),
    }
    Request {
        method: "POST".into(),
        url,
        headers,
        body,
    }
}

/// Mailgun signs `timestamp + token` and sends the three values in the body: spliced in as
/// the last member of a JSON object (so it replaces the fixtures' placeholder), leaving the
/// fuzzed bytes as they are (duplicate keys, odd numbers...). Anything else goes unsigned.
fn mailgun_signed(secret: &str, body: &[u8]) -> Vec<u8> {
    let first = body.iter().position(|b| !b.is_ascii_whitespace());
    let last = body.iter().rposition(|b| !b.is_ascii_whitespace());
    let (Some(open), Some(close)) = (first, last) else {
        return body.to_vec();
    };
    if open >= close || body[open] != b'{' || body[close] != b'}' {
        return body.to_vec();
    }
    let empty = body[open + 1..close].iter().all(u8::is_ascii_whitespace);
    let token = "token0123456789abcdef0123456789abcdef";
    let sig = hex::encode(mac(
        Hash::Sha256,
        secret.as_bytes(),
        format!("{NOW}{token}").as_bytes(),
    ));
    let member = format!(
        r#"{}"signature":{{"timestamp":"{NOW}","token":"{token}","signature":"{sig}"}}"#,
        if empty { "" } else { "," }
    );
    let mut out = body[..close].to_vec();
    out.extend_from_slice(member.as_bytes());
    out.extend_from_slice(&body[close..]);
    out
}

/// An SNS `Notification` carrying `message`, signed with the test key (SignatureVersion 2).
fn sns_envelope(message: &str) -> Vec<u8> {
    use rsa::signature::{SignatureEncoding, Signer};
    let fields = [
        ("Message", message),
        ("MessageId", "sns-fuzz-0001"),
        ("Timestamp", "2026-11-22T09:58:30.000Z"),
        ("TopicArn", SES_TOPIC),
        ("Type", "Notification"),
    ];
    let string_to_sign: String = fields.iter().map(|(k, v)| format!("{k}\n{v}\n")).collect();
    let signature = B64.encode(WORLD.sns_key.sign(string_to_sign.as_bytes()).to_bytes());
    let mut envelope = serde_json::Map::new();
    for (k, v) in fields {
        envelope.insert(k.into(), v.into());
    }
    envelope.insert("SignatureVersion".into(), "2".into());
    envelope.insert("Signature".into(), signature.into());
    envelope.insert("SigningCertURL".into(), SNS_CERT_URL.into());
    envelope.insert(
        "UnsubscribeURL".into(),
        "https://sns.eu-west-1.amazonaws.com/?Action=Unsubscribe".into(),
    );
    serde_json::to_vec(&envelope).unwrap_or_default()
}

/// A request as text, the fuzzer's second input form: a `METHOD URL` line, `name: value`
/// header lines, a blank line, then the body. Anything goes: a line without a space is a URL,
/// one without a colon a header with an empty value.
pub fn parse_raw(data: &[u8]) -> Request {
    let (head, body) = match data.windows(2).position(|w| w == b"\n\n") {
        Some(i) => (&data[..i], &data[i + 2..]),
        None => (data, &[][..]),
    };
    let head = String::from_utf8_lossy(head);
    let mut lines = head.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    let first = lines.next().unwrap_or_default();
    let (method, url) = first.split_once(' ').unwrap_or(("POST", first));
    let headers = lines
        .map(|line| {
            let (name, value) = line.split_once(':').unwrap_or((line, ""));
            (name.trim().to_ascii_lowercase(), value.trim().to_string())
        })
        .collect();
    Request {
        method: method.to_string(),
        url: url.to_string(),
        headers,
        body: body.to_vec(),
    }
}

/// The text `parse_raw` reads back as `request`.
pub fn render_raw(request: &Request) -> Vec<u8> {
    let mut out = format!("{} {}\n", request.method, request.url);
    for (name, value) in &request.headers {
        out.push_str(&format!("{name}: {value}\n"));
    }
    out.push('\n');
    let mut out = out.into_bytes();
    out.extend_from_slice(&request.body);
    out
}
