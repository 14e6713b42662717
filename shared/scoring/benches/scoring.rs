//! Events scored per second: `apply` of one more event to a lead with history, and `score` of
//! a lead as read by the stage API. Run: `cargo bench -p leadscore-scoring --bench scoring`.

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use leadscore_scoring::*;

const T0: i64 = 1_761_955_200_000;
const MIX: [Signal; 6] = [
    Signal::SiteVisit,
    Signal::EmailOpened,
    Signal::EmailClicked,
    Signal::ContentDownloaded,
    Signal::DemoVideoWatched,
    Signal::ChatbotQuestion,
];

fn identity() -> Identity {
    Identity::new(Some(Email::parse("ada@acme.io").unwrap()), None).unwrap()
}

fn event(i: i64) -> Event {
    let mut e = Event::new(
        EventId::parse(&format!("evt-{i}")).unwrap(),
        MIX[(i % MIX.len() as i64) as usize],
        Timestamp::from_millis(T0 + i * 3_600_000),
        identity(),
    );
    e.attributes.message_id = Some(format!("m{}", i / 10));
    e
}

/// A lead with `n` events, one an hour.
fn lead(rules: &Rules, n: i64) -> LeadState {
    let mut state = LeadState::for_event(&event(0));
    for i in 0..n {
        let e = event(i);
        state = apply(&state, &e, rules, e.occurred_at).unwrap().state;
    }
    state
}

fn bench(c: &mut Criterion) {
    let rules = Rules::default_rules();
    let mut group = c.benchmark_group("apply");
    group.throughput(Throughput::Elements(1));
    for history in [10, 100, 1_000] {
        let state = lead(&rules, history);
        let next = event(history);
        let now = next.occurred_at;
        group.bench_with_input(BenchmarkId::from_parameter(history), &state, |b, s| {
            b.iter(|| apply(black_box(s), black_box(&next), &rules, now).unwrap())
        });
    }
    group.finish();

    let mut group = c.benchmark_group("score");
    group.throughput(Throughput::Elements(1));
    for history in [10, 100, 1_000] {
        let state = lead(&rules, history);
        let now = Timestamp::from_millis(T0 + (history + 24) * 3_600_000);
        group.bench_with_input(BenchmarkId::from_parameter(history), &state, |b, s| {
            b.iter(|| score(black_box(s), &rules, now))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
