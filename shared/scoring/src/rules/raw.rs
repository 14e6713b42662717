//! The rules file as written: serde's view of the TOML, checked only for shape (unknown keys
//! are rejected). `parse` turns it into the validated [`Rules`](super::Rules).

use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRules {
    pub(super) version: u32,
    #[serde(default)]
    pub(super) signals: BTreeMap<String, RawSignal>,
    #[serde(default)]
    pub(super) groups: BTreeMap<String, RawGroup>,
    #[serde(default)]
    pub(super) engagement: RawEngagement,
    #[serde(default)]
    pub(super) fit: RawFit,
    #[serde(default)]
    pub(super) domains: RawDomains,
    #[serde(default)]
    pub(super) mql: RawMql,
    #[serde(default)]
    pub(super) sql: RawSql,
    #[serde(default)]
    pub(super) pql: RawSignalList,
    #[serde(default)]
    pub(super) evangelist: RawSignalList,
    #[serde(default)]
    pub(super) bant: RawBant,
    #[serde(default)]
    pub(super) bots: RawBots,
    #[serde(default)]
    pub(super) engine: RawEngine,
    /// The adapters' section: read by shared/providers.
    #[serde(default)]
    pub(super) mapping: Option<toml::Value>,
    /// The hand-off's sections: read by shared/handoff.
    #[serde(default)]
    pub(super) segments: Option<toml::Value>,
    #[serde(default)]
    pub(super) accounts: Option<toml::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSignal {
    pub(super) points: i64,
    pub(super) group: Option<String>,
    pub(super) cap: Option<i64>,
    pub(super) limit: Option<RawLimit>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLimit {
    pub(super) count: i64,
    pub(super) window: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawGroup {
    pub(super) cap: Option<i64>,
    pub(super) half_life_days: Option<f64>,
    pub(super) expire_after_days: Option<f64>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawEngagement {
    pub(super) cap: Option<i64>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFit {
    pub(super) cap: Option<i64>,
    pub(super) grades: Option<RawGrades>,
    #[serde(default)]
    pub(super) rules: Vec<RawFitRule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawGrades {
    #[serde(rename = "A")]
    pub(super) a: i64,
    #[serde(rename = "B")]
    pub(super) b: i64,
    #[serde(rename = "C")]
    pub(super) c: i64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFitRule {
    pub(super) id: String,
    pub(super) field: String,
    pub(super) points: i64,
    pub(super) equals: Option<String>,
    pub(super) one_of: Option<Vec<String>>,
    pub(super) contains: Option<Vec<String>>,
    pub(super) range: Option<RawRange>,
    pub(super) domains: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRange {
    pub(super) min: Option<i64>,
    pub(super) max: Option<i64>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDomains {
    #[serde(default)]
    pub(super) free: Vec<String>,
    #[serde(default)]
    pub(super) disposable: Vec<String>,
    #[serde(default)]
    pub(super) competitor: Vec<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMql {
    pub(super) engagement_at_least: Option<i64>,
    #[serde(default)]
    pub(super) criteria: Vec<RawCriterion>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCriterion {
    pub(super) id: String,
    #[serde(default)]
    pub(super) all: Vec<RawCondition>,
    pub(super) within_days: Option<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCondition {
    pub(super) signal: String,
    pub(super) at_least: Option<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSql {
    #[serde(default)]
    pub(super) hand_raises: Vec<String>,
    #[serde(default)]
    pub(super) require_sales_acceptance: bool,
    #[serde(default = "yes")]
    pub(super) bant_complete: bool,
}

impl Default for RawSql {
    fn default() -> Self {
        RawSql {
            hand_raises: Vec::new(),
            require_sales_acceptance: false,
            bant_complete: true,
        }
    }
}

fn yes() -> bool {
    true
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSignalList {
    #[serde(default)]
    pub(super) signals: Vec<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawBant {
    pub(super) budget_at_least: Option<i64>,
    pub(super) timeline_within_months: Option<i64>,
    #[serde(default)]
    pub(super) authority: Vec<String>,
    #[serde(default)]
    pub(super) need_required: bool,
    #[allow(dead_code)]
    pub(super) currency: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawEngine {
    pub(super) lateness_days: Option<i64>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawBots {
    pub(super) burst_seconds: Option<f64>,
    #[serde(default)]
    pub(super) click_without_open: bool,
}

#[cfg(test)]
mod tests {
    use crate::Rules;

    #[test]
    fn the_handoff_sections_belong_to_shared_handoff() {
        let text = "version = 1\n[segments.nurture]\nstages = [\"lead\"]\nanything = 1\n\
                    [accounts]\nengagement_cap = 300\nwhatever = [1, 2]\n";
        Rules::from_toml_str(text).unwrap();
        assert_eq!(
            Rules::from_toml_str(text).unwrap().fingerprint(),
            Rules::from_toml_str("version = 1\n").unwrap().fingerprint(),
            "the hand-off's sections change no score"
        );
    }
}
