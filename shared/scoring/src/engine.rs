//! `apply`, `rebuild` and `score`: a lead as a pure function of its set of events.
//!
//! Each event adds its hit (and, if it carries one, its fact) to the lead's evidence; the
//! funnel is then the fold of that evidence in event-time order. An event newer than all
//! others is one more fold step; any other (a late delivery, a tie, a retroactive bot
//! verdict) re-folds from the checkpoint. So the same events give the same lead whatever the
//! order and batching of their arrival; only `recorded_at` says when things became known.

use crate::compact::advance_checkpoint;
use crate::fold::{advance, apply_fact, fold_range, stamp, step};
use crate::points::{counted_hits, engagement, fit, grade};
use crate::state::{Fact, Funnel};
use crate::{Event, LeadState, Rules, Signal, SignalKind, Stage, Timestamp, Transition};
use serde::{Deserialize, Serialize};

/// The result of applying one event.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub state: LeadState,
    /// Moves this event added to the lead's history (a late event may restate later ones).
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

/// One rule's share of the score: `signal:<name>`, `fit:<rule id>`, or a cap's adjustment
/// (`cap:group:<name>`, `cap:engagement`, `cap:fit`).
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

/// The sales-feedback signals a lead in `stage` accepts, and where each one takes it.
pub fn allowed_sales_signals(stage: Stage) -> Vec<Signal> {
    Signal::ALL
        .iter()
        .copied()
        .filter(|s| sales_move(stage, *s).is_some())
        .collect()
}

/// Where a sales action takes a lead from `stage`, or `None` if it is not allowed there.
pub(crate) fn sales_move(stage: Stage, signal: Signal) -> Option<Stage> {
    use Stage::*;
    match (signal, stage) {
        (Signal::SalesAccepted, Lead | Mql) => Some(Sql),
        (Signal::SalesRejected, Mql | Sql) => Some(Lead),
        (Signal::OpportunityOpened, Lead | Mql | Sql) => Some(Opportunity),
        (Signal::DealWon, Sql | Opportunity) => Some(Customer),
        (Signal::DealLost, Sql | Opportunity) => Some(Lead),
        (Signal::Disqualified, Lead | Mql | Sql | Opportunity) => Some(Lead),
        (Signal::EvangelistConfirmed, Customer) => Some(Evangelist),
        (Signal::BantReported, Lead | Mql | Sql | Opportunity | Customer | Evangelist) => {
            Some(stage)
        }
        _ => None,
    }
}

/// Applies `event` to `state` at `now`. Pure and deterministic.
///
/// An event dated after `now` is taken as happening at `now` (a sender's clock running ahead
/// must not make points last longer); the caller stores it with that time
/// ([`clamped`]) so that a later re-fold gives the same lead. A sales action must be allowed
/// by the lead's current stage (the API answers 409 otherwise).
pub fn apply(
    state: &LeadState,
    event: &Event,
    rules: &Rules,
    now: Timestamp,
) -> Result<Outcome, InvalidTransition> {
    if state.has_seen(&event.id) {
        return Ok(Outcome {
            state: state.clone(),
            transitions: Vec::new(),
            duplicate: true,
        });
    }
    let event = clamped(event, now);
    if event.signal.kind() == SignalKind::SalesFeedback
        && !event.is_bot()
        && sales_move(state.stage, event.signal).is_none()
    {
        return Err(InvalidTransition {
            current: state.stage,
            signal: event.signal,
            allowed: allowed_sales_signals(state.stage),
        });
    }
    let next = fold_in(state.clone(), &event, rules, now);
    let transitions = next
        .stage_history
        .iter()
        .filter(|t| !state.stage_history.iter().any(|k| k.same_move(t)))
        .cloned()
        .collect();
    Ok(Outcome {
        state: next,
        transitions,
        duplicate: false,
    })
}

/// The event as it is applied and kept: dated no later than `now`.
pub fn clamped(event: &Event, now: Timestamp) -> Event {
    let mut event = event.clone();
    event.occurred_at = event.occurred_at.min(now);
    event
}

