//! One conformance suite, run against both backends: the embedded redb store and DynamoDB
//! (DynamoDB Local, started by the test command, which exports AWS_ENDPOINT_URL_DYNAMODB).

mod common;
#[path = "conformance/handoff.rs"]
mod handoff;

use handoff::*;
use leadscore_scoring::*;
use leadscore_store::*;
use std::collections::BTreeSet;
use std::sync::Arc;

const T0: i64 = 1_761_955_200_000;
const MINUTE: i64 = 60_000;
const ERASE_BUDGET: std::time::Duration = std::time::Duration::from_secs(60);

fn t(minutes: i64) -> Timestamp {
    Timestamp::from_millis(T0 + minutes * MINUTE)
}

fn email(s: &str) -> Email {
    Email::parse(s).unwrap()
}

fn anon(s: &str) -> AnonymousId {
    AnonymousId::parse(s).unwrap()
}

fn ev(id: &str, signal: Signal, at: Timestamp, e: Option<&str>, a: Option<&str>) -> Event {
    let identity = Identity::new(e.map(email), a.map(anon)).unwrap();
    Event::new(EventId::parse(id).unwrap(), signal, at, identity)
}

/// A read time after every event of the tests.
fn far() -> Timestamp {
    Timestamp::from_millis(T0 + 10 * 365 * 24 * 60 * MINUTE)
}

fn rules() -> Rules {
    Rules::default_rules()
}

pub struct Fixture {
    pub store: Arc<dyn LeadStore>,
    _dir: Option<tempfile::TempDir>,
}

async fn embedded() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store = Embedded::open(dir.path().join("data")).unwrap();
    Fixture {
        store: Arc::new(store),
        _dir: Some(dir),
    }
}

async fn dynamodb() -> Fixture {
    Fixture {
        store: Arc::new(common::dynamo_table("conformance").await),
        _dir: None,
    }
}

macro_rules! conformance {
    ($backend:ident) => {
        mod $backend {
            conformance!(@tests $backend:
                an_event_applied_twice_is_a_duplicate,
                a_visitor_is_stitched_into_a_lead_once,
                two_identified_leads_are_never_merged,
                listing_pages_neither_skip_nor_repeat_under_concurrent_writes,
                listing_filters_by_changed_since_and_orders_by_entry,
                erasure_removes_ledger_and_aliases,
                concurrent_deliveries_all_land_exactly_once,
                sales_feedback_needs_a_known_lead_and_an_allowed_move,
                bad_listing_inputs_are_refused,
                a_batch_lands_like_its_events_one_by_one,
                a_half_done_erasure_reads_as_absent_and_resumes,
                a_move_found_late_appears_after_the_cursor_a_poller_holds,
                the_worker_finishes_an_erasure_and_never_begins_one,
                the_worker_leaves_a_lead_as_it_reads,
                a_signed_token_is_bound_to_the_body_it_came_with,
                handoff_records_are_compare_and_set,
                memberships_are_replaced_by_each_put,
                members_page_in_lead_id_order_with_bounded_limits,
                accounts_rank_by_score_highest_first,
                erasure_removes_the_handoff_and_refuses_later_puts,
            );
        }
    };
    (@tests $backend:ident: $($test:ident,)*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $test() {
                let fixture = super::$backend().await;
                super::$test(fixture.store.as_ref()).await;
            }
        )*
    };
}

conformance!(embedded);
conformance!(dynamodb);

async fn an_event_applied_twice_is_a_duplicate(store: &dyn LeadStore) {
    let r = rules();
    let e = ev(
        "evt-1",
        Signal::DemoRequested,
        t(0),
        Some("ada@acme.io"),
        None,
    );
    let first = store.apply(&e, &r, t(1)).await.unwrap();
    assert!(!first.duplicate);
    assert_eq!(first.state.as_ref().unwrap().stage, Stage::Sql);
    assert_eq!(first.transitions.len(), 2);
    let before = store
        .get(&LeadKey::Email(email("ADA@acme.io")), &rules(), far())
        .await
        .unwrap()
        .unwrap();

    let second = store.apply(&e, &r, t(2)).await.unwrap();
    assert!(second.duplicate);
    assert!(second.transitions.is_empty());
    let after = store
        .get(&LeadKey::Id(first.lead_id.clone()), &rules(), far())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        after, before,
        "a duplicate changes nothing, version included"
    );
    assert_eq!(store.ledger(&first.lead_id).await.unwrap(), vec![e]);
}

