//! How the time of an event on the embedded store behaves as one lead's history grows:
//! applies 20,000 email events (an open, a click or a visit an hour) to one lead and prints
//! the median time per event around 10, 2,000 and 20,000 events of history (BENCHMARKS.md).
//! Run: `cargo run --release -p leadscore-store --example embedded_growth`

use leadscore_scoring::*;
use leadscore_store::*;
use std::time::{Duration, Instant};

const T0: i64 = 1_761_955_200_000;
const HOUR: i64 = 3_600_000;

fn event(n: i64) -> Event {
    let signal = [Signal::EmailOpened, Signal::EmailClicked, Signal::SiteVisit][(n % 3) as usize];
    let identity = Identity::new(Some(Email::parse("loyal@acme.io").unwrap()), None).unwrap();
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

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = Embedded::open(dir.path()).expect("the store opens");
    let rules = Rules::default_rules();
    let mut times = Vec::new();
    for n in 0..20_100 {
        let e = event(n);
        let started = Instant::now();
        store
            .apply(&e, &rules, e.occurred_at)
            .await
            .expect("applied");
        times.push(started.elapsed());
    }
    let at = |from: usize| median(times[from..from + 100].to_vec());
    let (early, mid, late) = (at(10), at(2_000), at(20_000));
    println!("median time per event, 100 events from event 10: {early:?}");
    println!("median time per event, 100 events from event 2,000: {mid:?}");
    println!("median time per event, 100 events from event 20,000: {late:?}");
    println!(
        "ratio 20,000 / 10: {:.2}",
        late.as_secs_f64() / early.as_secs_f64()
    );
}
