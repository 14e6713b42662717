//! What a form says: its fields become the identity, the profile, BANT answers and signals.
//! Every form source (html, typeform, webflow, tally, hubspot, jotform) builds a
//! [`Submission`] and hands it here, so they all read fields the same way.

use crate::mapping::{FieldRole, Mapping};
use crate::util::{event_id, normalize};
use crate::{AdapterError, Received};
use leadscore_scoring::{
    AnonymousId, Attributes, BantSource, BantUpdate, Email, Event, Identity, Profile, Signal,
    Timestamp,
};
use serde_json::Value;
use std::collections::BTreeSet;

/// One answered field.
#[derive(Debug, Clone)]
pub(crate) struct Field {
    /// Its names and labels, most specific first (Typeform's ref then title, Tally's label...).
    pub names: Vec<String>,
    /// A string, number, boolean, or an array of strings (several choices).
    pub value: Value,
    /// Picked among options: the words of the answer may raise a signal ("Book a demo").
    pub choice: bool,
    /// The form tool says it is an email field.
    pub email_typed: bool,
}

impl Field {
    pub(crate) fn new(name: impl Into<String>, value: Value) -> Self {
        Field {
            names: vec![name.into()],
            value,
            choice: false,
            email_typed: false,
        }
    }
}

/// Flattens nested objects into named fields (`company.name` -> "company name").
pub(crate) fn flatten_fields(prefix: &str, v: &Value, out: &mut Vec<Field>) {
    match v {
        Value::Object(map) => {
            for (k, v) in map {
                let name = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix} {k}")
                };
                flatten_fields(&name, v, out);
            }
        }
        Value::Null => {}
        other => out.push(Field::new(prefix, other.clone())),
    }
}

/// A form submission as every form adapter sees it.
#[derive(Debug, Clone)]
pub(crate) struct Submission {
    pub source: &'static str,
    pub provider_id: String,
    pub occurred_at: Timestamp,
    pub form: Option<String>,
    pub fields: Vec<Field>,
    pub email: Option<Email>,
    pub anonymous_id: Option<AnonymousId>,
}

const MAX_CUSTOM_FIELDS: usize = 50;
const MAX_TEXT: usize = 500;

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

