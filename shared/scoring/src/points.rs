//! Points: which hits count, what they are worth as of a time (decay, expiry, caps), and fit.
//! Summaries of old hits add what they still weigh, so a compacted lead scores as before.

use crate::engine::{Contribution, Grade};
use crate::rules::{contains_phrase, in_domain_list, words, FitField, Matcher, Rules};
use crate::state::{Hit, Summary};
use crate::{EmailDomainKind, LeadState, Signal, Timestamp};
use std::collections::BTreeMap;

/// Hits that count as of `now`: not bots, not in the future, after `since`, and within each
/// signal's frequency limit (the earliest occurrences in a window count; decisions frozen at
/// the checkpoint stand).
pub(crate) fn counted_hits<'a>(
    hits: &'a [Hit],
    summaries: &BTreeMap<Signal, Summary>,
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
        let limit = rules.signals.get(&signal).and_then(|r| r.limit);
        // The counted times already summarised come first: a limit window may reach them.
        let mut times: Vec<Timestamp> = summaries
            .get(&signal)
            .map(|s| {
                s.pending
                    .iter()
                    .copied()
                    .filter(|t| *t <= now && since.is_none_or(|x| *t > x))
                    .collect()
            })
            .unwrap_or_default();
        for h in list {
            let counts = match (h.counted, limit) {
                (Some(frozen), _) => frozen,
                (None, None) => true,
                (None, Some((count, window))) => {
                    let recent = times
                        .iter()
                        .rev()
                        .take_while(|k| h.at.millis() - k.millis() < window)
                        .count();
                    recent < count as usize
                }
            };
            if counts {
                times.push(h.at);
                out.push(h);
            }
        }
    }
    out
}

/// The decay factor of a signal's points after `age` ms (1 for points that never decay).
pub(crate) fn decay(rules: &Rules, signal: Signal, age: i64) -> f64 {
    let Some(rule) = rules.signals.get(&signal) else {
        return 0.0;
    };
    if rule.points <= 0 {
        return 1.0;
    }
    match rule.half_life_ms {
        Some(half) => 0.5f64.powf(age.max(0) as f64 / half as f64),
        None => 1.0,
    }
}

/// Whether a signal's points are gone after `age` ms (negative points never expire).
pub(crate) fn expired(rules: &Rules, signal: Signal, age: i64) -> bool {
    let Some(rule) = rules.signals.get(&signal) else {
        return true;
    };
    rule.points > 0 && rule.expire_ms.is_some_and(|e| age > e)
}

/// What a summary still adds to a signal's raw points as of `now`. `qualifying` is the
/// qualification view: only the part newer than the lead's requalification time `since`.
fn summary_points(
    s: &Summary,
    signal: Signal,
    rules: &Rules,
    now: Timestamp,
    qualifying: Option<Option<Timestamp>>,
) -> f64 {
    let Some(rule) = rules.signals.get(&signal) else {
        return 0.0;
    };
    let weight = match qualifying {
        None => s.weight,
        Some(since) if since == s.qualifying_since => s.qualifying_weight,
        Some(_) => 0.0,
    };
    rule.points as f64 * weight * decay(rules, signal, now.millis() - s.anchor.millis())
}

/// Behaviour points as of `now` from counted hits (and summaries), with each line of the
/// explanation. Positive points decay and expire with their group; negative points do
/// neither, so that waiting never raises a score. `qualifying = Some(since)` is the
/// qualification view: positive points only, behaviour after `since` only.
pub(crate) fn engagement(
    counted: &[&Hit],
    summaries: &BTreeMap<Signal, Summary>,
    rules: &Rules,
    now: Timestamp,
    qualifying: Option<Option<Timestamp>>,
) -> (Vec<Contribution>, i64) {
    let positive_only = qualifying.is_some();
    let since = qualifying.flatten();
    // signal -> raw (decayed) points, summed oldest first: the pending times of summaries are
    // older than every hit of their signal, so the sum is the one over single hits.
    let mut per_signal: BTreeMap<Signal, f64> = BTreeMap::new();
    for (signal, s) in summaries {
        let Some(rule) = rules.signals.get(signal) else {
            continue;
        };
        if rule.points == 0 || (positive_only && rule.points < 0) {
            continue;
        }
        for at in s.pending.iter().filter(|t| since.is_none_or(|x| **t > x)) {
            let age = (now.millis() - at.millis()).max(0);
            if *at > now || expired(rules, *signal, age) {
                continue;
            }
            *per_signal.entry(*signal).or_insert(0.0) +=
                rule.points as f64 * decay(rules, *signal, age);
        }
    }
    for h in counted {
        let Some(rule) = rules.signals.get(&h.signal) else {
            continue;
        };
        if rule.points == 0 || (positive_only && rule.points < 0) {
            continue;
        }
        let age = (now.millis() - h.at.millis()).max(0);
        if expired(rules, h.signal, age) {
            continue;
        }
        *per_signal.entry(h.signal).or_insert(0.0) +=
            rule.points as f64 * decay(rules, h.signal, age);
    }
    for (signal, s) in summaries {
        let points = rules.signals.get(signal).map_or(0, |r| r.points);
        if points == 0 || (positive_only && points < 0) {
            continue;
        }
        let extra = summary_points(s, *signal, rules, now, qualifying);
        if extra != 0.0 {
            *per_signal.entry(*signal).or_insert(0.0) += extra;
        }
    }

    let mut lines = Vec::new();
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

pub(crate) fn fit(state: &LeadState, rules: &Rules) -> (Vec<Contribution>, i64) {
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

pub(crate) fn grade(fit: i64, rules: &Rules) -> Grade {
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
