//! `replay`: the same histories under two rules files, side by side.

use crate::path::first_reach;
use crate::stats::{days, quantile, Smallest};
use crate::{History, InsightOptions};
use leadscore_scoring::{
    score, Event, LeadId, LeadState, Rules, Signal, Stage, Timestamp, MILLIS_PER_DAY,
};
use serde::Serialize;

/// The two rules compared over the same leads. Leads are histories with an event by `as_of`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Replay {
    pub as_of: Timestamp,
    /// Fingerprints of the old and new rules.
    pub old_rules: String,
    pub new_rules: String,
    pub leads: u64,
    /// Leads per current stage, before (old rules) and after (new), every stage listed.
    pub stages: Vec<StageShift>,
    /// Leads that ever reached MQL or beyond, under each.
    pub mql: Changes,
    /// Leads that ever reached SQL or beyond, under each.
    pub sql: Changes,
    pub scores: ScoreShift,
    pub backtest: Backtest,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StageShift {
    pub stage: Stage,
    pub before: u64,
    pub after: u64,
}

/// `became`: reached it under the new rules only; `stopped`: under the old ones only.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Changes {
    pub before: u64,
    pub after: u64,
    pub became: LeadList,
    pub stopped: LeadList,
}

/// How many leads, and the first of them by id (at most `options.top`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LeadList {
    pub total: u64,
    pub first: Vec<LeadId>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScoreShift {
    pub before: ScoreSummary,
    pub after: ScoreSummary,
}

/// Total scores as of `as_of`: leads per fixed bucket, mean and median.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScoreSummary {
    pub buckets: Vec<Bucket>,
    pub mean: Option<f64>,
    pub median: Option<f64>,
}

/// Scores in `[low, high)`; an open end is `None`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Bucket {
    pub low: Option<i64>,
    pub high: Option<i64>,
    pub leads: u64,
}

/// The fixed bucket edges: below 0, 0-24, 25-49, 50-74, 75-99, 100-149, 150-199, 200 and up.
pub const SCORE_EDGES: [i64; 7] = [0, 25, 50, 75, 100, 150, 200];

/// The rules against what really happened. A lead's *real SQL outcome* is its earliest
/// non-bot event that is a sales acceptance, an opportunity opened, a deal won, or a
/// hand-raise (by the signal's kind, whatever either rules file says): facts, not rules.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Backtest {
    pub leads_with_outcome: u64,
    pub old: Foresight,
    pub new: Foresight,
}

/// How one rules file's MQL definition did against the real outcomes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Foresight {
    /// Leads with an outcome that these rules made MQL strictly before it.
    pub flagged_before: u64,
    /// `flagged_before` / `leads_with_outcome`.
    pub share: Option<f64>,
    /// Over those, how long before the outcome they became MQL, in days.
    pub median_days_ahead: Option<f64>,
    /// Leads these rules made MQL at least `within_days` before `as_of`...
    pub mql_leads: u64,
    /// ...and of them, those with an outcome by `within_days` after the MQL move (or before
    /// it: a hand-raise that made the lead MQL and SQL at once counts).
    pub mql_with_outcome: u64,
    /// `mql_with_outcome` / `mql_leads`: how often an MQL of these rules was a real one.
    pub precision: Option<f64>,
}

/// Folds every history under `old` and `new` as of `as_of` and compares stages, who reaches
/// MQL and SQL, scores, and each MQL definition against the real SQL outcomes. Uses
/// `options.within_days` (precision window) and `options.top` (ids listed). Streaming, and
/// independent of the order of histories and of events.
pub fn replay(
    histories: impl IntoIterator<Item = History>,
    old: &Rules,
    new: &Rules,
    as_of: Timestamp,
    options: &InsightOptions,
) -> Replay {
    let mut acc = Acc::new(options.top);
    let window = i64::from(options.within_days) * MILLIS_PER_DAY;
    for history in histories {
        let (Some(before), Some(after)) = (history.fold(old, as_of), history.fold(new, as_of))
        else {
            continue;
        };
        acc.leads += 1;
        acc.stages[index(before.stage)].0 += 1;
        acc.stages[index(after.stage)].1 += 1;
        acc.mql.add(&history.lead, &before, &after, Stage::Mql);
        acc.sql.add(&history.lead, &before, &after, Stage::Sql);
        acc.scores.0.push(score(&before, old, as_of).total);
        acc.scores.1.push(score(&after, new, as_of).total);
        let outcome = history
            .events_until(as_of)
            .filter(|e| real_outcome(e))
            .map(|e| e.occurred_at)
            .min();
        acc.with_outcome += u64::from(outcome.is_some());
        acc.old.add(&before, outcome, window, as_of);
        acc.new.add(&after, outcome, window, as_of);
    }
    acc.finish(old, new, as_of)
}

/// An event that shows the lead was sales-ready, whatever the rules.
pub fn real_outcome(e: &Event) -> bool {
    !e.is_bot()
        && (e.signal.is_hand_raise()
            || matches!(
                e.signal,
                Signal::SalesAccepted | Signal::OpportunityOpened | Signal::DealWon
            ))
}

fn index(stage: Stage) -> usize {
    Stage::ALL.iter().position(|s| *s == stage).unwrap_or(0)
}

struct ChangeAcc {
    before: u64,
    after: u64,
    became: Smallest<LeadId>,
    stopped: Smallest<LeadId>,
}

