//! From a model back to a rules file, and to a table for the terminal.
//!
//! Suggested points: the strongest significant positive coefficient gets the highest points
//! the current rules give to any signal the model weighs, and the others points in
//! proportion (at least 1). A negative or not significant effect gets 0 points: kept in the
//! file with 0 (and said in its header) rather than dropped, so that the change is visible and
//! `leadscore replay` shows what it costs. A signal's cap keeps the number of occurrences it
//! allowed. Everything else in the file (groups, fit, stages, mapping, comments) is kept
//! as written: the file is edited with `toml_edit`, not re-serialised.

use super::{LearnError, Model};
use leadscore_scoring::{Rules, Signal};
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use toml_edit::{value, DocumentMut, InlineTable, Item};

/// One signal's suggested points.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PointsSuggestion {
    pub signal: Signal,
    pub coefficient: f64,
    pub significant: bool,
    /// In the current rules (None: the signal earns nothing there).
    pub current: Option<i64>,
    pub suggested: i64,
    /// Why, when it is not proportional to the coefficient: "negative effect", "not significant".
    pub note: Option<String>,
}

/// Points for every signal the model weighs, scaled to the current rules' range.
pub fn suggestions(
    model: &Model,
    current_rules_toml: &str,
) -> Result<Vec<PointsSuggestion>, LearnError> {
    Rules::from_toml_str(current_rules_toml).map_err(|e| LearnError::Rules(e.to_string()))?;
    let doc: DocumentMut = current_rules_toml
        .parse()
        .map_err(|e: toml_edit::TomlError| LearnError::Rules(e.to_string()))?;
    let current = |s: Signal| -> Option<i64> {
        doc.get("signals")?
            .get(s.as_str())?
            .get("points")?
            .as_integer()
    };
    let top_points = model
        .factors
        .iter()
        .filter_map(|f| current(f.signal))
        .filter(|p| *p > 0)
        .max()
        .unwrap_or(10);
    let top_coefficient = model
        .factors
        .iter()
        .filter(|f| f.significant && f.coefficient > 0.0)
        .map(|f| f.coefficient)
        .fold(0.0, f64::max);
    Ok(model
        .factors
        .iter()
        .map(|f| {
            let (suggested, note) = if f.coefficient <= 0.0 {
                (0, Some("negative effect".to_string()))
            } else if !f.significant {
                (0, Some("not significant".to_string()))
            } else {
                let scaled = (f.coefficient / top_coefficient * top_points as f64).round();
                ((scaled as i64).max(1), None)
            };
            PointsSuggestion {
                signal: f.signal,
                coefficient: f.coefficient,
                significant: f.significant,
                current: current(f.signal),
                suggested,
                note,
            }
        })
        .collect())
}

/// The current rules file with the suggested points (and caps scaled to match): a complete
/// file that `Rules::from_toml_str` accepts, for `leadscore replay --rules` to backtest.
pub fn suggest_rules(model: &Model, current_rules_toml: &str) -> Result<String, LearnError> {
    let list = suggestions(model, current_rules_toml)?;
    let mut doc: DocumentMut = current_rules_toml
        .parse()
        .map_err(|e: toml_edit::TomlError| LearnError::Rules(e.to_string()))?;
    if doc.get("signals").is_none() {
        doc["signals"] = toml_edit::table();
    }
    for s in &list {
        let name = s.signal.as_str();
        let entry = &mut doc["signals"][name];
        if entry.is_none() {
            let mut t = InlineTable::new();
            t.insert("points", s.suggested.into());
            *entry = Item::Value(t.into());
            continue;
        }
        let old_cap = entry.get("cap").and_then(Item::as_integer);
        entry["points"] = value(s.suggested);
        if let (Some(cap), Some(old)) = (old_cap, s.current) {
            if old > 0 && s.suggested > 0 {
                let occurrences = (cap + old - 1) / old;
                entry["cap"] = value(occurrences * s.suggested);
            }
        }
    }
    let mut out = header(model, &list);
    out.push_str(&doc.to_string());
    Rules::from_toml_str(&out)
        .map_err(|e| LearnError::Rules(format!("the suggested file does not load: {e}")))?;
    Ok(out)
}

