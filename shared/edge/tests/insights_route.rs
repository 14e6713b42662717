//! `GET /insights` through `route`: the figures of `leadscore insights` over the store the
//! app runs on, read in full from the embedded store and within a budget from DynamoDB.

mod common;
use common::*;
use leadscore_edge::{App, InsightsBudget};
use leadscore_insights::{insights, simulate, InsightOptions, SimConfig, Truth, MONTH_MS};
use leadscore_scoring::{Rules, Timestamp, DEFAULT_RULES_TOML};
use leadscore_store::{Dynamo, Embedded, LeadStore};
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;

fn simulation(leads: usize) -> leadscore_insights::Simulation {
    simulate(&SimConfig {
        leads,
        seed: 7,
        start: Timestamp::from_millis(NOW_MS - 6 * MONTH_MS),
        months: 6,
        truth: Truth::default(),
    })
}

/// Applies the simulation's events through the store, each when it happened.
async fn populate(store: &dyn LeadStore, leads: usize) {
    let rules = Rules::default_rules();
    for history in simulation(leads).histories() {
        let mut events = history.events;
        events.sort_by(|a, b| (a.occurred_at, &a.id).cmp(&(b.occurred_at, &b.id)));
        for event in &events {
            store.apply(event, &rules, event.occurred_at).await.unwrap();
        }
    }
}

fn app_over(store: Arc<dyn LeadStore>) -> App {
    App::new(store, DEFAULT_RULES_TOML, vars())
        .unwrap()
        .with_clock(now)
}

/// Where two documents differ (paths, at most 10): a readable failure for a large answer.
fn differences(a: &Value, b: &Value, path: &str, out: &mut Vec<String>) {
    if out.len() >= 10 {
        return;
    }
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for key in x.keys().chain(y.keys().filter(|k| !x.contains_key(*k))) {
                let (l, r) = (&x.get(key), &y.get(key));
                match (l, r) {
                    (Some(l), Some(r)) => differences(l, r, &format!("{path}.{key}"), out),
                    _ => out.push(format!("{path}.{key}: {l:?} vs {r:?}")),
                }
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (l, r)) in x.iter().zip(y).enumerate() {
                differences(l, r, &format!("{path}[{i}]"), out);
            }
        }
        // serde_json reads floats to within the last bit; the figures are the same.
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            if (x - y).abs() > 1e-12 * x.abs().max(1.0) {
                out.push(format!("{path}: {x} vs {y}"));
            }
        }
        _ if a != b => out.push(format!("{path}: {a} vs {b}")),
        _ => {}
    }
}

fn assert_same(answer: Value, expected: &leadscore_insights::Insights) {
    let expected = serde_json::to_value(expected).unwrap();
    let mut found = Vec::new();
    differences(&figures(answer), &expected, "", &mut found);
    assert!(
        found.is_empty(),
        "answer vs analysis:\n{}",
        found.join("\n")
    );
}

const AS_OF: &str = "2026-11-22T10:00:00Z";

/// The answer without `read`: what the analysis found.
fn figures(mut answer: Value) -> Value {
    answer.as_object_mut().unwrap().remove("read");
    answer
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_embedded_store_answers_the_figures_of_its_whole_history() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn LeadStore> = Arc::new(Embedded::open(dir.path()).unwrap());
    populate(&*store, 150).await;
    let app = app_over(store);

    let answer = api_get(&app, "/insights", &format!("as_of={AS_OF}&sla_hours=72")).await;
    assert_eq!(
        answer.status,
        200,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    let body = answer.json();
    assert_eq!(body["read"]["complete"], true);
    assert!(body["read"]["records"].as_u64().unwrap() > 150);

    // The same figures as the analysis of the simulated histories themselves.
    let options = InsightOptions {
        sla_hours: 72,
        ..InsightOptions::default()
    };
    let as_of = Timestamp::parse_rfc3339(AS_OF).unwrap();
    let expected = insights(
        simulation(150).histories(),
        &Rules::default_rules(),
        as_of,
        &options,
    );
    assert!(expected.leads > 100);
    assert_same(body, &expected);
}

#[tokio::test]
async fn bad_queries_are_400_and_the_route_needs_a_key() {
    let t = app();
    for query in [
        "as_of=yesterday",
        "within_days=0",
        "within_days=3651",
        "sla_hours=abc",
        "sla_hours=-1",
        "stage=sql",
    ] {
        let answer = api_get(&t.app, "/insights", query).await;
        assert_eq!(answer.status, 400, "{query}");
        assert_eq!(answer.code(), "bad_request", "{query}");
    }
    let anonymous = send(&t.app, request("GET", "/insights", "", &[], b"")).await;
    assert_eq!(anonymous.status, 401);
    let auth = bearer();
    let post = request("POST", "/insights", "", &[("authorization", &auth)], b"");
    assert_eq!(send(&t.app, post).await.status, 405);
}

#[tokio::test]
async fn a_store_that_is_down_is_503_with_retry_after() {
    let app = App::new(Arc::new(DownStore), DEFAULT_RULES_TOML, vars()).unwrap();
    let answer = api_get(&app, "/insights", "").await;
    assert_eq!(answer.status, 503);
    assert!(answer.header("retry-after").is_some());
}

async fn dynamo_store() -> Dynamo {
    Dynamo::scratch("insights").await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamodb_answers_within_its_budget_and_says_when_it_is_partial() {
    let store: Arc<dyn LeadStore> = Arc::new(dynamo_store().await);
    populate(&*store, 60).await;
    let query = format!("as_of={AS_OF}");

    let whole = app_over(store.clone());
    let answer = api_get(&whole, "/insights", &query).await;
    assert_eq!(
        answer.status,
        200,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    let body = answer.json();
    assert_eq!(body["read"]["complete"], true, "{}", body["read"]);
    let as_of = Timestamp::parse_rfc3339(AS_OF).unwrap();
    let expected = insights(
        simulation(60).histories(),
        &Rules::default_rules(),
        as_of,
        &InsightOptions::default(),
    );
    assert_same(body, &expected);

    // Two read units a second for one second cannot read the table: a partial answer.
    let tight = app_over(store).with_insights_budget(InsightsBudget {
        time: Duration::from_secs(1),
        max_read_units_per_second: 2.0,
        segments: 2,
    });
    let answer = api_get(&tight, "/insights", &query).await;
    assert_eq!(answer.status, 200);
    let body = answer.json();
    assert_eq!(body["read"]["complete"], false);
    assert!(body["read"]["note"]
        .as_str()
        .unwrap()
        .starts_with("partial"));
    assert!(body["leads"].as_u64().unwrap() < expected.leads);
}
