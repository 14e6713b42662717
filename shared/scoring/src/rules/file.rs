//! A rules file read once: the scoring rules, and the sections other crates validate
//! themselves (`[mapping]` for the adapters, `[segments.*]` and `[accounts]` for the hand-off),
//! kept as TOML values so that nobody parses the text again.
//!
//! It travels as JSON: the Lambda functions carry the shipped file already read and validated
//! when they were built (shared/edge/build.rs), because reading TOML was most of their
//! start-up (BENCHMARKS.md, "Lambda cold start").

use super::raw::RawRules;
use super::{Rules, RulesError};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RulesFile {
    pub rules: Rules,
    /// The top-level sections the scoring core leaves to other crates, as written.
    pub sections: toml::Table,
}

impl RulesFile {
    /// Parses a rules file and validates its scoring rules.
    pub fn parse(text: &str) -> Result<RulesFile, RulesError> {
        let mut raw: RawRules = toml::from_str(text).map_err(|e| RulesError(e.to_string()))?;
        let sections = [
            ("mapping", raw.mapping.take()),
            ("segments", raw.segments.take()),
            ("accounts", raw.accounts.take()),
        ]
        .into_iter()
        .filter_map(|(name, value)| value.map(|v| (name.to_string(), v)))
        .collect();
        Ok(RulesFile {
            rules: Rules::from_raw(raw)?,
            sections,
        })
    }

    /// The file as [`RulesFile::from_json`] reads it back.
    pub fn to_json(&self) -> String {
        // Plain data (maps with string keys, numbers, strings): serializing cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Reads back what [`RulesFile::to_json`] wrote from a validated file (a build's own
    /// output: nothing here validates the rules again).
    pub fn from_json(json: &str) -> Result<RulesFile, RulesError> {
        serde_json::from_str(json).map_err(|e| RulesError(format!("compiled rules: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DEFAULT_RULES_TOML;

    #[test]
    fn the_shipped_file_round_trips_through_json() {
        let file = RulesFile::parse(DEFAULT_RULES_TOML).unwrap();
        assert_eq!(
            file.rules,
            Rules::from_toml_str(DEFAULT_RULES_TOML).unwrap()
        );
        assert!(["mapping", "segments", "accounts"]
            .iter()
            .all(|s| file.sections.contains_key(*s)));
        let back = RulesFile::from_json(&file.to_json()).unwrap();
        assert_eq!(back, file);
        assert_eq!(back.rules.fingerprint(), file.rules.fingerprint());
    }

    #[test]
    fn sections_the_file_leaves_out_are_absent_and_bad_json_is_an_error() {
        let file = RulesFile::parse("version = 1\n[accounts]\nengagement_cap = 3\n").unwrap();
        assert_eq!(file.sections.keys().collect::<Vec<_>>(), ["accounts"]);
        assert!(RulesFile::parse("version = 2\n").is_err());
        assert!(RulesFile::from_json("{\"rules\": 1}").is_err());
    }
}
