//! leadscore's fuzz targets, for AFL++ (built with `cargo afl build`; run by
//! infra/scripts/fuzz, which says how to fuzz one target longer).
//!
//! `leadscore-fuzz <target>` is the fuzz loop of one target (under afl-fuzz), or one run on
//! stdin (to replay a crash: `leadscore-fuzz ses < crash`). Targets:
//!
//! - one per provider source, whose input is `S` + a body, signed inside the target with the
//!   test secret the way the provider signs it (so the parser is reached), or `R` + a whole
//!   request as text (`METHOD URL`, headers, blank line, body) given to the verifier as is;
//! - `rules`: a rules file, read by the scoring core and by the adapters' mapping; when the
//!   core accepts it, a small ledger is folded and scored with it.
//!
//! `leadscore-fuzz list` prints the targets; `leadscore-fuzz seeds <repo>` writes the corpus
//! (infra/fuzz/corpus/<target>/) from tests/fixtures and checks every seed is accepted.

mod sign;
mod targets;

use leadscore_providers::{receive, AdapterError, Context, Inbound, Mapping, Received};
use leadscore_scoring::{rebuild, score, Event, LeadState, Rules, Timestamp};
use sign::{Request, NOW, WORLD};
use std::path::Path;
use std::process::ExitCode;
use std::sync::LazyLock;
use targets::{Source, Target};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["list"] => {
            for name in targets::names() {
                println!("{name}");
            }
            ExitCode::SUCCESS
        }
        ["seeds", repo] => match seeds(Path::new(repo)) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("seeds: {e}");
                ExitCode::FAILURE
            }
        },
        [name] => match targets::by_name(name) {
            Some(target) => {
                // Built before the loop: every iteration shares it, so it is not a "first
                // run only" path that would lower AFL's stability.
                LazyLock::force(&WORLD);
                LazyLock::force(&LEDGER);
                afl::fuzz(true, |data: &[u8]| one_input(&target, data));
                ExitCode::SUCCESS
            }
            None => usage(&format!("no target `{name}`")),
        },
        _ => usage("expected a target, `list` or `seeds <repo>`"),
    }
}

fn usage(problem: &str) -> ExitCode {
    let names: Vec<&str> = targets::names().collect();
    eprintln!(
        "{problem}\nusage: leadscore-fuzz <target> | list | seeds <repo>\ntargets: {}",
        names.join(" ")
    );
    ExitCode::from(2)
}

/// One fuzz input. Errors are answers; only a panic (or a broken invariant) is a finding.
fn one_input(target: &Target, data: &[u8]) {
    match target {
        Target::Source(source) => {
            if let Some(request) = request_of(source, data) {
                let _ = deliver(source, &request);
            }
        }
        Target::Rules => {
            let text = String::from_utf8_lossy(data);
            let _ = Mapping::from_rules_toml(&text);
            // A file the core accepts must not make it panic either: fold and score a small
            // ledger with it, a day after the events.
            if let (Ok(rules), Some(first)) = (Rules::from_toml_str(&text), LEDGER.first()) {
                let now = Timestamp::from_unix_seconds(NOW + 86_400);
                let lead = LeadState::new(&first.identity, first.occurred_at);
                let _ = score(&rebuild(&lead, &LEDGER, &rules, now), &rules, now);
            }
        }
    }
}

/// A source target's input: `R` + a request as text, or any other byte + a body to sign.
fn request_of(source: &Source, data: &[u8]) -> Option<Request> {
    let (mode, rest) = data.split_first()?;
    Some(if *mode == b'R' {
        sign::parse_raw(rest)
    } else {
        sign::signed(source, rest)
    })
}

