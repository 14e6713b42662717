//! Segments: named lists of leads, each a conjunction of conditions on the lead's state and
//! its score as of now (see `infra/rules.toml`, `[segments.<name>]`).

use leadscore_scoring::{Cause, LeadState, ScoreBreakdown, Signal, Stage};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::fmt;

/// A segment's name: 1 to 64 of `a-z`, `0-9`, `_`, `-` (it appears in URLs and index keys).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SegmentName(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("segment name {0:?}: 1 to 64 lower-case letters, digits, `_` or `-` expected")]
pub struct InvalidSegmentName(pub String);

impl SegmentName {
    pub fn parse(raw: &str) -> Result<Self, InvalidSegmentName> {
        let ok = (1..=64).contains(&raw.len())
            && raw
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
        if ok {
            Ok(SegmentName(raw.to_string()))
        } else {
            Err(InvalidSegmentName(raw.to_string()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for SegmentName {
    type Error = InvalidSegmentName;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        SegmentName::parse(&s)
    }
}

impl From<SegmentName> for String {
    fn from(n: SegmentName) -> String {
        n.0
    }
}

impl fmt::Display for SegmentName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One `[segments.<name>]` section. A lead is in the segment when it passes every condition
/// given; conditions left out pass everyone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentDef {
    pub(crate) name: SegmentName,
    pub(crate) description: String,
    /// Any of these stages; empty: every stage.
    pub(crate) stages: BTreeSet<Stage>,
    /// `true`: a recycled lead is in whatever its stage; `false`: a recycled lead never is.
    pub(crate) recycled: Option<bool>,
    pub(crate) disqualified: Option<bool>,
    pub(crate) pql: Option<bool>,
    /// The total score as of now is below this...
    pub(crate) score_below: Option<i64>,
    /// ...and at least this.
    pub(crate) score_at_least: Option<i64>,
    pub(crate) exclude_signals: BTreeSet<Signal>,
}

impl SegmentDef {
    pub fn name(&self) -> &str {
        self.name.as_str()
    }

    pub fn description(&self) -> &str {
        &self.description
    }

    /// Whether the lead is in the segment, given its score as of now (`score(lead, rules,
    /// now)`: the only part of a membership that moves with time alone).
    pub fn contains(&self, lead: &LeadState, score: &ScoreBreakdown) -> bool {
        let recycled = is_recycled(lead);
        let in_stage = self.stages.is_empty()
            || self.stages.contains(&lead.stage)
            || (self.recycled == Some(true) && recycled);
        in_stage
            && !(self.recycled == Some(false) && recycled)
            && self
                .disqualified
                .is_none_or(|d| d == lead.disqualified.is_some())
            && self.pql.is_none_or(|p| p == lead.pql)
            && self.score_below.is_none_or(|b| score.total < b)
            && self.score_at_least.is_none_or(|l| score.total >= l)
            && !has_any_signal(lead, &self.exclude_signals)
    }

    /// A digest of the definition, part of an entry's notification id: after the definition
    /// changed, a lead that left and enters again from the same state is a new entry (a lead
    /// already in stays in, with its entry, unless it no longer qualifies).
    pub(crate) fn fingerprint(&self) -> String {
        let digest = Sha256::digest(format!("{self:?}").as_bytes());
        hex::encode(&digest[..8])
    }
}

/// The sales actions that recycle a lead back to nurturing (disqualify is not one: the lead
/// is out of the funnel, not back in it).
const RECYCLE_ACTIONS: [Signal; 2] = [Signal::SalesRejected, Signal::DealLost];

/// Recycled: the lead's last move was sales sending it back to `lead` (rejected, deal lost),
/// so it waits at `lead` until newer behaviour qualifies it again. A lead that has since
/// moved on is no longer "recycled".
pub fn is_recycled(lead: &LeadState) -> bool {
    lead.stage_history.last().is_some_and(|t| {
        t.to == Stage::Lead
            && matches!(&t.cause, Cause::Actor { action, .. }
                if RECYCLE_ACTIONS.iter().any(|s| s.as_str() == action))
    })
}

/// Whether any of `signals` occurred (bot hits aside), summarised occurrences included: an
/// unsubscribe, a bounce or a complaint counts for the lead's whole life, as its negative
/// points do.
pub fn has_any_signal(lead: &LeadState, signals: &BTreeSet<Signal>) -> bool {
    if signals.is_empty() {
        return false;
    }
    lead.hits
        .iter()
        .any(|h| !h.is_bot() && signals.contains(&h.signal))
        || signals
            .iter()
            .any(|s| lead.summaries.get(s).is_some_and(|x| x.occurrences > 0))
}
