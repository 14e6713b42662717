//! What a form says: its fields become the identity, the profile, BANT answers and signals.
//! Every form source (html, typeform, webflow, tally, hubspot, jotform) builds a
//! [`Submission`] and hands it here, so they all read fields the same way.

mod values;

pub(crate) use values::{country_code, value_text};

use crate::mapping::{FieldRole, Mapping};
use crate::util::{event_id, normalize};
use crate::{AdapterError, Received};
use leadscore_scoring::{
    AnonymousId, Attributes, BantSource, BantUpdate, Email, Event, Identity, Profile, Signal,
    Timestamp,
};
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
