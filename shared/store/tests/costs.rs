//! What an event costs in DynamoDB: requests made and capacity DynamoDB reports
//! (ReturnConsumedCapacity), per accepted event, duplicate, stage change, stitch and late
//! event, and how the cost of an event behaves as one lead's history grows to 20,000 events.
//! Figures and reasoning: BENCHMARKS.md, "Store".

mod common;

use leadscore_scoring::*;
use leadscore_store::*;
use std::sync::Arc;

const T0: i64 = 1_761_955_200_000;
const HOUR: i64 = 3_600_000;

fn t(minutes: i64) -> Timestamp {
    Timestamp::from_millis(T0 + minutes * 60_000)
}

fn ev(id: &str, signal: Signal, at: Timestamp, e: Option<&str>, a: Option<&str>) -> Event {
    let identity = Identity::new(
        e.map(|e| Email::parse(e).unwrap()),
        a.map(|a| AnonymousId::parse(a).unwrap()),
    )
    .unwrap();
    Event::new(EventId::parse(id).unwrap(), signal, at, identity)
}

/// An email platform's event as it arrives: a message, a clicked link, a campaign.
fn email_event(n: i64, at: Timestamp, who: &str) -> Event {
    let signal = [Signal::EmailOpened, Signal::EmailClicked, Signal::SiteVisit][(n % 3) as usize];
    let mut e = ev(&format!("sg-{n:08}-x7Qm2"), signal, at, Some(who), None);
    e.attributes.source = Some("sendgrid".into());
    e.attributes.message_id = Some(format!("msg-{:06}.filterdrecv-5bd4", n / 3));
    e.attributes.campaign = Some("2026-11 product newsletter".into());
    e.attributes.url = Some(format!(
        "https://www.acme.io/blog/post-{}?utm_source=newsletter",
        n % 50
    ));
    e
}

async fn cost(store: &Dynamo, event: &Event, now: Timestamp) -> (Usage, Applied) {
    store.take_usage();
    let applied = store
        .apply(event, &Rules::default_rules(), now)
        .await
        .unwrap();
    (store.take_usage(), applied)
}

#[tokio::test]
async fn requests_and_capacity_per_event() {
    let store = common::dynamo_table("costs").await;
    let lead = Some("ada@acme.io");

    // A new lead: the ledger entry, the read back, and its stage entry (visitor -> lead).
    let (first, _) = cost(
        &store,
        &ev("e1", Signal::FormSubmitted, t(0), lead, None),
        t(0),
    )
    .await;
    println!("new lead (visitor -> lead): {first:?}");
    assert_eq!(first.requests, 3);
    // The stage entry is a PutItem, not a transaction (which costs twice per item): the
    // entry (2) and the stage item with its two index entries (3).
    assert_eq!(first.write_units, 5.0);

    // The common case: an accepted event that does not move the stage.
    let (plain, _) = cost(
        &store,
        &ev("e2", Signal::ContentDownloaded, t(1), lead, None),
        t(1),
    )
    .await;
    println!("accepted, same stage: {plain:?}");
    assert_eq!(plain.requests, 2, "one PutItem, one Query");
    assert_eq!(
        plain.write_units, 2.0,
        "the entry and its local index entry"
    );

    // A duplicate: the conditional PutItem says so; nothing else.
    let (dup, applied) = cost(
        &store,
        &ev("e2", Signal::ContentDownloaded, t(1), lead, None),
        t(2),
    )
    .await;
    println!("duplicate: {dup:?}");
    assert!(applied.duplicate);
    assert_eq!(dup.requests, 1);

    // A stage change: entry, read back, and the stage entry (its condition the erasure check).
    let (moved, applied) = cost(
        &store,
        &ev("e3", Signal::DemoRequested, t(2), lead, None),
        t(2),
    )
    .await;
    println!("accepted, stage change: {moved:?}");
    assert_eq!(applied.state.unwrap().stage, Stage::Sql);
    assert_eq!(moved.requests, 3);

    // A late event (dated a week back) costs what an in-order one costs: the working state
    // holds the lateness window, nothing is read back from the ledger.
    let (late, applied) = cost(
        &store,
        &ev(
            "e0",
            Signal::NewsletterSubscribed,
            t(-7 * 24 * 60),
            lead,
            None,
        ),
        t(3),
    )
    .await;
    println!("accepted late (a week back): {late:?}");
    assert_eq!(applied.state.unwrap().first_seen, t(-7 * 24 * 60));
    assert_eq!(late.requests, 2);

    // A lookup by email or id is one Query (the id derives from the email).
    store.take_usage();
    let found = store
        .get(
            &LeadKey::Email(Email::parse("ada@acme.io").unwrap()),
            &Rules::default_rules(),
            t(4),
        )
        .await
        .unwrap();
    assert!(found.is_some());
    let lookup = store.take_usage();
    println!("lookup by email: {lookup:?}");
    assert_eq!(lookup.requests, 1);

    // Stitching a visitor: entry, read back, alias, visitor's stage entry, visitor read,
    // and the lead's snapshot with the visitor absorbed.
    store
        .apply(
            &ev("v1", Signal::SiteVisit, t(3), None, Some("anon-1")),
            &Rules::default_rules(),
            t(3),
        )
        .await
        .unwrap();
    let (stitch, applied) = cost(
        &store,
        &ev("e4", Signal::FormSubmitted, t(4), lead, Some("anon-1")),
        t(4),
    )
    .await;
    println!("stitch: {stitch:?}");
    assert_eq!(
        applied.state.unwrap().signal_counts()[&Signal::SiteVisit],
        1
    );
    assert_eq!(stitch.requests, 6);
}

