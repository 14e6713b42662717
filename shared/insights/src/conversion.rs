//! MQL -> SQL conversion per signal: did the MQLs who showed a signal become SQL more often?

use crate::path::first_reach;
use crate::stats::{bonferroni, ratio_interval, sane_confidence, Interval, Rate};
use crate::History;
use leadscore_scoring::{
    Email, Event, EventId, Identity, LeadId, LeadState, Rules, Signal, SignalKind, Stage,
    Timestamp, MILLIS_PER_DAY,
};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// A lead's place in the MQL -> SQL cohort: one definition for `insights` and `learn`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cohort {
    /// Never moved to MQL.
    NotMql,
    /// Reached SQL with no MQL stay before it: a hand-raise straight from lead (or one that
    /// made the lead MQL and SQL at once). Its conversion is the hand-raise by definition, so
    /// counting it would lift every "without" rate with leads that were never worked as MQLs.
    SqlWithoutMql,
    /// Moved to MQL less than the window before `as_of`: its outcome is not known yet.
    Open,
    /// Moved to MQL at `mql_at`, window over by `as_of`. `converted`: reached SQL (or beyond)
    /// within the window. `cutoff`: what the lead did up to then is what it "showed" (its SQL
    /// move if converted, else the window's end).
    Closed {
        mql_at: Timestamp,
        converted: bool,
        cutoff: Timestamp,
    },
}

impl Cohort {
    pub fn of(state: &LeadState, within_days: u32, as_of: Timestamp) -> Cohort {
        let moves = &state.stage_history;
        let Some(mql_at) = moves.iter().find(|t| t.to == Stage::Mql).map(|t| t.at) else {
            return match first_reach(state, Stage::Sql) {
                Some(_) => Cohort::SqlWithoutMql,
                None => Cohort::NotMql,
            };
        };
        let sql_at = moves
            .iter()
            .find(|t| t.to >= Stage::Sql && t.at >= mql_at)
            .map(|t| t.at);
        if sql_at == Some(mql_at) {
            return Cohort::SqlWithoutMql;
        }
        let end = mql_at.plus_millis(i64::from(within_days) * MILLIS_PER_DAY);
        if end > as_of {
            return Cohort::Open;
        }
        match sql_at.filter(|s| *s <= end) {
            Some(sql_at) => Cohort::Closed {
                mql_at,
                converted: true,
                cutoff: sql_at,
            },
            None => Cohort::Closed {
                mql_at,
                converted: false,
                cutoff: end,
            },
        }
    }
}

/// Events that count as the lead's own behaviour: not bots, not sales feedback (outcomes).
pub fn behaviour(event: &Event) -> bool {
    !event.is_bot() && event.signal.kind() != SignalKind::SalesFeedback
}

/// Conversion of closed MQL cohorts, per signal.
///
/// The cohort: leads that moved to MQL at least `within_days` before `as_of`, so that each
/// one's outcome is known; leads whose window is still open (`open`) and hand-raises that
/// skipped MQL (`sql_without_mql`, see [`Cohort::SqlWithoutMql`]) are only counted. A lead converted if it reached SQL within
/// `within_days` of its MQL move. It "showed" a signal if a non-bot event of it is dated at
/// or before its SQL move (converted) or its window's end (not converted).
///
/// Intervals: each rate has a Wilson interval at `confidence`, and a simultaneous one at
/// `simultaneous_confidence` = 1 - (1 - confidence) / `comparisons`, Bonferroni over every
/// rate in this report (the baseline and, per signal, with and without), so that all of them
/// hold together with probability at least `confidence`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SignalReport {
    pub within_days: u32,
    pub open: u64,
    pub sql_without_mql: u64,
    /// The whole closed cohort.
    pub baseline: Rate,
    pub confidence: f64,
    pub simultaneous_confidence: f64,
    pub comparisons: u64,
    /// Signals shown by at least one lead of the cohort, in signal order.
    pub signals: Vec<SignalConversion>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SignalConversion {
    pub signal: Signal,
    /// The rules make a lead SQL on this signal alone (a hand-raise): its conversion is 100%
    /// by definition, not a finding.
    pub defines_sql: bool,
    pub with: Rate,
    pub without: Rate,
    /// Rate with / rate without; `None` when either is unknown or "without" is zero.
    pub lift: Option<f64>,
    /// The lift's Katz interval at the report's confidence (one signal at a time: read
    /// several together with the rates' simultaneous intervals); `None` without leads on a
    /// side.
    pub lift_interval: Option<Interval>,
}