/// The lead folded afresh from its whole ledger (under new rules, or from an older stored
/// format). Identity comes from `like`; moves it already had keep their `recorded_at`; new
/// ones are recorded at `now`. Sales actions are not re-validated: those the fold no longer
/// allows are kept as superseded.
pub fn rebuild(like: &LeadState, ledger: &[Event], rules: &Rules, now: Timestamp) -> LeadState {
    let mut events: Vec<&Event> = ledger.iter().collect();
    events.sort_by(|a, b| (a.occurred_at, &a.id).cmp(&(b.occurred_at, &b.id)));
    events.dedup_by(|a, b| a.id == b.id);
    let first = events.first().map_or(like.first_seen, |e| e.occurred_at);
    let mut state = LeadState::new(
        &crate::Identity {
            email: like.email.clone(),
            anonymous_id: None,
        },
        first,
    );
    state.id = like.id.clone();
    state.anonymous_ids = like.anonymous_ids.clone();
    state.stage_recorded_at = like.stage_recorded_at;
    for e in events {
        state = fold_in(state, e, rules, now.max(e.occurred_at));
    }
    stamp(&mut state.stage_history, &like.stage_history, now);
    if let Some(c) = state.checkpoint.as_mut() {
        stamp(&mut c.funnel.stage_history, &like.stage_history, now);
    }
    // The same moves as before: the stage was recorded when it was, not at this re-fold.
    state.stage_recorded_at = if state.stage_history == like.stage_history {
        like.stage_recorded_at
    } else {
        stage_recorded_at(&state)
    };
    state
}

/// Adds one (clamped, not yet seen) event to the evidence and re-folds what it can change.
fn fold_in(mut next: LeadState, event: &Event, rules: &Rules, now: Timestamp) -> LeadState {
    let at = event.occurred_at;
    let old_history = next.stage_history.clone();
    let identified_before = next.identified_at;
    let human_before =
        next.hits.iter().any(|h| !h.is_bot()) || next.summaries.values().any(|s| s.occurrences > 0);
    if next.rules != rules.fingerprint() {
        next.rules = rules.fingerprint().to_string();
    }
    if next.events == 0 {
        // A fresh state was dated by the event itself, perhaps from the future.
        next.first_seen = at;
        next.last_seen = at;
        next.stage_entered_at = at;
        next.stage_recorded_at = now;
    }
    next.events += 1;
    if next.email.is_none() {
        next.email.clone_from(&event.identity.email);
    }
    if event.identity.email.is_some() {
        next.identified_at = Some(next.identified_at.map_or(at, |i| i.min(at)));
    }
    next.first_seen = next.first_seen.min(at);
    // The latest human activity; only bots so far: the first one seen.
    if !event.is_bot() {
        next.last_seen = if human_before {
            next.last_seen.max(at)
        } else {
            at
        };
    } else if !human_before {
        next.last_seen = next.first_seen;
    }
    let latest_before = next.latest_at();
    let disturbed = crate::bots::insert_hit(&mut next, event, rules);
    let fact = Fact::of(event);
    let horizon = next.checkpoint.as_ref().map(|c| c.at);

    if let Some(c) = horizon.filter(|c| at <= *c) {
        // Older than the lateness window: folded at the checkpoint, which it joins for good.
        settle_beyond_horizon(&mut next, rules, c);
        if let Some(mut checkpoint) = next.checkpoint.take() {
            if let Some(fact) = &fact {
                apply_fact(&mut checkpoint.funnel, fact);
            }
            advance(&next, &mut checkpoint.funnel, rules, c);
            next.checkpoint = Some(checkpoint);
        }
        refold(&mut next, rules);
    } else {
        if let Some(fact) = fact {
            let pos = next
                .facts
                .partition_point(|f| (f.at, &f.event) < (fact.at, &fact.event));
            next.facts.insert(pos, fact);
        }
        let in_order = !disturbed
            && latest_before.is_none_or(|l| at > l)
            && identified_before == next.identified_at;
        if in_order {
            let mut funnel = next.funnel();
            step(&next, &mut funnel, rules, at);
            next.set_funnel(funnel);
        } else {
            refold(&mut next, rules);
        }
    }
    stamp(&mut next.stage_history, &old_history, now);
    if next.stage_history != old_history {
        next.stage_recorded_at = stage_recorded_at(&next);
    }
    advance_checkpoint(&mut next, rules, now);
    next.pql = rules.pql_signals.iter().any(|s| {
        next.hits.iter().any(|h| h.signal == *s && !h.is_bot())
            || next.summaries.get(s).is_some_and(|x| x.occurrences > 0)
    });
    next
}

/// When the lead's current stage was recorded: its last move's, or its creation's.
fn stage_recorded_at(state: &LeadState) -> Timestamp {
    state
        .stage_history
        .last()
        .map_or(state.stage_recorded_at, |t| t.recorded_at)
}