impl ChangeAcc {
    fn new(cap: usize) -> Self {
        ChangeAcc {
            before: 0,
            after: 0,
            became: Smallest::new(cap),
            stopped: Smallest::new(cap),
        }
    }
    fn add(&mut self, lead: &LeadId, before: &LeadState, after: &LeadState, stage: Stage) {
        let b = first_reach(before, stage).is_some();
        let a = first_reach(after, stage).is_some();
        self.before += u64::from(b);
        self.after += u64::from(a);
        match (b, a) {
            (false, true) => self.became.push(lead.clone()),
            (true, false) => self.stopped.push(lead.clone()),
            _ => {}
        }
    }
    fn finish(self) -> Changes {
        let list = |s: Smallest<LeadId>| LeadList {
            total: s.total(),
            first: s.into_vec(),
        };
        Changes {
            before: self.before,
            after: self.after,
            became: list(self.became),
            stopped: list(self.stopped),
        }
    }
}

#[derive(Default)]
struct ForesightAcc {
    ahead: Vec<i64>,
    mql_leads: u64,
    mql_with_outcome: u64,
}

impl ForesightAcc {
    fn add(
        &mut self,
        state: &LeadState,
        outcome: Option<Timestamp>,
        window: i64,
        as_of: Timestamp,
    ) {
        let Some(mql_at) = first_reach(state, Stage::Mql) else {
            return;
        };
        if let Some(o) = outcome.filter(|o| mql_at < *o) {
            self.ahead.push(o.millis().saturating_sub(mql_at.millis()));
        }
        let end = mql_at.plus_millis(window);
        if end <= as_of {
            self.mql_leads += 1;
            self.mql_with_outcome += u64::from(outcome.is_some_and(|o| o <= end));
        }
    }
    fn finish(mut self, with_outcome: u64) -> Foresight {
        self.ahead.sort_unstable();
        let n = self.ahead.len() as u64;
        Foresight {
            flagged_before: n,
            share: (with_outcome > 0).then(|| n as f64 / with_outcome as f64),
            median_days_ahead: quantile(&self.ahead, 0.5).map(days),
            mql_leads: self.mql_leads,
            mql_with_outcome: self.mql_with_outcome,
            precision: (self.mql_leads > 0)
                .then(|| self.mql_with_outcome as f64 / self.mql_leads as f64),
        }
    }
}

struct Acc {
    leads: u64,
    stages: [(u64, u64); 7],
    mql: ChangeAcc,
    sql: ChangeAcc,
    scores: (Vec<i64>, Vec<i64>),
    with_outcome: u64,
    old: ForesightAcc,
    new: ForesightAcc,
}

impl Acc {
    fn new(cap: usize) -> Self {
        Acc {
            leads: 0,
            stages: [(0, 0); 7],
            mql: ChangeAcc::new(cap),
            sql: ChangeAcc::new(cap),
            scores: (Vec::new(), Vec::new()),
            with_outcome: 0,
            old: ForesightAcc::default(),
            new: ForesightAcc::default(),
        }
    }

    fn finish(self, old: &Rules, new: &Rules, as_of: Timestamp) -> Replay {
        Replay {
            as_of,
            old_rules: old.fingerprint().to_string(),
            new_rules: new.fingerprint().to_string(),
            leads: self.leads,
            stages: Stage::ALL
                .iter()
                .map(|s| StageShift {
                    stage: *s,
                    before: self.stages[index(*s)].0,
                    after: self.stages[index(*s)].1,
                })
                .collect(),
            mql: self.mql.finish(),
            sql: self.sql.finish(),
            scores: ScoreShift {
                before: summary(self.scores.0),
                after: summary(self.scores.1),
            },
            backtest: Backtest {
                leads_with_outcome: self.with_outcome,
                old: self.old.finish(self.with_outcome),
                new: self.new.finish(self.with_outcome),
            },
        }
    }
}

/// Buckets, mean and median of a set of scores.
pub fn summary(mut scores: Vec<i64>) -> ScoreSummary {
    scores.sort_unstable();
    let mut buckets: Vec<Bucket> = std::iter::once(None)
        .chain(SCORE_EDGES.iter().copied().map(Some))
        .zip(
            SCORE_EDGES
                .iter()
                .copied()
                .map(Some)
                .chain(std::iter::once(None)),
        )
        .map(|(low, high)| Bucket {
            low,
            high,
            leads: 0,
        })
        .collect();
    for s in &scores {
        let i = SCORE_EDGES.partition_point(|edge| edge <= s);
        if let Some(b) = buckets.get_mut(i) {
            b.leads += 1;
        }
    }
    let n = scores.len();
    ScoreSummary {
        buckets,
        mean: (n > 0).then(|| scores.iter().map(|s| *s as f64).sum::<f64>() / n as f64),
        median: quantile(&scores, 0.5),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_fall_in_fixed_buckets() {
        let s = summary(vec![-5, 0, 24, 25, 199, 200, 1_000]);
        let counts: Vec<u64> = s.buckets.iter().map(|b| b.leads).collect();
        assert_eq!(counts, vec![1, 2, 1, 0, 0, 0, 1, 2]);
        assert_eq!(s.buckets[0].low, None);
        assert_eq!(s.buckets[0].high, Some(0));
        assert_eq!(s.buckets[7].low, Some(200));
        assert_eq!(s.median, Some(25.0));
        assert_eq!(summary(Vec::new()).mean, None);
    }
}
