//! `apply` and `score`. (Skeleton signatures; the scoring work implements them.)

use crate::{Event, LeadState, Rules, Signal, Stage, Timestamp, Transition};
use serde::{Deserialize, Serialize};

/// The result of applying one event.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub state: LeadState,
    pub transitions: Vec<Transition>,
    /// The event id was already applied: `state` is unchanged.
    pub duplicate: bool,
}

/// A sales action that the lead's current stage does not allow (HTTP 409 at the edge).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{signal} is not allowed while the lead is {current}")]
pub struct InvalidTransition {
    pub current: Stage,
    pub signal: Signal,
    /// The sales-feedback signals allowed now.
    pub allowed: Vec<Signal>,
}

/// A grade from fit: A is the best fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Grade {
    A,
    B,
    C,
    D,
}

/// One rule's share of the score.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contribution {
    pub rule: String,
    pub points: i64,
}

/// The score as of a given time, with its explanation. `total` is exactly the sum of the
/// contributions, and `fit + engagement == total`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScoreBreakdown {
    pub fit: i64,
    pub engagement: i64,
    pub total: i64,
    pub grade: Grade,
    pub contributions: Vec<Contribution>,
}

/// Applies `event` to `state` at `now`. Pure and deterministic.
pub fn apply(
    state: &LeadState,
    event: &Event,
    _rules: &Rules,
    _now: Timestamp,
) -> Result<Outcome, InvalidTransition> {
    if state.has_seen(&event.id) {
        return Ok(Outcome {
            state: state.clone(),
            transitions: Vec::new(),
            duplicate: true,
        });
    }
    let mut next = state.clone();
    next.seen.insert(event.id.clone());
    next.last_seen = next.last_seen.max(event.occurred_at);
    next.profile.merge(&event.profile);
    next.bant.record(&event.bant, event.occurred_at);
    Ok(Outcome {
        state: next,
        transitions: Vec::new(),
        duplicate: false,
    })
}

/// The score of `state` as of `now` (decay and expiry applied). Pure and deterministic.
pub fn score(_state: &LeadState, _rules: &Rules, _now: Timestamp) -> ScoreBreakdown {
    ScoreBreakdown {
        fit: 0,
        engagement: 0,
        total: 0,
        grade: Grade::D,
        contributions: Vec::new(),
    }
}
