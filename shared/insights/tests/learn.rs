//! `learn` against a simulation whose truth is known: it recovers the order of the true
//! effects and ranks the holdout nearly as well as the truth itself; it refuses too little
//! data with a message that says how much; its suggested rules file loads and pays the
//! strongest signal most.

use leadscore_insights::{
    learn, model_text, simulate, suggest_rules, suggestions, LeadKind, LearnError, LearnOptions,
    Model, SimConfig, Simulation, Truth, MIN_TRAINING_CONVERSIONS,
};
use leadscore_scoring::{Rules, Signal, SignalKind, Timestamp, DEFAULT_RULES_TOML, MILLIS_PER_DAY};
use std::time::Instant;

/// 2026-01-01T00:00:00Z
const START: i64 = 1_767_225_600_000;

fn simulation(leads: usize, seed: u64) -> Simulation {
    simulate(&SimConfig {
        leads,
        seed,
        start: Timestamp::from_millis(START),
        months: 12,
        truth: Truth::default(),
    })
}

/// The AUC of the truth's own probabilities on the simulated MQLs: the best any model of
/// these signals can do.
fn oracle_auc(sim: &Simulation) -> f64 {
    let mut scored: Vec<(f64, bool)> = sim
        .leads()
        .filter(|l| l.intended.kind == LeadKind::Mql)
        .map(|l| {
            (
                l.intended.probability.unwrap(),
                l.intended.converted_at.is_some(),
            )
        })
        .collect();
    scored.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (mut rank_sum, mut i) = (0.0, 0);
    while i < scored.len() {
        let mut j = i;
        while j + 1 < scored.len() && scored[j + 1].0 == scored[i].0 {
            j += 1;
        }
        let mean = (i + j) as f64 / 2.0 + 1.0;
        rank_sum += mean * scored[i..=j].iter().filter(|s| s.1).count() as f64;
        i = j + 1;
    }
    let p = scored.iter().filter(|s| s.1).count() as f64;
    let n = scored.len() as f64 - p;
    (rank_sum - p * (p + 1.0) / 2.0) / (p * n)
}

fn fitted(leads: usize, seed: u64) -> (Simulation, Model) {
    let sim = simulation(leads, seed);
    let rules = Rules::default_rules();
    let model = learn(
        sim.histories(),
        &rules,
        sim.settled_at(),
        &LearnOptions::default(),
    )
    .expect("enough conversions");
    (sim, model)
}

#[test]
fn learn_recovers_the_order_of_the_true_effects_and_ranks_the_holdout() {
    let started = Instant::now();
    let (sim, model) = fitted(20_000, 11);
    let elapsed = started.elapsed();
    let truth = &sim.truth;
    let oracle = oracle_auc(&sim);
    println!("{}", model_text(&model));
    println!("oracle AUC {oracle:.3}, learned in {elapsed:?}");
    assert!(
        oracle >= 0.85,
        "the truth's effects must allow an AUC of 0.85 (got {oracle})"
    );

    // Every MQL's window has closed at settled_at: every one is an example, and the
    // conversions are exactly the truth's.
    let mqls = sim
        .leads()
        .filter(|l| l.intended.kind == LeadKind::Mql)
        .count();
    let converted = sim
        .leads()
        .filter(|l| l.intended.kind == LeadKind::Mql && l.intended.converted_at.is_some())
        .count();
    let c = &model.counts;
    assert_eq!(
        (c.examples, c.conversions, c.open_window),
        (mqls, converted, 0)
    );
    assert_eq!(c.training + c.holdout, c.examples);
    assert_eq!(c.holdout, (c.examples as f64 * 0.2).ceil() as usize);
    assert!(
        c.sql_without_mql > 0,
        "direct hand-raises are counted apart"
    );

    let auc = model.holdout.auc.unwrap();
    assert!(auc >= 0.8, "holdout AUC {auc} (oracle {oracle})");
    assert!(
        auc <= oracle + 0.03,
        "no better than the truth, beyond noise"
    );

    // No leak: hand-raises and sales feedback are never features.
    for f in &model.factors {
        assert_eq!(f.signal.kind(), SignalKind::Interest, "{}", f.signal);
    }
    // Each factor's raw rates are the truth's exact conditional rates, within sampling
    // error: the features are what the person showed (bot clicks excluded).
    for f in &model.factors {
        let n_shown = f.shown as f64;
        let n_not = c.training as f64 - n_shown;
        for (observed, exact, n) in [
            (f.rate_shown, truth.conversion_rate(f.signal, true), n_shown),
            (
                f.rate_not_shown,
                truth.conversion_rate(f.signal, false),
                n_not,
            ),
        ] {
            let se = (exact * (1.0 - exact) / n).sqrt();
            assert!(
                (observed - exact).abs() < 4.5 * se,
                "{}: {observed} vs exact {exact} over {n}",
                f.signal
            );
        }
    }
    // The order of the true effects, for every pair that differs clearly; and each estimate
    // near its truth.
    let effect = |s: Signal| truth.signals[&s].effect;
    for a in &model.factors {
        assert!(
            (a.coefficient - effect(a.signal)).abs() < 4.0 * a.std_error + 0.1,
            "{}: {} vs true {}",
            a.signal,
            a.coefficient,
            effect(a.signal)
        );
        for b in &model.factors {
            if effect(a.signal) >= effect(b.signal) + 0.5 {
                assert!(
                    a.coefficient > b.coefficient,
                    "{} ({}) should outrank {} ({})",
                    a.signal,
                    a.coefficient,
                    b.signal,
                    b.coefficient
                );
            }
        }
    }
    // The signals the truth gives the strongest effects come first.
    let top: Vec<Signal> = model.factors.iter().take(3).map(|f| f.signal).collect();
    assert_eq!(
        top,
        [
            Signal::DemoVideoWatched,
            Signal::ContentDownloaded,
            Signal::ChatbotQuestion
        ]
    );
    // Calibration: 10 bins; the observed rate rises with the predicted one overall.
    let bins = &model.holdout.calibration;
    assert_eq!(bins.len(), 10);
    assert!(bins[9].observed > 3.0 * bins[0].observed.max(0.01));
    assert!((model.holdout.predicted_rate - model.holdout.observed_rate).abs() < 0.05);
    // Serializable for the CLI.
    let json = serde_json::to_string(&model).unwrap();
    let back: Model = serde_json::from_str(&json).unwrap();
    assert_eq!(
        (back.counts, back.factors.len()),
        (model.counts.clone(), model.factors.len())
    );
}

