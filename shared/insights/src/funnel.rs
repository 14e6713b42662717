//! The funnel: leads per current stage, the share of each forward step, time in each stage,
//! and MQLs left unworked past the SLA.

use crate::path::{first_reach, stays};
use crate::stats::{days, quantile, Smallest};
use crate::History;
use leadscore_scoring::{LeadId, LeadState, SignalKind, Stage, Timestamp};
use serde::Serialize;

/// The forward steps whose conversion the funnel reports.
pub const STEPS: [(Stage, Stage); 5] = [
    (Stage::Lead, Stage::Mql),
    (Stage::Mql, Stage::Sql),
    (Stage::Sql, Stage::Opportunity),
    (Stage::Opportunity, Stage::Customer),
    (Stage::Customer, Stage::Evangelist),
];

/// How many leads break the SLA list off at.
pub const LISTED: usize = 20;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Funnel {
    /// Leads per current stage, every stage listed in funnel order.
    pub stages: Vec<StageCount>,
    pub steps: Vec<Step>,
    pub time_in_stage: Vec<StageTime>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StageCount {
    pub stage: Stage,
    pub leads: u64,
}

/// Of the leads that ever reached `from` (or beyond), how many ever reached `to` (or beyond).
/// A lead that skipped a stage (lead to SQL by a demo request) passed it at that moment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Step {
    pub from: Stage,
    pub to: Stage,
    pub reached_from: u64,
    pub reached_to: u64,
    pub share: Option<f64>,
}

/// Time spent per stay in a stage, in days, from the moves' event times (`at`). A stay runs
/// from the move into the stage to the next move; a lead still in the stage counts up to
/// `as_of` (`ongoing` such stays), so for stages leads tend to stay in, the figures are lower
/// bounds of the eventual ones. A lead that re-enters a stage (recycled) has several stays;
/// two moves at one time leave a stay of zero.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StageTime {
    pub stage: Stage,
    pub stays: u64,
    pub ongoing: u64,
    pub median_days: Option<f64>,
    pub p90_days: Option<f64>,
}

/// MQL moves with no later move and no sales action within `hours`: leads marketing handed
/// over and nobody worked. A lead counts once (its first such move is listed); an MQL move
/// younger than `hours` at `as_of` with nothing yet is `pending`, not breached.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sla {
    pub hours: u32,
    /// Leads with at least one move into MQL.
    pub mql_leads: u64,
    pub breached: u64,
    pub pending: u64,
    /// The first breaches (oldest MQL move first, ties by lead id), at most 20.
    pub first: Vec<SlaBreach>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct SlaBreach {
    pub mql_at: Timestamp,
    pub lead: LeadId,
    /// Still in that MQL stay as of the analysis.
    pub still_mql: bool,
}

pub(crate) struct FunnelAcc {
    current: [u64; 7],
    reached: [u64; 7],
    stays: Vec<Vec<i64>>,
    ongoing: [u64; 7],
    sla_ms: i64,
    hours: u32,
    mql_leads: u64,
    pending: u64,
    breaches: Smallest<SlaBreach>,
}

fn index(stage: Stage) -> usize {
    Stage::ALL.iter().position(|s| *s == stage).unwrap_or(0)
}

impl FunnelAcc {
    pub fn new(sla_hours: u32) -> Self {
        FunnelAcc {
            current: [0; 7],
            reached: [0; 7],
            stays: vec![Vec::new(); 7],
            ongoing: [0; 7],
            sla_ms: i64::from(sla_hours) * 3_600_000,
            hours: sla_hours,
            mql_leads: 0,
            pending: 0,
            breaches: Smallest::new(LISTED),
        }
    }

    pub fn add(&mut self, history: &History, state: &LeadState, as_of: Timestamp) {
        self.current[index(state.stage)] += 1;
        for stage in Stage::ALL {
            if first_reach(state, stage).is_some() {
                self.reached[index(stage)] += 1;
            }
        }
        for stay in stays(state, as_of) {
            let i = index(stay.stage);
            self.stays[i].push(stay.millis);
            self.ongoing[i] += u64::from(stay.ongoing);
        }
        self.sla(history, state, as_of);
    }

    fn sla(&mut self, history: &History, state: &LeadState, as_of: Timestamp) {
        let moves = &state.stage_history;
        let mut any = false;
        let mut pending = false;
        for (i, m) in moves.iter().enumerate().filter(|(_, t)| t.to == Stage::Mql) {
            any = true;
            let deadline = m.at.plus_millis(self.sla_ms);
            let moved = moves.get(i + 1).is_some_and(|next| next.at <= deadline);
            let sales = history.events_until(as_of).any(|e| {
                e.signal.kind() == SignalKind::SalesFeedback
                    && !e.is_bot()
                    && e.occurred_at >= m.at
                    && e.occurred_at <= deadline
            });
            if moved || sales {
                continue;
            }
            if deadline > as_of {
                pending = true;
                continue;
            }
            self.breaches.push(SlaBreach {
                mql_at: m.at,
                lead: state.id.clone(),
                still_mql: i + 1 == moves.len(),
            });
            self.mql_leads += 1;
            return;
        }
        self.mql_leads += u64::from(any);
        self.pending += u64::from(pending);
    }

    pub fn finish(mut self) -> (Funnel, Sla) {
        let stages = Stage::ALL
            .iter()
            .map(|s| StageCount {
                stage: *s,
                leads: self.current[index(*s)],
            })
            .collect();
        let steps = STEPS
            .iter()
            .map(|(from, to)| {
                let (a, b) = (self.reached[index(*from)], self.reached[index(*to)]);
                Step {
                    from: *from,
                    to: *to,
                    reached_from: a,
                    reached_to: b,
                    share: (a > 0).then(|| b as f64 / a as f64),
                }
            })
            .collect();
        let time_in_stage = Stage::ALL
            .iter()
            .map(|s| {
                let i = index(*s);
                let v = &mut self.stays[i];
                v.sort_unstable();
                StageTime {
                    stage: *s,
                    stays: v.len() as u64,
                    ongoing: self.ongoing[i],
                    median_days: quantile(v, 0.5).map(days),
                    p90_days: quantile(v, 0.9).map(days),
                }
            })
            .collect();
        let sla = Sla {
            hours: self.hours,
            mql_leads: self.mql_leads,
            breached: self.breaches.total(),
            pending: self.pending,
            first: self.breaches.into_vec(),
        };
        (
            Funnel {
                stages,
                steps,
                time_in_stage,
            },
            sla,
        )
    }
}
