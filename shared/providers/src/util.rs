//! Small helpers shared by the adapters: content types, JSON access, times, ids, text.

use crate::{AdapterError, Inbound, Secrets};
use leadscore_scoring::{EventId, Timestamp};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// The request's media type (before any `;` parameter), lower-cased.
pub(crate) fn media_type(inbound: &Inbound<'_>) -> Option<String> {
    inbound.header("content-type").map(|ct| {
        ct.split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase()
    })
}

/// Refuses a request whose Content-Type is not one of `accepted`.
pub(crate) fn require_media_type(
    inbound: &Inbound<'_>,
    accepted: &[&str],
) -> Result<String, AdapterError> {
    match media_type(inbound) {
        Some(mt) if accepted.contains(&mt.as_str()) => Ok(mt),
        Some(mt) => Err(AdapterError::UnsupportedMediaType(format!(
            "`{mt}`; expected {}",
            accepted.join(" or ")
        ))),
        None => Err(AdapterError::UnsupportedMediaType(format!(
            "no Content-Type; expected {}",
            accepted.join(" or ")
        ))),
    }
}

pub(crate) const JSON: &[&str] = &["application/json"];
pub(crate) const FORM: &[&str] = &["application/x-www-form-urlencoded"];

/// Providers only POST, except the URL checks answered by their adapters.
pub(crate) fn require_post(inbound: &Inbound<'_>) -> Result<(), AdapterError> {
    if inbound.method.eq_ignore_ascii_case("POST") {
        Ok(())
    } else {
        Err(AdapterError::Malformed(format!(
            "{} carries no webhook: providers POST their events",
            inbound.method
        )))
    }
}

/// The configured secret of `source`, or the error naming the variable to set.
pub(crate) fn secret<'a>(secrets: &'a Secrets, source: &str) -> Result<&'a str, AdapterError> {
    secrets
        .get(source)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| AdapterError::NotConfigured {
            name: source.to_string(),
            variable: Secrets::variable(source),
        })
}

pub(crate) fn parse_json(body: &[u8]) -> Result<Value, AdapterError> {
    serde_json::from_slice(body).map_err(|e| AdapterError::Malformed(format!("not JSON: {e}")))
}

pub(crate) fn body_str(body: &[u8]) -> Result<&str, AdapterError> {
    std::str::from_utf8(body).map_err(|_| AdapterError::Malformed("body is not UTF-8".into()))
}

