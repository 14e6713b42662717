//! How the time of an event on the embedded store behaves as one lead's history grows:
//! applies 20,000 email events (an open, a click or a visit an hour) to one lead and prints
//! the median time per event around 10, 2,000 and 20,000 events of history, then the same
//! for a new lead in the now large store (what the file's size alone costs) (BENCHMARKS.md).
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

/// Applies events 0..count of `who`, returning the time each took.
async fn run(store: &Embedded, rules: &Rules, who: &str, count: i64) -> Vec<Duration> {
    let mut times = Vec::new();
    for n in 0..count {
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

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = Embedded::open(dir.path()).expect("the store opens");
    let rules = Rules::default_rules();
    let times = run(&store, &rules, "loyal@acme.io", 20_100).await;
    let fresh = run(&store, &rules, "new@acme.io", 110).await;
    let at = |from: usize| median(times[from..from + 100].to_vec());
    let (early, mid, late) = (at(10), at(2_000), at(20_000));
    println!("median time per event, 100 events from event 10: {early:?}");
    println!("median time per event, 100 events from event 2,000: {mid:?}");
    println!("median time per event, 100 events from event 20,000: {late:?}");
    println!(
        "ratio 20,000 / 10: {:.2}",
        late.as_secs_f64() / early.as_secs_f64()
    );
    let new = median(fresh[10..].to_vec());
    println!("a new lead in the same store, 100 events from event 10: {new:?}");
}