async fn a_visitor_is_stitched_into_a_lead_once(store: &dyn LeadStore) {
    let r = rules();
    for i in 0..3 {
        let visit = ev(
            &format!("v{i}"),
            Signal::SiteVisit,
            t(i * 60),
            None,
            Some("anon-7"),
        );
        store.apply(&visit, &r, t(i * 60)).await.unwrap();
    }
    let visitor = store
        .get(&LeadKey::Anonymous(anon("anon-7")), &rules(), far())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(visitor.state.stage, Stage::Visitor);
    let listed = store
        .list_by_stage(Stage::Visitor, None, 10, None, &rules(), far())
        .await
        .unwrap();
    assert_eq!(listed.leads.len(), 1);

    let form = ev(
        "form-1",
        Signal::FormSubmitted,
        t(200),
        Some("bo@acme.io"),
        Some("anon-7"),
    );
    let applied = store.apply(&form, &r, t(200)).await.unwrap();
    assert_eq!(applied.state.as_ref().unwrap().stage, Stage::Lead);
    assert_eq!(
        applied.state.as_ref().unwrap().signal_counts()[&Signal::SiteVisit],
        3
    );
    assert_eq!(applied.state.as_ref().unwrap().first_seen, t(0));

    // The anonymous id now finds the lead, and the visitor is no longer listed.
    let by_anon = store
        .get(&LeadKey::Anonymous(anon("anon-7")), &rules(), far())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(by_anon.state.id, applied.lead_id);
    assert!(store
        .list_by_stage(Stage::Visitor, None, 10, None, &rules(), far())
        .await
        .unwrap()
        .leads
        .is_empty());

    // Once: the same pair again, or a later anonymous event, does not stitch again.
    let form2 = ev(
        "form-2",
        Signal::FormSubmitted,
        t(300),
        Some("bo@acme.io"),
        Some("anon-7"),
    );
    let again = store.apply(&form2, &r, t(300)).await.unwrap();
    assert_eq!(
        again.state.as_ref().unwrap().signal_counts()[&Signal::SiteVisit],
        3
    );
    let later = ev("v9", Signal::SiteVisit, t(400), None, Some("anon-7"));
    let landed = store.apply(&later, &r, t(400)).await.unwrap();
    assert_eq!(landed.lead_id, applied.lead_id);
    assert_eq!(
        landed.state.as_ref().unwrap().signal_counts()[&Signal::SiteVisit],
        4
    );

    let ledger = store.ledger(&applied.lead_id).await.unwrap();
    let ids: Vec<&str> = ledger.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids, ["v0", "v1", "v2", "form-1", "form-2", "v9"]);
}

async fn two_identified_leads_are_never_merged(store: &dyn LeadStore) {
    let r = rules();
    let a = ev(
        "a1",
        Signal::ContentDownloaded,
        t(0),
        Some("cy@acme.io"),
        Some("anon-shared"),
    );
    let lead_a = store.apply(&a, &r, t(0)).await.unwrap();
    // Another person on the same browser (same anonymous id) with another email.
    let b = ev(
        "b1",
        Signal::FormSubmitted,
        t(10),
        Some("di@acme.io"),
        Some("anon-shared"),
    );
    let lead_b = store.apply(&b, &r, t(10)).await.unwrap();
    assert_ne!(lead_a.lead_id, lead_b.lead_id);
    assert!(!lead_b
        .state
        .as_ref()
        .unwrap()
        .has_seen(&EventId::parse("a1").unwrap()));
    let a_now = store
        .get(&LeadKey::Email(email("cy@acme.io")), &rules(), far())
        .await
        .unwrap()
        .unwrap();
    assert!(!a_now.state.has_seen(&EventId::parse("b1").unwrap()));
    // The anonymous id keeps pointing at the lead it was first stitched into.
    let by_anon = store
        .get(&LeadKey::Anonymous(anon("anon-shared")), &rules(), far())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(by_anon.state.id, lead_a.lead_id);

    // The second person answers only for what was stitched into them: erasing them leaves
    // the first person's visitor alone, and its later visits still reach the first person.
    let lead_b_state = store
        .get(&LeadKey::Id(lead_b.lead_id.clone()), &rules(), far())
        .await
        .unwrap()
        .unwrap()
        .state;
    assert!(lead_b_state.anonymous_ids.is_empty());
    assert_eq!(
        store
            .erase(&LeadKey::Id(lead_b.lead_id.clone()), t(20), ERASE_BUDGET)
            .await
            .unwrap(),
        Erasure::Done
    );
    let later = ev("a2", Signal::SiteVisit, t(30), None, Some("anon-shared"));
    let landed = store.apply(&later, &r, t(30)).await.unwrap();
    assert_eq!(landed.lead_id, lead_a.lead_id);
    assert_eq!(
        landed.state.unwrap().signal_counts()[&Signal::SiteVisit],
        1,
        "the first person's visit landed on them"
    );
    assert!(store
        .ledger(&lead_a.lead_id)
        .await
        .unwrap()
        .iter()
        .any(|e| e.id.as_str() == "a2"));
}

