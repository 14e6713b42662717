//! The rules file's hand-off sections: `[segments.<name>]` and `[accounts]`.
//!
//! Read from the whole rules file, like the adapters' `Mapping` (the scoring core ignores
//! both sections). Segments are exactly those the file declares: a file without any has none.
//! `[accounts]` keys the file leaves out keep the defaults of `infra/rules.toml`
//! (`DEFAULT_RULES_TOML`), so that an older rules file still gets accounts.

use crate::accounts::AccountRules;
use crate::segments::{SegmentDef, SegmentName};
use leadscore_scoring::{OverShipped, Signal, Stage, DEFAULT_RULES_TOML};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use std::collections::BTreeSet;

/// A mistake in the hand-off sections, naming the section, the key and the problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("rules file: {0}")]
pub struct ConfigError(pub String);

fn fail<T>(msg: impl Into<String>) -> Result<T, ConfigError> {
    Err(ConfigError(msg.into()))
}

/// The hand-off sections of a rules file, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct HandoffConfig {
    segments: Vec<SegmentDef>,
    accounts: AccountRules,
}

impl Default for HandoffConfig {
    /// The sections of the shipped `infra/rules.toml` (checked valid by a test).
    fn default() -> Self {
        HandoffConfig::from_rules_toml(DEFAULT_RULES_TOML).unwrap_or_else(|_| HandoffConfig {
            segments: Vec::new(),
            accounts: AccountRules::builtin(),
        })
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSegment {
    #[serde(default)]
    description: String,
    stages: Option<Vec<String>>,
    recycled: Option<bool>,
    disqualified: Option<bool>,
    pql: Option<bool>,
    score_below: Option<i64>,
    score_at_least: Option<i64>,
    #[serde(default)]
    exclude_signals: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAccounts {
    engagement_cap: Option<i64>,
    engaged_min_score: Option<i64>,
    free_domains: Option<Vec<String>>,
}

/// Bounds a score threshold so that no comparison is surprising (scores are sums of points
/// of at most a million each).
const MAX_THRESHOLD: i64 = 1_000_000_000;

impl HandoffConfig {
    /// Reads `[segments.<name>]` and `[accounts]` from the whole rules file.
    pub fn from_rules_toml(text: &str) -> Result<Self, ConfigError> {
        let files = OverShipped::tables(text)
            .or_else(|e| fail(format!("not valid TOML: {}", e.message().trim())))?;
        Self::from_sections(&files.shipped, files.own.as_ref())
    }

    /// From rules files already read (`leadscore_scoring::RulesFile::sections`): the segments
    /// of the file in force (the user's if they gave their own, else the shipped one), and
    /// `[accounts]` over the shipped file's.
    pub fn from_sections(
        shipped: &toml::Table,
        own: Option<&toml::Table>,
    ) -> Result<Self, ConfigError> {
        let doc = own.unwrap_or(shipped);
        let defaults = raw_accounts(shipped)?;
        let user = raw_accounts(doc)?;
        let accounts = AccountRules::new(
            non_negative(
                "accounts.engagement_cap",
                user.engagement_cap.or(defaults.engagement_cap),
            )?,
            non_negative(
                "accounts.engaged_min_score",
                user.engaged_min_score.or(defaults.engaged_min_score),
            )?,
            domains(
                "accounts.free_domains",
                user.free_domains
                    .or(defaults.free_domains)
                    .unwrap_or_default(),
            )?,
        );
        let segments = match doc.get("segments") {
            None => Vec::new(),
            Some(toml::Value::Table(sections)) => sections
                .iter()
                .map(|(name, section)| segment(name, section))
                .collect::<Result<_, _>>()?,
            Some(_) => {
                return fail("segments: expected tables, one per segment ([segments.<name>])")
            }
        };
        Ok(HandoffConfig { segments, accounts })
    }

    /// The segments, ordered by name.
    pub fn segments(&self) -> &[SegmentDef] {
        &self.segments
    }

    pub fn segment(&self, name: &str) -> Option<&SegmentDef> {
        self.segments.iter().find(|s| s.name() == name)
    }

    pub fn accounts(&self) -> &AccountRules {
        &self.accounts
    }
}

fn raw_accounts(doc: &toml::Table) -> Result<RawAccounts, ConfigError> {
    match doc.get("accounts") {
        None => Ok(RawAccounts::default()),
        Some(section) => raw_section("accounts", section),
    }
}

/// A section as written, every key optional: an error names the key that is wrong (the
/// first one that, alone, does not read).
fn raw_section<T: DeserializeOwned>(at: &str, section: &toml::Value) -> Result<T, ConfigError> {
    let Some(table) = section.as_table() else {
        return fail(format!("{at}: expected a table ([{at}])"));
    };
    section.clone().try_into().or_else(|e: toml::de::Error| {
        let alone = |key: &String, value: &toml::Value| {
            let one: toml::Table = [(key.clone(), value.clone())].into_iter().collect();
            toml::Value::Table(one).try_into::<T>().is_err()
        };
        let message = e.message().trim().to_string();
        match table.iter().find(|(k, v)| alone(k, v)) {
            Some((key, _)) => fail(format!("{at}.{key}: {message}")),
            None => fail(format!("{at}: {message}")),
        }
    })
}

fn non_negative(at: &str, value: Option<i64>) -> Result<i64, ConfigError> {
    match value {
        None => fail(format!("{at}: missing")),
        Some(v) if (0..=MAX_THRESHOLD).contains(&v) => Ok(v),
        Some(v) => fail(format!(
            "{at}: must be between 0 and {MAX_THRESHOLD} (got {v})"
        )),
    }
}

/// Domains as written in a list: lower-cased, a leading `@` dropped, checked for shape.
fn domains(at: &str, list: Vec<String>) -> Result<BTreeSet<String>, ConfigError> {
    list.into_iter()
        .map(|raw| {
            let d = raw.trim().trim_start_matches('@').to_ascii_lowercase();
            let ok = d.contains('.')
                && !d.starts_with('.')
                && !d.ends_with('.')
                && !d.contains("..")
                && d.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
            if ok {
                Ok(d)
            } else {
                fail(format!("{at}: {raw:?} is not a domain name"))
            }
        })
        .collect()
}

fn segment(name: &str, section: &toml::Value) -> Result<SegmentDef, ConfigError> {
    let at = format!("segments.{name}");
    let name = SegmentName::parse(name).or_else(|e| fail(format!("{at}: {e}")))?;
    let raw: RawSegment = raw_section(&at, section)?;

    let stages = match raw.stages {
        None => BTreeSet::new(),
        Some(list) if list.is_empty() => {
            return fail(format!(
                "{at}.stages: empty list (leave the key out to take every stage)"
            ))
        }
        Some(list) => list
            .iter()
            .map(|s| {
                s.parse::<Stage>()
                    .or_else(|e| fail(format!("{at}.stages: {e}")))
            })
            .collect::<Result<_, _>>()?,
    };
    if raw.recycled == Some(true) && stages.is_empty() {
        return fail(format!(
            "{at}.recycled: true only adds recycled leads to the `stages` listed, and none are \
             (without `stages` every stage is in already)"
        ));
    }
    let exclude_signals = raw
        .exclude_signals
        .iter()
        .map(|s| {
            s.trim().parse::<Signal>().or_else(|_| {
                fail(format!(
                    "{at}.exclude_signals: unknown signal {s:?} (signal names are those of \
                     [signals], e.g. \"unsubscribed\", \"bounced\", \"spam_complaint\")"
                ))
            })
        })
        .collect::<Result<BTreeSet<_>, _>>()?;
    for (key, value) in [
        ("score_below", raw.score_below),
        ("score_at_least", raw.score_at_least),
    ] {
        if let Some(v) = value.filter(|v| v.abs() > MAX_THRESHOLD) {
            return fail(format!(
                "{at}.{key}: must be between -{MAX_THRESHOLD} and {MAX_THRESHOLD} (got {v})"
            ));
        }
    }
    if let (Some(below), Some(least)) = (raw.score_below, raw.score_at_least) {
        if least >= below {
            return fail(format!(
                "{at}: score_at_least ({least}) must be below score_below ({below}): no score \
                 is in between"
            ));
        }
    }
    Ok(SegmentDef {
        name,
        description: raw.description.trim().to_string(),
        stages,
        recycled: raw.recycled,
        disqualified: raw.disqualified,
        pql: raw.pql,
        score_below: raw.score_below,
        score_at_least: raw.score_at_least,
        exclude_signals,
    })
}
