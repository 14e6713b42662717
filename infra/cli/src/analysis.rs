//! `insights`, `replay`, `learn` and `simulate`: the history analyses of leadscore-insights
//! over the sources of leadscore-history (an embedded store, a DynamoDB table, an export),
//! with progress on stderr and tables, JSON or HTML out.

use crate::cli::{InsightsArgs, LearnArgs, OutputArgs, ReplayArgs, SimulateArgs, SourceArgs};
use crate::serve::read_rules;
use indicatif::{ProgressBar, ProgressStyle};
use leadscore_history::{
    analyse as analyse_histories, read_export, write_export, ExportSource, GroupOptions,
};
use leadscore_insights::{History, InsightOptions};
use leadscore_scoring::{Rules, Timestamp};
use leadscore_store::{Dynamo, DynamoConfig, Embedded, LeadStore, Record};
use std::path::Path;
use std::sync::Arc;

fn rules_from(path: Option<&Path>) -> Result<Rules, String> {
    let (text, from) = read_rules(path)?;
    Rules::from_toml_str(&text).map_err(|e| format!("{from}: {e}"))
}

fn as_of(source: &SourceArgs) -> Result<Timestamp, String> {
    match &source.as_of {
        Some(t) => Timestamp::parse_rfc3339(t)
            .map_err(|e| format!("--as-of must be RFC 3339 such as 2026-11-30T00:00:00Z: {e}")),
        None => Ok(Timestamp::from_millis(
            time::OffsetDateTime::now_utc().unix_timestamp() * 1000,
        )),
    }
}

fn spinner(what: &str) -> ProgressBar {
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg} {pos} records, {per_sec}, {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.set_message(what.to_string());
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    bar
}

/// The embedded store at `dir`, or why not in words a user can act on.
fn open_embedded(dir: &Path) -> Result<Embedded, String> {
    Embedded::open(dir).map_err(|e| {
        let text = e.to_string();
        if text.contains("already open") || text.contains("lock") {
            format!(
                "--data {}: the store is in use, most likely by a running `leadscore serve` \
                 (it holds the file's lock). Stop it, analyse a copy of the folder, or ask \
                 the running server: GET /insights",
                dir.display()
            )
        } else {
            format!("--data {}: {e}", dir.display())
        }
    })
}

/// Reads the source's records, groups them per lead (on disk, bounded memory) and hands the
/// histories to `analyse` as they come.
fn with_histories<T: Send + 'static>(
    source: &SourceArgs,
    analyse: impl FnOnce(&mut dyn Iterator<Item = History>) -> T + Send + 'static,
) -> Result<T, String> {
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    let bar = spinner("reading");
    let progress = bar.clone();
    let result = runtime.block_on(async {
        let (records, suppressed) = open_records(source, bar.clone()).await?;
        let options = GroupOptions {
            suppressed,
            ..GroupOptions::default()
        };
        let progress = move |n| progress.set_position(n);
        let (out, _) = analyse_histories(records, options, progress, analyse)
            .await
            .map_err(|e| e.to_string())?;
        Ok::<T, String>(out)
    });
    bar.finish_and_clear();
    result
}

type Records = tokio::sync::mpsc::Receiver<Result<Record, leadscore_history::HistoryError>>;

async fn open_records(
    source: &SourceArgs,
    bar: ProgressBar,
) -> Result<(Records, Vec<(leadscore_scoring::LeadId, Timestamp)>), String> {
    let (tx, rx) = tokio::sync::mpsc::channel(512);
    // Every source ends as one stream of records with the history crate's error.
    let mut suppressed = Vec::new();
    match (&source.data, &source.table, &source.export) {
        (Some(dir), None, None) => {
            let store = open_embedded(dir)?;
            suppressed = store.suppressions().await.map_err(|e| e.to_string())?;
            forward(store.records(), tx);
        }
        (None, Some(table), None) => {
            let store = dynamo(table).await;
            suppressed = store.suppressions().await.map_err(|e| e.to_string())?;
            let records = store.scan_records(source.segments, source.max_rcu, move |p| {
                bar.set_position(p.items)
            });
            forward(records, tx);
        }
        (None, None, Some(export)) => {
            let at = ExportSource::parse(export).map_err(|e| format!("--export {export}: {e}"))?;
            if let Some(table) = &source.suppressions_table {
                suppressed = dynamo(table)
                    .await
                    .suppressions()
                    .await
                    .map_err(|e| format!("--suppressions-table {table}: {e}"))?;
            }
            return Ok((read_export(at, |_| {}), suppressed));
        }
        _ => return Err("give exactly one of --data, --table, --export".into()),
    }
    Ok((rx, suppressed))
}