/// `application/x-www-form-urlencoded` pairs, in order (keys may repeat).
pub(crate) fn form_pairs(body: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// The value of a query parameter of the called URL.
pub(crate) fn query_param(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    let query = query.split('#').next().unwrap_or_default();
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// Follows `path` through nested objects.
pub(crate) fn at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(v, |v, k| v.get(*k))
}

/// A non-empty string at `path` (numbers are accepted and written in decimal).
pub(crate) fn text_at(v: &Value, path: &[&str]) -> Option<String> {
    match at(v, path)? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Unix seconds as an integer, a float or a numeric string.
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

pub(crate) fn rfc3339(v: &Value) -> Option<Timestamp> {
    v.as_str().and_then(|s| Timestamp::parse_rfc3339(s).ok())
}

/// `YYYY-MM-DD HH:MM:SS`, taken as UTC (Mailchimp's `fired_at`, Brevo's `date`).
pub(crate) fn plain_datetime(s: &str) -> Option<Timestamp> {
    let s = s.trim();
    let iso = format!("{}Z", s.replacen(' ', "T", 1));
    Timestamp::parse_rfc3339(&iso).ok()
}

/// The window every timestamped scheme allows around the time of the request.
pub(crate) const TOLERANCE_MS: i64 = 5 * 60 * 1000;

/// Refuses a signed timestamp more than 5 minutes away from `now`.
pub(crate) fn check_fresh(signed: Timestamp, now: Timestamp) -> Result<(), AdapterError> {
    let skew = signed
        .millis()
        .saturating_sub(now.millis())
        .saturating_abs();
    if skew > TOLERANCE_MS {
        Err(AdapterError::Stale(format!(
            "signed at {signed}, received at {now}"
        )))
    } else {
        Ok(())
    }
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

/// Lower-case, accents folded, camelCase split, every run of non-alphanumerics turned into
/// one space: "Company size (employees)" and "companySize" read "company size employees" and
/// "company size".
pub(crate) fn normalize(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut space = true;
    let mut prev_lower = false;
    for raw in s.chars() {
        if raw.is_uppercase() && prev_lower && !space {
            out.push(' ');
        }
        prev_lower = raw.is_lowercase() || raw.is_ascii_digit();
        let Some(c) = raw.to_lowercase().next() else {
            continue;
        };
        let c = fold_accent(c);
        if c.is_alphanumeric() {
            out.push(c);
            space = false;
        } else if !space {
            out.push(' ');
            space = true;
        }
    }
    if out.ends_with(' ') {
        out.pop();
    }
    out
}

fn fold_accent(c: char) -> char {
    match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' => 'a',
        'ç' => 'c',
        'è' | 'é' | 'ê' | 'ë' => 'e',
        'ì' | 'í' | 'î' | 'ï' => 'i',
        'ñ' => 'n',
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' => 'o',
        'ù' | 'ú' | 'û' | 'ü' => 'u',
        'ý' | 'ÿ' => 'y',
        '’' | '\'' => ' ',
        other => other,
    }
}

/// Whether the words of `phrase` appear, in order and contiguous, among `words`.
pub(crate) fn contains_phrase(words: &[&str], phrase: &[String]) -> bool {
    !phrase.is_empty()
        && words.len() >= phrase.len()
        && words
            .windows(phrase.len())
            .any(|w| w.iter().zip(phrase).all(|(a, b)| *a == b))
}

/// Text of an HTML fragment (chat messages): tags dropped, common entities decoded.
pub(crate) fn strip_html(s: &str) -> String {
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
pub(crate) fn email_in_text(text: &str) -> Option<leadscore_scoring::Email> {
    text.split(|c: char| c.is_whitespace() || matches!(c, ',' | ';' | '<' | '>' | '(' | ')'))
        .filter(|w| w.contains('@'))
        .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric()))
        .find_map(|w| leadscore_scoring::Email::parse(w).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_folds_case_accents_and_punctuation() {
        assert_eq!(normalize("  Démo -- Rendez-vous!"), "demo rendez vous");
        assert_eq!(
            normalize("Company size (employees)"),
            "company size employees"
        );
        assert_eq!(normalize("l'équipe"), "l equipe");
        assert_eq!(normalize("companySize"), "company size");
        assert_eq!(normalize("ÉCHANTILLON"), "echantillon");
    }

    #[test]
    fn phrases_match_whole_words_in_order() {
        let t = normalize("Can I talk to sales?");
        let words: Vec<&str> = t.split(' ').collect();
        let phrase = |s: &str| {
            normalize(s)
                .split(' ')
                .map(String::from)
                .collect::<Vec<_>>()
        };
        assert!(contains_phrase(&words, &phrase("talk to sales")));
        assert!(!contains_phrase(&words, &phrase("sales talk")));
        assert!(!contains_phrase(&words, &phrase("sale")));
    }

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
    fn html_is_stripped_and_emails_found() {
        assert_eq!(strip_html("<p>Hi &amp; <b>bye</b></p>"), "Hi & bye");
        let e = email_in_text("reach me at <Bob@Example.com>, thanks").unwrap();
        assert_eq!(e.as_str(), "bob@example.com");
        assert!(email_in_text("no address here @ all").is_none());
    }

    #[test]
    fn times_parse_and_reject_nonsense() {
        assert_eq!(
            unix_seconds(&serde_json::json!(1534109600.089676))
                .unwrap()
                .millis(),
            1_534_109_600_090
        );
        assert!(unix_seconds(&serde_json::json!("soon")).is_none());
        assert!(unix_millis(&serde_json::json!(-5)).is_none());
        assert_eq!(
            plain_datetime("2009-03-26 21:40:57").unwrap(),
            Timestamp::parse_rfc3339("2009-03-26T21:40:57Z").unwrap()
        );
    }
}
