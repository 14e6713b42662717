//! Bot judgements that need more than one event: bursts of clicks on one message (a mail
//! scanner opens every link within a second or two) and, optionally, clicks on a message
//! never opened. Both are judged over the set of hits, so the verdict does not depend on the
//! order events arrive in.

use crate::state::Hit;
use crate::{Event, LeadState, Rules, Signal};

/// Inserts the event's hit in (time, id) order and re-judges its neighbours. Returns whether
/// another hit's verdict changed (the funnel must then be re-folded, not just stepped).
pub(crate) fn insert_hit(state: &mut LeadState, event: &Event, rules: &Rules) -> bool {
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
        counted: None,
    };
    let pos = state.hits.partition_point(|h| h < &hit);
    state.hits.insert(pos, hit.clone());
    let before: Vec<bool> = state.hits.iter().map(Hit::is_bot).collect();

    if let (Signal::EmailClicked | Signal::EmailOpened, Some(message)) =
        (hit.signal, hit.message_id.clone())
    {
        judge_message(state, &message, rules);
    }
    state
        .hits
        .iter()
        .zip(before)
        .enumerate()
        .any(|(i, (h, was))| i != pos && h.is_bot() != was)
}

const CLICK_WITHOUT_OPEN: &str = "click without open";

/// A verdict this module gives (and may give again), as opposed to the event's own.
fn derived(reason: &str) -> bool {
    reason == CLICK_WITHOUT_OPEN
        || (reason.starts_with("burst: ") && reason.contains(" clicks of one message within "))
}

/// Judges every click of `message` again over the whole set of hits, so that each verdict is
/// a function of the set, never of the order the events came in:
/// - a click within `burst_seconds` of another click of the message is a burst (its count is
///   the clicks within that window of it);
/// - with `[bots] click_without_open`, a click with no open of the message by then (opens
///   and clicks are often delivered out of order: one up to the window after counts);
/// - a verdict the event came with (the provider's) is kept as it is.
fn judge_message(state: &mut LeadState, message: &str, rules: &Rules) {
    let window = rules.burst_window_ms;
    let same = |h: &Hit| h.message_id.as_deref() == Some(message);
    let clicks: Vec<(usize, i64)> = state
        .hits
        .iter()
        .enumerate()
        .filter(|(_, h)| h.signal == Signal::EmailClicked && same(h))
        .map(|(i, h)| (i, h.at.millis()))
        .collect();
    let opens: Vec<i64> = state
        .hits
        .iter()
        .filter(|h| h.signal == Signal::EmailOpened && same(h))
        .map(|h| h.at.millis())
        .collect();
    for &(i, at) in &clicks {
        if state.hits[i].bot.as_deref().is_some_and(|r| !derived(r)) {
            continue;
        }
        let near = clicks
            .iter()
            .filter(|(_, t)| (t - at).abs() <= window)
            .count();
        state.hits[i].bot = if near >= 2 {
            Some(format!(
                "burst: {near} clicks of one message within {:.1} s",
                window as f64 / 1000.0
            ))
        } else if rules.click_without_open && !opens.iter().any(|o| *o <= at + window) {
            Some(CLICK_WITHOUT_OPEN.to_string())
        } else {
            None
        };
    }
}
