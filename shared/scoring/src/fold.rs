//! The funnel fold: a lead's facts and evidence taken in event-time order (ties by event id),
//! one evaluation per distinct time. Automatic moves go to the furthest stage the evidence as
//! of that time supports, dated by it; sales actions apply at their own time if the stage
//! then allows them, and are kept as superseded otherwise.

use crate::engine::sales_move;
use crate::points::{counted_hits, engagement};
use crate::state::{Fact, Funnel, Hit, Superseded};
use crate::{
    Cause, Disqualification, LeadState, Rules, Signal, SignalKind, Stage, Timestamp, Transition,
};
use std::collections::BTreeSet;

/// Folds every fact and evaluation time in `(after, upto]` onto `funnel`. The evidence (hits,
/// summaries, identity) is read from `state`; its own funnel fields are not used.
pub(crate) fn fold_range(
    state: &LeadState,
    funnel: &mut Funnel,
    rules: &Rules,
    after: Option<Timestamp>,
    upto: Option<Timestamp>,
) {
    let within = |t: Timestamp| after.is_none_or(|a| t > a) && upto.is_none_or(|u| t <= u);
    let times: BTreeSet<Timestamp> = state
        .hits
        .iter()
        .map(|h| h.at)
        .chain(state.facts.iter().map(|f| f.at))
        .filter(|t| within(*t))
        .collect();
    let mut facts = state.facts.iter().filter(|f| within(f.at)).peekable();
    for at in times {
        while let Some(fact) = facts.next_if(|f| f.at == at) {
            apply_fact(funnel, fact);
        }
        advance(state, funnel, rules, at);
    }
}

/// One group of facts at one time, then the automatic moves it allows (the in-order path).
pub(crate) fn step(state: &LeadState, funnel: &mut Funnel, rules: &Rules, at: Timestamp) {
    for fact in state.facts.iter().filter(|f| f.at == at) {
        apply_fact(funnel, fact);
    }
    advance(state, funnel, rules, at);
}

/// The non-score effects of one fact: profile and BANT answers, and a sales action.
pub(crate) fn apply_fact(funnel: &mut Funnel, fact: &Fact) {
    let key = (fact.at, fact.event.clone());
    if funnel.profile_as_of.as_ref().is_none_or(|w| key >= *w) {
        funnel.profile.merge(&fact.profile);
        if !fact.profile.is_empty() {
            funnel.profile_as_of = Some(key);
        }
    } else {
        // An older answer only fills what is still unknown.
        let mut older = fact.profile.clone();
        older.merge(&funnel.profile);
        funnel.profile = older;
    }
    funnel.bant.record(&fact.bant, fact.at);
    if fact.signal.kind() == SignalKind::SalesFeedback {
        sales_action(funnel, fact);
    }
}

fn sales_action(funnel: &mut Funnel, fact: &Fact) {
    let Some(to) = sales_move(funnel.stage, fact.signal) else {
        // Late evidence moved the lead before this action's time: it no longer applies.
        funnel.superseded.push(Superseded {
            event: fact.event.clone(),
            action: fact.signal,
            at: fact.at,
            stage: funnel.stage,
        });
        return;
    };
    let at = fact.at.max(funnel.stage_entered_at);
    match fact.signal {
        Signal::SalesRejected | Signal::DealLost => funnel.requalify_after = Some(at),
        Signal::Disqualified => {
            funnel.requalify_after = Some(at);
            funnel.disqualified = Some(Disqualification {
                at,
                reason: fact.reason.clone().unwrap_or_default(),
            });
        }
        Signal::SalesAccepted | Signal::OpportunityOpened => funnel.disqualified = None,
        _ => {}
    }
    if to != funnel.stage {
        let cause = Cause::Actor {
            actor: fact.actor.clone().unwrap_or_else(|| "sales".to_string()),
            action: fact.signal.as_str().to_string(),
            reason: fact.reason.clone(),
        };
        move_to(funnel, to, at, cause);
    }
}

fn move_to(funnel: &mut Funnel, to: Stage, at: Timestamp, cause: Cause) {
    let at = at.max(funnel.stage_entered_at);
    funnel.stage_history.push(Transition {
        from: funnel.stage,
        to,
        at,
        cause,
        // Stamped by `stamp` once the fold is done.
        recorded_at: Timestamp::default(),
    });
    funnel.stage = to;
    funnel.stage_entered_at = at;
}

