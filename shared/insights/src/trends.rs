//! Trends: by UTC month of event time, and by content (the events' attributes).

use crate::conversion::{behaviour, Cohort};
use crate::path::first_reach;
use crate::stats::{month, Rate};
use crate::History;
use leadscore_scoring::{Event, LeadState, Signal, Stage, Timestamp};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Trends {
    /// Every month from the first to the last with an event or a move, oldest first (months
    /// in between without any are listed with zeros, so that lines do not skip them).
    pub months: Vec<MonthTrend>,
    /// One entry per content dimension, in [`ContentKind`] order.
    pub content: Vec<ContentDimension>,
}

/// One UTC calendar month. `events`: non-bot events per signal dated in it (sales feedback
/// included). `new_leads`, `mqls`, `sqls`: leads that first reached lead, MQL and SQL (or
/// beyond) in it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MonthTrend {
    pub month: String,
    pub events: BTreeMap<Signal, u64>,
    pub new_leads: u64,
    pub mqls: u64,
    pub sqls: u64,
}

/// Which attribute of an event a content row groups by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ContentKind {
    /// The page, without its query string or fragment (so `?utm_...` variants are one page).
    Url,
    /// The downloaded asset, watched video, favourited product.
    Asset,
    Campaign,
    Form,
    /// The provider that delivered the event.
    Source,
}

impl ContentKind {
    pub const ALL: [ContentKind; 5] = [
        ContentKind::Url,
        ContentKind::Asset,
        ContentKind::Campaign,
        ContentKind::Form,
        ContentKind::Source,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            ContentKind::Url => "url",
            ContentKind::Asset => "asset",
            ContentKind::Campaign => "campaign",
            ContentKind::Form => "form",
            ContentKind::Source => "source",
        }
    }

    /// The event's value for this dimension, trimmed; `None` when absent or blank.
    pub fn value(self, event: &Event) -> Option<String> {
        let a = &event.attributes;
        let raw = match self {
            ContentKind::Url => a
                .url
                .as_deref()
                .map(|u| u.split(['?', '#']).next().unwrap_or(u)),
            ContentKind::Asset => a.asset.as_deref(),
            ContentKind::Campaign => a.campaign.as_deref(),
            ContentKind::Form => a.form.as_deref(),
            ContentKind::Source => a.source.as_deref(),
        }?;
        let v = raw.trim();
        (!v.is_empty()).then(|| v.to_string())
    }
}

/// The top values of one dimension by events (ties by value), over the lead's own behaviour
/// (no bots, no sales feedback). `distinct`: how many values there were in all.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ContentDimension {
    pub kind: ContentKind,
    pub distinct: u64,
    pub values: Vec<ContentRow>,
}

/// `leads`: leads with at least one such event. `mql_to_sql`: the MQL -> SQL conversion of
/// the closed MQL cohort's leads that engaged with it before their cutoff (see
/// [`crate::SignalReport`]), with its interval at the report's confidence (no multiplicity
/// adjustment here: the content table is a ranking, not a set of claims).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ContentRow {
    pub value: String,
    pub events: u64,
    pub leads: u64,
    pub mql_to_sql: Rate,
}

/// The `YYYY-MM` months from `first` to `last`, both included (none if either is malformed).
fn months_between(first: &str, last: &str) -> Vec<String> {
    let parse = |m: &str| -> Option<(i64, i64)> {
        let (y, m) = m.split_once('-')?;
        Some((y.parse().ok()?, m.parse().ok()?))
    };
    let (Some((mut y, mut m)), Some(end)) = (parse(first), parse(last)) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    while (y, m) <= end && out.len() < 12_000 {
        out.push(format!("{y:04}-{m:02}"));
        (y, m) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    }
    out
}

#[derive(Default)]
struct MonthAcc {
    events: BTreeMap<Signal, u64>,
    new_leads: u64,
    mqls: u64,
    sqls: u64,
}

