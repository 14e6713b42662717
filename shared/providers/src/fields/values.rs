//! Reading one answer: its text, a tick or a refusal, an amount, a timeline in months, a
//! country code. People write these every which way; each reader says what it accepts.

use crate::util::normalize;
use serde_json::Value;

/// The text of an answer; `None` for an empty one.
pub(crate) fn value_text(v: &Value) -> Option<String> {
    let text = match v {
        Value::String(s) => s.trim().to_string(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Array(items) => items
            .iter()
            .filter_map(value_text)
            .collect::<Vec<_>>()
            .join(", "),
        Value::Object(map) => map
            .values()
            .filter_map(value_text)
            .collect::<Vec<_>>()
            .join(" "),
        Value::Null => String::new(),
    };
    (!text.is_empty()).then_some(text)
}

pub(crate) fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

const YES: &[&str] = &[
    "true", "yes", "y", "on", "1", "oui", "checked", "agree", "accept", "accepted", "ok", "si",
    "ja",
];
const NO: &[&str] = &[
    "false",
    "no",
    "n",
    "off",
    "0",
    "non",
    "not",
    "don",
    "unchecked",
    "pas",
    "nein",
];

/// Whether an answer ticks a box: `Some(true)` yes, `Some(false)` no, `None` neither.
pub(crate) fn yes(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => n.as_f64().map(|f| f != 0.0),
        Value::String(s) => {
            let n = normalize(s);
            let words: Vec<&str> = n.split(' ').collect();
            if words.iter().any(|w| NO.contains(w)) {
                Some(false)
            } else if words.iter().any(|w| YES.contains(w)) {
                Some(true)
            } else {
                None
            }
        }
        Value::Array(items) if items.is_empty() => Some(false),
        Value::Array(items) => items.iter().map(yes).find(|y| y.is_some()).flatten(),
        _ => None,
    }
}

/// The first amount in a text, in whole units: "25 000 €", "€25k", "10k-50k" (the lower
/// bound), "1.5M", "25,000".
pub(crate) fn first_amount(text: &str) -> Option<u64> {
    let start = text.find(|c: char| c.is_ascii_digit())?;
    let rest = &text[start..];
    let end = rest
        .find(|c: char| {
            !(c.is_ascii_digit() || matches!(c, '.' | ',' | ' ' | '\u{a0}' | '\u{202f}' | '\''))
        })
        .unwrap_or(rest.len());
    let raw: String = rest[..end]
        .trim_end_matches([' ', '.', ','])
        .chars()
        .filter(|c| c.is_ascii_digit() || matches!(c, '.' | ','))
        .collect();
    let suffix = rest[end..].trim_start().to_lowercase();
    let multiplier = if suffix.starts_with("million") || suffix.starts_with('m') {
        1_000_000.0
    } else if suffix.starts_with('k') || suffix.starts_with("mille") {
        1_000.0
    } else {
        1.0
    };
    let number = decimal(&raw, multiplier > 1.0)?;
    let amount = (number * multiplier).round();
    (amount.is_finite() && amount >= 0.0 && amount < u64::MAX as f64).then_some(amount as u64)
}

/// Reads "25,000", "25.000", "1.5", "1,5": a group of exactly three digits after a lone
/// separator is thousands, unless a k/M suffix follows.
fn decimal(raw: &str, has_suffix: bool) -> Option<f64> {
    let seps = raw.matches(['.', ',']).count();
    let mixed = raw.contains('.') && raw.contains(',');
    let cleaned = match raw.rfind(['.', ',']) {
        None => raw.to_string(),
        Some(i) => {
            let (int, frac) = (&raw[..i], &raw[i + 1..]);
            if !mixed && (seps > 1 || (frac.len() == 3 && !has_suffix)) {
                raw.replace(['.', ','], "")
            } else {
                format!("{}.{}", int.replace(['.', ','], ""), frac)
            }
        }
    };
    cleaned.parse().ok()
}