#[derive(Default)]
pub(crate) struct SignalAcc {
    open: u64,
    sql_without_mql: u64,
    leads: u64,
    converted: u64,
    with: BTreeMap<Signal, (u64, u64)>,
}

impl SignalAcc {
    pub fn add(&mut self, history: &History, cohort: Cohort, as_of: Timestamp) {
        let Cohort::Closed {
            converted, cutoff, ..
        } = cohort
        else {
            self.open += u64::from(cohort == Cohort::Open);
            self.sql_without_mql += u64::from(cohort == Cohort::SqlWithoutMql);
            return;
        };
        self.leads += 1;
        self.converted += u64::from(converted);
        let shown: BTreeSet<Signal> = history
            .events_until(as_of)
            .filter(|e| behaviour(e) && e.occurred_at <= cutoff)
            .map(|e| e.signal)
            .collect();
        for s in shown {
            let entry = self.with.entry(s).or_insert((0, 0));
            entry.0 += 1;
            entry.1 += u64::from(converted);
        }
    }

    pub fn finish(self, rules: &Rules, within_days: u32, confidence: f64) -> SignalReport {
        let confidence = sane_confidence(confidence);
        let comparisons = 1 + 2 * self.with.len() as u64;
        let joint = bonferroni(confidence, comparisons);
        let rate = |k, n| Rate::new(k, n, confidence, joint);
        let signals = self
            .with
            .iter()
            .map(|(signal, (n, k))| {
                let with = rate(*k, *n);
                let without = rate(self.converted - k, self.leads - n);
                let lift = match (with.rate, without.rate) {
                    (Some(a), Some(b)) if b > 0.0 => Some(a / b),
                    _ => None,
                };
                let (k2, n2) = (self.converted - k, self.leads - n);
                let lift_interval = ratio_interval(*k, *n, k2, n2, confidence);
                SignalConversion {
                    signal: *signal,
                    defines_sql: defines_sql(rules, *signal),
                    with,
                    without,
                    lift,
                    lift_interval,
                }
            })
            .collect();
        SignalReport {
            within_days,
            open: self.open,
            sql_without_mql: self.sql_without_mql,
            baseline: rate(self.converted, self.leads),
            confidence,
            simultaneous_confidence: joint,
            comparisons,
            signals,
        }
    }
}

/// Whether `signal` alone makes an identified lead SQL under `rules`: asked of the scoring
/// code itself (one event folded), so it follows the rules file whatever it says.
pub fn defines_sql(rules: &Rules, signal: Signal) -> bool {
    let (Ok(id), Ok(email)) = (EventId::parse("probe"), Email::parse("probe@example.com")) else {
        return false;
    };
    let at = Timestamp::from_millis(MILLIS_PER_DAY);
    let identity = Identity {
        email: Some(email.clone()),
        anonymous_id: None,
    };
    let probe = History {
        lead: LeadId::for_email(&email),
        events: vec![Event::new(id, signal, at, identity)],
    };
    probe
        .fold(rules, at)
        .is_some_and(|state| first_reach(&state, Stage::Sql).is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_raises_define_sql_and_interest_does_not() {
        let rules = Rules::default_rules();
        assert!(defines_sql(&rules, Signal::DemoRequested));
        assert!(defines_sql(&rules, Signal::CartAdded));
        assert!(!defines_sql(&rules, Signal::DemoVideoWatched));
        assert!(!defines_sql(&rules, Signal::NewsletterSubscribed));
        let gated = leadscore_scoring::DEFAULT_RULES_TOML.replace(
            "require_sales_acceptance = false",
            "require_sales_acceptance = true",
        );
        let gated = Rules::from_toml_str(&gated).unwrap();
        assert!(!defines_sql(&gated, Signal::DemoRequested));
    }
}
