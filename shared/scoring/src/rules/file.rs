//! A rules file read once: the scoring rules, and the sections other crates validate
//! themselves (`[mapping]` for the adapters, `[segments.*]` and `[accounts]` for the hand-off),
//! kept as TOML values so that nobody parses the text again.
//!
//! It travels as JSON: the Lambda functions carry the shipped file already read and validated
//! when they were built (shared/edge/build.rs), because reading TOML was most of their
//! start-up (BENCHMARKS.md, "Lambda cold start").
//!
//! A user's file (`LEADSCORE_RULES`, `--rules`) is read over the shipped one: [`OverShipped`]
//! is that pair, the one place that decides whether there is a user's file to read at all.

use super::raw::RawRules;
use super::{Rules, RulesError, DEFAULT_RULES_TOML};
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

    /// The file as [`RulesFile::from_json`] reads it back. Plain data (maps with string keys,
    /// numbers, strings) should always serialize; the caller (a build script) says if not.
    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string(self)
    }

    /// Reads back what [`RulesFile::to_json`] wrote from a validated file (a build's own
    /// output: nothing here validates the rules again).
    pub fn from_json(json: &str) -> Result<RulesFile, RulesError> {
        serde_json::from_str(json).map_err(|e| RulesError(format!("compiled rules: {e}")))
    }
}

/// The shipped rules file and the user's, each read once: `own` is `None` when the user gave
/// the shipped file itself (every function's usual start), so nothing is read twice and
/// nothing is merged over itself. Sections are then read as the user's over the shipped
/// ones (`Mapping::from_sections`, `HandoffConfig::from_sections`).
///
/// `T` is how far the files are read: a [`RulesFile`] (validated scoring rules and the
/// sections) for the functions, a whole `toml::Table` for a crate that reads only its own
/// sections and leaves the scoring rules unvalidated (the adapters' `Mapping`). Errors are
/// the reader's, so each crate words its own.
#[derive(Debug, Clone, PartialEq)]
pub struct OverShipped<T> {
    pub shipped: T,
    pub own: Option<T>,
}

impl<T> OverShipped<T> {
    /// `text` over `shipped` (the shipped file as already read), read with `read` unless it is
    /// the shipped file's text.
    pub fn read<E>(
        shipped: T,
        text: &str,
        read: impl FnOnce(&str) -> Result<T, E>,
    ) -> Result<Self, E> {
        let own = (text != DEFAULT_RULES_TOML)
            .then(|| read(text))
            .transpose()?;
        Ok(OverShipped { shipped, own })
    }

    /// The file in force: the user's, else the shipped one.
    pub fn in_force(&self) -> &T {
        self.own.as_ref().unwrap_or(&self.shipped)
    }
}

impl OverShipped<RulesFile> {
    /// A user's rules file over `shipped` (in the functions, the file compiled at build time):
    /// its scoring rules validated.
    pub fn rules_file(shipped: RulesFile, text: &str) -> Result<Self, RulesError> {
        Self::read(shipped, text, RulesFile::parse)
    }

    /// The user's sections, if the user gave their own file.
    pub fn own_sections(&self) -> Option<&toml::Table> {
        self.own.as_ref().map(|file| &file.sections)
    }
}

impl OverShipped<toml::Table> {
    /// Both files as plain TOML tables, the scoring rules not validated.
    pub fn tables(text: &str) -> Result<Self, toml::de::Error> {
        Self::read(toml::from_str(DEFAULT_RULES_TOML)?, text, |own| {
            toml::from_str(own)
        })
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
        let back = RulesFile::from_json(&file.to_json().unwrap()).unwrap();
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

    #[test]
    fn the_shipped_text_is_not_read_again_and_another_text_is_the_users() {
        let shipped = RulesFile::parse(DEFAULT_RULES_TOML).unwrap();
        let files = OverShipped::rules_file(shipped.clone(), DEFAULT_RULES_TOML).unwrap();
        assert_eq!(files.own, None);
        assert_eq!(files.own_sections(), None);
        assert_eq!(files.in_force(), &shipped);

        // Any other text is the user's, even the shipped file with a comment added.
        let copy = format!("{DEFAULT_RULES_TOML}\n# a copy\n");
        let files = OverShipped::rules_file(shipped.clone(), &copy).unwrap();
        assert_eq!(files.own.as_ref(), Some(&shipped));
        assert_eq!(files.own_sections(), Some(&shipped.sections));

        let own = "version = 1\n[accounts]\nengagement_cap = 3\n";
        let files = OverShipped::rules_file(shipped.clone(), own).unwrap();
        assert_eq!(files.in_force(), &RulesFile::parse(own).unwrap());
        assert_eq!(files.shipped, shipped);
    }

    #[test]
    fn the_users_errors_are_the_readers_and_tables_leave_scoring_unvalidated() {
        let shipped = RulesFile::parse(DEFAULT_RULES_TOML).unwrap();
        assert!(OverShipped::rules_file(shipped, "version = 2\n").is_err());
        let read_by_hand: Result<OverShipped<u8>, &str> =
            OverShipped::read(0, "anything", |_| Err("the reader's own error"));
        assert_eq!(read_by_hand.unwrap_err(), "the reader's own error");

        // Scoring rules the scoring core would refuse: tables take them as written.
        let tables = OverShipped::tables("version = 2\n[mapping]\npage_signal = \"x\"\n").unwrap();
        assert_eq!(tables.in_force()["version"].as_integer(), Some(2));
        assert!(tables.shipped.contains_key("mapping"));
        assert_eq!(OverShipped::tables(DEFAULT_RULES_TOML).unwrap().own, None);
        assert!(OverShipped::tables("not = [toml").is_err());
    }
}