#[derive(Default)]
struct ContentAcc {
    events: u64,
    leads: u64,
    mqls: u64,
    converted: u64,
}

#[derive(Default)]
pub(crate) struct TrendAcc {
    months: BTreeMap<String, MonthAcc>,
    content: BTreeMap<(ContentKind, String), ContentAcc>,
}

impl TrendAcc {
    pub fn add(&mut self, history: &History, state: &LeadState, cohort: Cohort, as_of: Timestamp) {
        let mut reached: BTreeSet<(ContentKind, String)> = BTreeSet::new();
        let mut engaged: BTreeSet<(ContentKind, String)> = BTreeSet::new();
        let cutoff = match cohort {
            Cohort::Closed { cutoff, .. } => Some(cutoff),
            _ => None,
        };
        for e in history.events_until(as_of).filter(|e| !e.is_bot()) {
            let m = self.months.entry(month(e.occurred_at)).or_default();
            *m.events.entry(e.signal).or_insert(0) += 1;
            if !behaviour(e) {
                continue;
            }
            for kind in ContentKind::ALL {
                let Some(value) = kind.value(e) else { continue };
                let key = (kind, value);
                if cutoff.is_some_and(|c| e.occurred_at <= c) {
                    engaged.insert(key.clone());
                }
                self.content.entry(key.clone()).or_default().events += 1;
                reached.insert(key);
            }
        }
        for key in reached {
            self.content.entry(key).or_default().leads += 1;
        }
        if let Cohort::Closed { converted, .. } = cohort {
            for key in engaged {
                let c = self.content.entry(key).or_default();
                c.mqls += 1;
                c.converted += u64::from(converted);
            }
        }
        for (stage, bump) in [
            (Stage::Lead, (1, 0, 0)),
            (Stage::Mql, (0, 1, 0)),
            (Stage::Sql, (0, 0, 1)),
        ] {
            if let Some(at) = first_reach(state, stage) {
                let m = self.months.entry(month(at)).or_default();
                m.new_leads += bump.0;
                m.mqls += bump.1;
                m.sqls += bump.2;
            }
        }
    }

    pub fn finish(mut self, top: usize, confidence: f64) -> Trends {
        let span = self
            .months
            .keys()
            .next()
            .cloned()
            .zip(self.months.keys().last().cloned());
        if let Some((first, last)) = span {
            for m in months_between(&first, &last) {
                self.months.entry(m).or_default();
            }
        }
        let months = self
            .months
            .into_iter()
            .map(|(month, m)| MonthTrend {
                month,
                events: m.events,
                new_leads: m.new_leads,
                mqls: m.mqls,
                sqls: m.sqls,
            })
            .collect();
        let mut by_kind: BTreeMap<ContentKind, Vec<(String, ContentAcc)>> = BTreeMap::new();
        for ((kind, value), acc) in self.content {
            by_kind.entry(kind).or_default().push((value, acc));
        }
        let content = ContentKind::ALL
            .iter()
            .map(|kind| {
                let mut rows = by_kind.remove(kind).unwrap_or_default();
                let distinct = rows.len() as u64;
                rows.sort_by(|a, b| b.1.events.cmp(&a.1.events).then_with(|| a.0.cmp(&b.0)));
                rows.truncate(top);
                ContentDimension {
                    kind: *kind,
                    distinct,
                    values: rows
                        .into_iter()
                        .map(|(value, c)| ContentRow {
                            value,
                            events: c.events,
                            leads: c.leads,
                            mql_to_sql: Rate::new(c.converted, c.mqls, confidence, confidence),
                        })
                        .collect(),
                }
            })
            .collect();
        Trends { months, content }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_between_crosses_years() {
        assert_eq!(
            months_between("2025-11", "2026-02"),
            vec!["2025-11", "2025-12", "2026-01", "2026-02"]
        );
        assert_eq!(months_between("2026-03", "2026-03"), vec!["2026-03"]);
        assert!(months_between("x", "2026-03").is_empty());
    }
}
