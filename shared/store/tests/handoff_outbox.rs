//! The embedded store's local outbox (the log of changes the notifier drains, written in the
//! transaction of the change) and its parked notifications.

use leadscore_scoring::*;
use leadscore_store::*;
use std::collections::BTreeSet;

const T0: i64 = 1_761_955_200_000;
const MINUTE: i64 = 60_000;

fn t(minutes: i64) -> Timestamp {
    Timestamp::from_millis(T0 + minutes * MINUTE)
}

fn ev(id: &str, signal: Signal, at: Timestamp, who: &str) -> Event {
    let identity = Identity::new(Some(Email::parse(who).unwrap()), None).unwrap();
    Event::new(EventId::parse(id).unwrap(), signal, at, identity)
}

async fn apply(store: &Embedded, id: &str, who: &str, minutes: i64) -> LeadId {
    let e = ev(id, Signal::SiteVisit, t(minutes), who);
    let applied = store.apply(&e, &Rules::default_rules(), t(minutes)).await;
    applied.unwrap().lead_id
}

fn pending(store: &Embedded) -> Vec<(LeadId, u64)> {
    store.pending_handoffs(100).unwrap()
}

#[tokio::test]
async fn an_apply_marks_the_lead_dirty_until_handed_off() {
    let dir = tempfile::tempdir().unwrap();
    let store = Embedded::open(dir.path()).unwrap();
    assert!(pending(&store).is_empty());
    let ada = apply(&store, "e1", "ada@acme.io", 0).await;
    let marks = pending(&store);
    assert_eq!(marks.len(), 1);
    assert_eq!(marks[0].0, ada);
    store.handoff_done(&ada, marks[0].1).unwrap();
    assert!(pending(&store).is_empty());
    // A duplicate changes nothing, so nothing is to be handed off.
    apply(&store, "e1", "ada@acme.io", 1).await;
    assert!(pending(&store).is_empty());
}

#[tokio::test]
async fn handoff_done_with_an_old_seq_keeps_the_lead_dirty() {
    let dir = tempfile::tempdir().unwrap();
    let store = Embedded::open(dir.path()).unwrap();
    let ada = apply(&store, "e1", "ada@acme.io", 0).await;
    let old = pending(&store)[0].1;
    apply(&store, "e2", "ada@acme.io", 1).await;
    let newer = pending(&store)[0].1;
    assert!(newer > old);
    store.handoff_done(&ada, old).unwrap();
    assert_eq!(pending(&store), vec![(ada.clone(), newer)]);
    store.handoff_done(&ada, newer).unwrap();
    assert!(pending(&store).is_empty());
    store.handoff_done(&ada, newer).unwrap(); // again: nothing to clear
}

/// The drainer's clear of a page: one write for its leads, each up to the number it was read
/// with; a change that landed meanwhile stays, other leads are untouched.
#[tokio::test]
async fn a_page_is_cleared_in_one_write_up_to_what_was_read() {
    let dir = tempfile::tempdir().unwrap();
    let store = Embedded::open(dir.path()).unwrap();
    apply(&store, "a1", "a@acme.io", 0).await;
    apply(&store, "b1", "b@acme.io", 1).await;
    let c = apply(&store, "c1", "c@acme.io", 2).await;
    let page = store.pending_handoffs(2).unwrap();
    assert_eq!(page.len(), 2);
    let a = page[0].0.clone();
    apply(&store, "a2", "a@acme.io", 3).await;
    store.clear_handoffs(&page).await.unwrap();
    let left: Vec<LeadId> = pending(&store).into_iter().map(|(id, _)| id).collect();
    assert_eq!(left, vec![c, a], "c untouched, a's later change kept");
    store.clear_handoffs(&[]).await.unwrap();
    assert_eq!(pending(&store).len(), 2);
}

#[tokio::test]
async fn a_change_after_the_pending_read_keeps_the_lead_dirty() {
    let dir = tempfile::tempdir().unwrap();
    let store = Embedded::open(dir.path()).unwrap();
    let ada = apply(&store, "e1", "ada@acme.io", 0).await;
    let read = pending(&store);
    // The notifier works on what it read while a new event lands.
    apply(&store, "e2", "ada@acme.io", 1).await;
    store.handoff_done(&ada, read[0].1).unwrap();
    let marks = pending(&store);
    assert_eq!(marks.len(), 1);
    assert_eq!(marks[0].0, ada);
}

