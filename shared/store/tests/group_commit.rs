//! The embedded store's group commit (`src/embedded/group.rs`): concurrent applies share
//! commits, and every one lands exactly once.

use leadscore_scoring::*;
use leadscore_store::*;
use std::collections::BTreeSet;

const T0: i64 = 1_761_955_200_000;

fn ev(n: usize, lead: usize) -> Event {
    let who = Email::parse(&format!("lead{lead}@acme.io")).unwrap();
    let identity = Identity::new(Some(who), None).unwrap();
    let at = Timestamp::from_millis(T0 + n as i64 * 60_000);
    let signal = [
        Signal::SiteVisit,
        Signal::EmailOpened,
        Signal::FormSubmitted,
    ][n % 3];
    Event::new(
        EventId::parse(&format!("e{n}")).unwrap(),
        signal,
        at,
        identity,
    )
}

async fn apply_all(store: &Embedded, events: &[Event]) -> Vec<Applied> {
    let now = Timestamp::from_millis(T0 + 86_400_000);
    let tasks: Vec<_> = events
        .iter()
        .cloned()
        .map(|event| {
            let store = store.clone();
            tokio::spawn(async move { store.apply(&event, &Rules::default_rules(), now).await })
        })
        .collect();
    let mut out = Vec::new();
    for task in tasks {
        out.push(task.await.unwrap().unwrap());
    }
    out
}

/// 200 distinct events over 50 leads, all spawned at once: each is accepted once, each lead's
/// ledger holds exactly its 4 events, the same 200 again are all duplicates, and all of it
/// is in the file when it is opened again.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_applies_all_land_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = Embedded::open(dir.path()).unwrap();
    let events: Vec<Event> = (0..200).map(|n| ev(n, n % 50)).collect();
    let applied = apply_all(&store, &events).await;
    assert!(applied.iter().all(|a| !a.duplicate && !a.dropped));
    let again = apply_all(&store, &events).await;
    assert!(
        again.iter().all(|a| a.duplicate),
        "a redelivery is a duplicate"
    );
    drop(store);

    let store = Embedded::open(dir.path()).unwrap();
    let now = Timestamp::from_millis(T0 + 86_400_000);
    for (lead, first) in applied.iter().take(50).enumerate() {
        let id = first.lead_id.clone();
        let ledger: BTreeSet<String> = store
            .ledger(&id)
            .await
            .unwrap()
            .iter()
            .map(|e| e.id.to_string())
            .collect();
        let expected: BTreeSet<String> = (0..4).map(|k| format!("e{}", lead + 50 * k)).collect();
        assert_eq!(ledger, expected, "lead {lead}");
        let key = LeadKey::Email(Email::parse(&format!("lead{lead}@acme.io")).unwrap());
        let found = store.get(&key, &Rules::default_rules(), now).await.unwrap();
        assert_eq!(found.map(|l| l.state.id), Some(id));
    }
    // Every lead changed, so every lead is in the outbox, once.
    assert_eq!(store.pending_handoffs(1_000).unwrap().len(), 50);
}