async fn listing_pages_neither_skip_nor_repeat_under_concurrent_writes(store: &dyn LeadStore) {
    let r = rules();
    let mut originals = BTreeSet::new();
    for i in 0..30 {
        let e = ev(
            &format!("o{i}"),
            Signal::FormSubmitted,
            t(i),
            Some(&format!("o{i}@acme.io")),
            None,
        );
        originals.insert(store.apply(&e, &r, t(i)).await.unwrap().lead_id);
    }
    // Newcomers keep arriving while a sales tool pages through the listing.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut round = 0;
    loop {
        let page = store
            .list_by_stage(Stage::Lead, None, 7, cursor.as_deref(), &rules(), far())
            .await
            .unwrap();
        seen.extend(
            page.leads
                .iter()
                .map(|l| (l.state.stage_entered_at, l.state.id.clone())),
        );
        let writes: Vec<_> = (0..3)
            .map(|j| {
                let n = round * 3 + j;
                ev(
                    &format!("n{n}"),
                    Signal::FormSubmitted,
                    t(1_000 + n),
                    Some(&format!("n{n}@acme.io")),
                    None,
                )
            })
            .collect();
        for w in &writes {
            store.apply(w, &r, w.occurred_at).await.unwrap();
        }
        round += 1;
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
        assert!(round < 100, "the listing never ends");
    }
    let ids: Vec<&LeadId> = seen.iter().map(|(_, id)| id).collect();
    let unique: BTreeSet<&LeadId> = ids.iter().copied().collect();
    assert_eq!(unique.len(), ids.len(), "a lead was repeated");
    for o in &originals {
        assert!(unique.contains(o), "a lead was skipped");
    }
    let mut sorted = seen.clone();
    sorted.sort();
    assert_eq!(sorted, seen, "oldest stage entry first");
}

async fn listing_filters_by_changed_since_and_orders_by_entry(store: &dyn LeadStore) {
    let r = rules();
    for (i, who) in ["e1", "e2", "e3"].iter().enumerate() {
        let e = ev(
            who,
            Signal::DemoRequested,
            t(i as i64 * 10),
            Some(&format!("{who}@acme.io")),
            None,
        );
        store.apply(&e, &r, e.occurred_at).await.unwrap();
    }
    let page = store
        .list_by_stage(Stage::Sql, Some(t(10)), 10, None, &rules(), far())
        .await
        .unwrap();
    let emails: Vec<String> = page
        .leads
        .iter()
        .map(|l| l.state.email.as_ref().unwrap().as_str().to_string())
        .collect();
    assert_eq!(emails, ["e2@acme.io", "e3@acme.io"]);
    assert!(page.next.is_none());
    // A lead that moves on leaves the listing of its old stage.
    let accept = ev(
        "acc",
        Signal::OpportunityOpened,
        t(40),
        Some("e2@acme.io"),
        None,
    );
    store.apply(&accept, &r, t(40)).await.unwrap();
    let page = store
        .list_by_stage(Stage::Sql, None, 10, None, &rules(), far())
        .await
        .unwrap();
    assert_eq!(page.leads.len(), 2);
    let opp = store
        .list_by_stage(Stage::Opportunity, None, 10, None, &rules(), far())
        .await
        .unwrap();
    assert_eq!(opp.leads.len(), 1);
    assert_eq!(opp.leads[0].state.stage_entered_at, t(40));
}