fn forward<E: Send + 'static>(
    mut from: tokio::sync::mpsc::Receiver<Result<Record, E>>,
    to: tokio::sync::mpsc::Sender<Result<Record, leadscore_history::HistoryError>>,
) where
    leadscore_history::HistoryError: From<E>,
{
    tokio::spawn(async move {
        while let Some(r) = from.recv().await {
            if to.send(r.map_err(Into::into)).await.is_err() {
                return;
            }
        }
    });
}

async fn dynamo(table: &str) -> Dynamo {
    Dynamo::connect(DynamoConfig {
        table: table.to_string(),
        ..DynamoConfig::from_env()
    })
    .await
}

fn write_out<R: serde::Serialize>(
    output: &OutputArgs,
    report: &R,
    text: impl Fn(&R) -> String,
    html: impl Fn(&R) -> String,
) -> Result<(), String> {
    if output.json {
        println!(
            "{}",
            serde_json::to_string_pretty(report).map_err(|e| e.to_string())?
        );
    } else {
        print!("{}", text(report));
    }
    if let Some(file) = &output.html {
        std::fs::write(file, html(report))
            .map_err(|e| format!("--html {}: {e}", file.display()))?;
        eprintln!("wrote {}", file.display());
    }
    Ok(())
}

pub fn insights(args: InsightsArgs) -> Result<(), String> {
    let rules = rules_from(args.rules.as_deref())?;
    let at = as_of(&args.source)?;
    let options = InsightOptions {
        within_days: args.within_days,
        sla_hours: args.sla_hours,
        ..InsightOptions::default()
    };
    let report = with_histories(&args.source, move |h| {
        leadscore_insights::insights(h, &rules, at, &options)
    })?;
    write_out(
        &args.output,
        &report,
        leadscore_insights::insights_text,
        leadscore_insights::insights_html,
    )
}

pub fn replay(args: ReplayArgs) -> Result<(), String> {
    let old = rules_from(args.baseline.as_deref())?;
    let new = rules_from(Some(&args.rules))?;
    let at = as_of(&args.source)?;
    let options = InsightOptions {
        within_days: args.within_days,
        ..InsightOptions::default()
    };
    let report = with_histories(&args.source, move |h| {
        leadscore_insights::replay(h, &old, &new, at, &options)
    })?;
    write_out(
        &args.output,
        &report,
        leadscore_insights::replay_text,
        leadscore_insights::replay_html,
    )
}

pub fn learn(args: LearnArgs) -> Result<(), String> {
    let (text, _) = read_rules(args.rules.as_deref())?;
    let rules = rules_from(args.rules.as_deref())?;
    let at = as_of(&args.source)?;
    let options = leadscore_insights::LearnOptions {
        within_days: args.within_days,
        ..leadscore_insights::LearnOptions::default()
    };
    let model = with_histories(&args.source, move |h| {
        leadscore_insights::learn(h, &rules, at, &options)
    })?
    .map_err(|e| e.to_string())?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&model).map_err(|e| e.to_string())?
        );
    } else {
        print!("{}", leadscore_insights::model_text(&model));
    }
    if let Some(file) = &args.suggest {
        let suggested =
            leadscore_insights::suggest_rules(&model, &text).map_err(|e| e.to_string())?;
        std::fs::write(file, suggested)
            .map_err(|e| format!("--suggest {}: {e}", file.display()))?;
        eprintln!(
            "wrote {} (backtest it: leadscore replay --rules {} ...)",
            file.display(),
            file.display()
        );
    }
    Ok(())
}

