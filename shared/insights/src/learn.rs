//! A predictive score learned from history: which signals an MQL showed, and whether it
//! became an SQL within the window.
//!
//! One example per lead that reached MQL (its first move there) and whose window
//! (`within_days` after the MQL) has closed as of the analysis; a lead that converted while
//! its window is still open is left out too, or the newest MQLs would look better than they
//! are (their failures are not known yet). Label: reached SQL (or further) within the window.
//! A lead that became MQL and SQL at the same instant (its hand-raise made it both) is not an
//! example: the outcome caused the MQL. Features: the presence of each signal the person
//! showed before the SQL (or before the window closed), bot hits excluded, as the fold counts
//! them; never the signals that define SQL (hand-raises, asked of the rules themselves), the
//! sales feedback, nor anything at or after the SQL: they would leak the outcome. Presence
//! only, not counts: a per-signal factor then reads as one odds ratio.
//!
//! The model is a logistic regression with an L2 penalty on the coefficients (not the
//! intercept), fitted by Newton's method (`fit.rs`): a dozen features and tens of thousands
//! of examples take milliseconds, its standard errors come from the same Hessian, and every
//! number is explainable. A crate (linfa-logistic) would bring ndarray and a solver for no
//! gain at this size.
//!
//! The holdout is the latest `holdout_share` of the examples by MQL date: the model is
//! fitted on the earlier ones and judged on the later ones (AUC, calibration in 10 bins of
//! equal size), as it would be used: on leads that come after it. The model reported is the
//! one fitted on the training part, so its figures describe exactly it.

mod fit;
mod model;
mod suggest;

pub use model::{CalibrationBin, Counts, Factor, Holdout, Model, Unused};
pub use suggest::{model_text, suggest_rules, suggestions, PointsSuggestion};

use crate::conversion::Cohort;
use crate::{defines_sql, History};
use leadscore_scoring::{LeadState, Rules, Signal, SignalKind, Timestamp};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// What the model predicts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    /// An MQL becomes an SQL (or goes further) within the window.
    MqlToSql,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LearnOptions {
    pub target: Target,
    /// The window after the MQL in which a conversion counts.
    pub within_days: u32,
    /// The latest share of examples (by MQL date) kept to judge the model.
    pub holdout_share: f64,
    /// L2 penalty on the coefficients (the intercept is free).
    pub l2: f64,
}

impl Default for LearnOptions {
    fn default() -> Self {
        LearnOptions {
            target: Target::MqlToSql,
            within_days: 90,
            holdout_share: 0.2,
            l2: 1.0,
        }
    }
}

/// Fewest conversions to fit on, and to judge with.
pub const MIN_TRAINING_CONVERSIONS: usize = 30;
pub const MIN_HOLDOUT_CONVERSIONS: usize = 10;
/// A signal is a feature only if at least this many training examples show it and as many
/// do not (otherwise its coefficient is noise, or the intercept's twin).
pub const MIN_SUPPORT: usize = 10;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LearnError {
    #[error(
        "too few conversions to learn from: {training} MQLs reached SQL within {within_days} \
         days in the training part (at least {MIN_TRAINING_CONVERSIONS} needed) and {holdout} in \
         the holdout (at least {MIN_HOLDOUT_CONVERSIONS} needed), out of {examples} MQLs whose \
         window has closed; wait for more history, or widen the window"
    )]
    TooFewConversions {
        training: usize,
        holdout: usize,
        examples: usize,
        within_days: u32,
    },
    #[error("learn options: {0}")]
    Options(String),
    #[error("the model could not be fitted: {0}")]
    Fit(String),
    #[error("the current rules file: {0}")]
    Rules(String),
}

/// One MQL whose window has closed.
#[derive(Debug, Clone, PartialEq)]
struct Example {
    mql_at: Timestamp,
    lead: String,
    shown: BTreeSet<Signal>,
    converted: bool,
}

enum Reading {
    NotMql,
    SqlWithoutMql,
    OpenWindow,
    Example(Example),
}

