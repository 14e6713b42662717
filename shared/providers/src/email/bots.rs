//! Bot clicks and opens within one request: the provider's own flag, honeypot links, scanner
//! user agents, clicks seconds after delivery, and bursts of links of one message.

use super::EmailItem;
use crate::mapping::Mapping;
use leadscore_scoring::{BotVerdict, Signal, Timestamp};
use std::collections::BTreeMap;

fn bot(reason: String) -> Option<BotVerdict> {
    Some(BotVerdict {
        is_bot: true,
        reason,
    })
}

/// The verdict on each item (opens and clicks only), in order.
pub(super) fn verdicts(
    items: &[EmailItem],
    delivered: &BTreeMap<String, Timestamp>,
    mapping: &Mapping,
) -> Vec<Option<BotVerdict>> {
    let rules = &mapping.bots;
    let mut verdicts: Vec<Option<BotVerdict>> = items
        .iter()
        .map(|i| {
            if !matches!(i.signal, Signal::EmailOpened | Signal::EmailClicked) {
                return None;
            }
            if let Some(flag) = &i.robot {
                return bot(format!("provider flag: {flag}"));
            }
            if let Some(url) = &i.url {
                if rules
                    .honeypot_urls
                    .iter()
                    .any(|h| url.starts_with(h.as_str()))
                {
                    return bot("honeypot link".into());
                }
            }
            if let Some(ua) = &i.user_agent {
                let lower = ua.to_lowercase();
                if lower.trim().is_empty() {
                    return bot("empty user agent".into());
                }
                if let Some(s) = rules
                    .scanner_user_agents
                    .iter()
                    .find(|s| lower.contains(s.as_str()))
                {
                    return bot(format!("scanner user agent ({s})"));
                }
            }
            let sent = i.sent_at.or_else(|| {
                i.message_id
                    .as_ref()
                    .and_then(|m| delivered.get(m).copied())
            });
            if let Some(sent) = sent {
                let after = i.occurred_at.millis().saturating_sub(sent.millis());
                if (0..=i64::from(rules.seconds_after_delivery) * 1000).contains(&after) {
                    return bot(format!(
                        "{} {:.1} s after delivery",
                        verb(i.signal),
                        after as f64 / 1000.0
                    ));
                }
            }
            None
        })
        .collect();

    // Several different links of one message clicked within `burst_seconds`: a scanner
    // following every link. Clusters chain clicks no more than the window apart.
    let window = i64::from(rules.burst_seconds) * 1000;
    let mut by_message: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (n, i) in items.iter().enumerate() {
        if let (Signal::EmailClicked, Some(m)) = (i.signal, &i.message_id) {
            by_message.entry(m.as_str()).or_default().push(n);
        }
    }
    for mut clicks in by_message.into_values() {
        clicks.sort_by_key(|n| items[*n].occurred_at);
        let mut start = 0;
        while start < clicks.len() {
            let mut end = start + 1;
            while end < clicks.len()
                && items[clicks[end]]
                    .occurred_at
                    .millis()
                    .saturating_sub(items[clicks[end - 1]].occurred_at.millis())
                    <= window
            {
                end += 1;
            }
            let cluster = &clicks[start..end];
            let mut links: Vec<&Option<String>> = cluster.iter().map(|n| &items[*n].url).collect();
            links.sort();
            links.dedup();
            if links.len() >= 2 {
                let span = items[cluster[cluster.len() - 1]]
                    .occurred_at
                    .millis()
                    .saturating_sub(items[cluster[0]].occurred_at.millis());
                let reason = format!(
                    "burst: {} links of one message in {:.1} s",
                    links.len(),
                    span as f64 / 1000.0
                );
                for n in cluster {
                    if verdicts[*n].is_none() {
                        verdicts[*n] = bot(reason.clone());
                    }
                }
            }
            start = end;
        }
    }
    verdicts
}

fn verb(signal: Signal) -> &'static str {
    if signal == Signal::EmailClicked {
        "clicked"
    } else {
        "opened"
    }
}