async fn erasure_removes_ledger_and_aliases(store: &dyn LeadStore) {
    let r = rules();
    store
        .apply(
            &ev("v1", Signal::SiteVisit, t(0), None, Some("anon-gdpr")),
            &r,
            t(0),
        )
        .await
        .unwrap();
    let lead = store
        .apply(
            &ev(
                "f1",
                Signal::DemoRequested,
                t(5),
                Some("gone@acme.io"),
                Some("anon-gdpr"),
            ),
            &r,
            t(5),
        )
        .await
        .unwrap();
    let other = store
        .apply(
            &ev(
                "f2",
                Signal::DemoRequested,
                t(6),
                Some("stays@acme.io"),
                None,
            ),
            &r,
            t(6),
        )
        .await
        .unwrap();
    assert_eq!(
        store
            .erase(&LeadKey::Email(email("gone@acme.io")), t(7), ERASE_BUDGET)
            .await
            .unwrap(),
        Erasure::Done
    );
    assert!(store
        .get(&LeadKey::Id(lead.lead_id.clone()), &rules(), far())
        .await
        .unwrap()
        .is_none());
    assert!(store
        .get(&LeadKey::Anonymous(anon("anon-gdpr")), &rules(), far())
        .await
        .unwrap()
        .is_none());
    assert!(store.ledger(&lead.lead_id).await.unwrap().is_empty());
    assert!(store
        .ledger(&LeadId::for_visitor(&anon("anon-gdpr")))
        .await
        .unwrap()
        .is_empty());
    let sql = store
        .list_by_stage(Stage::Sql, None, 10, None, &rules(), far())
        .await
        .unwrap();
    assert_eq!(sql.leads.len(), 1);
    assert_eq!(sql.leads[0].state.id, other.lead_id);
    assert_eq!(
        store
            .erase(&LeadKey::Email(email("gone@acme.io")), t(8), ERASE_BUDGET)
            .await
            .unwrap(),
        Erasure::Unknown
    );
    // Redeliveries of the erased person's events (and of their stitched visitor's) are
    // dropped, not brought back.
    for old in [
        ev(
            "f1",
            Signal::DemoRequested,
            t(5),
            Some("gone@acme.io"),
            Some("anon-gdpr"),
        ),
        ev("v1", Signal::SiteVisit, t(0), None, Some("anon-gdpr")),
    ] {
        let again = store.apply(&old, &r, t(8)).await.unwrap();
        assert!(again.dropped, "{:?} came back", old.id);
    }
    assert!(store
        .get(&LeadKey::Email(email("gone@acme.io")), &rules(), far())
        .await
        .unwrap()
        .is_none());
    assert!(store
        .list_by_stage(Stage::Sql, None, 10, None, &rules(), far())
        .await
        .unwrap()
        .leads
        .iter()
        .all(|l| l.state.id != lead.lead_id));
    // The person can come back as a new lead.
    let back = store
        .apply(
            &ev(
                "f3",
                Signal::FormSubmitted,
                t(9),
                Some("gone@acme.io"),
                None,
            ),
            &r,
            t(9),
        )
        .await
        .unwrap();
    assert_eq!(back.state.as_ref().unwrap().stage, Stage::Lead);
    assert_eq!(store.ledger(&back.lead_id).await.unwrap().len(), 1);
    // And is listed again, at their new stage.
    let leads = store
        .list_by_stage(Stage::Lead, None, 10, None, &rules(), far())
        .await
        .unwrap();
    assert!(leads.leads.iter().any(|l| l.state.id == back.lead_id));
}

async fn concurrent_deliveries_all_land_exactly_once(store: &dyn LeadStore) {
    let r = Arc::new(rules());
    let events: Vec<Event> = (0..64)
        .map(|i| {
            ev(
                &format!("c{i:02}"),
                Signal::ContentDownloaded,
                t(i),
                Some("busy@acme.io"),
                None,
            )
        })
        .collect();
    // Every event twice, all at once.
    let mut deliveries = Vec::new();
    for e in events.iter().chain(events.iter()) {
        deliveries.push(e.clone());
    }
    let store_ptr: &dyn LeadStore = store;
    let results = futures_join(store_ptr, &deliveries, &r).await;
    let accepted = results.iter().filter(|a| !a.duplicate).count();
    assert_eq!(accepted, 64);

    let lead = store
        .get(&LeadKey::Email(email("busy@acme.io")), &rules(), far())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(lead.state.signal_counts()[&Signal::ContentDownloaded], 64);
    assert_eq!(store.ledger(&lead.state.id).await.unwrap().len(), 64);

    // Exactly the aggregate of applying them one by one, in time order.
    let mut expected = LeadState::for_event(&events[0]);
    for e in &events {
        expected = apply(&expected, e, &r, e.occurred_at).unwrap().state;
    }
    assert_eq!(lead.state.hits, expected.hits);
    assert_eq!(lead.state.stage, expected.stage);
    let now = t(1_000);
    assert_eq!(score(&lead.state, &r, now), score(&expected, &r, now));
}

