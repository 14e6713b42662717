//! The rules file's `[mapping]` section: which form fields, form names, chatbot phrases and
//! tracked event names mean which signal, and how email clicks are judged to be bots.
//!
//! The defaults are the `[mapping]` section of `infra/rules.toml` (compiled in through
//! `leadscore_scoring::DEFAULT_RULES_TOML`): one place to read them. A user's rules file
//! overrides them key by key; what it leaves out keeps its default.
//!
//! The lookups the parsers make are next to them, built with the channels that use them:
//! `field_role` and `phrase_signals` in `fields/`, `event_signal` in `forms/segment.rs`.

use crate::util::normalize;
use crate::AdapterError;
use leadscore_scoring::{OverShipped, Signal, SignalKind, DEFAULT_RULES_TOML};
use serde::Deserialize;
use std::collections::BTreeMap;

/// A phrase as normalized words (`"Talk to sales"` -> `["talk", "to", "sales"]`).
pub(crate) type Phrase = Vec<String>;

/// What a recognised form field fills in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum FieldRole {
    Email,
    AnonymousId,
    FirstName,
    LastName,
    JobTitle,
    JobFunction,
    Seniority,
    Industry,
    Company,
    CompanySize,
    Country,
    Phone,
    Budget,
    Authority,
    Need,
    Timeline,
    Campaign,
    Url,
    Asset,
}

impl FieldRole {
    const ALL: &'static [(FieldRole, &'static str)] = &[
        (FieldRole::Email, "email"),
        (FieldRole::AnonymousId, "anonymous_id"),
        (FieldRole::FirstName, "first_name"),
        (FieldRole::LastName, "last_name"),
        (FieldRole::JobTitle, "job_title"),
        (FieldRole::JobFunction, "job_function"),
        (FieldRole::Seniority, "seniority"),
        (FieldRole::Industry, "industry"),
        (FieldRole::Company, "company"),
        (FieldRole::CompanySize, "company_size"),
        (FieldRole::Country, "country"),
        (FieldRole::Phone, "phone"),
        (FieldRole::Budget, "budget"),
        (FieldRole::Authority, "authority"),
        (FieldRole::Need, "need"),
        (FieldRole::Timeline, "timeline"),
        (FieldRole::Campaign, "campaign"),
        (FieldRole::Url, "url"),
        (FieldRole::Asset, "asset"),
    ];

    fn from_key(key: &str) -> Option<FieldRole> {
        Self::ALL.iter().find(|(_, k)| *k == key).map(|(r, _)| *r)
    }
}

/// How email clicks and opens are judged to be a machine's (within one request).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BotRules {
    /// Lower-cased substrings of scanner user agents.
    pub scanner_user_agents: Vec<String>,
    /// Links hidden in emails that no person sees: any click on them (prefix match) is a bot.
    pub honeypot_urls: Vec<String>,
    /// A click or open this soon after the message was sent or delivered is a scanner.
    pub seconds_after_delivery: u32,
    /// Different links of one message clicked this close together in one delivery: a scanner.
    pub burst_seconds: u32,
}

/// The `[mapping]` section of the rules file, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct Mapping {
    pub(crate) fields: Vec<(FieldRole, Vec<Phrase>)>,
    pub(crate) form_signals: Vec<(Signal, Vec<Phrase>)>,
    pub(crate) chatbot: Vec<(Signal, Vec<Phrase>)>,
    /// Normalized tracked event name -> signal.
    pub(crate) events: BTreeMap<String, Signal>,
    pub(crate) identify_signal: Option<Signal>,
    pub(crate) page_signal: Option<Signal>,
    /// Normalized names of honeypot fields in html forms.
    pub(crate) honeypot_fields: Vec<String>,
    pub(crate) bots: BotRules,
}

