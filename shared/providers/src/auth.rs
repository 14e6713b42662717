//! The primitives of the signature schemes (`verify.rs` runs them as `sources.rs` describes).
//! Every comparison of a secret-derived value is constant-time.

use crate::util::check_fresh;
use crate::{AdapterError, Inbound};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use hmac::{Hmac, Mac};
use leadscore_scoring::Timestamp;
use subtle::ConstantTimeEq;

pub(crate) fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    // HMAC accepts keys of any length: `new_from_slice` cannot fail for it.
    let mut mac = match Hmac::<sha2::Sha256>::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => return Vec::new(),
    };
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().to_vec()
}

pub(crate) fn hmac_sha1(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let mut mac = match Hmac::<sha1::Sha1>::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => return Vec::new(),
    };
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().to_vec()
}

/// Constant-time equality of two byte strings (length is not secret).
pub(crate) fn same(a: &[u8], b: &[u8]) -> bool {
    !a.is_empty() && a.len() == b.len() && bool::from(a.ct_eq(b))
}

pub(crate) fn unauthorized(msg: impl Into<String>) -> AdapterError {
    AdapterError::Unauthorized(msg.into())
}

/// A required header, or 401 naming it.
pub(crate) fn header<'a>(inbound: &'a Inbound<'_>, name: &str) -> Result<&'a str, AdapterError> {
    inbound
        .header(name)
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| unauthorized(format!("missing {name} header")))
}

/// Compares a hex signature (any case) with the expected MAC.
pub(crate) fn check_hex(given: &str, expected: &[u8], what: &str) -> Result<(), AdapterError> {
    let given = hex::decode(given.trim().to_ascii_lowercase())
        .map_err(|_| unauthorized(format!("{what} is not hex")))?;
    if same(&given, expected) {
        Ok(())
    } else {
        Err(unauthorized(format!("{what} does not match")))
    }
}

/// Compares a base64 signature with the expected MAC.
pub(crate) fn check_base64(given: &str, expected: &[u8], what: &str) -> Result<(), AdapterError> {
    let given = B64
        .decode(given.trim())
        .map_err(|_| unauthorized(format!("{what} is not base64")))?;
    if same(&given, expected) {
        Ok(())
    } else {
        Err(unauthorized(format!("{what} does not match")))
    }
}

/// A plain shared token (header, URL query or body), compared in constant time.
pub(crate) fn check_token(
    given: Option<&str>,
    secret: &str,
    what: &str,
) -> Result<(), AdapterError> {
    match given.map(str::trim).filter(|g| !g.is_empty()) {
        None => Err(unauthorized(format!("missing {what}"))),
        Some(g) if same(g.as_bytes(), secret.as_bytes()) => Ok(()),
        Some(_) => Err(unauthorized(format!("{what} does not match"))),
    }
}

/// `Authorization: Basic` (secret = `user:password`, as put in the webhook URL) or
/// `Authorization: Bearer <secret>`.
pub(crate) fn check_authorization(inbound: &Inbound<'_>, secret: &str) -> Result<(), AdapterError> {
    let value = header(inbound, "authorization")?;
    let (scheme, credentials) = value.split_once(' ').unwrap_or((value, ""));
    let credentials = credentials.trim();
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded = B64
            .decode(credentials)
            .map_err(|_| unauthorized("Basic credentials are not base64"))?;
        if same(&decoded, secret.as_bytes()) {
            return Ok(());
        }
        Err(unauthorized("Basic credentials do not match"))
    } else if scheme.eq_ignore_ascii_case("bearer") {
        check_token(Some(credentials), secret, "Bearer token")
    } else {
        Err(unauthorized("Authorization must be Basic or Bearer"))
    }
}

/// A timestamp header in unix seconds or milliseconds (values above 10^11 are milliseconds).
pub(crate) fn timestamp_header(value: &str, name: &str) -> Result<Timestamp, AdapterError> {
    let n: i64 = value
        .trim()
        .parse()
        .map_err(|_| unauthorized(format!("{name} is not a unix time")))?;
    Ok(if n.abs() >= 100_000_000_000 {
        Timestamp::from_millis(n)
    } else {
        Timestamp::from_unix_seconds(n)
    })
}