/// Applies every delivery concurrently (one task each) and collects the results.
async fn futures_join(store: &dyn LeadStore, deliveries: &[Event], rules: &Rules) -> Vec<Applied> {
    let now = t(100);
    let tasks = deliveries.iter().map(|e| store.apply(e, rules, now));
    let mut out = Vec::new();
    for r in join_all(tasks).await {
        out.push(r.unwrap());
    }
    out
}

/// A minimal join_all: polls every future concurrently on the current task.
async fn join_all<F: std::future::Future>(futures: impl IntoIterator<Item = F>) -> Vec<F::Output> {
    let mut set: Vec<std::pin::Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut results: Vec<Option<F::Output>> = (0..set.len()).map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (i, f) in set.iter_mut().enumerate() {
            if results[i].is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => results[i] = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    results.into_iter().map(|r| r.unwrap()).collect()
}

async fn sales_feedback_needs_a_known_lead_and_an_allowed_move(store: &dyn LeadStore) {
    let r = rules();
    let won = ev("won-1", Signal::DealWon, t(0), Some("nobody@acme.io"), None);
    assert!(matches!(
        store.apply(&won, &r, t(0)).await,
        Err(StoreError::NotFound)
    ));
    assert!(store
        .get(&LeadKey::Email(email("nobody@acme.io")), &rules(), far())
        .await
        .unwrap()
        .is_none());

    let dl = ev(
        "dl-1",
        Signal::ContentDownloaded,
        t(0),
        Some("some@acme.io"),
        None,
    );
    let lead = store.apply(&dl, &r, t(0)).await.unwrap();
    let before = store
        .get(&LeadKey::Id(lead.lead_id.clone()), &rules(), far())
        .await
        .unwrap()
        .unwrap();
    let won = ev("won-2", Signal::DealWon, t(1), Some("some@acme.io"), None);
    match store.apply(&won, &r, t(1)).await {
        Err(StoreError::InvalidTransition(e)) => assert_eq!(e.current, Stage::Lead),
        other => panic!("expected an invalid transition, got {other:?}"),
    }
    let after = store
        .get(&LeadKey::Id(lead.lead_id.clone()), &rules(), far())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(after, before, "nothing written");
    assert_eq!(store.ledger(&lead.lead_id).await.unwrap().len(), 1);
}

async fn bad_listing_inputs_are_refused(store: &dyn LeadStore) {
    for limit in [0, MAX_PAGE + 1] {
        assert!(matches!(
            store.list_by_stage(Stage::Sql, None, limit, None, &rules(), far()).await,
            Err(StoreError::InvalidLimit(l)) if l == limit
        ));
    }
    for cursor in ["", "garbage", "eyJzIjoic3FsIn0"] {
        assert!(
            matches!(
                store
                    .list_by_stage(Stage::Sql, None, 10, Some(cursor), &rules(), far())
                    .await,
                Err(StoreError::InvalidCursor)
            ),
            "{cursor:?}"
        );
    }
    // A cursor issued for another stage.
    let r = rules();
    for i in 0..3 {
        let e = ev(
            &format!("x{i}"),
            Signal::FormSubmitted,
            t(i),
            Some(&format!("x{i}@acme.io")),
            None,
        );
        store.apply(&e, &r, t(i)).await.unwrap();
    }
    let page = store
        .list_by_stage(Stage::Lead, None, 1, None, &rules(), far())
        .await
        .unwrap();
    let cursor = page.next.unwrap();
    assert!(matches!(
        store
            .list_by_stage(Stage::Mql, None, 1, Some(&cursor), &rules(), far())
            .await,
        Err(StoreError::InvalidCursor)
    ));
}

#[tokio::test]
async fn the_embedded_store_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let r = rules();
    let e = ev(
        "keep",
        Signal::DemoRequested,
        t(0),
        Some("durable@acme.io"),
        None,
    );
    {
        let store = Embedded::open(dir.path()).unwrap();
        store.apply(&e, &r, t(0)).await.unwrap();
    }
    let store = Embedded::open(dir.path()).unwrap();
    let lead = store
        .get(&LeadKey::Email(email("durable@acme.io")), &rules(), far())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(lead.state.stage, Stage::Sql);
    assert!(store.apply(&e, &r, t(1)).await.unwrap().duplicate);
}

