//! What the analyses read of one folded lead: when it first reached each stage, and its
//! stays in each stage.

use leadscore_scoring::{LeadState, Stage, Timestamp, Transition};

/// The first time the lead was at `stage` or beyond: its first move to such a stage (a lead
/// that jumps from lead to SQL has passed MQL at that moment). A visitor "reaches" the
/// visitor stage when first seen.
pub fn first_reach(state: &LeadState, stage: Stage) -> Option<Timestamp> {
    if stage == Stage::Visitor {
        return Some(state.first_seen);
    }
    first_reach_in(&state.stage_history, stage)
}

/// [`first_reach`] over a bare stage history.
pub fn first_reach_in(history: &[Transition], stage: Stage) -> Option<Timestamp> {
    history.iter().find(|t| t.to >= stage).map(|t| t.at)
}

/// One stay in a stage: from the move into it to the next move, or to `as_of` (`ongoing`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stay {
    pub stage: Stage,
    pub from: Timestamp,
    pub millis: i64,
    pub ongoing: bool,
}

/// Every stay of the lead in order, starting as a visitor when first seen. Two hops at one
/// time (lead to MQL to SQL by one event) leave a stay of zero length.
pub fn stays(state: &LeadState, as_of: Timestamp) -> Vec<Stay> {
    let mut out = Vec::with_capacity(state.stage_history.len() + 1);
    let mut stage = Stage::Visitor;
    let mut from = state.first_seen;
    for t in &state.stage_history {
        out.push(Stay {
            stage,
            from,
            millis: t.at.millis().saturating_sub(from.millis()).max(0),
            ongoing: false,
        });
        stage = t.to;
        from = t.at;
    }
    out.push(Stay {
        stage,
        from,
        millis: as_of.millis().saturating_sub(from.millis()).max(0),
        ongoing: true,
    });
    out
}
