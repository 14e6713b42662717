//! The outbox under group commit: many writes in one transaction share its opened tables and
//! its sequence counter (read once per transaction), and still take a number each, never
//! reused, also after the store is opened again.

use leadscore_scoring::*;
use leadscore_store::*;
use std::collections::BTreeSet;

const T0: i64 = 1_761_955_200_000;

fn at(minutes: i64) -> Timestamp {
    Timestamp::from_millis(T0 + minutes * 60_000)
}

fn ev(id: &str, at: Timestamp, who: &str) -> Event {
    let identity = Identity::new(Some(Email::parse(who).unwrap()), None).unwrap();
    Event::new(EventId::parse(id).unwrap(), Signal::SiteVisit, at, identity)
}

/// Applies `n` events of distinct leads at once (they share commits), then the marks.
async fn apply_many(store: &Embedded, round: u64, n: u64) -> Vec<(LeadId, u64)> {
    let rules = Rules::default_rules();
    let applies: Vec<_> = (0..n)
        .map(|i| {
            let (store, rules) = (store.clone(), rules.clone());
            tokio::spawn(async move {
                let e = ev(&format!("r{round}-{i}"), at(0), &format!("p{i}@acme.io"));
                store.apply(&e, &rules, at(round as i64)).await.unwrap()
            })
        })
        .collect();
    for apply in applies {
        assert!(!apply.await.unwrap().duplicate);
    }
    store.pending_handoffs(10_000).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn marks_written_in_one_group_take_distinct_numbers_never_reused() {
    let dir = tempfile::tempdir().unwrap();
    let first = {
        let store = Embedded::open(dir.path()).unwrap();
        let marks = apply_many(&store, 1, 200).await;
        assert_eq!(marks.len(), 200, "one mark per lead");
        let seqs: BTreeSet<u64> = marks.iter().map(|(_, s)| *s).collect();
        assert_eq!(seqs.len(), 200, "each mark its own number");
        // Handed off: the outbox is empty, the counter must still not start over.
        for (id, seq) in &marks {
            store.handoff_done(id, *seq).unwrap();
        }
        assert!(store.pending_handoffs(10).unwrap().is_empty());
        marks
    };
    let last = first.iter().map(|(_, s)| *s).max().unwrap();
    let store = Embedded::open(dir.path()).unwrap();
    let again = apply_many(&store, 2, 50).await;
    assert_eq!(again.len(), 50);
    assert!(
        again.iter().all(|(_, s)| *s > last),
        "a sequence number is never reused"
    );
    // A stale clear (a number from before) leaves the newer mark.
    let (id, _) = &again[0];
    let old = first.iter().find(|(lead, _)| lead == id).unwrap().1;
    store.handoff_done(id, old).unwrap();
    assert_eq!(store.pending_handoffs(100).unwrap().len(), 50);
}