/// Applies every simulated event through `store`, each at the time it happened, a few leads
/// at a time (a lead's events in order); the number of events.
async fn apply_simulation(
    store: Arc<dyn LeadStore>,
    config: &leadscore_insights::SimConfig,
    bar: &ProgressBar,
) -> Result<u64, String> {
    const LEADS_AT_ONCE: usize = 16;
    let rules = Arc::new(rules_from(None)?);
    let simulation = leadscore_insights::simulate(config);
    let mut running = tokio::task::JoinSet::new();
    let mut events = 0;
    let mut histories = simulation.histories();
    loop {
        while running.len() < LEADS_AT_ONCE {
            let Some(history) = histories.next() else {
                break;
            };
            let (store, rules) = (store.clone(), rules.clone());
            running.spawn(async move {
                let mut ordered = history.events;
                ordered.sort_by(|a, b| (a.occurred_at, &a.id).cmp(&(b.occurred_at, &b.id)));
                for event in &ordered {
                    store.apply(event, &rules, event.occurred_at).await?;
                }
                Ok::<u64, leadscore_store::StoreError>(ordered.len() as u64)
            });
        }
        let Some(done) = running.join_next().await else {
            return Ok(events);
        };
        events += done
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
        bar.inc(1);
    }
}

pub fn simulate(args: SimulateArgs) -> Result<(), String> {
    let now = time::OffsetDateTime::now_utc();
    let month_start = now
        .replace_day(1)
        .map_err(|e| e.to_string())?
        .replace_time(time::Time::MIDNIGHT);
    let end = Timestamp::from_millis(month_start.unix_timestamp() * 1000);
    let start = end.plus_millis(-(args.months as i64) * leadscore_insights::MONTH_MS);
    let config = leadscore_insights::SimConfig {
        leads: args.leads as usize,
        seed: args.seed,
        start,
        months: args.months,
        truth: leadscore_insights::Truth::default(),
    };
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    let bar = ProgressBar::new(args.leads);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} leads, {per_sec}, eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let result = runtime.block_on(async {
        if let Some(dir) = &args.data {
            let store = open_embedded(dir)?;
            let key = crate::serve::local_lead_id_key(dir)?;
            leadscore_scoring::set_lead_id_key(key.trim().as_bytes()).map_err(|e| e.to_string())?;
            let events = apply_simulation(Arc::new(store), &config, &bar)
                .await
                .map_err(|e| format!("--data {}: {e}", dir.display()))?;
            Ok::<String, String>(format!(
                "{events} events of {} leads applied to {}",
                args.leads,
                dir.display()
            ))
        } else if let Some(table) = &args.table {
            let store = dynamo(table).await;
            let events = apply_simulation(Arc::new(store), &config, &bar)
                .await
                .map_err(|e| format!("--table {table}: {e}"))?;
            Ok(format!(
                "{events} events of {} leads applied to table {table}",
                args.leads
            ))
        } else if let Some(dir) = &args.export {
            let simulation = leadscore_insights::simulate(&config);
            // Lazily, lead by lead: an export of a million events is never held in memory.
            let failed = std::cell::RefCell::new(None);
            let count = std::cell::Cell::new(0usize);
            let items = simulation
                .histories()
                .inspect(|_| bar.inc(1))
                .flat_map(|history| {
                    let lead = history.lead;
                    history.events.into_iter().map(move |event| Record::Entry {
                        id: lead.clone(),
                        applied_at: event.occurred_at,
                        event,
                    })
                })
                .map_while(|record| match Dynamo::item_of_record(&record) {
                    Ok(item) => {
                        count.set(count.get() + 1);
                        Some(item)
                    }
                    Err(e) => {
                        *failed.borrow_mut() = Some(e.to_string());
                        None
                    }
                });
            let folder = write_export(dir, items).map_err(|e| e.to_string())?;
            if let Some(e) = failed.into_inner() {
                return Err(e);
            }
            let n = count.get();
            Ok(format!(
                "{n} events of {} leads written as a DynamoDB export in {}",
                args.leads,
                folder.display()
            ))
        } else {
            Err("give --data DIR, --table NAME or --export DIR".into())
        }
    });
    bar.finish_and_clear();
    println!("{}", result?);
    Ok(())
}
