//! What keeps a lead's working state bounded whatever the length of its history.
//!
//! - The *checkpoint* follows the newest event at the rules' lateness window: facts up to it
//!   are folded into its funnel for good, and hits up to it get their frequency-limit verdict
//!   frozen.
//! - Hits at or before the checkpoint are *summarised* per signal: bots and uncounted hits as
//!   a count, counted ones as bare times. A time stays while a look-back window (combination,
//!   frequency limit) may read it, which is only its count of newest times, or while its
//!   points will still expire (so expiry stays exact); the rest settle: expired points as a
//!   count, non-expiring points as a decayed weight.

use crate::fold::{fold_range, stamp};
use crate::points::{counted_hits, decay, expired};
use crate::state::{Checkpoint, Funnel, Hit, Summary};
use crate::{LeadState, Rules, Signal, Timestamp, MILLIS_PER_DAY};

/// The most hits kept one by one after the checkpoint, once a lead has had more than 500 in
/// its lateness window (about 30 KB of state with SendGrid-length ids).
pub const MAX_WINDOW_HITS: usize = 400;

/// Moves the checkpoint to the lateness window behind the newest event (in steps of at least a
/// day, so that in-order events rarely pay for it), then summarises what has become final.
pub(crate) fn advance_checkpoint(state: &mut LeadState, rules: &Rules, now: Timestamp) {
    let Some(latest) = state.latest_at() else {
        return;
    };
    let mut target = latest.plus_millis(-rules.lateness_ms());
    // A lead with more hits in its window than a state can hold gets a shorter window: the
    // state must fit an item (DynamoDB's 400 KB), however fast events come.
    let in_window = state.hits.len() - state.hits.partition_point(|h| h.at <= target);
    let crowded = in_window > MAX_WINDOW_HITS + MAX_WINDOW_HITS / 4;
    if crowded {
        target = state.hits[state.hits.len() - MAX_WINDOW_HITS].at;
    }
    let current = state.checkpoint.as_ref().map(|c| c.at);
    let due = match current {
        Some(c) => crowded && target > c || target.millis() - c.millis() >= MILLIS_PER_DAY,
        None => target >= state.first_seen,
    };
    if !due {
        return;
    }
    let mut funnel = match &state.checkpoint {
        Some(c) => c.funnel.clone(),
        None => Funnel::start(state.first_seen),
    };
    fold_range(state, &mut funnel, rules, current, Some(target));
    stamp(&mut funnel.stage_history, &state.stage_history, now);
    state.facts.retain(|f| f.at > target);
    freeze(state, rules, target, latest);
    summarise(state, rules, target, latest, funnel.requalify_after);
    state.checkpoint = Some(Checkpoint { at: target, funnel });
}

/// Frozen frequency-limit verdicts for hits at or before `upto`: decided in time order over
/// every hit, as the score sees them.
fn freeze(state: &mut LeadState, rules: &Rules, upto: Timestamp, latest: Timestamp) {
    let kept: std::collections::BTreeSet<(Timestamp, String)> =
        counted_hits(&state.hits, &state.summaries, rules, latest, None)
            .into_iter()
            .map(|h| (h.at, h.event.as_str().to_string()))
            .collect();
    for h in state.hits.iter_mut().filter(|h| h.at <= upto) {
        if h.counted.is_none() {
            let key = (h.at, h.event.as_str().to_string());
            h.counted = Some(!h.is_bot() && kept.contains(&key));
        }
    }
}

/// Moves every hit at or before the checkpoint out of `hits` (their verdicts are frozen and
/// their ids are the ledger's to deduplicate): counted ones as bare times, the rest as a
/// count. Then settles the times no window reads any more.
fn summarise(
    state: &mut LeadState,
    rules: &Rules,
    checkpoint: Timestamp,
    latest: Timestamp,
    since: Option<Timestamp>,
) {
    let (old, kept): (Vec<Hit>, Vec<Hit>) = std::mem::take(&mut state.hits)
        .into_iter()
        .partition(|h| h.at <= checkpoint && h.counted.is_some());
    state.hits = kept;
    for h in old {
        let s = state
            .summaries
            .entry(h.signal)
            .or_insert_with(|| Summary::new(checkpoint, since));
        if h.is_bot() {
            continue;
        }
        s.occurrences += 1;
        if h.counted == Some(true) {
            let pos = s.pending.partition_point(|t| *t <= h.at);
            s.pending.insert(pos, h.at);
        }
    }
    let signals: Vec<Signal> = state.summaries.keys().copied().collect();
    let unbounded = rules.unbounded_signals();
    for signal in signals {
        if !unbounded.contains(&signal) {
            settle_pending(state, rules, signal, checkpoint, latest, since);
        }
    }
}

