//! The SNS scheme (`Scheme::Sns`, the `ses` source): SNS signs each message with RSA
//! (SignatureVersion 1 = SHA1withRSA, 2 = SHA256withRSA) under a certificate served from an
//! SNS host. Anyone can create an SNS topic and subscribe our URL, so a valid signature is
//! not enough: the topic must be one of those listed in `LEADSCORE_SECRET_SES`. The SES
//! events inside are parsed by `email/ses.rs`.
//!
//! No 5-minute window here: SNS's scheme has none, and its retries keep the original
//! `Timestamp` (for up to an hour by default), so a window would drop real deliveries. A
//! replayed message carries the same `MessageId`, hence the same event id, and is dropped by
//! the store.

use crate::auth::unauthorized;
use crate::{AdapterError, Context};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use rsa::pkcs1v15::{Signature, VerifyingKey};
use rsa::pkcs8::DecodePublicKey;
use rsa::signature::Verifier;
use rsa::RsaPublicKey;
use serde_json::Value;
use x509_cert::der::{DecodePem, Encode};
use x509_cert::Certificate;

/// `sns.<region>.amazonaws.com` (or `.com.cn`).
fn is_sns_host(host: &str) -> bool {
    let Some(rest) = host.strip_prefix("sns.") else {
        return false;
    };
    let region = rest
        .strip_suffix(".amazonaws.com")
        .or_else(|| rest.strip_suffix(".amazonaws.com.cn"));
    region.is_some_and(|r| {
        !r.is_empty()
            && r.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    })
}

/// An `https://sns.<region>.amazonaws.com/...` URL (with a `.pem` path for certificates).
pub(crate) fn is_sns_url(raw: &str, pem: bool) -> bool {
    let Ok(url) = url::Url::parse(raw) else {
        return false;
    };
    url.scheme() == "https"
        && url.port().is_none()
        && url.username().is_empty()
        && url.host_str().is_some_and(is_sns_host)
        && (!pem || url.path().ends_with(".pem"))
}

pub(crate) fn field<'a>(envelope: &'a Value, name: &str) -> Result<&'a str, AdapterError> {
    envelope
        .get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| AdapterError::Malformed(format!("SNS message without `{name}`")))
}

/// The bytes SNS signs: `name\nvalue\n` for a fixed list of fields, in order.
fn string_to_sign(envelope: &Value, kind: &str) -> Result<String, AdapterError> {
    let names: &[&str] = if kind == "Notification" {
        &[
            "Message",
            "MessageId",
            "Subject",
            "Timestamp",
            "TopicArn",
            "Type",
        ]
    } else {
        &[
            "Message",
            "MessageId",
            "SubscribeURL",
            "Timestamp",
            "Token",
            "TopicArn",
            "Type",
        ]
    };
    let mut out = String::new();
    for name in names {
        match envelope.get(*name).and_then(Value::as_str) {
            Some(v) => {
                out.push_str(name);
                out.push('\n');
                out.push_str(v);
                out.push('\n');
            }
            // Subject is optional in notifications; everything else is signed.
            None if *name == "Subject" => {}
            None => {
                return Err(AdapterError::Malformed(format!(
                    "SNS message without `{name}`"
                )))
            }
        }
    }
    Ok(out)
}

/// Checks an SNS envelope: its topic is one of `topics` (comma-separated), checked before the
/// signature so that no certificate is fetched for someone else's topic; then its signature,
/// under a certificate from an SNS host (`NeedCertificate` when the context lacks it).
pub(crate) fn verify(
    envelope: &Value,
    topics: &str,
    ctx: &Context<'_>,
) -> Result<(), AdapterError> {
    if !envelope.is_object() {
        return Err(AdapterError::Malformed(
            "expected an SNS JSON object".into(),
        ));
    }
    let kind = field(envelope, "Type")?;
    let topic = field(envelope, "TopicArn")?;
    if !topics.split(',').any(|t| t.trim() == topic) {
        return Err(unauthorized(format!(
            "topic {topic} is not listed in LEADSCORE_SECRET_SES"
        )));
    }
    let cert_url = field(envelope, "SigningCertURL")?;
    if !is_sns_url(cert_url, true) {
        return Err(unauthorized(format!(
            "SigningCertURL {cert_url} is not an https://sns.<region>.amazonaws.com/ certificate"
        )));
    }
    let Some(pem) = ctx.sns_certificates.get(cert_url) else {
        return Err(AdapterError::NeedCertificate(cert_url.to_string()));
    };
    let cert = Certificate::from_pem(pem).map_err(|_| {
        unauthorized(format!(
            "the certificate at {cert_url} is not a PEM X.509 certificate"
        ))
    })?;
    let spki = cert
        .tbs_certificate
        .subject_public_key_info
        .to_der()
        .map_err(|_| unauthorized("unreadable certificate public key"))?;
    let key = RsaPublicKey::from_public_key_der(&spki)
        .map_err(|_| unauthorized("the SNS certificate's key is not RSA"))?;
    let signature = B64
        .decode(field(envelope, "Signature").map_err(|_| unauthorized("no Signature"))?)
        .map_err(|_| unauthorized("Signature is not base64"))?;
    let signature = Signature::try_from(signature.as_slice())
        .map_err(|_| unauthorized("Signature is not RSA"))?;
    let signed = string_to_sign(envelope, kind)?;
    let ok = match envelope.get("SignatureVersion").and_then(Value::as_str) {
        Some("1") => VerifyingKey::<sha1::Sha1>::new(key).verify(signed.as_bytes(), &signature),
        Some("2") => VerifyingKey::<sha2::Sha256>::new(key).verify(signed.as_bytes(), &signature),
        other => {
            return Err(unauthorized(format!(
                "unsupported SignatureVersion {}",
                other.unwrap_or("(none)")
            )))
        }
    };
    ok.map_err(|_| unauthorized("SNS signature does not match"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_sns_hosts_over_https_are_trusted() {
        assert!(is_sns_url(
            "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-abc.pem",
            true
        ));
        assert!(is_sns_url(
            "https://sns.cn-north-1.amazonaws.com.cn/x.pem",
            true
        ));
        assert!(is_sns_url(
            "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&Token=x",
            false
        ));
        for bad in [
            "http://sns.eu-west-1.amazonaws.com/x.pem",
            "https://sns.eu-west-1.amazonaws.com.evil.com/x.pem",
            "https://evil.com/sns.eu-west-1.amazonaws.com/x.pem",
            "https://sns.eu-west-1.amazonaws.com:8443/x.pem",
            "https://user@sns.eu-west-1.amazonaws.com/x.pem",
            "https://sns..amazonaws.com/x.pem",
            "https://sns.eu-west-1.amazonaws.com/x.txt",
        ] {
            assert!(!is_sns_url(bad, true), "{bad}");
        }
    }
}
