//! The history commands as a user runs them: `simulate` writes a history from a known truth
//! (an export folder, an embedded store, a DynamoDB table), `insights`, `learn` and `replay`
//! read it back.

use leadscore_insights::{wilson, Interval, Truth};
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};

fn leadscore(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_leadscore"))
        .args(args)
        .current_dir(dir)
        .env_remove("LEADSCORE_LEAD_ID_KEY")
        .output()
        .unwrap()
}

fn json_of(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn a_simulated_export_reads_back_with_the_truth_inside_the_intervals() {
    let dir = tempfile::tempdir().unwrap();
    let made = leadscore(
        &[
            "simulate", "--leads", "20000", "--seed", "11", "--export", "exp",
        ],
        dir.path(),
    );
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let report = json_of(&leadscore(
        &["insights", "--export", "exp", "--json"],
        dir.path(),
    ));
    assert_eq!(report["leads"], 20000);
    let now: u64 = report["funnel"]["stages"]
        .as_array()
        .map(|stages| stages.iter().filter_map(|s| s["leads"].as_u64()).sum())
        .unwrap_or(0);
    assert_eq!(now, 20000, "{}", report["funnel"]);
    // The simulation's hand-raises straight from lead are counted apart, outside the cohort
    // the truth describes (MQLs only).
    assert!(report["signals"]["sql_without_mql"].as_u64() > Some(0));
    // Every signal's true MQL -> SQL rate, with and without it, inside intervals from the
    // report's own counts at 99.9% jointly (Bonferroni over the report's rates): the report's
    // 95% would miss one history in twenty, and the simulation's start and the open windows
    // move with the calendar. 20,000 leads still show a cohort a few points off: counting
    // the leads that skipped MQL put the demo video's "without" rate at 19.8% for a truth
    // of 16.4%, 4.6 standard errors high and outside these intervals.
    let truth = Truth::default();
    let signals = &report["signals"];
    let joint = signals["simultaneous_confidence"].as_f64().unwrap();
    let comparisons = signals["comparisons"].as_u64().unwrap();
    let strict = 1.0 - 0.001 / comparisons as f64;
    let mut checked = 0;
    for s in signals["signals"].as_array().unwrap() {
        let signal: leadscore_scoring::Signal = s["signal"].as_str().unwrap().parse().unwrap();
        for (side, showed) in [("with", true), ("without", false)] {
            let (k, n) = (
                s[side]["converted"].as_u64().unwrap(),
                s[side]["leads"].as_u64().unwrap(),
            );
            // The report's joint interval is the Wilson one at its stated confidence.
            let stated = wilson(k, n, joint);
            assert!(
                (s[side]["simultaneous"]["low"].as_f64().unwrap() - stated.low).abs() < 1e-9,
                "{signal} {side}: {}",
                s[side]
            );
            let rate = truth.conversion_rate(signal, showed);
            if s["defines_sql"] == true || rate.is_nan() || n == 0 {
                continue;
            }
            let Interval { low, high } = wilson(k, n, strict);
            assert!(
                low <= rate && rate <= high,
                "{signal} {side}: truth {rate:.3} outside {low:.3}-{high:.3} ({k} of {n})"
            );
            checked += 1;
        }
    }
    assert!(checked >= 8, "{checked} rates checked");

    // learn: a model, and a rules file that replay can backtest.
    let model = json_of(&leadscore(
        &[
            "learn",
            "--export",
            "exp",
            "--json",
            "--suggest",
            "suggested.toml",
        ],
        dir.path(),
    ));
    let auc = model["holdout"]["auc"].as_f64().unwrap();
    assert!(auc > 0.75, "holdout AUC {auc}");
    let replay = json_of(&leadscore(
        &[
            "replay",
            "--export",
            "exp",
            "--rules",
            "suggested.toml",
            "--json",
        ],
        dir.path(),
    ));
    assert!(replay.is_object(), "{replay}");
    let page = leadscore(
        &[
            "replay",
            "--export",
            "exp",
            "--rules",
            "suggested.toml",
            "--html",
            "r.html",
        ],
        dir.path(),
    );
    assert!(page.status.success());
    let html = std::fs::read_to_string(dir.path().join("r.html")).unwrap();
    assert!(html.contains("<svg"), "charts are drawn");
}

#[test]
fn too_short_a_history_is_refused_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let made = leadscore(
        &[
            "simulate", "--leads", "150", "--seed", "3", "--export", "exp",
        ],
        dir.path(),
    );
    assert!(made.status.success());
    let out = leadscore(&["learn", "--export", "exp"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("too few conversions"), "{err}");
}

#[test]
fn an_embedded_store_in_use_is_named_and_a_free_one_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let made = leadscore(
        &["simulate", "--leads", "40", "--seed", "5", "--data", "data"],
        dir.path(),
    );
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let report = json_of(&leadscore(
        &["insights", "--data", "data", "--json"],
        dir.path(),
    ));
    assert!(
        report["leads"].as_u64().unwrap() >= 30,
        "{}",
        report["leads"]
    );
    // While another process (a running `leadscore serve`) holds the store:
    let held = leadscore_store::Embedded::open(dir.path().join("data")).unwrap();
    let out = leadscore(&["insights", "--data", "data"], dir.path());
    drop(held);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("leadscore serve") && err.contains("--data"),
        "{err}"
    );
}

#[test]
fn each_command_names_a_bad_flag() {
    let dir = tempfile::tempdir().unwrap();
    for (args, flag) in [
        (vec!["insights"], "--data"),
        (vec!["insights", "--data", "d", "--export", "e"], "--export"),
        (vec!["replay", "--data", "d"], "--rules"),
        (
            vec!["learn", "--data", "d", "--target", "sql->won"],
            "--target",
        ),
        (vec!["simulate", "--leads", "0", "--export", "e"], "--leads"),
        (
            vec!["insights", "--data", "d", "--as-of", "yesterday"],
            "--as-of",
        ),
    ] {
        let out = leadscore(&args, dir.path());
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(flag), "{args:?}: {err}");
    }
}

#[test]
fn a_history_simulated_into_a_dynamodb_table_reads_like_its_export() {
    assert!(
        std::env::var("AWS_ENDPOINT_URL_DYNAMODB").is_ok(),
        "AWS_ENDPOINT_URL_DYNAMODB is not set: run infra/scripts/test (DynamoDB Local)"
    );
    let dir = tempfile::tempdir().unwrap();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let table = format!("simulated-{nanos}");
    let made = leadscore(&["dynamodb", "create-table", "--table", &table], dir.path());
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let seed = ["--leads", "80", "--seed", "9"];
    let into_table = leadscore(
        &[&["simulate"][..], &seed, &["--table", &table]].concat(),
        dir.path(),
    );
    assert!(
        into_table.status.success(),
        "{}",
        String::from_utf8_lossy(&into_table.stderr)
    );
    let into_export = leadscore(
        &[&["simulate"][..], &seed, &["--export", "exp"]].concat(),
        dir.path(),
    );
    assert!(into_export.status.success());
    let as_of = ["--as-of", "2030-01-01T00:00:00Z", "--json"];
    let from_table = json_of(&leadscore(
        &[&["insights", "--table", &table][..], &as_of].concat(),
        dir.path(),
    ));
    let from_export = json_of(&leadscore(
        &[&["insights", "--export", "exp"][..], &as_of].concat(),
        dir.path(),
    ));
    assert!(from_table["leads"].as_u64().unwrap() >= 60);
    assert_eq!(from_table, from_export);
}