/// Leads wait in the order of their oldest change not handed off: one that keeps changing
/// is not pushed back behind the others. Each comes once, with its last change's number.
#[tokio::test]
async fn pending_leads_come_oldest_change_first() {
    let dir = tempfile::tempdir().unwrap();
    let store = Embedded::open(dir.path()).unwrap();
    let a = apply(&store, "a1", "a@acme.io", 0).await;
    let b = apply(&store, "b1", "b@acme.io", 1).await;
    let c = apply(&store, "c1", "c@acme.io", 2).await;
    apply(&store, "a2", "a@acme.io", 3).await;
    let marks = pending(&store);
    let order: Vec<LeadId> = marks.iter().map(|(id, _)| id.clone()).collect();
    assert_eq!(order, vec![a.clone(), b.clone(), c.clone()]);
    let last = marks.iter().map(|(_, seq)| *seq).max().unwrap();
    assert_eq!(marks[0].1, last, "a's number is its second change's");
    let first = store.pending_handoffs(1).unwrap();
    assert_eq!(first, vec![(a.clone(), last)]);
    // Handed off up to its last change, a leaves; the others keep their order.
    store.handoff_done(&a, last).unwrap();
    let order: Vec<LeadId> = pending(&store).into_iter().map(|(id, _)| id).collect();
    assert_eq!(order, vec![b, c]);
}

/// A lead with more changes than one read takes stays in the outbox, with the changes after
/// the number it was read with.
#[tokio::test]
async fn a_lead_changed_more_often_than_one_read_takes_is_read_again() {
    let dir = tempfile::tempdir().unwrap();
    let store = Embedded::open(dir.path()).unwrap();
    let mut ada = None;
    for n in 0..40 {
        ada = Some(apply(&store, &format!("e{n}"), "ada@acme.io", n).await);
    }
    let ada = ada.unwrap();
    // One lead asked for: at most 16 entries read.
    let first = store.pending_handoffs(1).unwrap();
    assert_eq!(first.len(), 1);
    let all = store.pending_handoffs(10).unwrap();
    assert_eq!(all.len(), 1);
    assert!(all[0].1 > first[0].1, "the second read went further");
    store.handoff_done(&ada, first[0].1).unwrap();
    assert_eq!(pending(&store), vec![(ada.clone(), all[0].1)]);
    store.handoff_done(&ada, all[0].1).unwrap();
    assert!(pending(&store).is_empty());
}

#[tokio::test]
async fn an_erasure_marks_the_lead_dirty_and_purges_its_handoff() {
    let dir = tempfile::tempdir().unwrap();
    let store = Embedded::open(dir.path()).unwrap();
    let ada = apply(&store, "e1", "ada@acme.io", 0).await;
    let record = HandoffRecord {
        version: 0,
        body: b"{}".to_vec(),
        memberships: BTreeSet::from(["segment:a".to_string()]),
        summary: b"{}".to_vec(),
        erased_seen: None,
    };
    assert!(store.put_handoff(&ada, &record).await.unwrap());
    let (id, seq) = pending(&store).remove(0);
    store.handoff_done(&id, seq).unwrap();
    let budget = std::time::Duration::from_secs(10);
    let erased = store.erase(&LeadKey::Id(ada.clone()), t(5), budget).await;
    assert_eq!(erased.unwrap(), Erasure::Done);
    let marks = pending(&store);
    assert_eq!(marks.len(), 1, "lead.erased is still to go out");
    assert_eq!(marks[0].0, ada);
    assert_eq!(store.erased_at(&ada).await.unwrap(), Some(t(5)));
    assert_eq!(store.handoff(&ada).await.unwrap(), None);
    assert!(store
        .members("segment:a", None, 10)
        .await
        .unwrap()
        .0
        .is_empty());
}