async fn a_batch_lands_like_its_events_one_by_one(store: &dyn LeadStore) {
    let r = rules();
    // A provider's batch: several people, one of them twice in a row, a visitor stitched
    // inside the batch, and one event delivered twice within it.
    let mut batch = vec![ev("pre", Signal::SiteVisit, t(0), None, Some("anon-b"))];
    for i in 0..30 {
        let who = format!("p{}@acme.io", i % 6);
        batch.push(ev(
            &format!("b{i:02}"),
            [Signal::EmailOpened, Signal::EmailClicked, Signal::SiteVisit][i % 3],
            t(i as i64),
            Some(&who),
            None,
        ));
    }
    batch.push(ev(
        "join",
        Signal::FormSubmitted,
        t(40),
        Some("p0@acme.io"),
        Some("anon-b"),
    ));
    batch.push(batch[5].clone());
    let results = store.apply_batch(&batch, &r, t(50)).await;
    assert_eq!(results.len(), batch.len());
    let results: Vec<Applied> = results.into_iter().map(Result::unwrap).collect();
    assert_eq!(results.iter().filter(|a| a.duplicate).count(), 1);
    assert!(
        results[batch.len() - 1].duplicate,
        "the second delivery is the duplicate"
    );
    for (e, a) in batch.iter().zip(&results) {
        if e.identity.email.is_some() {
            assert_eq!(a.lead_id, e.identity.primary_lead_id(), "{:?}", e.id);
        }
    }
    // Each lead is what its ledger folds to, and holds its five events (p0: six, and the
    // stitched visit).
    for p in 0..6 {
        let lead = store
            .get(&LeadKey::Email(email(&format!("p{p}@acme.io"))), &r, far())
            .await
            .unwrap()
            .unwrap();
        let ledger = store.ledger(&lead.state.id).await.unwrap();
        let expected = if p == 0 { 7 } else { 5 };
        assert_eq!(ledger.len(), expected, "p{p}");
        assert_eq!(lead.state.events as usize, expected, "p{p}");
    }
    let again = store.apply_batch(&batch, &r, t(60)).await;
    assert!(again.into_iter().all(|a| a.unwrap().duplicate));
}

async fn a_half_done_erasure_reads_as_absent_and_resumes(store: &dyn LeadStore) {
    let r = rules();
    let mut events = Vec::new();
    for i in 0..60 {
        events.push(ev(
            &format!("h{i:02}"),
            [Signal::EmailOpened, Signal::DemoRequested][(i % 2) as usize],
            t(i),
            Some("long@acme.io"),
            None,
        ));
    }
    for e in &events {
        store.apply(e, &r, e.occurred_at).await.unwrap();
    }
    let key = LeadKey::Email(email("long@acme.io"));
    // No time at all: DynamoDB stops before its first page of deletes; the embedded store
    // erases in one transaction whatever the budget.
    let first = store
        .erase(&key, t(100), std::time::Duration::ZERO)
        .await
        .unwrap();
    assert!(
        matches!(first, Erasure::InProgress | Erasure::Done),
        "{first:?}"
    );
    assert!(store.get(&key, &r, far()).await.unwrap().is_none());
    // An event applied meanwhile (a redelivery) neither comes back nor re-lists the lead.
    let again = store.apply(&events[3], &r, t(101)).await.unwrap();
    assert!(again.dropped || again.duplicate);
    let mut outcome = first;
    for _ in 0..10 {
        if outcome == Erasure::Done {
            break;
        }
        outcome = store.erase(&key, t(102), ERASE_BUDGET).await.unwrap();
    }
    assert_eq!(outcome, Erasure::Done);
    assert!(store.get(&key, &r, far()).await.unwrap().is_none());
    assert!(store
        .list_by_stage(Stage::Sql, None, 10, None, &r, far())
        .await
        .unwrap()
        .leads
        .is_empty());
    assert!(store
        .ledger(&LeadId::for_email(&email("long@acme.io")))
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        store.erase(&key, t(103), ERASE_BUDGET).await.unwrap(),
        Erasure::Unknown
    );
}