impl Default for Mapping {
    /// The defaults documented in `infra/rules.toml`.
    fn default() -> Self {
        // The compiled-in file is checked by a test; an empty mapping is only a fallback.
        Mapping::from_rules_toml(DEFAULT_RULES_TOML).unwrap_or_else(|_| Mapping::empty())
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMapping {
    honeypot_fields: Option<Vec<String>>,
    identify_signal: Option<String>,
    page_signal: Option<String>,
    #[serde(default)]
    fields: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    form_signals: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    chatbot: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    events: BTreeMap<String, String>,
    #[serde(default)]
    bots: RawBots,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBots {
    scanner_user_agents: Option<Vec<String>>,
    honeypot_urls: Option<Vec<String>>,
    seconds_after_delivery: Option<u32>,
    burst_seconds: Option<u32>,
}

fn invalid(msg: String) -> AdapterError {
    AdapterError::InvalidMapping(msg)
}

fn raw_section(doc: &toml::Table) -> Result<RawMapping, AdapterError> {
    match doc.get("mapping") {
        None => Ok(RawMapping::default()),
        Some(section) => section
            .clone()
            .try_into()
            .map_err(|e: toml::de::Error| invalid(format!("mapping: {}", e.message().trim()))),
    }
}

fn phrase(entry: &str, raw: &str) -> Result<Phrase, AdapterError> {
    let words: Phrase = normalize(raw)
        .split(' ')
        .filter(|w| !w.is_empty())
        .map(String::from)
        .collect();
    if words.is_empty() {
        return Err(invalid(format!(
            "{entry}: {raw:?} has no letters or digits"
        )));
    }
    Ok(words)
}

fn phrases(entry: &str, raws: &[String]) -> Result<Vec<Phrase>, AdapterError> {
    raws.iter().map(|r| phrase(entry, r)).collect()
}

/// A signal a webhook may record: sales feedback only comes from the qualification API.
fn webhook_signal(entry: &str, name: &str) -> Result<Signal, AdapterError> {
    let signal: Signal = name
        .trim()
        .parse()
        .map_err(|_| invalid(format!("{entry}: unknown signal `{name}`")))?;
    if signal.kind() == SignalKind::SalesFeedback {
        return Err(invalid(format!(
            "{entry}: `{name}` is sales feedback, which only the qualification API records"
        )));
    }
    Ok(signal)
}

fn optional_signal(entry: &str, name: &str) -> Result<Option<Signal>, AdapterError> {
    if name.trim().is_empty() {
        Ok(None)
    } else {
        webhook_signal(entry, name).map(Some)
    }
}

fn signal_table(
    section: &str,
    defaults: BTreeMap<String, Vec<String>>,
    user: BTreeMap<String, Vec<String>>,
) -> Result<Vec<(Signal, Vec<Phrase>)>, AdapterError> {
    let mut merged = defaults;
    merged.extend(user);
    merged
        .iter()
        .map(|(name, list)| {
            let entry = format!("mapping.{section}.{name}");
            Ok((webhook_signal(&entry, name)?, phrases(&entry, list)?))
        })
        .collect()
}

impl Mapping {
    /// Reads `[mapping]` from the whole rules file (other sections belong to the scoring core).
    /// Keys it leaves out keep the defaults of `infra/rules.toml`.
    pub fn from_rules_toml(rules_toml: &str) -> Result<Self, AdapterError> {
        // Tables, not `RulesFile`: the scoring rules are the scoring core's to validate.
        let files = OverShipped::tables(rules_toml)
            .map_err(|e| invalid(format!("the rules file is not valid TOML: {e}")))?;
        Self::from_sections(&files.shipped, files.own.as_ref())
    }

    /// From rules files already read (`leadscore_scoring::RulesFile::sections`): the user's
    /// `[mapping]`, if they gave their own file, over the shipped file's.
    pub fn from_sections(
        shipped: &toml::Table,
        own: Option<&toml::Table>,
    ) -> Result<Self, AdapterError> {
        let own = own.map(raw_section).transpose()?.unwrap_or_default();
        Self::build(raw_section(shipped)?, own)
    }

    fn empty() -> Self {
        Mapping {
            fields: Vec::new(),
            form_signals: Vec::new(),
            chatbot: Vec::new(),
            events: BTreeMap::new(),
            identify_signal: None,
            page_signal: None,
            honeypot_fields: Vec::new(),
            bots: BotRules {
                scanner_user_agents: Vec::new(),
                honeypot_urls: Vec::new(),
                seconds_after_delivery: 0,
                burst_seconds: 0,
            },
        }
    }

    fn build(defaults: RawMapping, user: RawMapping) -> Result<Self, AdapterError> {
        let mut field_lists = defaults.fields;
        field_lists.extend(user.fields);
        let mut fields = Vec::new();
        for (key, list) in &field_lists {
            let entry = format!("mapping.fields.{key}");
            let role = FieldRole::from_key(key).ok_or_else(|| {
                let known: Vec<&str> = FieldRole::ALL.iter().map(|(_, k)| *k).collect();
                invalid(format!(
                    "{entry}: unknown field, expected one of {}",
                    known.join(", ")
                ))
            })?;
            fields.push((role, phrases(&entry, list)?));
        }
        fields.sort_by_key(|(r, _)| *r);

        let form_signals = signal_table("form_signals", defaults.form_signals, user.form_signals)?;
        let chatbot = signal_table("chatbot", defaults.chatbot, user.chatbot)?;

        let mut event_names = defaults.events;
        event_names.extend(user.events);
        let mut events = BTreeMap::new();
        for (name, signal) in &event_names {
            let entry = format!("mapping.events.{name:?}");
            let key = normalize(name);
            if key.is_empty() {
                return Err(invalid(format!("{entry}: empty event name")));
            }
            events.insert(key, webhook_signal(&entry, signal)?);
        }

        let identify = user
            .identify_signal
            .or(defaults.identify_signal)
            .unwrap_or_default();
        let page = user
            .page_signal
            .or(defaults.page_signal)
            .unwrap_or_default();
        let honeypot_fields = user
            .honeypot_fields
            .or(defaults.honeypot_fields)
            .unwrap_or_default()
            .iter()
            .map(|f| normalize(f))
            .collect::<Vec<_>>();
        if honeypot_fields.iter().any(String::is_empty) {
            return Err(invalid(
                "mapping.honeypot_fields: an empty field name".into(),
            ));
        }

        let bots = RawBots {
            scanner_user_agents: user
                .bots
                .scanner_user_agents
                .or(defaults.bots.scanner_user_agents),
            honeypot_urls: user.bots.honeypot_urls.or(defaults.bots.honeypot_urls),
            seconds_after_delivery: user
                .bots
                .seconds_after_delivery
                .or(defaults.bots.seconds_after_delivery),
            burst_seconds: user.bots.burst_seconds.or(defaults.bots.burst_seconds),
        };
        let scanner_user_agents: Vec<String> = bots
            .scanner_user_agents
            .unwrap_or_default()
            .iter()
            .map(|s| s.trim().to_lowercase())
            .collect();
        if scanner_user_agents.iter().any(String::is_empty) {
            return Err(invalid(
                "mapping.bots.scanner_user_agents: an empty entry would match every user agent"
                    .into(),
            ));
        }
        let honeypot_urls = bots.honeypot_urls.unwrap_or_default();
        if let Some(bad) = honeypot_urls
            .iter()
            .find(|u| !(u.starts_with("https://") || u.starts_with("http://")))
        {
            return Err(invalid(format!(
                "mapping.bots.honeypot_urls: {bad:?} is not an http(s) URL"
            )));
        }

        Ok(Mapping {
            fields,
            form_signals,
            chatbot,
            events,
            identify_signal: optional_signal("mapping.identify_signal", &identify)?,
            page_signal: optional_signal("mapping.page_signal", &page)?,
            honeypot_fields,
            bots: BotRules {
                scanner_user_agents,
                honeypot_urls,
                seconds_after_delivery: bots.seconds_after_delivery.unwrap_or(0),
                burst_seconds: bots.burst_seconds.unwrap_or(0),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_compiled_in_defaults_are_valid_and_complete() {
        let m = Mapping::from_rules_toml(DEFAULT_RULES_TOML).unwrap();
        assert!(!m.fields.is_empty() && !m.chatbot.is_empty() && !m.events.is_empty());
        assert_eq!(m, Mapping::default());
        assert!(m.bots.burst_seconds > 0);
    }

    #[test]
    fn the_users_mapping_wins_key_by_key_and_none_is_the_shipped_file() {
        let shipped: toml::Table = toml::from_str(DEFAULT_RULES_TOML).unwrap();
        let alone = Mapping::from_sections(&shipped, None).unwrap();
        assert_eq!(
            alone,
            Mapping::from_sections(&shipped, Some(&shipped)).unwrap()
        );
        assert_eq!(alone, Mapping::default());

        let own: toml::Table =
            toml::from_str("version = 1\n[mapping.bots]\nburst_seconds = 7\n").unwrap();
        let merged = Mapping::from_sections(&shipped, Some(&own)).unwrap();
        assert_eq!(merged.bots.burst_seconds, 7);
        assert_ne!(alone.bots.burst_seconds, 7);
        // What the user's file leaves out keeps the shipped value.
        assert_eq!(merged.fields, alone.fields);
        assert_eq!(
            merged.bots.scanner_user_agents,
            alone.bots.scanner_user_agents
        );
    }

    #[test]
    fn the_shipped_file_read_once_maps_as_when_merged_over_itself() {
        // A trailing comment makes the text differ, so it is read and merged in full.
        let merged = Mapping::from_rules_toml(&format!("{DEFAULT_RULES_TOML}\n# copy\n")).unwrap();
        assert_eq!(
            Mapping::from_rules_toml(DEFAULT_RULES_TOML).unwrap(),
            merged
        );
    }
}