/// The whole funnel folded again from the checkpoint (or from the start).
fn refold(state: &mut LeadState, rules: &Rules) {
    let (mut funnel, after) = match &state.checkpoint {
        Some(c) => (c.funnel.clone(), Some(c.at)),
        None => (Funnel::start(state.first_seen), None),
    };
    fold_range(state, &mut funnel, rules, after, None);
    state.set_funnel(funnel);
}

/// A hit that arrives older than the checkpoint gets its frequency-limit verdict at once: it
/// counts if its signal's limit leaves room among the counted hits around it, and it never
/// takes the place of a verdict already frozen.
fn settle_beyond_horizon(state: &mut LeadState, rules: &Rules, checkpoint: Timestamp) {
    let pending: Vec<usize> = (0..state.hits.len())
        .filter(|i| state.hits[*i].at <= checkpoint && state.hits[*i].counted.is_none())
        .collect();
    for i in pending {
        let h = &state.hits[i];
        let room = match rules.signals.get(&h.signal).and_then(|r| r.limit) {
            None => true,
            Some((count, window)) => {
                let near = state
                    .hits
                    .iter()
                    .filter(|k| k.signal == h.signal && k.counted == Some(true))
                    .filter(|k| (k.at.millis() - h.at.millis()).abs() < window)
                    .count();
                near < count as usize
            }
        };
        state.hits[i].counted = Some(room && !state.hits[i].is_bot());
    }
}

/// The score of `state` as of `now` (decay and expiry applied). Pure and deterministic.
pub fn score(state: &LeadState, rules: &Rules, now: Timestamp) -> ScoreBreakdown {
    let (mut contributions, fit_points) = fit(state, rules);
    let counted = counted_hits(&state.hits, &state.summaries, rules, now, None);
    let (lines, engagement_points) = engagement(&counted, &state.summaries, rules, now, None);
    contributions.extend(lines);
    ScoreBreakdown {
        fit: fit_points,
        engagement: engagement_points,
        total: fit_points + engagement_points,
        grade: grade(fit_points, rules),
        contributions,
    }
}

impl LeadState {
    /// Stitches an anonymous visitor's history into this lead: its evidence, anonymous ids and
    /// first visit, then re-folds. The lead's own profile answers win over the visitor's.
    /// Absorbing the same visitor twice changes nothing.
    /// Moves the absorbed history makes are recorded at `now`.
    pub fn absorb_visitor(&mut self, visitor: &LeadState, rules: &Rules, now: Timestamp) {
        self.anonymous_ids
            .extend(visitor.anonymous_ids.iter().cloned());
        let mut added = 0;
        for hit in &visitor.hits {
            if !self.has_seen(&hit.event) {
                let pos = self.hits.partition_point(|h| h < hit);
                self.hits.insert(pos, hit.clone());
                added += 1;
            }
        }
        for fact in &visitor.facts {
            if !self.facts.iter().any(|f| f.event == fact.event) {
                let pos = self
                    .facts
                    .partition_point(|f| (f.at, &f.event) < (fact.at, &fact.event));
                self.facts.insert(pos, fact.clone());
            }
        }
        if added == 0 && visitor.summaries.is_empty() {
            return;
        }
        for (signal, s) in &visitor.summaries {
            match self.summaries.get_mut(signal) {
                None => {
                    self.summaries.insert(*signal, s.clone());
                }
                Some(mine) => crate::compact::merge_summary(mine, s, *signal, rules),
            }
        }
        self.events += added + visitor.events.saturating_sub(visitor.hits.len() as u64);
        self.first_seen = self.first_seen.min(visitor.first_seen);
        self.last_seen = self.last_seen.max(visitor.last_seen);
        let known = self.stage_history.clone();
        refold(self, rules);
        stamp(&mut self.stage_history, &known, now);
        if self.stage_history != known {
            self.stage_recorded_at = stage_recorded_at(self);
        }
    }
}

/// Folds an event already accepted (read back from the ledger) into `state`: no sales
/// validation, a duplicate id changes nothing, and moves it makes known are recorded at
/// `recorded_at` (when the event arrived).
pub fn fold_event(
    state: LeadState,
    event: &Event,
    rules: &Rules,
    recorded_at: Timestamp,
) -> LeadState {
    if state.has_seen(&event.id) {
        return state;
    }
    fold_in(state, event, rules, recorded_at)
}
