//! Standard Webhooks signing (the `json` source's scheme), so a person can try a signed
//! source by hand: `{id}.{timestamp}.{body}`, HMAC-SHA256, key = base64 part of `whsec_...`.

use base64::{engine::general_purpose::STANDARD, Engine};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SignError {
    #[error("the secret must be `whsec_` followed by base64 (as LEADSCORE_SECRET_JSON holds it)")]
    BadSecret,
    #[error("the secret's key is empty")]
    EmptyKey,
}

/// The three Standard Webhooks headers of one signed request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedHeaders {
    pub id: String,
    pub timestamp: i64,
    pub signature: String,
}

impl SignedHeaders {
    pub fn lines(&self) -> [(&'static str, String); 3] {
        [
            ("webhook-id", self.id.clone()),
            ("webhook-timestamp", self.timestamp.to_string()),
            ("webhook-signature", self.signature.clone()),
        ]
    }
}

fn key(secret: &str) -> Result<Vec<u8>, SignError> {
    let encoded = secret
        .trim()
        .strip_prefix("whsec_")
        .unwrap_or(secret.trim());
    let key = STANDARD.decode(encoded).map_err(|_| SignError::BadSecret)?;
    if key.is_empty() {
        return Err(SignError::EmptyKey);
    }
    Ok(key)
}

/// `v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>`.
pub fn sign(
    secret: &str,
    id: &str,
    timestamp: i64,
    body: &[u8],
) -> Result<SignedHeaders, SignError> {
    let mut mac = Hmac::<Sha256>::new_from_slice(&key(secret)?).map_err(|_| SignError::EmptyKey)?;
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    Ok(SignedHeaders {
        id: id.to_string(),
        timestamp,
        signature: format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes())),
    })
}

/// A message id for a body: its own `"id"` when it is one JSON event (so the header and the
/// event agree on the dedup key), else a stable id derived from the bytes.
pub fn message_id(body: &[u8]) -> String {
    if let Ok(serde_json::Value::Object(event)) = serde_json::from_slice(body) {
        if let Some(id) = event.get("id").and_then(|v| v.as_str()) {
            if !id.is_empty() {
                return id.to_string();
            }
        }
    }
    let digest = Sha256::digest(body);
    format!("msg_{}", hex::encode(&digest[..12]))
}

/// Single-quotes a value for a POSIX shell.
pub fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// A curl command that sends `file` with the signed headers.
pub fn curl_line(url: &str, headers: &SignedHeaders, file: &str) -> String {
    let mut line = format!(
        "curl -sS -X POST {} -H 'content-type: application/json'",
        shell_quote(url)
    );
    for (name, value) in headers.lines() {
        line.push_str(&format!(" -H {}", shell_quote(&format!("{name}: {value}"))));
    }
    line.push_str(&format!(" --data-binary @{}", shell_quote(file)));
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    // The published Standard Webhooks test vector (shared/providers.md).
    #[test]
    fn matches_the_published_vector() {
        let signed = sign(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            br#"{"test": 2432232314}"#,
        )
        .unwrap();
        assert_eq!(
            signed.signature,
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn a_changed_byte_changes_the_signature() {
        let a = sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "m", 1, b"{}").unwrap();
        let b = sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "m", 1, b"{ }").unwrap();
        assert_ne!(a.signature, b.signature);
    }

    #[test]
    fn rejects_secrets_that_are_not_base64() {
        assert_eq!(
            sign("whsec_not base64!", "m", 1, b"").unwrap_err(),
            SignError::BadSecret
        );
        assert_eq!(
            sign("whsec_", "m", 1, b"").unwrap_err(),
            SignError::EmptyKey
        );
    }

    #[test]
    fn message_id_prefers_the_event_id() {
        assert_eq!(message_id(br#"{"id":"evt_1","type":"x"}"#), "evt_1");
        let derived = message_id(br#"[{"id":"evt_1"}]"#);
        assert!(
            derived.starts_with("msg_") && derived.len() == 28,
            "{derived}"
        );
        assert_eq!(derived, message_id(br#"[{"id":"evt_1"}]"#));
    }

    #[test]
    fn quotes_for_the_shell() {
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }
}
