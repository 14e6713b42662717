//! The rules file: what earns points, what makes an MQL, an SQL, and beyond.
//!
//! Parsed once from TOML into [`Rules`] and validated: every mistake is rejected with a message
//! that names the rule and the problem. The `[mapping]` section belongs to the provider
//! adapters, `[segments.*]` and `[accounts]` to the hand-off (shared/handoff): both are
//! ignored here. `infra/rules.toml` is the documented default.

mod file;
mod parse;
mod raw;

pub use file::{OverShipped, RulesFile};

use crate::{Bant, EmailDomainKind, Signal};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// The shipped, documented default: `infra/rules.toml`.
pub const DEFAULT_RULES_TOML: &str = include_str!("../../../../infra/rules.toml");

/// The rules file format this build reads.
pub const RULES_VERSION: u32 = 1;

/// The shortest lateness window: email platforms, SNS and CRMs back-fill within days.
pub const MIN_LATENESS_DAYS: i64 = 30;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("rules file: {0}")]
pub struct RulesError(pub String);

/// Validated scoring rules, loaded once. Serializable only to travel inside a [`RulesFile`]
/// read at build time; the one way to make them from text is [`Rules::from_toml_str`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rules {
    pub(crate) signals: BTreeMap<Signal, SignalRule>,
    pub(crate) groups: BTreeMap<String, GroupRule>,
    pub(crate) engagement_cap: Option<i64>,
    pub(crate) fit: FitRules,
    pub(crate) domains: Domains,
    pub(crate) mql: MqlRules,
    pub(crate) sql: SqlRules,
    pub(crate) pql_signals: BTreeSet<Signal>,
    pub(crate) evangelist_signals: BTreeSet<Signal>,
    pub(crate) bant: BantRules,
    pub(crate) burst_window_ms: i64,
    pub(crate) click_without_open: bool,
    /// How far back a late event still re-folds the funnel exactly (`[engine] lateness_days`).
    pub(crate) lateness_ms: i64,
    fingerprint: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct SignalRule {
    pub points: i64,
    pub group: Option<String>,
    pub cap: Option<i64>,
    /// Count at most `count` occurrences in any `window_ms`.
    pub limit: Option<(u32, i64)>,
    /// The group's decay and expiry, resolved once: every hit of every score reads them.
    pub half_life_ms: Option<i64>,
    pub expire_ms: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct GroupRule {
    pub cap: Option<i64>,
    pub half_life_ms: Option<i64>,
    pub expire_ms: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct FitRules {
    pub rules: Vec<FitRule>,
    pub cap: Option<i64>,
    /// Minimum fit for grades A, B and C; below C is D.
    pub grades: [i64; 3],
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct FitRule {
    pub id: String,
    pub field: FitField,
    pub matcher: Matcher,
    pub points: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) enum FitField {
    JobTitle,
    JobFunction,
    Seniority,
    Industry,
    Company,
    CompanySize,
    Country,
    EmailDomain,
    EmailDomainKind,
    Custom(String),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) enum Matcher {
    /// Case-insensitive equality.
    Equals(String),
    OneOf(Vec<String>),
    /// Any of these words or phrases, as whole words, case-insensitive ("cto" does not match
    /// "director").
    Contains(Vec<Vec<String>>),
    Range {
        min: Option<i64>,
        max: Option<i64>,
    },
    /// The email's domain or a parent domain is in the list.
    Domains(Vec<String>),
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub(crate) struct Domains {
    pub free: BTreeSet<String>,
    pub disposable: BTreeSet<String>,
    pub competitor: BTreeSet<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct MqlRules {
    pub score: Option<i64>,
    pub criteria: Vec<Criterion>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Criterion {
    pub id: String,
    pub all: Vec<(Signal, u32)>,
    pub within_ms: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct SqlRules {
    pub hand_raises: BTreeSet<Signal>,
    pub require_sales_acceptance: bool,
    pub bant_complete: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct BantRules {
    pub budget_at_least: Option<u64>,
    pub timeline_within_months: Option<u32>,
    pub authority: Vec<Vec<String>>,
    pub need_required: bool,
}

impl Rules {
    /// A digest of everything that scores (the mapping aside): a lead's working state
    /// computed under other rules is rebuilt from its ledger.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    fn with_fingerprint(mut self) -> Self {
        use sha2::{Digest, Sha256};
        self.fingerprint.clear();
        let digest = Sha256::digest(format!("{}{self:?}", crate::STATE_FORMAT).as_bytes());
        self.fingerprint = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
        self
    }

    /// The lateness window: events older than the newest one by more than this are folded
    /// at the checkpoint instead of at their own time.
    pub fn lateness_ms(&self) -> i64 {
        self.lateness_ms
    }

    /// How far back single hits of `signal` are still read one by one: its longest
    /// combination window, its frequency-limit window, and for email the burst window.
    pub(crate) fn lookback_ms(&self, signal: Signal) -> i64 {
        let criteria = self
            .mql
            .criteria
            .iter()
            .filter(|c| c.all.iter().any(|(s, _)| *s == signal))
            .filter_map(|c| c.within_ms);
        let limit = self
            .signals
            .get(&signal)
            .and_then(|r| r.limit.map(|(_, w)| w));
        let email = matches!(signal, Signal::EmailClicked | Signal::EmailOpened)
            .then_some(self.burst_window_ms);
        criteria.chain(limit).chain(email).max().unwrap_or(0)
    }

    /// How many of a signal's newest counted times a window reads at most (a combination's
    /// count, a frequency limit's): older times in the same window change no verdict.
    pub(crate) fn lookback_count(&self, signal: Signal) -> usize {
        let criteria = self
            .mql
            .criteria
            .iter()
            .filter(|c| c.within_ms.is_some())
            .flat_map(|c| c.all.iter().filter(|(s, _)| *s == signal).map(|(_, n)| *n));
        let limit = self
            .signals
            .get(&signal)
            .and_then(|r| r.limit.map(|(count, _)| count));
        criteria.chain(limit).max().unwrap_or(0) as usize
    }

    /// Signals whose counted hits must be kept one by one forever: those of a combination
    /// criterion without a time window (it counts every occurrence since a recycle).
    pub(crate) fn unbounded_signals(&self) -> BTreeSet<Signal> {
        self.mql
            .criteria
            .iter()
            .filter(|c| c.within_ms.is_none())
            .flat_map(|c| c.all.iter().map(|(s, _)| *s))
            .collect()
    }

    /// The shipped default rules (`infra/rules.toml`, compiled in and tested to be valid).
    pub fn default_rules() -> Rules {
        match Rules::from_toml_str(DEFAULT_RULES_TOML) {
            Ok(rules) => rules,
            // The default is a compile-time constant covered by a test; this cannot happen in a
            // build that passed its tests.
            Err(e) => panic!("the shipped default rules are invalid: {e}"),
        }
    }

    /// Whether a BANT record meets the completeness thresholds: every configured criterion is
    /// answered and within bounds.
    pub fn bant_complete(&self, bant: &Bant) -> bool {
        self.bant_status(bant).complete()
    }

    /// Each BANT criterion: met or not, per the rules.
    pub fn bant_status(&self, bant: &Bant) -> BantStatus {
        let b = &self.bant;
        let budget = match (b.budget_at_least, &bant.budget) {
            (Some(min), Some(a)) => a.value >= min,
            (None, Some(_)) => true,
            (_, None) => false,
        };
        let timeline = match (b.timeline_within_months, &bant.timeline_months) {
            (Some(max), Some(a)) => a.value <= max,
            (None, Some(_)) => true,
            (_, None) => false,
        };
        let authority = match &bant.authority {
            None => false,
            Some(a) if b.authority.is_empty() => !a.value.trim().is_empty(),
            Some(a) => {
                let said = words(&a.value);
                b.authority.iter().any(|role| contains_phrase(&said, role))
            }
        };
        let need = match &bant.need {
            Some(a) => !a.value.trim().is_empty(),
            None => !b.need_required,
        };
        BantStatus {
            budget,
            authority,
            need,
            timeline,
        }
    }

    /// How the rules classify an email domain for fit.
    pub fn domain_kind(&self, domain: &str) -> EmailDomainKind {
        let d = &self.domains;
        if in_domain_list(&d.competitor, domain) {
            EmailDomainKind::Competitor
        } else if in_domain_list(&d.disposable, domain) {
            EmailDomainKind::Disposable
        } else if in_domain_list(&d.free, domain) {
            EmailDomainKind::Free
        } else {
            EmailDomainKind::Corporate
        }
    }

    /// The cap on one signal's points, if any.
    pub fn signal_cap(&self, signal: Signal) -> Option<i64> {
        self.signals.get(&signal).and_then(|r| r.cap)
    }

    /// The group a signal's points belong to, if any.
    pub fn signal_group(&self, signal: Signal) -> Option<&str> {
        self.signals.get(&signal).and_then(|r| r.group.as_deref())
    }

    /// The cap on a group's points, if any.
    pub fn group_cap(&self, group: &str) -> Option<i64> {
        self.groups.get(group).and_then(|g| g.cap)
    }

    /// The cap on all behaviour points, if any.
    pub fn engagement_cap(&self) -> Option<i64> {
        self.engagement_cap
    }

    /// Signals that flag a lead as product-qualified.
    pub fn pql_signals(&self) -> &BTreeSet<Signal> {
        &self.pql_signals
    }
}

/// BANT completeness, criterion by criterion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct BantStatus {
    pub budget: bool,
    pub authority: bool,
    pub need: bool,
    pub timeline: bool,
}

impl BantStatus {
    pub fn complete(self) -> bool {
        self.budget && self.authority && self.need && self.timeline
    }
}

/// Lower-cased words: what whole-word matching compares.
pub(crate) fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// `phrase` occurs in `said` as consecutive whole words.
pub(crate) fn contains_phrase(said: &[String], phrase: &[String]) -> bool {
    !phrase.is_empty() && said.windows(phrase.len()).any(|w| w == phrase)
}

/// The domain or one of its parents is listed (`mail.acme.com` matches `acme.com`).
pub(crate) fn in_domain_list(list: &BTreeSet<String>, domain: &str) -> bool {
    let mut d = domain;
    loop {
        if list.contains(d) {
            return true;
        }
        match d.split_once('.') {
            Some((_, parent)) if parent.contains('.') => d = parent,
            _ => return false,
        }
    }
}