/// A SendGrid post of 1,000 events over 200 people: grouped by lead, each lead read back and
/// published once (elapsed time printed, not asserted: BENCHMARKS.md).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_batch_is_read_back_once_per_lead() {
    let store = common::dynamo_table("costs").await;
    let rules = Rules::default_rules();
    let events: Vec<Event> = (0..1_000)
        .map(|i| email_event(i, t(i), &format!("p{}@acme.io", i % 200)))
        .collect();
    store.take_usage();
    let started = std::time::Instant::now();
    let results = store.apply_batch(&events, &rules, t(1_000)).await;
    let elapsed = started.elapsed();
    let usage = store.take_usage();
    println!("batch of 1,000 events over 200 leads: {usage:?} in {elapsed:?}");
    assert!(results
        .iter()
        .all(|r| r.as_ref().is_ok_and(|a| !a.duplicate)));
    // 1,000 ledger entries, one read per lead, one stage entry per new lead.
    assert_eq!(usage.requests, 1_000 + 200 + 200);
}

/// What `n` events cost, applied one by one from event number `from` (each delivered twice:
/// the second delivery must be a one-request duplicate): on the event path, per event, and
/// for the ledger worker run after each (as the table's stream runs it, within its 30 s
/// batching window), per event, with the share of events after which it wrote a snapshot.
struct Costs {
    path: Usage,
    worker: Usage,
    snapshots: f64,
}

async fn cost_of(store: &Dynamo, from: i64, n: i64, who: &str) -> Costs {
    let rules = Rules::default_rules();
    let id = LeadId::for_email(&Email::parse(who).unwrap());
    let (mut path, mut worker) = (Usage::default(), Usage::default());
    let mut snapshots = 0.0;
    let add = |sum: &mut Usage, u: Usage| {
        sum.requests += u.requests;
        sum.read_units += u.read_units;
        sum.write_units += u.write_units;
    };
    for i in from..from + n {
        let at = Timestamp::from_millis(T0 + i * HOUR);
        store.take_usage();
        let applied = store
            .apply(&email_event(i, at, who), &rules, at)
            .await
            .unwrap();
        let u = store.take_usage();
        // Only a stage change (a new lead included) writes beyond the entry and the read.
        let limit = if applied.transitions.is_empty() { 2 } else { 3 };
        assert!(u.requests <= limit, "event {i}: {u:?}");
        add(&mut path, u);
        let again = store
            .apply(&email_event(i, at, who), &rules, at)
            .await
            .unwrap();
        assert!(again.duplicate);
        assert_eq!(store.take_usage().requests, 1, "a duplicate at event {i}");
        let tended = store
            .tend(
                &id,
                &rules,
                at.plus_millis(30_000),
                std::time::Duration::from_secs(60),
            )
            .await
            .unwrap();
        assert_eq!(tended, Upkeep::Done);
        let w = store.take_usage();
        if w.write_units > 0.0 {
            snapshots += 1.0;
        }
        add(&mut worker, w);
    }
    let per = |u: Usage| Usage {
        requests: u.requests,
        read_units: u.read_units / n as f64,
        write_units: u.write_units / n as f64,
    };
    Costs {
        path: per(path),
        worker: per(worker),
        snapshots: snapshots / n as f64,
    }
}