/// Moves the lead forward, one recorded hop per rule, to the furthest stage the evidence as of
/// `at` supports. Never backward; nothing at all while disqualified.
pub(crate) fn advance(state: &LeadState, funnel: &mut Funnel, rules: &Rules, at: Timestamp) {
    if funnel.disqualified.is_some() {
        return;
    }
    for (stage, rule) in targets(state, funnel, rules, at) {
        if stage > funnel.stage {
            move_to(funnel, stage, at, Cause::Rule { rule });
        }
    }
}

/// Every automatic stage the evidence as of `at` supports, lowest first, with its rule.
fn targets(
    state: &LeadState,
    funnel: &Funnel,
    rules: &Rules,
    at: Timestamp,
) -> Vec<(Stage, String)> {
    let mut out = Vec::new();
    if state.identified_at.is_none_or(|i| i > at) {
        // Without contact details a person stays an anonymous visitor, whatever they do.
        return out;
    }
    out.push((Stage::Lead, "identified".to_string()));
    // Only behaviour after a recycle counts towards qualifying again.
    let since = funnel.requalify_after;
    let summarised = |signal: &Signal| {
        state
            .summaries
            .get(signal)
            .map_or(0, |s| s.shown_since(since))
    };
    // Behaviour only ever makes an MQL: past it, the costliest part of a step is moot.
    if funnel.stage < Stage::Mql {
        let counted = counted_hits(&state.hits, &state.summaries, rules, at, since);
        if let Some(threshold) = rules.mql.score {
            let positive = engagement(&counted, &state.summaries, rules, at, Some(since)).1;
            if positive >= threshold {
                out.push((Stage::Mql, "mql.engagement".to_string()));
            }
        }
        for c in &rules.mql.criteria {
            let met = c.all.iter().all(|(signal, n)| {
                let recent = counted
                    .iter()
                    .filter(|h| h.signal == *signal)
                    .filter(|h| c.within_ms.is_none_or(|w| at.millis() - h.at.millis() <= w))
                    .count();
                // Hits before the checkpoint are summarised: their times, or only a count once
                // older than every window (which only unbounded criteria read).
                let old = match c.within_ms {
                    None => summarised(signal),
                    Some(w) => state.summaries.get(signal).map_or(0, |s| {
                        s.pending
                            .iter()
                            .filter(|t| **t <= at && at.millis() - t.millis() <= w)
                            .filter(|t| since.is_none_or(|x| **t > x))
                            .count()
                    }),
                };
                recent + old >= *n as usize
            });
            if met {
                out.push((Stage::Mql, format!("mql.{}", c.id)));
            }
        }
    }
    let fresh = |h: &&Hit| !h.is_bot() && h.at <= at && since.is_none_or(|s| h.at > s);
    let shown = |signals: &BTreeSet<Signal>| {
        state
            .hits
            .iter()
            .filter(fresh)
            .map(|h| h.signal)
            .find(|s| signals.contains(s))
            .or_else(|| signals.iter().copied().find(|s| summarised(s) > 0))
    };
    if let Some(signal) = shown(&rules.sql.hand_raises) {
        let stage = if rules.sql.require_sales_acceptance {
            Stage::Mql
        } else {
            Stage::Sql
        };
        let prefix = if stage == Stage::Sql { "sql" } else { "mql" };
        out.push((stage, format!("{prefix}.hand_raise.{signal}")));
    }
    if rules.sql.bant_complete && rules.bant_complete(&funnel.bant) {
        let b = &funnel.bant;
        let latest = [
            b.budget.as_ref().map(|a| a.at),
            b.authority.as_ref().map(|a| a.at),
            b.need.as_ref().map(|a| a.at),
            b.timeline_months.as_ref().map(|a| a.at),
        ]
        .into_iter()
        .flatten()
        .max();
        if latest.is_some_and(|l| since.is_none_or(|s| l > s)) {
            out.push((Stage::Sql, "sql.bant_complete".to_string()));
        }
    }
    if funnel.stage >= Stage::Customer {
        if let Some(signal) = shown(&rules.evangelist_signals) {
            out.push((Stage::Evangelist, format!("evangelist.{signal}")));
        }
    }
    out.sort_by_key(|(stage, _)| *stage);
    out
}

/// Gives each move the time it was first recorded: the one it had in `known` (an earlier fold
/// of the same lead) if it was there, `now` if it is new.
pub(crate) fn stamp(history: &mut [Transition], known: &[Transition], now: Timestamp) {
    let mut used = vec![false; known.len()];
    for t in history.iter_mut() {
        let found = known
            .iter()
            .enumerate()
            .find(|(i, k)| !used[*i] && k.same_move(t));
        match found {
            Some((i, k)) => {
                used[i] = true;
                t.recorded_at = k.recorded_at;
            }
            None => t.recorded_at = now,
        }
    }
}