const SMALL_RULES: &str = "version = 1
[groups.web]
cap = 30
half_life_days = 30
[signals]
site_visit = { points = 3, group = \"web\", limit = { count = 1, window = \"30m\" } }
form_submitted = { points = 5 }
chatbot_question = { points = 4, cap = 16 }
email_clicked = { points = 3 }
content_downloaded = { points = 8 }
demo_video_watched = { points = 8, group = \"web\" }
[[fit.rules]]
id = \"cto\"
field = \"job_title\"
contains = [\"cto\"]
points = 10
[[mql.criteria]]
id = \"engaged\"
all = [{ signal = \"site_visit\", at_least = 2 }]
within_days = 7
";

/// Events of a few fixtures (forms, chat, email, a batch with BANT), as their adapters read them.
static LEDGER: LazyLock<Vec<Event>> = LazyLock::new(|| {
    let fixtures: [(&str, &[u8]); 5] = [
        (
            "json",
            include_bytes!("../../../tests/fixtures/json/batch.json"),
        ),
        (
            "typeform",
            include_bytes!("../../../tests/fixtures/typeform/form_response.json"),
        ),
        (
            "intercom",
            include_bytes!("../../../tests/fixtures/intercom/conversation_user_replied.json"),
        ),
        (
            "mailgun",
            include_bytes!("../../../tests/fixtures/mailgun/clicked.json"),
        ),
        (
            "segment",
            include_bytes!("../../../tests/fixtures/segment/track.json"),
        ),
    ];
    let mut events = Vec::new();
    for (name, body) in fixtures {
        let Some(Target::Source(source)) = targets::by_name(name) else {
            continue;
        };
        if let Ok(received) = deliver(source, &sign::signed(source, body)) {
            events.extend(received.events);
        }
    }
    events
});

fn deliver(source: &Source, request: &Request) -> Result<Received, AdapterError> {
    let inbound = Inbound {
        method: &request.method,
        url: &request.url,
        headers: &request.headers,
        body: &request.body,
        client_ip: None,
        now: Timestamp::from_unix_seconds(NOW),
    };
    let ctx = Context {
        secrets: &WORLD.secrets,
        mapping: &WORLD.mapping,
        sns_certificates: &WORLD.certificates,
    };
    let received = receive(source.channel, source.name, &inbound, &ctx)?;
    // Ids are the provider's own, under the source's prefix (the store dedups on them).
    let prefix = format!("{}:", source.name);
    for event in &received.events {
        assert!(
            event.id.as_str().starts_with(&prefix),
            "event id {} without the {prefix} prefix",
            event.id.as_str()
        );
    }
    Ok(received)
}

/// Writes `infra/fuzz/corpus/<target>/` from the fixtures (the folder is wholly generated,
/// and the same fixtures give the same bytes), and checks that each source's seeds get past
/// its authentication: otherwise the fuzzer would never reach the parser.
fn seeds(repo: &Path) -> Result<(), String> {
    let missing = targets::missing_sources();
    if !missing.is_empty() {
        return Err(format!(
            "sources without a fuzz target (add a row to infra/fuzz/src/targets.rs): {}",
            missing.join(", ")
        ));
    }
    let corpus = repo.join("infra/fuzz/corpus");
    let mut problems = Vec::new();
    for source in targets::SOURCES {
        let mut files = Vec::new();
        for (stem, body) in fixtures(&repo.join("tests/fixtures").join(source.name))? {
            let signed = [b"S".as_slice(), &body].concat();
            let raw = [
                b"R".as_slice(),
                &sign::render_raw(&sign::signed(source, &body)),
            ]
            .concat();
            for (name, seed) in [(format!("S-{stem}"), signed), (format!("R-{stem}"), raw)] {
                // Every seed must be accepted: a refusal means the signing row in targets.rs
                // no longer matches its adapter (or a fixture no longer parses).
                let checked = std::panic::catch_unwind(|| {
                    request_of(source, &seed).map(|request| deliver(source, &request))
                });
                let problem = match checked {
                    Ok(Some(Ok(_))) => None,
                    Ok(Some(Err(e))) => Some(e.to_string()),
                    Ok(None) => Some("empty".to_string()),
                    Err(_) => Some("panicked".to_string()),
                };
                if let Some(problem) = problem {
                    problems.push(format!("{}/{name}: {problem}", source.name));
                }
                files.push((name, seed));
            }
        }
        if files.is_empty() {
            problems.push(format!("{}: no fixture in tests/fixtures", source.name));
        }
        write_dir(&corpus.join(source.name), &files)?;
    }
    let rules = std::fs::read(repo.join("infra/rules.toml")).map_err(|e| e.to_string())?;
    if LEDGER.len() < 5 {
        problems.push(format!("rules: only {} events to fold", LEDGER.len()));
    }
    // The shipped file, and small ones that mutate fast: the fold reads their signals.
    let files = [
        ("rules.toml".to_string(), rules),
        ("minimal.toml".to_string(), b"version = 1\n".to_vec()),
        ("signals.toml".to_string(), SMALL_RULES.as_bytes().to_vec()),
    ];
    for (name, seed) in &files {
        if let Err(e) = Rules::from_toml_str(&String::from_utf8_lossy(seed)) {
            problems.push(format!("rules/{name}: {e}"));
        }
        if std::panic::catch_unwind(|| one_input(&Target::Rules, seed)).is_err() {
            problems.push(format!("rules/{name}: panicked"));
        }
    }
    write_dir(&corpus.join(targets::RULES), &files)?;
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "seeds refused by their adapter:\n  {}",
            problems.join("\n  ")
        ))
    }
}

/// `(file stem, bytes)` of the fixtures in `dir`, sorted (keys and certificates left out).
fn fixtures(dir: &Path) -> Result<Vec<(String, Vec<u8>)>, String> {
    let mut out = Vec::new();
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for entry in entries {
        let path = entry.map_err(|e| e.to_string())?.path();
        if path.extension().is_some_and(|e| e == "pem") || !path.is_file() {
            continue;
        }
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        out.push((stem, bytes));
    }
    out.sort();
    Ok(out)
}

fn write_dir(dir: &Path, files: &[(String, Vec<u8>)]) -> Result<(), String> {
    let err = |e: std::io::Error| format!("{}: {e}", dir.display());
    if dir.exists() {
        std::fs::remove_dir_all(dir).map_err(err)?;
    }
    std::fs::create_dir_all(dir).map_err(err)?;
    for (name, bytes) in files {
        std::fs::write(dir.join(name), bytes).map_err(err)?;
    }
    Ok(())
}