/// What becomes of counted times no window reads one by one any more (older than every
/// window of the signal, or older than the newest count of them a window reads): expired
/// ones only count as occurrences; points that never expire join the summary's decayed
/// weight; points that will still expire stay, until they do or until the younger counted
/// hits of the signal alone keep it at its cap until then (all of one signal decay alike,
/// so the younger ones outweigh it at every moment until it expires).
fn settle_pending(
    state: &mut LeadState,
    rules: &Rules,
    signal: Signal,
    checkpoint: Timestamp,
    latest: Timestamp,
    since: Option<Timestamp>,
) {
    let Some(rule) = rules.signals.get(&signal) else {
        return;
    };
    let line = checkpoint.plus_millis(-rules.lookback_ms(signal));
    let expire = rule.expire_ms.filter(|_| rule.points > 0);
    let younger_hits: Vec<Timestamp> = state
        .hits
        .iter()
        .filter(|h| h.signal == signal && h.counted == Some(true))
        .map(|h| h.at)
        .collect();
    let Some(s) = state.summaries.get_mut(&signal) else {
        return;
    };
    if s.anchor != checkpoint {
        // Re-anchor the weight: its decay from the old anchor to the new one.
        let factor = decay(rules, signal, checkpoint.millis() - s.anchor.millis());
        s.weight *= factor;
        s.qualifying_weight *= factor;
        s.anchor = checkpoint;
    }
    if s.qualifying_since != since {
        // A newer recycle: everything summarised so far is older than it.
        s.qualifying_count = 0;
        s.qualifying_weight = 0.0;
        s.qualifying_since = since;
    }
    // A window reads at most its count of newest times: the rest of the window is settled
    // like older times (hourly visits would otherwise keep three months of times).
    let count = rules.lookback_count(signal);
    let read = s.pending.len().saturating_sub(count);
    let mut keep = Vec::with_capacity(s.pending.len());
    let floor = rule.cap.map(|c| c as f64 - 0.5);
    for (i, at) in s.pending.iter().copied().enumerate() {
        if i >= read && at > line {
            keep.push(at);
            continue;
        }
        match expire {
            Some(_) if expired(rules, signal, latest.millis() - at.millis()) => {}
            Some(e) => {
                let until = at.plus_millis(e);
                let younger: f64 = s.pending[i + 1..]
                    .iter()
                    .chain(younger_hits.iter())
                    .map(|t| rule.points as f64 * decay(rules, signal, until.millis() - t.millis()))
                    .sum();
                if floor.is_none_or(|f| younger < f) {
                    keep.push(at);
                }
            }
            None => {
                let w = decay(rules, signal, checkpoint.millis() - at.millis());
                s.counted += 1;
                s.weight += w;
                if since.is_none_or(|x| at > x) {
                    s.qualifying_count += 1;
                    s.qualifying_weight += w;
                }
            }
        }
    }
    s.pending = keep;
}

/// Adds summary `other` to `mine` (a stitched visitor's), both anchored at the later anchor.
pub(crate) fn merge_summary(mine: &mut Summary, other: &Summary, signal: Signal, rules: &Rules) {
    let anchor = mine.anchor.max(other.anchor);
    let mine_factor = decay(rules, signal, anchor.millis() - mine.anchor.millis());
    let other_factor = decay(rules, signal, anchor.millis() - other.anchor.millis());
    mine.weight = mine.weight * mine_factor + other.weight * other_factor;
    mine.anchor = anchor;
    mine.occurrences += other.occurrences;
    mine.pending.extend(other.pending.iter().copied());
    mine.pending.sort();
    mine.counted += other.counted;
    if mine.qualifying_since == other.qualifying_since {
        mine.qualifying_count += other.qualifying_count;
        mine.qualifying_weight =
            mine.qualifying_weight * mine_factor + other.qualifying_weight * other_factor;
    }
}
