//! The learned model and its report: what `leadscore learn` prints and writes as JSON.

use super::{fit, Target};
use leadscore_scoring::{Signal, Timestamp};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// How the histories were used.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Counts {
    pub histories: usize,
    /// Leads that reached MQL (as of the analysis).
    pub mqls: usize,
    /// MQLs whose window is still open (left out, converted or not).
    pub open_window: usize,
    /// SQLs that never were an MQL before: by a hand-raise at once, or SQL at the same
    /// instant as MQL (left out).
    pub sql_without_mql: usize,
    pub examples: usize,
    pub conversions: usize,
    pub training: usize,
    pub training_conversions: usize,
    pub holdout: usize,
    pub holdout_conversions: usize,
}

/// One signal's share of the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Factor {
    pub signal: Signal,
    /// Change in the log-odds of conversion when the MQL showed the signal.
    pub coefficient: f64,
    pub odds_ratio: f64,
    pub std_error: f64,
    /// 95% interval of the odds ratio.
    pub odds_ratio_low: f64,
    pub odds_ratio_high: f64,
    /// |coefficient| > 1.96 standard errors.
    pub significant: bool,
    /// Training examples that showed it, and their conversion rate; the rate of the others.
    pub shown: usize,
    pub rate_shown: f64,
    pub rate_not_shown: f64,
}

/// A signal left out of the model, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Unused {
    pub signal: Signal,
    pub shown: usize,
    pub reason: String,
}

/// Predicted against observed conversion in one bin of holdout examples (sorted by
/// prediction, bins of equal size).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CalibrationBin {
    pub examples: usize,
    pub predicted_from: f64,
    pub predicted_to: f64,
    pub predicted: f64,
    pub observed: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Holdout {
    /// The first MQL date of the holdout part: the model saw only earlier MQLs.
    pub from: Timestamp,
    /// Area under the ROC curve on the holdout (None without both outcomes).
    pub auc: Option<f64>,
    pub calibration: Vec<CalibrationBin>,
    /// Mean predicted and observed conversion over the holdout.
    pub predicted_rate: f64,
    pub observed_rate: f64,
}

/// The learned model and its report. Serializable: the CLI writes it as JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Model {
    pub target: Target,
    pub within_days: u32,
    pub as_of: Timestamp,
    /// The rules the histories were folded with ([`Rules::fingerprint`]).
    pub rules: String,
    pub l2: f64,
    pub intercept: f64,
    /// Sorted by coefficient, strongest first.
    pub factors: Vec<Factor>,
    pub unused: Vec<Unused>,
    pub training_auc: Option<f64>,
    pub holdout: Holdout,
    pub counts: Counts,
}

impl Model {
    /// The predicted probability of conversion for an MQL that showed `signals`.
    pub fn predict(&self, signals: &BTreeSet<Signal>) -> f64 {
        let eta = self.intercept
            + self
                .factors
                .iter()
                .filter(|f| signals.contains(&f.signal))
                .map(|f| f.coefficient)
                .sum::<f64>();
        fit::sigmoid(eta)
    }
}
