//! How the time of an event on the embedded store behaves as one lead's history grows:
//! applies 20,100 email events (an open, a click or a visit an hour) to one lead and prints
//! the median time per event from its 10th event, then at 2,000 and 20,000 events of history
//! against leads with 10 events measured in turn with it, on the same file and disk
//! (BENCHMARKS.md).
//! Run: `cargo run --release -p leadscore-store --example embedded_growth`

use leadscore_scoring::*;
use leadscore_store::*;
use std::time::{Duration, Instant};

const T0: i64 = 1_761_955_200_000;
const HOUR: i64 = 3_600_000;

fn event(n: i64, who: &str) -> Event {
    let signal = [Signal::EmailOpened, Signal::EmailClicked, Signal::SiteVisit][(n % 3) as usize];
    let identity = Identity::new(Some(Email::parse(who).unwrap()), None).unwrap();
    let at = Timestamp::from_millis(T0 + n * HOUR);
    let mut e = Event::new(
        EventId::parse(&format!("sg-{n:08}-x7Qm2")).unwrap(),
        signal,
        at,
        identity,
    );
    e.attributes.message_id = Some(format!("msg-{:06}.filterdrecv-5bd4", n / 3));
    e.attributes.campaign = Some("2026-11 product newsletter".into());
    e.attributes.url = Some(format!("https://www.acme.io/blog/post-{}", n % 50));
    e
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Applies events `from..to` of `who`, returning the time each took.
async fn run(store: &Embedded, rules: &Rules, who: &str, from: i64, to: i64) -> Vec<Duration> {
    let mut times = Vec::new();
    for n in from..to {
        let e = event(n, who);
        let started = Instant::now();
        store
            .apply(&e, rules, e.occurred_at)
            .await
            .expect("applied");
        times.push(started.elapsed());
    }
    times
}

/// 100 events of the long lead, each followed by the 11th event of a lead with 10 events, so
/// that both meet the same file and the same disk: (median long, median short).
async fn compare(store: &Embedded, rules: &Rules, at: i64, round: &str) -> (Duration, Duration) {
    let (mut long, mut short) = (Vec::new(), Vec::new());
    for i in 0..100 {
        let who = format!("short-{round}-{i}@acme.io");
        run(store, rules, &who, 0, 10).await;
        long.extend(run(store, rules, "loyal@acme.io", at + i, at + i + 1).await);
        short.extend(run(store, rules, &who, 10, 11).await);
    }
    (median(long), median(short))
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = Embedded::open(dir.path()).expect("the store opens");
    let rules = Rules::default_rules();
    let first = run(&store, &rules, "loyal@acme.io", 0, 110).await;
    println!(
        "the long lead, events 10 to 110: {:?}",
        median(first[10..].to_vec())
    );
    let mut next = 110;
    for (at, round) in [(2_000, "a"), (20_000, "b")] {
        run(&store, &rules, "loyal@acme.io", next, at).await;
        let (long, short) = compare(&store, &rules, at, round).await;
        next = at + 100;
        println!(
            "at {at} events: {long:?} an event, against {short:?} for leads with 10 (ratio {:.2})",
            long.as_secs_f64() / short.as_secs_f64()
        );
    }
}
