//! `apply` and `score`: the funnel and the points, as pure functions.
//!
//! How order is handled: events are grouped by timestamp. The lead's funnel as it was before
//! its latest timestamp group is kept, and an event that ties with that group re-applies the
//! whole group in event-id order on that snapshot; so events sharing a timestamp give the same
//! lead whatever order they arrive in. Automatic stage moves are driven by a target computed
//! from monotone evidence (positive behaviour, hand-raises, BANT, combinations), so more
//! evidence never lowers the target and automatic moves only go forward.

use crate::rules::{contains_phrase, in_domain_list, words, FitField, Matcher, Rules};
use crate::state::{Hit, LatestGroup};
use crate::{
    Cause, Disqualification, EmailDomainKind, Event, LeadState, Signal, SignalKind, Stage,
    Timestamp, Transition,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The result of applying one event.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub state: LeadState,
    /// Stage changes this event caused (re-evaluating a timestamp group may restate them).
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
fn sales_move(stage: Stage, signal: Signal) -> Option<Stage> {
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
/// Events dated after `now` are treated as happening at `now` (a sender's clock running
/// ahead must not make points last longer).
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
    let mut event = event.clone();
    event.occurred_at = event.occurred_at.min(now);
    let at = event.occurred_at;

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

    let mut next = state.clone();
    next.seen.insert(event.id.clone());
    if next.email.is_none() {
        next.email.clone_from(&event.identity.email);
    }
    if let Some(anon) = &event.identity.anonymous_id {
        next.anonymous_ids.insert(anon.clone());
    }
    if state.seen.is_empty() {
        // A fresh state was dated by the event itself, perhaps from the future.
        next.first_seen = at;
        next.last_seen = at;
        next.stage_entered_at = next.stage_entered_at.min(at);
    }
    next.first_seen = next.first_seen.min(at);
    if !event.is_bot() {
        next.last_seen = next.last_seen.max(at);
    }
    insert_hit(&mut next, &event, rules);

    let before = next.funnel();
    match next.latest.take() {
        Some(mut group) if at == group.at => {
            // A tie: replay the whole group, in id order, on the funnel from before it.
            group.events.push(event);
            group.events.sort_by(|a, b| a.id.cmp(&b.id));
            next.set_funnel(group.base.clone());
            step(&mut next, &group.events, rules);
            next.latest = Some(group);
        }
        Some(mut group) if at < group.at => {
            // A late event: it belongs before the latest group, in the snapshot and in the lead.
            let mut base = next.clone();
            base.set_funnel(group.base.clone());
            step(&mut base, std::slice::from_ref(&event), rules);
            group.base = base.funnel();
            step(&mut next, std::slice::from_ref(&event), rules);
            next.latest = Some(group);
        }
        _ => {
            let base = next.funnel();
            step(&mut next, std::slice::from_ref(&event), rules);
            next.latest = Some(LatestGroup {
                at,
                base,
                events: vec![event],
            });
        }
    }

    let common = before
        .stage_history
        .iter()
        .zip(&next.stage_history)
        .take_while(|(a, b)| a == b)
        .count();
    let transitions = next.stage_history[common..].to_vec();
    Ok(Outcome {
        state: next,
        transitions,
        duplicate: false,
    })
}

/// Records the event's hit, and re-judges email clicks of the same message for bursts: a mail
/// scanner opens every link of a message within a second or two, a person does not.
fn insert_hit(state: &mut LeadState, event: &Event, rules: &Rules) {
    let hit = Hit {
        at: event.occurred_at,
        event: event.id.clone(),
        signal: event.signal,
        bot: event
            .bot
            .as_ref()
            .filter(|b| b.is_bot)
            .map(|b| b.reason.clone()),
        message_id: event.attributes.message_id.clone(),
        url: (event.signal == Signal::EmailClicked)
            .then(|| event.attributes.url.clone())
            .flatten(),
    };
    let pos = state.hits.partition_point(|h| h < &hit);
    state.hits.insert(pos, hit.clone());

    let window = rules.burst_window_ms;
    if rules.click_without_open {
        judge_unopened_clicks(state, &hit, window);
    }
    let (Signal::EmailClicked, Some(message)) = (hit.signal, &hit.message_id) else {
        return;
    };
    let burst: Vec<usize> = state
        .hits
        .iter()
        .enumerate()
        .filter(|(_, h)| {
            h.signal == Signal::EmailClicked
                && h.message_id.as_ref() == Some(message)
                && (h.at.millis() - hit.at.millis()).abs() <= window
        })
        .map(|(i, _)| i)
        .collect();
    if burst.len() >= 2 {
        let reason = format!(
            "burst: {} clicks of one message within {:.1} s",
            burst.len(),
            window as f64 / 1000.0
        );
        for i in burst {
            if state.hits[i].bot.is_none() {
                state.hits[i].bot = Some(reason.clone());
            }
        }
    }
}

const CLICK_WITHOUT_OPEN: &str = "click without open";

/// `[bots] click_without_open`: a click on a message never opened is a scanner's, until an
/// open of that message arrives (opens and clicks are often delivered out of order).
fn judge_unopened_clicks(state: &mut LeadState, new: &Hit, window: i64) {
    let Some(message) = &new.message_id else {
        return;
    };
    let same = |h: &Hit| h.message_id.as_ref() == Some(message);
    match new.signal {
        Signal::EmailClicked => {
            let opened = state.hits.iter().any(|h| {
                h.signal == Signal::EmailOpened
                    && same(h)
                    && h.at.millis() <= new.at.millis() + window
            });
            if !opened {
                if let Some(h) = state.hits.iter_mut().find(|h| h.event == new.event) {
                    h.bot.get_or_insert_with(|| CLICK_WITHOUT_OPEN.to_string());
                }
            }
        }
        Signal::EmailOpened => {
            for h in state.hits.iter_mut() {
                if h.signal == Signal::EmailClicked
                    && same(h)
                    && h.at.millis() + window >= new.at.millis()
                    && h.bot.as_deref() == Some(CLICK_WITHOUT_OPEN)
                {
                    h.bot = None;
                }
            }
        }
        _ => {}
    }
}

/// Applies the non-score effects of `events` (all at one time, in order) to the funnel, then
/// moves the stage forward to what the evidence supports.
fn step(state: &mut LeadState, events: &[Event], rules: &Rules) {
    let Some(at) = events.iter().map(|e| e.occurred_at).max() else {
        return;
    };
    for event in events.iter().filter(|e| !e.is_bot()) {
        let key = (event.occurred_at, event.id.clone());
        if state.profile_as_of.as_ref().is_none_or(|w| key >= *w) {
            state.profile.merge(&event.profile);
            state.profile_as_of = Some(key);
        } else {
            // An older event only fills what is still unknown.
            let mut older = event.profile.clone();
            older.merge(&state.profile);
            state.profile = older;
        }
        state.bant.record(&event.bant, event.occurred_at);
        if rules.pql_signals.contains(&event.signal) {
            state.pql = true;
        }
        if event.signal.kind() == SignalKind::SalesFeedback {
            sales_action(state, event);
        }
    }
    advance(state, rules, at);
}

fn sales_action(state: &mut LeadState, event: &Event) {
    // Re-applying a timestamp group may find an action no longer allowed: it then does nothing.
    let Some(to) = sales_move(state.stage, event.signal) else {
        return;
    };
    let at = event.occurred_at.max(state.stage_entered_at);
    let reason = event.attributes.reason.clone();
    match event.signal {
        Signal::SalesRejected | Signal::DealLost => state.requalify_after = Some(at),
        Signal::Disqualified => {
            state.requalify_after = Some(at);
            state.disqualified = Some(Disqualification {
                at,
                reason: reason.clone().unwrap_or_default(),
            });
        }
        Signal::SalesAccepted | Signal::OpportunityOpened => state.disqualified = None,
        _ => {}
    }
    if to != state.stage {
        let cause = Cause::Actor {
            actor: event
                .attributes
                .actor
                .clone()
                .unwrap_or_else(|| "sales".to_string()),
            action: event.signal.as_str().to_string(),
            reason,
        };
        move_to(state, to, at, cause);
    }
}

fn move_to(state: &mut LeadState, to: Stage, at: Timestamp, cause: Cause) {
    let at = at.max(state.stage_entered_at);
    state.stage_history.push(Transition {
        from: state.stage,
        to,
        at,
        cause,
    });
    state.stage = to;
    state.stage_entered_at = at;
}

/// Moves the lead forward, one recorded hop per rule, to the furthest stage the evidence as of
/// `at` supports. Never backward; nothing at all while disqualified.
fn advance(state: &mut LeadState, rules: &Rules, at: Timestamp) {
    if state.disqualified.is_some() {
        return;
    }
    for (stage, rule) in targets(state, rules, at) {
        if stage > state.stage {
            move_to(state, stage, at, Cause::Rule { rule });
        }
    }
}

/// Every automatic stage the evidence supports, lowest first, each with the rule that grants it.
fn targets(state: &LeadState, rules: &Rules, at: Timestamp) -> Vec<(Stage, String)> {
    let mut out = Vec::new();
    if state.email.is_none() {
        // Without contact details a person stays an anonymous visitor, whatever they do.
        return out;
    }
    out.push((Stage::Lead, "identified".to_string()));
    // Only behaviour after a recycle counts towards qualifying again.
    let since = state.requalify_after;
    let fresh = |h: &&Hit| !h.is_bot() && h.at <= at && since.is_none_or(|s| h.at > s);

    let counted = counted_hits(&state.hits, rules, at, since);
    if let Some(threshold) = rules.mql.score {
        let positive = engagement(&counted, rules, at, true).1;
        if positive >= threshold {
            out.push((Stage::Mql, "mql.engagement".to_string()));
        }
    }
    for c in &rules.mql.criteria {
        let met = c.all.iter().all(|(signal, n)| {
            let count = counted
                .iter()
                .filter(|h| h.signal == *signal)
                .filter(|h| c.within_ms.is_none_or(|w| at.millis() - h.at.millis() <= w))
                .count();
            count >= *n as usize
        });
        if met {
            out.push((Stage::Mql, format!("mql.{}", c.id)));
        }
    }
    if let Some(h) = state
        .hits
        .iter()
        .filter(fresh)
        .find(|h| rules.sql.hand_raises.contains(&h.signal))
    {
        let stage = if rules.sql.require_sales_acceptance {
            Stage::Mql
        } else {
            Stage::Sql
        };
        let prefix = if stage == Stage::Sql { "sql" } else { "mql" };
        out.push((stage, format!("{prefix}.hand_raise.{}", h.signal)));
    }
    if rules.sql.bant_complete && rules.bant_complete(&state.bant) {
        let latest = [
            state.bant.budget.as_ref().map(|a| a.at),
            state.bant.authority.as_ref().map(|a| a.at),
            state.bant.need.as_ref().map(|a| a.at),
            state.bant.timeline_months.as_ref().map(|a| a.at),
        ]
        .into_iter()
        .flatten()
        .max();
        if latest.is_some_and(|l| since.is_none_or(|s| l > s)) {
            out.push((Stage::Sql, "sql.bant_complete".to_string()));
        }
    }
    if state.stage >= Stage::Customer {
        if let Some(h) = state
            .hits
            .iter()
            .filter(fresh)
            .find(|h| rules.evangelist_signals.contains(&h.signal))
        {
            out.push((Stage::Evangelist, format!("evangelist.{}", h.signal)));
        }
    }
    out.sort_by_key(|(stage, _)| *stage);
    out
}

/// Hits that count as of `now`: not bots, not in the future, after `since`, and within each
/// signal's frequency limit (the earliest occurrences in a window count).
fn counted_hits<'a>(
    hits: &'a [Hit],
    rules: &Rules,
    now: Timestamp,
    since: Option<Timestamp>,
) -> Vec<&'a Hit> {
    let mut by_signal: BTreeMap<Signal, Vec<&Hit>> = BTreeMap::new();
    for h in hits {
        if !h.is_bot() && h.at <= now && since.is_none_or(|s| h.at > s) {
            by_signal.entry(h.signal).or_default().push(h);
        }
    }
    let mut out = Vec::new();
    for (signal, list) in by_signal {
        match rules.signals.get(&signal).and_then(|r| r.limit) {
            None => out.extend(list),
            Some((count, window)) => {
                let mut kept: Vec<&Hit> = Vec::new();
                for h in list {
                    let recent = kept
                        .iter()
                        .rev()
                        .take_while(|k| h.at.millis() - k.at.millis() < window)
                        .count();
                    if recent < count as usize {
                        kept.push(h);
                    }
                }
                out.extend(kept);
            }
        }
    }
    out
}