/// A process that stops right after the commit: the mark is on disk with the change, and
/// sequence numbers keep growing after the restart.
#[tokio::test]
async fn the_dirty_mark_survives_reopening_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let (ada, seq) = {
        let store = Embedded::open(dir.path()).unwrap();
        let ada = apply(&store, "e1", "ada@acme.io", 0).await;
        (ada, pending(&store)[0].1)
    };
    let store = Embedded::open(dir.path()).unwrap();
    assert_eq!(pending(&store), vec![(ada.clone(), seq)]);
    store.handoff_done(&ada, seq).unwrap();
    apply(&store, "e2", "ada@acme.io", 1).await;
    let again = pending(&store);
    assert!(again[0].1 > seq, "a sequence number is never reused");
    drop(store);
    let store = Embedded::open(dir.path()).unwrap();
    assert_eq!(pending(&store), again);
}

#[tokio::test]
async fn parked_notifications_stay_until_unparked() {
    let dir = tempfile::tempdir().unwrap();
    let store = Embedded::open(dir.path()).unwrap();
    assert!(store.parked(10).unwrap().is_empty());
    store.park("ntf_b", b"second").unwrap();
    store.park("ntf_a", b"first").unwrap();
    store.park("ntf_b", b"second, again").unwrap();
    assert_eq!(
        store.parked(10).unwrap(),
        vec![
            ("ntf_a".to_string(), b"first".to_vec()),
            ("ntf_b".to_string(), b"second, again".to_vec()),
        ]
    );
    assert_eq!(store.parked(1).unwrap().len(), 1);
    store.unpark("ntf_a").unwrap();
    store.unpark("ntf_missing").unwrap();
    drop(store);
    let store = Embedded::open(dir.path()).unwrap();
    assert_eq!(
        store.parked(10).unwrap(),
        vec![("ntf_b".to_string(), b"second, again".to_vec())]
    );
}

/// A store written before the log kept one mark per lead (`dirty`: lead -> number) beside
/// the same entries in `dirty_order`: it reads the same, and the old table goes at open.
#[tokio::test]
async fn a_store_with_the_first_outbox_reads_its_marks() {
    let dir = tempfile::tempdir().unwrap();
    let (ada, bo) = {
        let store = Embedded::open(dir.path()).unwrap();
        let ada = apply(&store, "a1", "ada@acme.io", 0).await;
        let bo = apply(&store, "b1", "bo@acme.io", 1).await;
        (ada, bo)
    };
    let marks = {
        // Rewritten as the first version left it: one entry per lead in both tables.
        let db = redb::Database::open(dir.path().join("leads.redb")).unwrap();
        let tx = db.begin_write().unwrap();
        let order: redb::TableDefinition<u64, &str> = redb::TableDefinition::new("dirty_order");
        let dirty: redb::TableDefinition<&str, u64> = redb::TableDefinition::new("dirty");
        let mut marks = Vec::new();
        {
            use redb::ReadableTable;
            let mut order = tx.open_table(order).unwrap();
            let mut dirty = tx.open_table(dirty).unwrap();
            let entries: Vec<(u64, String)> = order
                .iter()
                .unwrap()
                .map(|e| {
                    let (k, v) = e.unwrap();
                    (k.value(), v.value().to_string())
                })
                .collect();
            order.retain(|_, _| false).unwrap();
            for lead in [&ada, &bo] {
                let last = entries.iter().rfind(|(_, id)| id == lead.as_str());
                let (seq, id) = last.unwrap();
                order.insert(*seq, id.as_str()).unwrap();
                dirty.insert(id.as_str(), *seq).unwrap();
                marks.push((lead.clone(), *seq));
            }
        }
        tx.commit().unwrap();
        marks
    };
    let store = Embedded::open(dir.path()).unwrap();
    assert_eq!(pending(&store), marks);
    store.handoff_done(&ada, marks[0].1).unwrap();
    assert_eq!(pending(&store), vec![marks[1].clone()]);
    drop(store);
    let db = redb::Database::open(dir.path().join("leads.redb")).unwrap();
    let tx = db.begin_write().unwrap();
    let dirty: redb::TableDefinition<&str, u64> = redb::TableDefinition::new("dirty");
    assert!(!tx.delete_table(dirty).unwrap(), "deleted at open");
}