/// Newsletter, visits and a follow of `who`, day by day from `first_day` (`visits` of them).
async fn subscriber(store: &dyn LeadStore, who: &str, first_day: i64, visits: i64, now: Timestamp) {
    let r = rules();
    let day = 24 * 60;
    let mut events = vec![ev(
        &format!("{who}-nl"),
        Signal::NewsletterSubscribed,
        t(first_day * day),
        Some(who),
        None,
    )];
    for v in 0..visits {
        events.push(ev(
            &format!("{who}-v{v}"),
            Signal::SiteVisit,
            t((first_day + v) * day + 60),
            Some(who),
            None,
        ));
    }
    events.push(ev(
        &format!("{who}-follow"),
        Signal::SocialFollowed,
        t((first_day + 3) * day),
        Some(who),
        None,
    ));
    for e in events {
        store.apply(&e, &r, now).await.unwrap();
    }
}

async fn a_move_found_late_appears_after_the_cursor_a_poller_holds(store: &dyn LeadStore) {
    let r = rules();
    let day = 24 * 60;
    // One lead qualifies on day 8 from evidence of days 5 to 8; another has all but one visit.
    subscriber(store, "x@acme.io", 5, 3, t(8 * day + 120)).await;
    subscriber(store, "y@acme.io", 0, 2, t(8 * day + 120)).await;
    let page = store
        .list_by_stage(Stage::Mql, None, 1, None, &r, t(9 * day))
        .await
        .unwrap();
    assert_eq!(page.leads.len(), 1);
    assert_eq!(
        page.leads[0].state.email.as_ref().unwrap().as_str(),
        "x@acme.io"
    );
    let cursor = page.next.expect("a full page has a cursor");
    assert!(store
        .list_by_stage(Stage::Mql, None, 1, Some(&cursor), &r, t(9 * day))
        .await
        .unwrap()
        .leads
        .is_empty());

    // Y's missing visit, dated day 2, arrives on day 10: Y was an MQL from day 3 (the follow
    // completed the evidence), and the poller learns it after its cursor.
    let late = ev(
        "y@acme.io-v2",
        Signal::SiteVisit,
        t(2 * day + 60),
        Some("y@acme.io"),
        None,
    );
    store.apply(&late, &r, t(10 * day)).await.unwrap();
    let next = store
        .list_by_stage(Stage::Mql, None, 10, Some(&cursor), &r, t(10 * day))
        .await
        .unwrap();
    assert_eq!(next.leads.len(), 1);
    let y = &next.leads[0].state;
    assert_eq!(y.email.as_ref().unwrap().as_str(), "y@acme.io");
    let mql = y.stage_history.last().unwrap();
    assert_eq!(
        (mql.to, mql.at, mql.recorded_at),
        (Stage::Mql, t(3 * day), t(10 * day))
    );
    assert_eq!(y.stage_recorded_at, t(10 * day));
    // changed_since filters on when moves were recorded too.
    let since = store
        .list_by_stage(Stage::Mql, Some(t(9 * day)), 10, None, &r, t(10 * day))
        .await
        .unwrap();
    assert_eq!(since.leads.len(), 1);
}

/// The ledger worker's upkeep: an erasure begun and cut short is finished by `tend` (what
/// the table's stream triggers after a DELETE answered 202); a lead that came back after its
/// erasure is not erased again by a late delivery of the stream.
async fn the_worker_finishes_an_erasure_and_never_begins_one(store: &dyn LeadStore) {
    let r = rules();
    for i in 0..40 {
        let e = ev(
            &format!("w{i:02}"),
            [Signal::EmailOpened, Signal::SiteVisit][(i % 2) as usize],
            t(i),
            Some("gone@acme.io"),
            None,
        );
        store.apply(&e, &r, e.occurred_at).await.unwrap();
    }
    let key = LeadKey::Email(email("gone@acme.io"));
    let id = LeadId::for_email(&email("gone@acme.io"));
    let first = store
        .erase(&key, t(50), std::time::Duration::ZERO)
        .await
        .unwrap();
    assert!(
        matches!(first, Erasure::InProgress | Erasure::Done),
        "{first:?}"
    );
    let mut upkeep = Upkeep::Erasing;
    for _ in 0..10 {
        upkeep = store.tend(&id, &r, t(51), ERASE_BUDGET).await.unwrap();
        if upkeep == Upkeep::Done {
            break;
        }
    }
    assert_eq!(upkeep, Upkeep::Done);
    assert!(store.ledger(&id).await.unwrap().is_empty());
    assert_eq!(
        store.erase(&key, t(52), ERASE_BUDGET).await.unwrap(),
        Erasure::Unknown,
        "the worker finished it: nothing is left to erase"
    );
    // The person comes back and consents again: a new lead, which the worker's late
    // delivery of the old erasure's records leaves alone.
    let back = ev(
        "w-back",
        Signal::FormSubmitted,
        t(60),
        Some("gone@acme.io"),
        None,
    );
    store.apply(&back, &r, t(60)).await.unwrap();
    assert_eq!(
        store.tend(&id, &r, t(61), ERASE_BUDGET).await.unwrap(),
        Upkeep::Done
    );
    let lead = store.get(&key, &r, far()).await.unwrap().unwrap();
    assert_eq!(lead.state.events, 1);
    assert_eq!(store.ledger(&id).await.unwrap().len(), 1);
}