/// Learns which signals make an MQL an SQL: see the module doc.
pub fn learn(
    histories: impl IntoIterator<Item = History>,
    rules: &Rules,
    as_of: Timestamp,
    options: &LearnOptions,
) -> Result<Model, LearnError> {
    check(options)?;
    let leaks: BTreeSet<Signal> = Signal::ALL
        .iter()
        .copied()
        .filter(|s| !feature_kind(*s) || defines_sql(rules, *s))
        .collect();
    let mut counts = Counts::default();
    let mut examples = Vec::new();
    for history in histories {
        counts.histories += 1;
        match read(&history, rules, as_of, options.within_days, &leaks) {
            Reading::NotMql => {}
            Reading::SqlWithoutMql => counts.sql_without_mql += 1,
            Reading::OpenWindow => {
                counts.mqls += 1;
                counts.open_window += 1;
            }
            Reading::Example(e) => {
                counts.mqls += 1;
                examples.push(e);
            }
        }
    }
    examples.sort_by(|a, b| (a.mql_at, &a.lead).cmp(&(b.mql_at, &b.lead)));
    let holdout_len = ((examples.len() as f64) * options.holdout_share).ceil() as usize;
    let split = examples.len() - holdout_len.min(examples.len());
    let (training, holdout) = examples.split_at(split);
    let positives = |part: &[Example]| part.iter().filter(|e| e.converted).count();
    counts.examples = examples.len();
    counts.conversions = positives(&examples);
    counts.training = training.len();
    counts.training_conversions = positives(training);
    counts.holdout = holdout.len();
    counts.holdout_conversions = positives(holdout);
    if counts.training_conversions < MIN_TRAINING_CONVERSIONS
        || counts.holdout_conversions < MIN_HOLDOUT_CONVERSIONS
    {
        return Err(LearnError::TooFewConversions {
            training: counts.training_conversions,
            holdout: counts.holdout_conversions,
            examples: counts.examples,
            within_days: options.within_days,
        });
    }

    // Features: signals shown by enough training examples, and missed by enough.
    let mut features = Vec::new();
    let mut unused = Vec::new();
    for signal in Signal::ALL.iter().copied().filter(|s| !leaks.contains(s)) {
        let shown = training
            .iter()
            .filter(|e| e.shown.contains(&signal))
            .count();
        if shown == 0 {
            continue;
        }
        if shown < MIN_SUPPORT || training.len() - shown < MIN_SUPPORT {
            let reason = if shown < MIN_SUPPORT {
                format!("shown by only {shown} training MQLs (fewer than {MIN_SUPPORT})")
            } else {
                format!(
                    "shown by all but {} training MQLs: nothing to compare",
                    training.len() - shown
                )
            };
            unused.push(Unused {
                signal,
                shown,
                reason,
            });
        } else {
            features.push(signal);
        }
    }
    let matrix = |part: &[Example]| -> Vec<Vec<f64>> {
        part.iter()
            .map(|e| {
                features
                    .iter()
                    .map(|s| if e.shown.contains(s) { 1.0 } else { 0.0 })
                    .collect()
            })
            .collect()
    };
    let labels = |part: &[Example]| -> Vec<bool> { part.iter().map(|e| e.converted).collect() };
    let (x, y) = (matrix(training), labels(training));
    let fitted = fit::logistic(&x, &y, options.l2).map_err(LearnError::Fit)?;

    let mut factors: Vec<Factor> = features
        .iter()
        .enumerate()
        .map(|(j, signal)| {
            let (b, se) = (fitted.coefficients[j], fitted.std_errors[j]);
            let (with, without): (Vec<&Example>, Vec<&Example>) =
                training.iter().partition(|e| e.shown.contains(signal));
            Factor {
                signal: *signal,
                coefficient: b,
                odds_ratio: b.exp(),
                std_error: se,
                odds_ratio_low: (b - 1.96 * se).exp(),
                odds_ratio_high: (b + 1.96 * se).exp(),
                significant: b.abs() > 1.96 * se,
                shown: with.len(),
                rate_shown: rate(&with),
                rate_not_shown: rate(&without),
            }
        })
        .collect();
    factors.sort_by(|a, b| b.coefficient.total_cmp(&a.coefficient));

    let predict =
        |rows: &[Vec<f64>]| -> Vec<f64> { rows.iter().map(|r| fitted.predict(r)).collect() };
    let training_scores = predict(&x);
    let (hx, hy) = (matrix(holdout), labels(holdout));
    let holdout_scores = predict(&hx);
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    let observed: Vec<f64> = hy.iter().map(|c| f64::from(u8::from(*c))).collect();
    Ok(Model {
        target: options.target,
        within_days: options.within_days,
        as_of,
        rules: rules.fingerprint().to_string(),
        l2: options.l2,
        intercept: fitted.intercept,
        factors,
        unused,
        training_auc: fit::auc(&training_scores, &y),
        holdout: Holdout {
            from: holdout.first().map_or(as_of, |e| e.mql_at),
            auc: fit::auc(&holdout_scores, &hy),
            calibration: fit::calibration(&holdout_scores, &hy, 10),
            predicted_rate: mean(&holdout_scores),
            observed_rate: mean(&observed),
        },
        counts,
    })
}