fn header(model: &Model, list: &[PointsSuggestion]) -> String {
    let mut h = String::new();
    let _ = writeln!(
        h,
        "# Suggested by `leadscore learn` as of {}: points from a model of MQL -> SQL within {} \
         days,",
        model.as_of, model.within_days
    );
    let _ = writeln!(
        h,
        "# fitted on {} MQLs ({} converted), holdout AUC {}. Backtest before use: leadscore \
         replay --rules <this file>.",
        model.counts.training,
        model.counts.training_conversions,
        fmt_auc(model.holdout.auc)
    );
    let changed: Vec<String> = list
        .iter()
        .filter(|s| s.current != Some(s.suggested))
        .map(|s| match s.current {
            Some(c) => format!("{} {c} -> {}", s.signal, s.suggested),
            None => format!("{} (new) {}", s.signal, s.suggested),
        })
        .collect();
    if !changed.is_empty() {
        let _ = writeln!(h, "# Changed: {}.", changed.join(", "));
    }
    for note in ["negative effect", "not significant"] {
        let zeroed: Vec<&str> = list
            .iter()
            .filter(|s| s.note.as_deref() == Some(note))
            .map(|s| s.signal.as_str())
            .collect();
        if !zeroed.is_empty() {
            let _ = writeln!(h, "# Set to 0 ({note}): {}.", zeroed.join(", "));
        }
    }
    if !model.unused.is_empty() {
        let kept: Vec<&str> = model.unused.iter().map(|u| u.signal.as_str()).collect();
        let _ = writeln!(h, "# Unchanged (too little data): {}.", kept.join(", "));
    }
    h.push_str(
        "# Signals the model cannot weigh (hand-raises, negatives, advocacy) are unchanged.\n\n",
    );
    h
}

fn fmt_auc(auc: Option<f64>) -> String {
    auc.map_or_else(|| "n/a".to_string(), |a| format!("{a:.3}"))
}

fn pct(x: f64) -> String {
    format!("{:.1}%", 100.0 * x)
}

/// The model as a table for the terminal.
pub fn model_text(model: &Model) -> String {
    let c = &model.counts;
    let mut t = String::new();
    let _ = writeln!(
        t,
        "MQL -> SQL within {} days, as of {}",
        model.within_days, model.as_of
    );
    let _ = writeln!(
        t,
        "{} histories: {} MQLs ({} with the window still open, left out), {} SQLs without an \
         MQL before (left out)",
        c.histories, c.mqls, c.open_window, c.sql_without_mql
    );
    let _ = writeln!(
        t,
        "Trained on {} MQLs ({} converted); judged on the latest {} ({} converted), MQL from {}",
        c.training, c.training_conversions, c.holdout, c.holdout_conversions, model.holdout.from
    );
    let _ = writeln!(
        t,
        "Holdout AUC {} (training {}); predicted {} vs observed {}\n",
        fmt_auc(model.holdout.auc),
        fmt_auc(model.training_auc),
        pct(model.holdout.predicted_rate),
        pct(model.holdout.observed_rate)
    );
    let _ = writeln!(
        t,
        "{:<24} {:>7} {:>7}  {:<17} {:>7}  {:>8} {:>8}",
        "signal", "coef", "odds", "95% interval", "shown", "conv.", "without"
    );
    for f in &model.factors {
        let _ = writeln!(
            t,
            "{:<24} {:>+7.2} {:>7.2}  {:<17} {:>7}  {:>8} {:>8}{}",
            f.signal.as_str(),
            f.coefficient,
            f.odds_ratio,
            format!("{:.2} - {:.2}", f.odds_ratio_low, f.odds_ratio_high),
            f.shown,
            pct(f.rate_shown),
            pct(f.rate_not_shown),
            if f.significant { "  *" } else { "" }
        );
    }
    let _ = writeln!(
        t,
        "intercept {:+.2}; * significant at 95%; conv.: conversion of the training MQLs that \
         showed the signal, without: of the others",
        model.intercept
    );
    for u in &model.unused {
        let _ = writeln!(t, "not in the model: {} ({})", u.signal, u.reason);
    }
    let _ = writeln!(t, "\nCalibration on the holdout (bins of equal size)");
    let _ = writeln!(
        t,
        "{:>19} {:>10} {:>10} {:>9}",
        "predicted range", "predicted", "observed", "examples"
    );
    for b in &model.holdout.calibration {
        let _ = writeln!(
            t,
            "{:>19} {:>10} {:>10} {:>9}",
            format!("{} - {}", pct(b.predicted_from), pct(b.predicted_to)),
            pct(b.predicted),
            pct(b.observed),
            b.examples
        );
    }
    t
}
