//! The funnel: stages, transitions and their causes.

use crate::Timestamp;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Funnel stages in order. Automatic moves only go forward.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    Visitor,
    Lead,
    Mql,
    Sql,
    Opportunity,
    Customer,
    Evangelist,
}

impl Stage {
    pub const ALL: [Stage; 7] = [
        Stage::Visitor,
        Stage::Lead,
        Stage::Mql,
        Stage::Sql,
        Stage::Opportunity,
        Stage::Customer,
        Stage::Evangelist,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Stage::Visitor => "visitor",
            Stage::Lead => "lead",
            Stage::Mql => "mql",
            Stage::Sql => "sql",
            Stage::Opportunity => "opportunity",
            Stage::Customer => "customer",
            Stage::Evangelist => "evangelist",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown stage {0:?}: expected one of visitor, lead, mql, sql, opportunity, customer, evangelist")]
pub struct UnknownStage(pub String);

/// Case-insensitive: sales tools send `SQL` as often as `sql`.
impl FromStr for Stage {
    type Err = UnknownStage;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.trim().to_ascii_lowercase();
        Stage::ALL
            .into_iter()
            .find(|st| st.as_str() == lower)
            .ok_or_else(|| UnknownStage(s.to_string()))
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a stage changed: a named rule fired, or a person (sales) decided.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Cause {
    /// An automatic move; `rule` is the rule id from the rules file (e.g. `mql.engaged_subscriber`).
    Rule { rule: String },
    /// An explicit move by sales (or another actor) with the event that carried it.
    Actor {
        actor: String,
        action: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cause::Rule { rule } => write!(f, "rule:{rule}"),
            Cause::Actor { actor, action, .. } => write!(f, "{actor}:{action}"),
        }
    }
}

/// One stage change. `at` is event time (the event that completed the evidence, or the sales
/// action); `recorded_at` is when leadscore first recorded it, which is later when the
/// evidence arrived late. Two folds of the same events agree on everything but `recorded_at`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transition {
    pub from: Stage,
    pub to: Stage,
    pub at: Timestamp,
    pub cause: Cause,
    #[serde(default)]
    pub recorded_at: Timestamp,
}

impl Transition {
    /// The same move, whenever it was recorded.
    pub fn same_move(&self, other: &Transition) -> bool {
        self.from == other.from
            && self.to == other.to
            && self.at == other.at
            && self.cause == other.cause
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_are_ordered_and_parse_any_case() {
        assert!(Stage::Visitor < Stage::Lead && Stage::Customer < Stage::Evangelist);
        assert_eq!("SQL".parse::<Stage>().unwrap(), Stage::Sql);
        assert_eq!("Mql".parse::<Stage>().unwrap(), Stage::Mql);
        assert!("won".parse::<Stage>().is_err());
    }
}