/// The lead's working state after `events` events (asserting it holds them all).
async fn state_bytes(store: &Dynamo, who: &str, events: i64) -> usize {
    let lead = store
        .get(
            &LeadKey::Email(Email::parse(who).unwrap()),
            &Rules::default_rules(),
            Timestamp::from_millis(T0 + events * HOUR),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(lead.state.events, events as u64);
    serde_json::to_vec(&lead.state).unwrap().len()
}

/// Fills a lead's history up to `upto` events, eight deliveries at a time (a batch that
/// arrives together, an hour's events each).
async fn fill(store: &Arc<Dynamo>, from: i64, upto: i64, who: &str) {
    let rules = Arc::new(Rules::default_rules());
    let mut i = from;
    while i < upto {
        let mut tasks = tokio::task::JoinSet::new();
        let end = (i + 8).min(upto);
        let arrived = Timestamp::from_millis(T0 + end * HOUR);
        for j in i..end {
            let (store, rules, who) = (store.clone(), rules.clone(), who.to_string());
            tasks.spawn(async move {
                let at = Timestamp::from_millis(T0 + j * HOUR);
                let e = email_event(j, at, &who);
                store.apply(&e, &rules, arrived).await.unwrap();
            });
        }
        while let Some(done) = tasks.join_next().await {
            done.unwrap();
        }
        i = end;
        if i % 2_000 < 8 {
            println!("history: {i} events");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_cost_of_an_event_does_not_grow_with_the_history() {
    let store = Arc::new(common::dynamo_table("costs").await);
    let who = "loyal@acme.io";
    // A typical lead: its first hundred events.
    let typical = cost_of(&store, 0, 100, who).await;
    fill(&store, 100, 2_000, who).await;
    // `fill` runs no worker, so the event path wrote the snapshots: 64 events with the
    // worker first (it takes over the tail), then windows of 128 events, 4 of the worker's
    // snapshots each.
    cost_of(&store, 2_000, 64, who).await;
    let at_2k = cost_of(&store, 2_064, 128, who).await;
    let size_2k = state_bytes(&store, who, 2_192).await;
    fill(&store, 2_192, 20_000, who).await;
    cost_of(&store, 20_000, 64, who).await;
    let at_20k = cost_of(&store, 20_064, 128, who).await;
    for (name, c) in [
        ("first 100 events", &typical),
        ("at 2,000 events", &at_2k),
        ("at 20,000 events", &at_20k),
    ] {
        println!(
            "{name}: event path {:?}; worker {:?}, snapshot after {} of events",
            c.path, c.worker, c.snapshots
        );
    }
    let total = |c: &Costs| c.path.write_units + c.worker.write_units;

    // The first version wrote the whole aggregate with every event: about 1 WRU per 1 KB,
    // 0.8 KB plus 90 bytes per past event (BENCHMARKS.md): 5.9 WRU on average over the first
    // hundred events. No more now, the worker's snapshots included.
    let v1: f64 = (1..=100)
        .map(|n| ((811.0 + 90.0 * n as f64) / 1024.0).ceil())
        .sum::<f64>()
        / 100.0;
    assert!(
        total(&typical) <= v1,
        "{} WRU per event vs {v1} before",
        total(&typical)
    );
    assert!(
        (total(&at_20k) - total(&at_2k)).abs() <= 0.1 * total(&at_2k),
        "WRU per event: {} at 2,000, {} at 20,000",
        total(&at_2k),
        total(&at_20k)
    );
    // 2 requests an event on the path (asserted one by one in `cost_of`): the snapshots
    // are the worker's.
    assert_eq!(at_20k.path.requests, 128 * 2, "{:?}", at_20k.path);
    assert!(at_20k.snapshots > 0.0, "the worker keeps the tail short");

    // The lead is whole (every event once), and its working state has not grown since 2,192
    // events: it holds what the rules' windows hold.
    let size_20k = state_bytes(&store, who, 20_192).await;
    println!("working state: {size_2k} bytes after 2,192 events, {size_20k} after 20,192");
    assert!(
        (size_20k as f64) < size_2k as f64 * 1.1,
        "{size_2k} -> {size_20k} bytes"
    );

    // Erasing 20,192 events: the DELETE works for its 5 s and answers 202; the ledger
    // worker, woken by the erasure marker on the table's stream, finishes within its own
    // budget, resuming on the next delivery if it runs out.
    let key = LeadKey::Email(Email::parse(who).unwrap());
    let id = LeadId::for_email(&Email::parse(who).unwrap());
    let now = Timestamp::from_millis(T0 + 20_300 * HOUR);
    let started = std::time::Instant::now();
    let first = store
        .erase(&key, now, std::time::Duration::from_secs(5))
        .await
        .unwrap();
    let mut deliveries = 0;
    if first == Erasure::InProgress {
        loop {
            deliveries += 1;
            let budget = std::time::Duration::from_secs(60);
            match store
                .tend(&id, &Rules::default_rules(), now, budget)
                .await
                .unwrap()
            {
                Upkeep::Done => break,
                Upkeep::Erasing => assert!(deliveries < 20, "the erasure makes no progress"),
            }
        }
    }
    println!(
        "erasing 20,192 events: DELETE answered {first:?}, the worker finished in {deliveries} \
         deliveries, {:?} in all",
        started.elapsed()
    );
    assert!(store
        .get(&key, &Rules::default_rules(), now)
        .await
        .unwrap()
        .is_none());
    assert!(store.ledger(&id).await.unwrap().is_empty());
}
