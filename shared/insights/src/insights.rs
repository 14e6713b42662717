//! `insights`: the funnel, per-signal conversion and trends, in one pass over the histories.

use crate::conversion::{Cohort, SignalAcc, SignalReport};
use crate::funnel::{Funnel, FunnelAcc, Sla};
use crate::stats::sane_confidence;
use crate::trends::{TrendAcc, Trends};
use crate::History;
use leadscore_scoring::{Rules, Timestamp};
use serde::Serialize;

/// What the analysis can be tuned with.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InsightOptions {
    /// How long after its MQL move a lead may take to become SQL and still count as converted.
    pub within_days: u32,
    /// An MQL with no move and no sales action within this many hours is "not worked".
    pub sla_hours: u32,
    /// Two-sided confidence of the intervals (0.95); a value outside (0, 1) means 0.95.
    pub confidence: f64,
    /// How many values each content dimension keeps (the most events first).
    pub top: usize,
}

impl Default for InsightOptions {
    fn default() -> Self {
        InsightOptions {
            within_days: 90,
            sla_hours: 48,
            confidence: 0.95,
            top: 20,
        }
    }
}

/// Everything `insights` found. Leads are histories with at least one event by `as_of`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Insights {
    pub as_of: Timestamp,
    pub options: InsightOptions,
    /// The rules' fingerprint: which rules the figures are computed under.
    pub rules: String,
    pub leads: u64,
    pub funnel: Funnel,
    pub sla: Sla,
    pub signals: SignalReport,
    pub trends: Trends,
}

/// Folds each history under `rules` as of `as_of` (events after it are left out) and sums the
/// leads into the funnel, the SLA check, per-signal MQL -> SQL conversion and trends. It
/// streams: a history is dropped once folded; what it keeps per lead is a few durations and,
/// per signal and content value, counts. Neither the order of the histories nor that of the
/// events within one changes any figure.
pub fn insights(
    histories: impl IntoIterator<Item = History>,
    rules: &Rules,
    as_of: Timestamp,
    options: &InsightOptions,
) -> Insights {
    let mut leads = 0;
    let mut funnel = FunnelAcc::new(options.sla_hours);
    let mut signals = SignalAcc::default();
    let mut trends = TrendAcc::default();
    for history in histories {
        let Some(state) = history.fold(rules, as_of) else {
            continue;
        };
        leads += 1;
        let cohort = Cohort::of(&state, options.within_days, as_of);
        funnel.add(&history, &state, as_of);
        signals.add(&history, cohort, as_of);
        trends.add(&history, &state, cohort, as_of);
    }
    let confidence = sane_confidence(options.confidence);
    let (funnel, sla) = funnel.finish();
    Insights {
        as_of,
        options: options.clone(),
        rules: rules.fingerprint().to_string(),
        leads,
        funnel,
        sla,
        signals: signals.finish(rules, options.within_days, confidence),
        trends: trends.finish(options.top, confidence),
    }
}