#[test]
fn too_few_conversions_are_refused_with_how_many_there_are_and_are_needed() {
    let sim = simulation(200, 2);
    let rules = Rules::default_rules();
    let err = learn(
        sim.histories(),
        &rules,
        sim.settled_at(),
        &LearnOptions::default(),
    )
    .unwrap_err();
    let LearnError::TooFewConversions {
        training,
        holdout,
        examples,
        ..
    } = err.clone()
    else {
        panic!("{err:?}");
    };
    assert!(
        training < MIN_TRAINING_CONVERSIONS && examples > 50,
        "{err:?}"
    );
    let message = err.to_string();
    println!("{message}");
    assert!(message.contains("too few conversions"), "{message}");
    assert!(
        message.contains(&format!("{training} MQLs reached SQL within 90 days")),
        "{message}"
    );
    assert!(message.contains("at least 30 needed") && message.contains("at least 10 needed"));
    assert!(
        message.contains(&format!("and {holdout} in the holdout")),
        "{message}"
    );

    // Nothing to learn from at all says so too.
    let none = learn(
        Vec::new(),
        &rules,
        sim.settled_at(),
        &LearnOptions::default(),
    )
    .unwrap_err();
    assert!(none.to_string().contains("0 MQLs reached SQL"), "{none}");
}

#[test]
fn open_windows_are_left_out_and_bad_options_refused() {
    let sim = simulation(6_000, 4);
    let rules = Rules::default_rules();
    // Four months before the end: the last MQLs' windows are still open.
    let as_of = sim.settled_at().plus_millis(-120 * MILLIS_PER_DAY);
    let model = learn(sim.histories(), &rules, as_of, &LearnOptions::default()).unwrap();
    let c = &model.counts;
    assert!(c.open_window > 100, "{c:?}");
    assert_eq!(c.mqls, c.examples + c.open_window);
    assert!(model.holdout.from.plus_millis(90 * MILLIS_PER_DAY) <= as_of);

    for (options, says) in [
        (
            LearnOptions {
                holdout_share: 0.0,
                ..LearnOptions::default()
            },
            "holdout_share",
        ),
        (
            LearnOptions {
                holdout_share: 1.0,
                ..LearnOptions::default()
            },
            "holdout_share",
        ),
        (
            LearnOptions {
                within_days: 0,
                ..LearnOptions::default()
            },
            "within_days",
        ),
        (
            LearnOptions {
                l2: -1.0,
                ..LearnOptions::default()
            },
            "l2",
        ),
    ] {
        let err = learn(sim.histories().take(10), &rules, as_of, &options).unwrap_err();
        assert!(err.to_string().contains(says), "{err}");
    }
}

#[test]
fn the_suggested_rules_file_loads_and_pays_the_strongest_signal_most() {
    let (_, model) = fitted(12_000, 5);
    let text = suggest_rules(&model, DEFAULT_RULES_TOML).unwrap();
    let rules = Rules::from_toml_str(&text).expect("the suggested file loads");
    assert_ne!(rules.fingerprint(), Rules::default_rules().fingerprint());
    println!("{}", text.lines().take(8).collect::<Vec<_>>().join("\n"));

    let list = suggestions(&model, DEFAULT_RULES_TOML).unwrap();
    let strongest = model.factors[0].signal;
    let points = |s: Signal| {
        list.iter()
            .find(|p| p.signal == s)
            .map(|p| p.suggested)
            .unwrap()
    };
    let top = points(strongest);
    // The highest points the default gives to the signals the model weighs (downloads and
    // the newsletter earn 8 and 10).
    assert_eq!(top, 10, "{list:#?}");
    assert!(list.iter().all(|p| p.suggested <= top));
    // A negative effect earns nothing, and the file says so.
    assert_eq!(points(Signal::SocialShared), 0);
    assert!(text.contains("# Set to 0 (negative effect):"));
    assert!(
        text.contains(&format!("{strongest} = {{ points = {top},")),
        "{text}"
    );
    // Everything else is the current file's: groups, stages, mapping, comments.
    for kept in [
        "[groups.email]",
        "engagement_at_least = 50",
        "demo_requested = { points = 40, group = \"intent\" }",
        "[mapping.events]",
        "# ---- stages ----",
    ] {
        assert!(text.contains(kept), "{kept} kept");
    }
    // A broken current file is refused, with the rules' own message.
    let err = suggest_rules(&model, "version = 1\n[signals]\nnope = { points = 1 }\n").unwrap_err();
    assert!(err.to_string().contains("unknown signal"), "{err}");
}