/// Standard Webhooks: `webhook-id`, `webhook-timestamp`, `webhook-signature` (`v1,<base64>`
/// list) over `{id}.{timestamp}.{body}` with the base64 key after `whsec_`.
/// Returns the message id and the signed time.
pub(crate) fn standard_webhooks(
    inbound: &Inbound<'_>,
    secret: &str,
) -> Result<(String, Timestamp), AdapterError> {
    let id = header(inbound, "webhook-id")?;
    let ts_raw = header(inbound, "webhook-timestamp")?;
    let signatures = header(inbound, "webhook-signature")?;
    let ts: i64 = ts_raw
        .parse()
        .map_err(|_| unauthorized("webhook-timestamp is not unix seconds"))?;
    let key = B64
        .decode(secret.trim().trim_start_matches("whsec_"))
        .map_err(|_| {
            unauthorized(
                "LEADSCORE_SECRET_JSON is not a Standard Webhooks secret (whsec_ + base64)",
            )
        })?;
    let expected = hmac_sha256(
        &key,
        &[id.as_bytes(), b".", ts_raw.as_bytes(), b".", inbound.body],
    );
    let matched = signatures
        .split(' ')
        .filter_map(|s| s.strip_prefix("v1,"))
        .filter_map(|s| B64.decode(s).ok())
        .any(|s| same(&s, &expected));
    if !matched {
        return Err(unauthorized("webhook-signature does not match"));
    }
    let signed_at = Timestamp::from_unix_seconds(ts);
    check_fresh(signed_at, inbound.now)?;
    Ok((id.to_string(), signed_at))
}

/// ECDSA P-256 / SHA-256 over `timestamp + body` (SendGrid's Event Webhook): the signature in
/// base64 DER, the secret being the base64 (DER SubjectPublicKeyInfo) public key. `variable`
/// names the secret in messages. Returns the signed time. Built with `email`, like `p256`.
#[cfg(feature = "email")]
pub(crate) fn ecdsa_p256(
    inbound: &Inbound<'_>,
    public_key_b64: &str,
    signature_header: &str,
    timestamp_name: &str,
    variable: &str,
) -> Result<Timestamp, AdapterError> {
    use p256::ecdsa::signature::Verifier;
    use p256::ecdsa::{Signature, VerifyingKey};
    use p256::pkcs8::DecodePublicKey;

    let sig_b64 = header(inbound, signature_header)?;
    let ts_raw = header(inbound, timestamp_name)?;
    let der = B64
        .decode(public_key_b64.trim())
        .map_err(|_| unauthorized(format!("{variable} is not a base64 public key")))?;
    let key = VerifyingKey::from_public_key_der(&der)
        .map_err(|_| unauthorized(format!("{variable} is not a P-256 public key")))?;
    let sig_der = B64
        .decode(sig_b64)
        .map_err(|_| unauthorized("signature is not base64"))?;
    let signature =
        Signature::from_der(&sig_der).map_err(|_| unauthorized("signature is not DER ECDSA"))?;
    let mut signed = Vec::with_capacity(ts_raw.len() + inbound.body.len());
    signed.extend_from_slice(ts_raw.as_bytes());
    signed.extend_from_slice(inbound.body);
    key.verify(&signed, &signature)
        .map_err(|_| unauthorized("signature does not match"))?;
    let ts = timestamp_header(ts_raw, timestamp_name)?;
    check_fresh(ts, inbound.now)?;
    Ok(ts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_time_compare_refuses_empty_and_different_lengths() {
        assert!(same(b"abc", b"abc"));
        assert!(!same(b"", b""));
        assert!(!same(b"abc", b"abcd"));
        assert!(!same(b"abc", b"abd"));
    }

    #[test]
    fn timestamp_headers_accept_seconds_and_millis() {
        assert_eq!(
            timestamp_header("1600112502", "t").unwrap(),
            Timestamp::from_unix_seconds(1_600_112_502)
        );
        assert_eq!(
            timestamp_header("1600112502123", "t").unwrap(),
            Timestamp::from_millis(1_600_112_502_123)
        );
        assert!(timestamp_header("yesterday", "t").is_err());
    }
}
