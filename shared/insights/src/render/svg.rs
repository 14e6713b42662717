//! Inline SVG charts drawn by hand: the funnel, the lift chart, lines, grouped bars. Every
//! label goes through `escape`.

use super::pct;
use super::table::escape;
use crate::{SignalReport, Step};
use std::fmt::Write;

pub(crate) const COLOURS: [&str; 6] = [
    "#2563eb", "#d97706", "#059669", "#dc2626", "#7c3aed", "#0891b2",
];

fn open(width: f64, height: f64, title: &str) -> String {
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {width} {height}\" \
         width=\"{width}\" height=\"{height}\" role=\"img\"><title>{}</title>",
        escape(title)
    )
}

fn text(out: &mut String, x: f64, y: f64, anchor: &str, class: &str, body: &str) {
    let _ = write!(
        out,
        "<text x=\"{x:.1}\" y=\"{y:.1}\" text-anchor=\"{anchor}\" class=\"{class}\">{}</text>",
        escape(body)
    );
}

/// The funnel: one centred bar per stage, as wide as the leads that ever reached it, with
/// the step's conversion between bars.
pub(crate) fn funnel(steps: &[Step]) -> String {
    let Some(first) = steps.first() else {
        return String::new();
    };
    let mut stages = vec![(first.from.to_string(), first.reached_from)];
    stages.extend(steps.iter().map(|s| (s.to.to_string(), s.reached_to)));
    let (row, gap, left, span) = (26.0, 20.0, 110.0, 420.0);
    let height = stages.len() as f64 * (row + gap);
    let max = stages.iter().map(|s| s.1).max().unwrap_or(0).max(1) as f64;
    let mut out = open(640.0, height, "Funnel: leads that ever reached each stage");
    for (i, (name, n)) in stages.iter().enumerate() {
        let y = i as f64 * (row + gap);
        let w = (*n as f64 / max * span).max(1.0);
        let x = left + (span - w) / 2.0;
        let _ = write!(
            out,
            "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{row}\" fill=\"{}\" rx=\"3\"/>",
            COLOURS[0]
        );
        text(&mut out, left - 8.0, y + 17.0, "end", "l", name);
        text(
            &mut out,
            left + span + 8.0,
            y + 17.0,
            "start",
            "l",
            &n.to_string(),
        );
        if let Some(step) = steps.get(i) {
            let label = format!("\u{2193} {}", pct(step.share));
            text(
                &mut out,
                left + span / 2.0,
                y + row + 15.0,
                "middle",
                "s",
                &label,
            );
        }
    }
    out.push_str("</svg>");
    out
}

/// Per signal, the MQL -> SQL rate of leads with it (filled) and without it (hollow), each
/// with its joint interval (thin) and its own interval (thick); the dashed line is the
/// cohort's rate.
pub(crate) fn lift(report: &SignalReport) -> String {
    let (row, left, span, top) = (24.0, 190.0, 400.0, 24.0);
    let n = report.signals.len();
    let height = top + n as f64 * row + 28.0;
    let x = |rate: f64| left + rate.clamp(0.0, 1.0) * span;
    let mut out = open(
        640.0,
        height,
        "MQL to SQL rate with and without each signal",
    );
    for tick in [0.0, 0.25, 0.5, 0.75, 1.0] {
        let _ = write!(
            out,
            "<line x1=\"{0:.1}\" x2=\"{0:.1}\" y1=\"{top}\" y2=\"{1:.1}\" class=\"grid\"/>",
            x(tick),
            height - 24.0
        );
        text(
            &mut out,
            x(tick),
            height - 8.0,
            "middle",
            "s",
            &pct(Some(tick)),
        );
    }
    if let Some(base) = report.baseline.rate {
        let _ = write!(
            out,
            "<line x1=\"{0:.1}\" x2=\"{0:.1}\" y1=\"{top}\" y2=\"{1:.1}\" class=\"base\"/>",
            x(base),
            height - 24.0
        );
    }
    text(
        &mut out,
        left,
        14.0,
        "start",
        "s",
        "\u{25cf} with the signal   \u{25cb} without   - - all MQLs",
    );
    for (i, c) in report.signals.iter().enumerate() {
        let y = top + i as f64 * row + row / 2.0;
        let label = if c.defines_sql {
            format!("{} *", c.signal)
        } else {
            c.signal.to_string()
        };
        text(&mut out, left - 8.0, y + 4.0, "end", "l", &label);
        let sides = [
            (&c.with, COLOURS[0], COLOURS[0], -4.0),
            (&c.without, COLOURS[1], "#ffffff", 4.0),
        ];
        for (rate, stroke, fill, dy) in sides {
            let Some(r) = rate.rate else { continue };
            let yy = y + dy;
            let (j, s) = (rate.simultaneous, rate.interval);
            let (jl, jh, sl, sh, cx) = (x(j.low), x(j.high), x(s.low), x(s.high), x(r));
            let _ = write!(
                out,
                "<line x1=\"{jl:.1}\" x2=\"{jh:.1}\" y1=\"{yy:.1}\" y2=\"{yy:.1}\" stroke=\"{stroke}\"/>\
                 <line x1=\"{sl:.1}\" x2=\"{sh:.1}\" y1=\"{yy:.1}\" y2=\"{yy:.1}\" stroke=\"{stroke}\" \
                 stroke-width=\"3\"/><circle cx=\"{cx:.1}\" cy=\"{yy:.1}\" r=\"4\" \
                 fill=\"{fill}\" stroke=\"{stroke}\"/>"
            );
        }
    }
    out.push_str("</svg>");
    out
}