fn check(options: &LearnOptions) -> Result<(), LearnError> {
    if options.within_days == 0 {
        return Err(LearnError::Options("within_days must be at least 1".into()));
    }
    if !(options.holdout_share > 0.0 && options.holdout_share < 1.0) {
        return Err(LearnError::Options(format!(
            "holdout_share must be between 0 and 1 (got {})",
            options.holdout_share
        )));
    }
    if !(options.l2.is_finite() && options.l2 >= 0.0) {
        return Err(LearnError::Options(format!(
            "l2 must be a non-negative number (got {})",
            options.l2
        )));
    }
    Ok(())
}

fn rate(examples: &[&Example]) -> f64 {
    let converted = examples.iter().filter(|e| e.converted).count();
    converted as f64 / examples.len().max(1) as f64
}

/// Behaviour a person shows: interest, disengagement and advocacy; not hand-raises (they make
/// the SQL) nor sales feedback (the outcome itself).
fn feature_kind(signal: Signal) -> bool {
    matches!(
        signal.kind(),
        SignalKind::Interest | SignalKind::Negative | SignalKind::Advocacy
    )
}

/// One history as an example, or why it is none.
fn read(
    history: &History,
    rules: &Rules,
    as_of: Timestamp,
    within_days: u32,
    leaks: &BTreeSet<Signal>,
) -> Reading {
    // The analysis sees nothing after its own time (the fold leaves it out).
    let Some(state) = history.fold(rules, as_of) else {
        return Reading::NotMql;
    };
    let (mql_at, converted, cutoff) = match Cohort::of(&state, within_days, as_of) {
        Cohort::NotMql => return Reading::NotMql,
        Cohort::SqlWithoutMql => return Reading::SqlWithoutMql,
        Cohort::Open => return Reading::OpenWindow,
        Cohort::Closed {
            mql_at,
            converted,
            cutoff,
        } => (mql_at, converted, cutoff),
    };
    // What the person showed up to the cutoff, as the fold counts it (bots excluded).
    let before = if history.events_until(as_of).all(|e| e.occurred_at <= cutoff) {
        state
    } else {
        match history.fold(rules, cutoff) {
            Some(s) => s,
            None => return Reading::NotMql,
        }
    };
    Reading::Example(Example {
        mql_at,
        lead: history.lead.to_string(),
        shown: shown(&before, leaks),
        converted,
    })
}

fn shown(state: &LeadState, leaks: &BTreeSet<Signal>) -> BTreeSet<Signal> {
    state
        .signal_counts()
        .into_iter()
        .filter(|(s, n)| *n > 0 && !leaks.contains(s))
        .map(|(s, _)| s)
        .collect()
}
