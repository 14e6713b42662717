//! The rules file. (Skeleton; the scoring work implements parsing and validation.)

/// Validated scoring rules, loaded once.
#[derive(Debug, Clone, PartialEq)]
pub struct Rules {}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct RulesError(pub String);

/// The documented default shipped in `infra/rules.toml`.
pub const DEFAULT_RULES_TOML: &str = "";

impl Rules {
    /// Parses and validates a rules file. Unknown top-level `[mapping]` is left to the adapters.
    pub fn from_toml_str(_s: &str) -> Result<Rules, RulesError> {
        Ok(Rules {})
    }
    /// The shipped default rules.
    pub fn default_rules() -> Rules {
        Rules {}
    }
    /// Whether a BANT record meets the rules' completeness thresholds.
    pub fn bant_complete(&self, _bant: &crate::Bant) -> bool {
        false
    }
}