/// One series of a chart: name, colour, one value per category.
pub(crate) struct Series<'a> {
    pub name: &'a str,
    pub colour: &'a str,
    pub values: Vec<f64>,
}

fn axis(out: &mut String, max: f64, left: f64, top: f64, plot_h: f64, width: f64) {
    for k in 0..=4 {
        let v = max * k as f64 / 4.0;
        let y = top + plot_h - plot_h * k as f64 / 4.0;
        let _ = write!(
            out,
            "<line x1=\"{left}\" x2=\"{:.1}\" y1=\"{y:.1}\" y2=\"{y:.1}\" class=\"grid\"/>",
            width - 10.0
        );
        text(out, left - 6.0, y + 4.0, "end", "s", &format!("{v:.0}"));
    }
}

fn legend(out: &mut String, series: &[Series<'_>], left: f64) {
    let mut x = left;
    for s in series {
        let _ = write!(
            out,
            "<rect x=\"{x:.1}\" y=\"4\" width=\"10\" height=\"10\" fill=\"{}\"/>",
            escape(s.colour)
        );
        text(out, x + 14.0, 13.0, "start", "s", s.name);
        x += 24.0 + 7.0 * s.name.chars().count() as f64;
    }
}

fn nice_max(series: &[Series<'_>]) -> f64 {
    let max = series
        .iter()
        .flat_map(|s| s.values.iter().copied())
        .filter(|v| v.is_finite())
        .fold(0.0, f64::max);
    if max <= 4.0 {
        4.0
    } else {
        (max / 4.0).ceil() * 4.0
    }
}

/// Lines over categories (months), labels thinned to fit.
pub(crate) fn lines(title: &str, labels: &[String], series: &[Series<'_>]) -> String {
    let (width, height, left, top, bottom) = (640.0, 240.0, 50.0, 24.0, 30.0);
    let plot_h = height - top - bottom;
    let plot_w = width - left - 40.0;
    let max = nice_max(series);
    let n = labels.len();
    let x = |i: usize| {
        left + if n > 1 {
            plot_w * i as f64 / (n - 1) as f64
        } else {
            plot_w / 2.0
        }
    };
    let y = |v: f64| top + plot_h - plot_h * (v / max).clamp(0.0, 1.0);
    let mut out = open(width, height, title);
    axis(&mut out, max, left, top, plot_h, width);
    let every = n.div_ceil(8).max(1);
    for (i, label) in labels.iter().enumerate().filter(|(i, _)| i % every == 0) {
        text(&mut out, x(i), height - 10.0, "middle", "s", label);
    }
    for s in series {
        let points: Vec<String> = s
            .values
            .iter()
            .enumerate()
            .map(|(i, v)| format!("{:.1},{:.1}", x(i), y(*v)))
            .collect();
        let _ = write!(
            out,
            "<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"2\" points=\"{}\"/>",
            escape(s.colour),
            points.join(" ")
        );
    }
    legend(&mut out, series, left);
    out.push_str("</svg>");
    out
}

/// Grouped vertical bars: one group per category, one bar per series.
pub(crate) fn bars(title: &str, labels: &[String], series: &[Series<'_>]) -> String {
    let (width, height, left, top, bottom) = (640.0, 240.0, 50.0, 24.0, 30.0);
    let plot_h = height - top - bottom;
    let group = (width - left - 20.0) / labels.len().max(1) as f64;
    let bar = (group * 0.8) / series.len().max(1) as f64;
    let max = nice_max(series);
    let mut out = open(width, height, title);
    axis(&mut out, max, left, top, plot_h, width);
    for (i, label) in labels.iter().enumerate() {
        let gx = left + group * i as f64 + group * 0.1;
        text(
            &mut out,
            gx + group * 0.4,
            height - 10.0,
            "middle",
            "s",
            label,
        );
        for (k, s) in series.iter().enumerate() {
            let v = s.values.get(i).copied().unwrap_or(0.0);
            let h = plot_h * (v / max).clamp(0.0, 1.0);
            let _ = write!(
                out,
                "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{h:.1}\" fill=\"{}\"/>",
                gx + bar * k as f64,
                top + plot_h - h,
                bar.max(1.0) - 1.0,
                escape(s.colour)
            );
        }
    }
    legend(&mut out, series, left);
    out.push_str("</svg>");
    out
}
