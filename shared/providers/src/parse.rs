//! Helpers of the parsers (the verifier needs none of them): times, text and event ids read
//! from payloads. Built with any channel.

use crate::AdapterError;
use leadscore_scoring::{EventId, Timestamp};
use serde_json::Value;
use sha2::{Digest, Sha256};

#[cfg(any(feature = "forms", feature = "email"))]
pub(crate) fn body_str(body: &[u8]) -> Result<&str, AdapterError> {
    std::str::from_utf8(body).map_err(|_| AdapterError::Malformed("body is not UTF-8".into()))
}

/// Unix seconds as an integer, a float or a numeric string.
#[cfg(any(feature = "chatbot", feature = "email"))]
pub(crate) fn unix_seconds(v: &Value) -> Option<Timestamp> {
    let secs = match v {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => s.trim().parse::<f64>().ok()?,
        _ => return None,
    };
    finite_millis(secs * 1000.0)
}

/// Unix milliseconds as an integer, a float or a numeric string.
pub(crate) fn unix_millis(v: &Value) -> Option<Timestamp> {
    let ms = match v {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => s.trim().parse::<f64>().ok()?,
        _ => return None,
    };
    finite_millis(ms)
}

fn finite_millis(ms: f64) -> Option<Timestamp> {
    // Dates between 1970 and 9999: anything else is not a real event time.
    (ms.is_finite() && (0.0..253_402_300_800_000.0).contains(&ms))
        .then(|| Timestamp::from_millis(ms.round() as i64))
}

#[cfg(any(feature = "forms", feature = "email"))]
pub(crate) fn rfc3339(v: &Value) -> Option<Timestamp> {
    v.as_str().and_then(|s| Timestamp::parse_rfc3339(s).ok())
}

/// A short, stable hex digest of some parts (for providers without a unique event id).
pub(crate) fn digest(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0x1f]);
    }
    hex::encode(&h.finalize()[..16])
}

/// `<source>:<provider id>[:<suffix>]`; long, blank or odd provider ids are hashed so the id
/// stays valid and deterministic.
pub(crate) fn event_id(
    source: &str,
    provider_id: &str,
    suffix: Option<&str>,
) -> Result<EventId, AdapterError> {
    let id = provider_id.trim();
    let clean = !id.is_empty() && id.len() <= 200 && !id.chars().any(char::is_control);
    let base = if clean {
        format!("{source}:{id}")
    } else {
        format!("{source}:h{}", digest(&[provider_id]))
    };
    let full = match suffix {
        Some(s) => format!("{base}:{s}"),
        None => base,
    };
    EventId::parse(&full).map_err(|e| AdapterError::Malformed(format!("event id `{full}`: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_prefixed_and_long_ids_hashed() {
        let id = |s: &str, p: &str, x: Option<&str>| event_id(s, p, x).unwrap();
        assert_eq!(id("sendgrid", "abc", None).as_str(), "sendgrid:abc");
        assert_eq!(
            id("typeform", "x", Some("demo_requested")).as_str(),
            "typeform:x:demo_requested"
        );
        let long = "a".repeat(300);
        let hashed = id("mailgun", &long, None);
        assert!(hashed.as_str().starts_with("mailgun:h") && hashed.as_str().len() < 60);
        assert_eq!(hashed, id("mailgun", &long, None));
        assert!(id("x", "  ", None).as_str().starts_with("x:h"));
    }

    #[test]
    #[cfg(any(feature = "chatbot", feature = "email"))]
    fn times_parse_and_reject_nonsense() {
        assert_eq!(
            unix_seconds(&serde_json::json!(1534109600.089676))
                .unwrap()
                .millis(),
            1_534_109_600_090
        );
        assert!(unix_seconds(&serde_json::json!("soon")).is_none());
        assert!(unix_millis(&serde_json::json!(-5)).is_none());
    }
}