/// Behaviour points as of `now` from counted hits, with each line of the explanation.
/// Positive points decay and expire with their group; negative points do neither, so that
/// waiting never raises a score. `positive_only` is the qualification view.
fn engagement(
    counted: &[&Hit],
    rules: &Rules,
    now: Timestamp,
    positive_only: bool,
) -> (Vec<Contribution>, i64) {
    // signal -> raw (decayed) points
    let mut per_signal: BTreeMap<Signal, f64> = BTreeMap::new();
    for h in counted {
        let Some(rule) = rules.signals.get(&h.signal) else {
            continue;
        };
        if rule.points == 0 || (positive_only && rule.points < 0) {
            continue;
        }
        let group = rule.group.as_ref().and_then(|g| rules.groups.get(g));
        let age = (now.millis() - h.at.millis()).max(0);
        let mut points = rule.points as f64;
        if rule.points > 0 {
            if let Some(g) = group {
                if g.expire_ms.is_some_and(|e| age > e) {
                    continue;
                }
                if let Some(half) = g.half_life_ms {
                    points *= 0.5f64.powf(age as f64 / half as f64);
                }
            }
        }
        *per_signal.entry(h.signal).or_insert(0.0) += points;
    }

    let mut lines = Vec::new();
    // group name ("" for ungrouped) -> (sum, line indices)
    let mut groups: BTreeMap<&str, i64> = BTreeMap::new();
    for (signal, raw) in per_signal {
        let rule = &rules.signals[&signal];
        let mut points = raw.round() as i64;
        if let Some(cap) = rule.cap {
            points = points.clamp(-cap, cap);
        }
        if points == 0 {
            continue;
        }
        lines.push(Contribution {
            rule: format!("signal:{signal}"),
            points,
        });
        *groups
            .entry(rule.group.as_deref().unwrap_or(""))
            .or_insert(0) += points;
    }
    let mut total = 0;
    for (name, sum) in groups {
        let capped = match rules.groups.get(name).and_then(|g| g.cap) {
            Some(cap) => sum.clamp(-cap, cap),
            None => sum,
        };
        if capped != sum {
            lines.push(Contribution {
                rule: format!("cap:group:{name}"),
                points: capped - sum,
            });
        }
        total += capped;
    }
    if let Some(cap) = rules.engagement_cap {
        if total > cap {
            lines.push(Contribution {
                rule: "cap:engagement".to_string(),
                points: cap - total,
            });
            total = cap;
        }
    }
    (lines, total)
}

