//! Reports for people: aligned text tables for a terminal, and one self-contained HTML page
//! per report (inline CSS and SVG drawn here; no script, nothing fetched).

mod html;
mod svg;
mod table;
mod text;

pub use html::{insights_html, replay_html};
pub use text::{insights_text, replay_text};

use crate::Interval;

/// A share as a percentage with one decimal, `-` when unknown.
pub(crate) fn pct(share: Option<f64>) -> String {
    share.map_or_else(|| "-".to_string(), |s| format!("{:.1}%", s * 100.0))
}

pub(crate) fn interval(i: Interval) -> String {
    format!("{:.1}-{:.1}%", i.low * 100.0, i.high * 100.0)
}

pub(crate) fn days(d: Option<f64>) -> String {
    d.map_or_else(|| "-".to_string(), |d| format!("{d:.1}"))
}

pub(crate) fn ratio(r: Option<f64>) -> String {
    r.map_or_else(|| "-".to_string(), |r| format!("{r:.2}x"))
}

pub(crate) fn ratio_range(i: Option<Interval>) -> String {
    i.map_or_else(
        || "-".to_string(),
        |i| format!("{:.2}-{:.2}x", i.low, i.high),
    )
}

pub(crate) fn number(n: Option<f64>) -> String {
    n.map_or_else(|| "-".to_string(), |n| format!("{n:.1}"))
}

/// `[low, high)` of a score bucket as a label.
pub(crate) fn bucket(low: Option<i64>, high: Option<i64>) -> String {
    match (low, high) {
        (None, Some(h)) => format!("< {h}"),
        (Some(l), Some(h)) => format!("{l}-{}", h - 1),
        (Some(l), None) => format!("{l}+"),
        (None, None) => "all".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(pct(Some(0.4)), "40.0%");
        assert_eq!(pct(None), "-");
        assert_eq!(
            interval(Interval {
                low: 0.0,
                high: 0.2775
            }),
            "0.0-27.8%"
        );
        assert_eq!(bucket(Some(25), Some(50)), "25-49");
        assert_eq!(bucket(None, Some(0)), "< 0");
        assert_eq!(ratio(Some(2.0)), "2.00x");
    }
}