/// Months until a purchase, from an answer such as "1-3 months", "6 mois", "next quarter",
/// "ASAP", "2 years". `None` when the answer gives no horizon.
pub(crate) fn timeline_months(text: &str) -> Option<u32> {
    let n = normalize(text);
    let words: Vec<&str> = n.split(' ').collect();
    let has = |p: &str| {
        let phrase: Vec<String> = p.split(' ').map(String::from).collect();
        crate::fields::contains_phrase(&words, &phrase)
    };
    for (phrase, months) in [
        ("asap", 0),
        ("immediately", 0),
        ("right now", 0),
        ("urgent", 0),
        ("immediatement", 0),
        ("des que possible", 0),
        ("this month", 1),
        ("ce mois", 1),
        ("next month", 2),
        ("mois prochain", 2),
        ("this quarter", 3),
        ("ce trimestre", 3),
        ("next quarter", 6),
        ("trimestre prochain", 6),
        ("this year", 12),
        ("cette annee", 12),
        ("next year", 24),
        ("annee prochaine", 24),
    ] {
        if has(phrase) {
            return Some(months);
        }
    }
    // The last number: "1-3 months" and "3 to 6 months" mean within 3 and 6.
    let idx = words.iter().rposition(|w| w.parse::<u32>().is_ok())?;
    let value: u32 = words[idx].parse().ok()?;
    let unit_words = &words[idx + 1..];
    let unit = |list: &[&str]| unit_words.iter().take(2).any(|w| list.contains(w));
    let months = if unit(&["year", "years", "yr", "yrs", "an", "ans", "annee", "annees"]) {
        value.saturating_mul(12)
    } else if unit(&["quarter", "quarters", "trimestre", "trimestres"]) {
        value.saturating_mul(3)
    } else if unit(&["week", "weeks", "semaine", "semaines"]) {
        value.div_ceil(4)
    } else if unit(&["day", "days", "jour", "jours"]) {
        value.div_ceil(30)
    } else {
        value
    };
    Some(months)
}

/// ISO 3166-1 alpha-2 (upper case) from a code or a common English or French country name.
pub(crate) fn country_code(text: &str) -> Option<String> {
    let t = text.trim();
    if t.len() == 2 && t.chars().all(|c| c.is_ascii_alphabetic()) {
        return Some(t.to_ascii_uppercase());
    }
    let code = match normalize(t).as_str() {
        "united states" | "united states of america" | "usa" | "etats unis" => "US",
        "canada" => "CA",
        "united kingdom" | "great britain" | "england" | "scotland" | "wales" | "royaume uni" => {
            "GB"
        }
        "ireland" | "irlande" => "IE",
        "france" => "FR",
        "germany" | "allemagne" | "deutschland" => "DE",
        "belgium" | "belgique" => "BE",
        "netherlands" | "the netherlands" | "holland" | "pays bas" => "NL",
        "switzerland" | "suisse" => "CH",
        "spain" | "espagne" => "ES",
        "italy" | "italie" => "IT",
        "portugal" => "PT",
        "sweden" | "suede" => "SE",
        "denmark" | "danemark" => "DK",
        "norway" | "norvege" => "NO",
        "finland" | "finlande" => "FI",
        "austria" | "autriche" => "AT",
        "poland" | "pologne" => "PL",
        "luxembourg" => "LU",
        "australia" | "australie" => "AU",
        "new zealand" | "nouvelle zelande" => "NZ",
        "india" | "inde" => "IN",
        "japan" | "japon" => "JP",
        "china" | "chine" => "CN",
        "brazil" | "bresil" => "BR",
        "mexico" | "mexique" => "MX",
        "morocco" | "maroc" => "MA",
        "tunisia" | "tunisie" => "TN",
        "algeria" | "algerie" => "DZ",
        "senegal" => "SN",
        "singapore" | "singapour" => "SG",
        "israel" => "IL",
        "south africa" | "afrique du sud" => "ZA",
        _ => return None,
    };
    Some(code.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn amounts_read_like_people_write_them() {
        for (text, want) in [
            ("25000", Some(25_000)),
            ("25 000 €", Some(25_000)),
            ("€25k", Some(25_000)),
            ("10k-50k", Some(10_000)),
            ("1.5M", Some(1_500_000)),
            ("25,000", Some(25_000)),
            ("25.000", Some(25_000)),
            ("1,5 million", Some(1_500_000)),
            ("$ 12,500.50", Some(12_501)),
            ("no idea", None),
        ] {
            assert_eq!(first_amount(text), want, "{text:?}");
        }
    }

    #[test]
    fn timelines_become_months() {
        for (text, want) in [
            ("1-3 months", Some(3)),
            ("6 mois", Some(6)),
            ("within 2 years", Some(24)),
            ("next quarter", Some(6)),
            ("ASAP", Some(0)),
            ("3 weeks", Some(1)),
            ("Dès que possible", Some(0)),
            ("just looking", None),
        ] {
            assert_eq!(timeline_months(text), want, "{text:?}");
        }
    }

    #[test]
    fn ticks_and_refusals() {
        assert_eq!(yes(&json!(true)), Some(true));
        assert_eq!(yes(&json!("on")), Some(true));
        assert_eq!(yes(&json!("Oui, je veux")), Some(true));
        assert_eq!(yes(&json!("No thanks")), Some(false));
        assert_eq!(yes(&json!("I don't want it")), Some(false));
        assert_eq!(yes(&json!("Tuesday")), None);
        assert_eq!(yes(&json!([])), Some(false));
    }

    #[test]
    fn countries_resolve_codes_and_names() {
        assert_eq!(country_code("fr").as_deref(), Some("FR"));
        assert_eq!(country_code("Allemagne").as_deref(), Some("DE"));
        assert_eq!(country_code("United States").as_deref(), Some("US"));
        assert_eq!(country_code("Atlantis"), None);
    }
}
