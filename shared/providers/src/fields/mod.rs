//! What named fields say: form answers, chat attributes and merge fields become the identity,
//! the profile, BANT answers and signals, read the same way for every source against the
//! mapping's names and phrases (`Mapping::field_role`, `Mapping::phrase_signals`, here with
//! their only users). Built with any channel.

mod values;

pub(crate) use values::{country_code, value_text};

use crate::mapping::{FieldRole, Mapping, Phrase};
use crate::util::normalize;
use leadscore_scoring::{AnonymousId, Attributes, BantUpdate, Email, Profile, Signal};
use serde_json::Value;
use std::collections::BTreeSet;
use values::{first_amount, timeline_months, truncate, yes};

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

/// Flattens nested objects into named fields (Segment traits, chat attributes) (`company.name` -> "company name").
#[cfg(any(feature = "forms", feature = "chatbot"))]
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

const MAX_CUSTOM_FIELDS: usize = 50;
const MAX_TEXT: usize = 500;

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

impl Mapping {
    /// The role of a form field, from its name or label: an exact name wins, then the longest
    /// listed phrase found among its words.
    pub(crate) fn field_role(&self, name: &str) -> Option<FieldRole> {
        let norm = normalize(name);
        let words: Vec<&str> = norm.split(' ').collect();
        let mut best: Option<(usize, FieldRole)> = None;
        for (role, list) in &self.fields {
            for p in list {
                let score = if p.join(" ") == norm {
                    1000 + p.len()
                } else if contains_phrase(&words, p) {
                    p.len()
                } else {
                    continue;
                };
                if best.is_none_or(|(s, _)| score > s) {
                    best = Some((score, *role));
                }
            }
        }
        best.map(|(_, r)| r)
    }

    /// Signals whose phrases occur in `text` (already normalized).
    pub(crate) fn phrase_signals(table: &[(Signal, Vec<Phrase>)], text: &str) -> Vec<Signal> {
        let words: Vec<&str> = text.split(' ').collect();
        table
            .iter()
            .filter(|(_, list)| list.iter().any(|p| contains_phrase(&words, p)))
            .map(|(s, _)| *s)
            .collect()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_roles_prefer_exact_then_longest_phrase() {
        let m = Mapping::default();
        assert_eq!(m.field_role("Email Address"), Some(FieldRole::Email));
        assert_eq!(m.field_role("company_size"), Some(FieldRole::CompanySize));
        assert_eq!(
            m.field_role("Company size (employees)"),
            Some(FieldRole::CompanySize)
        );
        assert_eq!(m.field_role("Company"), Some(FieldRole::Company));
        assert_eq!(m.field_role("favourite colour"), None);
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
}