fn fit(state: &LeadState, rules: &Rules) -> (Vec<Contribution>, i64) {
    let p = &state.profile;
    let domain = state.email.as_ref().map(|e| e.domain().to_string());
    let kind = domain.as_deref().map(|d| match rules.domain_kind(d) {
        EmailDomainKind::Corporate => "corporate",
        EmailDomainKind::Free => "free",
        EmailDomainKind::Disposable => "disposable",
        EmailDomainKind::Competitor => "competitor",
    });
    let mut lines = Vec::new();
    let mut total = 0i64;
    for r in &rules.fit.rules {
        let text: Option<String> = match &r.field {
            FitField::JobTitle => p.job_title.clone(),
            FitField::JobFunction => p.job_function.clone(),
            FitField::Seniority => p.seniority.clone(),
            FitField::Industry => p.industry.clone(),
            FitField::Company => p.company.clone(),
            FitField::CompanySize => p.company_size.map(|s| s.to_string()),
            FitField::Country => p.country.clone(),
            FitField::EmailDomain => domain.clone(),
            FitField::EmailDomainKind => kind.map(str::to_string),
            FitField::Custom(k) => p.custom.get(k).cloned(),
        };
        let Some(text) = text else { continue };
        let value = text.trim().to_lowercase();
        let matched = match &r.matcher {
            Matcher::Equals(v) => value == *v,
            Matcher::OneOf(list) => list.contains(&value),
            Matcher::Contains(phrases) => {
                let said = words(&value);
                phrases.iter().any(|ph| contains_phrase(&said, ph))
            }
            Matcher::Range { min, max } => value
                .parse::<i64>()
                .is_ok_and(|n| min.is_none_or(|m| n >= m) && max.is_none_or(|m| n <= m)),
            Matcher::Domains(list) => in_domain_list(&list.iter().cloned().collect(), &value),
        };
        if matched && r.points != 0 {
            lines.push(Contribution {
                rule: format!("fit:{}", r.id),
                points: r.points,
            });
            total += r.points;
        }
    }
    if let Some(cap) = rules.fit.cap {
        let capped = total.clamp(-cap, cap);
        if capped != total {
            lines.push(Contribution {
                rule: "cap:fit".to_string(),
                points: capped - total,
            });
            total = capped;
        }
    }
    (lines, total)
}

fn grade(fit: i64, rules: &Rules) -> Grade {
    let [a, b, c] = rules.fit.grades;
    if fit >= a {
        Grade::A
    } else if fit >= b {
        Grade::B
    } else if fit >= c {
        Grade::C
    } else {
        Grade::D
    }
}

/// The score of `state` as of `now` (decay and expiry applied). Pure and deterministic.
pub fn score(state: &LeadState, rules: &Rules, now: Timestamp) -> ScoreBreakdown {
    let (mut contributions, fit_points) = fit(state, rules);
    let counted = counted_hits(&state.hits, rules, now, None);
    let (lines, engagement_points) = engagement(&counted, rules, now, false);
    contributions.extend(lines);
    ScoreBreakdown {
        fit: fit_points,
        engagement: engagement_points,
        total: fit_points + engagement_points,
        grade: grade(fit_points, rules),
        contributions,
    }
}
