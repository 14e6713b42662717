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

    let window = rules.burst_window_ms;
    if rules.click_without_open {
        judge_unopened_clicks(state, &hit, window);
    }
    if let (Signal::EmailClicked, Some(message)) = (hit.signal, &hit.message_id) {
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
    state
        .hits
        .iter()
        .zip(before)
        .enumerate()
        .any(|(i, (h, was))| i != pos && h.is_bot() != was)
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
