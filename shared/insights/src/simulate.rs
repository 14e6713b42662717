//! Synthetic histories from a known truth: what `learn` and the other analyses are tested
//! against, and what `leadscore simulate` writes.
//!
//! Each lead is drawn on its own from `(seed, index)` by a small SplitMix64 generator (no
//! dependency, and a lead can be regenerated alone: 100,000 leads are an iterator, never a
//! vector in memory). The story of a lead, under the DEFAULT rules (`infra/rules.toml`):
//!
//! - it arrives in one of `months` months, drawn with a yearly seasonality, some first as an
//!   anonymous visitor whose site visits are stitched by a visit carrying email and anonymous
//!   id (a few visitors never give their email);
//! - some leads are bots: only clicks and opens, flagged by the provider (a [`BotVerdict`]) or
//!   in bursts on one message that the fold flags itself (`[bots] burst_seconds`); some people
//!   get such scanner clicks too, and they must count for nothing;
//! - a share of the people become MQLs by one of three paths ([`MqlPath`]), each a burst of
//!   activity that passes the rules with a margin; on top of it, an MQL shows each signal of
//!   the truth with its own probability. The others stay leads: light activity, well under
//!   the MQL threshold (a few raise their hand straight away: an SQL that was no MQL before, or
//!   one that the hand-raise made MQL and SQL at once);
//! - an MQL converts with the probability `truth.probability(signals shown)`: a logistic
//!   model of the signals it showed (the path's and the drawn ones). A conversion is a
//!   hand-raise (demo or contact request) or a sales acceptance (`qual:<lead>:<client id>`, as
//!   the qualification API writes it), `conversion_days` after the MQL burst, and after
//!   every other signal of the lead. Some MQLs that do not convert are rejected by sales.
//!
//! Since the signals an MQL shows are the union of its path's, its visitor phase's and
//! independent draws, the truth answers `P(SQL | MQL, showed s or not)` exactly by enumerating
//! paths and subsets of the drawn signals (a few thousand terms), not by sampling.

mod story;
mod truth;

pub use truth::{MqlPath, SignalTruth, Truth};

use crate::History;
use leadscore_scoring::{Signal, Stage, Timestamp, MILLIS_PER_DAY};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// A month of the simulation: a twelfth of a Gregorian year.
pub const MONTH_MS: i64 = 2_629_746_000;

/// What to simulate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimConfig {
    pub leads: usize,
    pub seed: u64,
    /// The first month's start: leads arrive over `months` months from here.
    pub start: Timestamp,
    pub months: u32,
    pub truth: Truth,
}

/// What kind of lead the truth drew.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LeadKind {
    Bot,
    /// Never gave an email.
    Visitor,
    /// Light activity: stays a lead.
    Lead,
    /// Raised a hand without being an MQL first.
    DirectSql,
    Mql,
}

/// What the truth intends for one lead.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Intended {
    pub kind: LeadKind,
    /// The stage the lead's whole history folds into under the default rules.
    pub stage: Stage,
    pub path: Option<MqlPath>,
    /// When the MQL burst ends: the lead is an MQL by then (perhaps earlier).
    pub mql_by: Option<Timestamp>,
    /// Interest signals shown by the person (bot clicks excluded), before any conversion.
    pub shown: BTreeSet<Signal>,
    /// For MQLs: the truth's probability of conversion.
    pub probability: Option<f64>,
    pub converted_at: Option<Timestamp>,
}

/// One simulated lead: its history and what the truth intends for it.
#[derive(Debug, Clone, PartialEq)]
pub struct SimulatedLead {
    pub index: usize,
    pub history: History,
    pub intended: Intended,
}

/// A simulation: the truth, and its leads drawn on demand (deterministic for the seed).
#[derive(Debug, Clone, PartialEq)]
pub struct Simulation {
    pub config: SimConfig,
    pub truth: Truth,
}

/// Prepares a simulation; the leads are drawn lazily by [`Simulation::leads`] and
/// [`Simulation::histories`].
pub fn simulate(config: &SimConfig) -> Simulation {
    Simulation {
        config: config.clone(),
        truth: config.truth.clone(),
    }
}

impl Simulation {
    pub fn len(&self) -> usize {
        self.config.leads
    }

    pub fn is_empty(&self) -> bool {
        self.config.leads == 0
    }

    /// Every lead with what the truth intends for it, in index order.
    pub fn leads(&self) -> impl Iterator<Item = SimulatedLead> + '_ {
        (0..self.config.leads).map(|i| self.lead(i))
    }

    /// Every lead's history, in index order.
    pub fn histories(&self) -> impl Iterator<Item = History> + '_ {
        self.leads().map(|l| l.history)
    }

    /// The time after which nothing happens any more and every 90-day window after an MQL
    /// has closed: an `as_of` at which the whole truth is observable.
    pub fn settled_at(&self) -> Timestamp {
        let months = i64::from(self.config.months.max(1));
        let last = self.truth.conversion_days[1].max(self.truth.conversion_days[0]);
        let tail = (i64::from(last) + 10).max(90) + 30;
        self.config
            .start
            .plus_millis(months * MONTH_MS + tail * MILLIS_PER_DAY)
    }

    /// Lead `index`, drawn alone from `(seed, index)`.
    pub fn lead(&self, index: usize) -> SimulatedLead {
        story::lead(&self.config, &self.truth, index)
    }
}