/// Tending writes only what the lead already was: every read before and after agrees,
/// whatever the tail held (the snapshot the event path left to the worker included).
async fn the_worker_leaves_a_lead_as_it_reads(store: &dyn LeadStore) {
    let r = rules();
    let who = "tended@acme.io";
    let id = LeadId::for_email(&email(who));
    let key = LeadKey::Email(email(who));
    for i in 0..100 {
        let e = ev(
            &format!("k{i:03}"),
            [Signal::EmailOpened, Signal::EmailClicked, Signal::SiteVisit][(i % 3) as usize],
            t(i * 60),
            Some(who),
            None,
        );
        store.apply(&e, &r, e.occurred_at).await.unwrap();
        if i % 7 == 0 {
            let before = store.get(&key, &r, t(i * 60 + 5)).await.unwrap().unwrap();
            assert_eq!(
                store
                    .tend(&id, &r, t(i * 60 + 5), ERASE_BUDGET)
                    .await
                    .unwrap(),
                Upkeep::Done
            );
            let after = store.get(&key, &r, t(i * 60 + 5)).await.unwrap().unwrap();
            assert_eq!(before, after, "after event {i}");
        }
    }
    let lead = store.get(&key, &r, far()).await.unwrap().unwrap();
    assert_eq!(lead.state.events, 100);
    // A visitor id and an unknown id: nothing to do, nothing written.
    let nobody = LeadId::for_email(&email("nobody@acme.io"));
    assert_eq!(
        store.tend(&nobody, &r, far(), ERASE_BUDGET).await.unwrap(),
        Upkeep::Done
    );
    assert!(store
        .get(&LeadKey::Id(nobody), &r, far())
        .await
        .unwrap()
        .is_none());
}

async fn a_signed_token_is_bound_to_the_body_it_came_with(store: &dyn LeadStore) {
    let now = Timestamp::from_millis(1_800_000_000_000);
    let token = |digest: &str, signed: Timestamp| Delivery {
        key: "5f1e".repeat(16),
        digest: digest.to_string(),
        expires_at: signed.plus_millis(300_000),
    };
    let (first, forged) = (token("aa01", now), token("bb02", now));
    assert_eq!(
        store.check_delivery(&first, now).await.unwrap(),
        DeliveryCheck::New
    );
    // Checking writes nothing: a refused or failed request leaves no trace.
    assert_eq!(
        store.check_delivery(&forged, now).await.unwrap(),
        DeliveryCheck::New
    );
    assert_eq!(
        store.record_delivery(&first, now).await.unwrap(),
        DeliveryCheck::New
    );
    assert_eq!(
        store.check_delivery(&first, now).await.unwrap(),
        DeliveryCheck::Same
    );
    assert_eq!(
        store.record_delivery(&first, now).await.unwrap(),
        DeliveryCheck::New
    );
    assert_eq!(
        store.check_delivery(&forged, now).await.unwrap(),
        DeliveryCheck::Conflict
    );
    assert_eq!(
        store.record_delivery(&forged, now).await.unwrap(),
        DeliveryCheck::Conflict
    );
    assert_eq!(
        store.check_delivery(&first, now).await.unwrap(),
        DeliveryCheck::Same
    );
    // Once the signature has expired the token means nothing any more.
    let later = now.plus_millis(301_000);
    let forged = token("bb02", later);
    assert_eq!(
        store.check_delivery(&forged, later).await.unwrap(),
        DeliveryCheck::New
    );
    assert_eq!(
        store.record_delivery(&forged, later).await.unwrap(),
        DeliveryCheck::New
    );
    assert_eq!(
        store.check_delivery(&forged, later).await.unwrap(),
        DeliveryCheck::Same
    );
    // Remembered tokens are no lead's records.
    let mut reading = store.read_records(ReadBudget {
        until: None,
        segments: 1,
        max_read_units_per_second: 0.0,
    });
    while let Some(record) = reading.records.recv().await {
        record.unwrap();
    }
    assert!(reading.complete());
}