fn truncate(s: &str, max: usize) -> String {
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
        crate::util::contains_phrase(&words, &phrase)
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

/// What a set of fields says about the person.
#[derive(Debug, Clone, Default)]
pub(crate) struct Reading {
    pub email: Option<Email>,
    pub anonymous_id: Option<AnonymousId>,
    pub profile: Profile,
    pub bant: BantUpdate,
    /// Campaign, URL and asset; the caller sets source and form.
    pub attributes: Attributes,
    pub signals: BTreeSet<Signal>,
}

/// Reads identity, profile, BANT answers, attributes and ticked signals from fields.
pub(crate) fn read_fields(fields: &[Field], mapping: &Mapping) -> Reading {
    let mut r = Reading::default();
    for field in fields {
        let Some(text) = value_text(&field.value) else {
            continue;
        };
        let role = field.names.iter().find_map(|n| mapping.field_role(n));
        if field.email_typed || role == Some(FieldRole::Email) {
            if let Ok(e) = Email::parse(&text) {
                r.email.get_or_insert(e);
                continue;
            }
        }
        if let Some(role) = role {
            if read_role(role, &field.value, &text, &mut r) {
                if role == FieldRole::Asset {
                    r.signals.insert(Signal::ContentDownloaded);
                }
                continue;
            }
        }
        let named: BTreeSet<Signal> = field
            .names
            .iter()
            .flat_map(|n| Mapping::phrase_signals(&mapping.form_signals, &normalize(n)))
            .collect();
        if !named.is_empty() {
            match yes(&field.value) {
                Some(false) => {}
                Some(true) => r.signals.extend(named),
                None => {
                    // A free answer to a "download" field names the asset; to any other signal
                    // field it is still an answer, not a refusal.
                    if named.contains(&Signal::ContentDownloaded) {
                        r.attributes
                            .asset
                            .get_or_insert_with(|| truncate(&text, MAX_TEXT));
                    }
                    r.signals.extend(named);
                }
            }
            continue;
        }
        if field.choice {
            r.signals.extend(Mapping::phrase_signals(
                &mapping.form_signals,
                &normalize(&text),
            ));
        }
        if r.email.is_none() && text.contains('@') {
            // Form tools let owners name the email field anything: recognise it by its value.
            if let Ok(e) = Email::parse(&text) {
                r.email = Some(e);
                continue;
            }
        }
        if r.profile.custom.len() < MAX_CUSTOM_FIELDS {
            if let Some(name) = field.names.first() {
                let key = truncate(&normalize(name).replace(' ', "_"), 64);
                if !key.is_empty() {
                    r.profile.custom.insert(key, truncate(&text, MAX_TEXT));
                }
            }
        }
    }
    r
}

/// Turns a submission into `form_submitted` plus the signals it raises. A submission that
/// identifies nobody (no usable email or anonymous id) is counted as ignored.
pub(crate) fn form_events(sub: Submission, mapping: &Mapping) -> Result<Received, AdapterError> {
    let mut r = read_fields(&sub.fields, mapping);
    if let Some(form) = &sub.form {
        r.signals.extend(Mapping::phrase_signals(
            &mapping.form_signals,
            &normalize(form),
        ));
    }
    let email = sub.email.clone().or(r.email);
    let anonymous_id = sub.anonymous_id.clone().or(r.anonymous_id);
    let Some(identity) = Identity::new(email, anonymous_id) else {
        return Ok(Received {
            ignored: 1,
            ..Received::default()
        });
    };
    let attributes = Attributes {
        source: Some(sub.source.to_string()),
        form: sub.form.clone(),
        ..r.attributes
    };
    r.signals.remove(&Signal::FormSubmitted);
    let mut events = vec![Event {
        profile: r.profile,
        attributes: attributes.clone(),
        bant: BantUpdate {
            source: BantSource::Form,
            ..r.bant
        },
        ..Event::new(
            event_id(sub.source, &sub.provider_id, None)?,
            Signal::FormSubmitted,
            sub.occurred_at,
            identity.clone(),
        )
    }];
    for signal in r.signals {
        events.push(Event {
            attributes: attributes.clone(),
            ..Event::new(
                event_id(sub.source, &sub.provider_id, Some(signal.as_str()))?,
                signal,
                sub.occurred_at,
                identity.clone(),
            )
        });
    }
    Ok(Received {
        events,
        ..Received::default()
    })
}

/// Fills what a recognised field says; `false` when the answer does not fit the role (then
/// the field is read as a signal or kept as a custom field).
fn read_role(role: FieldRole, value: &Value, text: &str, r: &mut Reading) -> bool {
    let Reading {
        profile,
        bant,
        attributes,
        anonymous_id,
        ..
    } = r;
    let t = || Some(truncate(text, MAX_TEXT));
    match role {
        FieldRole::Email => return false,
        FieldRole::AnonymousId => match AnonymousId::parse(text) {
            Ok(a) => *anonymous_id = Some(a),
            Err(_) => return false,
        },
        FieldRole::FirstName => profile.first_name = t(),
        FieldRole::LastName => profile.last_name = t(),
        FieldRole::JobTitle => profile.job_title = t(),
        FieldRole::JobFunction => profile.job_function = t(),
        FieldRole::Seniority => profile.seniority = t(),
        FieldRole::Industry => profile.industry = t(),
        FieldRole::Company => profile.company = t(),
        FieldRole::Phone => profile.phone = t(),
        FieldRole::CompanySize => {
            match value
                .as_u64()
                .or_else(|| first_amount(text))
                .and_then(|n| u32::try_from(n).ok())
            {
                Some(n) => profile.company_size = Some(n),
                None => return false,
            }
        }
        FieldRole::Country => match country_code(text) {
            Some(c) => profile.country = Some(c),
            None => return false,
        },
        FieldRole::Budget => match value.as_u64().or_else(|| first_amount(text)) {
            Some(n) => bant.budget = Some(n),
            None => return false,
        },
        FieldRole::Timeline => match timeline_months(text) {
            Some(m) => bant.timeline_months = Some(m),
            None => return false,
        },
        FieldRole::Authority => match yes(value) {
            // "Are you the decision maker? Yes"
            Some(true) => bant.authority = Some("decision_maker".into()),
            Some(false) => {}
            None => bant.authority = t(),
        },
        FieldRole::Need => bant.need = t(),
        FieldRole::Campaign => attributes.campaign = t(),
        FieldRole::Url => attributes.url = t(),
        FieldRole::Asset => attributes.asset = t(),
    }
    true
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
