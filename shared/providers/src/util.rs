//! Small helpers of the verifier and the mapping, shared by the parsers: content types, JSON
//! access, the 5-minute window, text normalization. (What only parsers use is in `parse.rs`.)

use crate::{AdapterError, Inbound, Secrets};
use leadscore_scoring::Timestamp;
use serde_json::Value;

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
}
