//! What analyses read from a store: every record streamed (embedded) or scanned (DynamoDB),
//! the items they come from, and the suppression list. Both backends where it applies.

mod common;

use leadscore_scoring::*;
use leadscore_store::*;
use std::collections::BTreeSet;

const T0: i64 = 1_761_955_200_000;
const MINUTE: i64 = 60_000;
const BUDGET: std::time::Duration = std::time::Duration::from_secs(60);

fn t(minutes: i64) -> Timestamp {
    Timestamp::from_millis(T0 + minutes * MINUTE)
}

fn ev(id: &str, at: Timestamp, e: Option<&str>, a: Option<&str>) -> Event {
    let identity = Identity::new(
        e.map(|e| Email::parse(e).unwrap()),
        a.map(|a| AnonymousId::parse(a).unwrap()),
    )
    .unwrap();
    let signal = if e.is_some() {
        Signal::FormSubmitted
    } else {
        Signal::SiteVisit
    };
    Event::new(EventId::parse(id).unwrap(), signal, at, identity)
}

fn lead(e: &str) -> LeadId {
    LeadId::for_email(&Email::parse(e).unwrap())
}

fn visitor(a: &str) -> LeadId {
    LeadId::for_visitor(&AnonymousId::parse(a).unwrap())
}

enum Fixture {
    /// The folder lives as long as the store.
    Embedded(Embedded, #[allow(dead_code)] tempfile::TempDir),
    Dynamo(Dynamo),
}

impl Fixture {
    async fn embedded() -> Self {
        let dir = tempfile::tempdir().unwrap();
        Fixture::Embedded(Embedded::open(dir.path()).unwrap(), dir)
    }

    async fn dynamo() -> Self {
        Fixture::Dynamo(common::dynamo_table("records").await)
    }

    fn store(&self) -> &dyn LeadStore {
        match self {
            Fixture::Embedded(s, _) => s,
            Fixture::Dynamo(s) => s,
        }
    }

    async fn records(&self) -> Vec<Record> {
        let mut rx = match self {
            Fixture::Embedded(s, _) => s.records(),
            Fixture::Dynamo(s) => s.scan_records(3, 0.0, |_| {}),
        };
        let mut out = Vec::new();
        while let Some(r) = rx.recv().await {
            out.push(r.unwrap());
        }
        out
    }

    async fn suppressions(&self) -> BTreeSet<(LeadId, Timestamp)> {
        match self {
            Fixture::Embedded(s, _) => s.suppressions().await,
            Fixture::Dynamo(s) => s.suppressions().await,
        }
        .unwrap()
        .into_iter()
        .collect()
    }
}

/// A visitor stitched into ada (and visiting after), bo erased then back, cy erased with
/// its stitched visitor.
async fn populate(store: &dyn LeadStore) {
    let r = Rules::default_rules();
    let apply = |e: Event, now: Timestamp| {
        let r = r.clone();
        async move { store.apply(&e, &r, now).await.unwrap() }
    };
    apply(ev("v1", t(0), None, Some("anon-1")), t(0)).await;
    apply(ev("v2", t(5), None, Some("anon-1")), t(6)).await;
    apply(ev("a1", t(10), Some("ada@acme.io"), Some("anon-1")), t(10)).await;
    apply(ev("v3", t(20), None, Some("anon-1")), t(21)).await;
    apply(ev("b1", t(30), Some("bo@acme.io"), None), t(30)).await;
    apply(ev("b2", t(40), Some("bo@acme.io"), None), t(40)).await;
    apply(ev("c0", t(45), None, Some("anon-2")), t(45)).await;
    apply(ev("c1", t(50), Some("cy@acme.io"), Some("anon-2")), t(50)).await;
    let erase = |e: &str, now| {
        let key = LeadKey::Email(Email::parse(e).unwrap());
        async move { store.erase(&key, now, BUDGET).await.unwrap() }
    };
    assert_eq!(erase("bo@acme.io", t(100)).await, Erasure::Done);
    assert_eq!(erase("cy@acme.io", t(110)).await, Erasure::Done);
    // A redelivery from before bo's erasure becomes a tombstone; a new event starts anew.
    assert!(
        apply(ev("b0", t(35), Some("bo@acme.io"), None), t(120))
            .await
            .dropped
    );
    apply(ev("b3", t(130), Some("bo@acme.io"), None), t(130)).await;
}

fn entries(records: &[Record]) -> BTreeSet<(LeadId, String, Timestamp)> {
    records
        .iter()
        .filter_map(|r| match r {
            Record::Entry {
                id,
                applied_at,
                event,
            } => Some((id.clone(), event.id.to_string(), *applied_at)),
            _ => None,
        })
        .collect()
}

async fn records_are_the_live_entries_aliases_and_markers(f: Fixture) {
    populate(f.store()).await;
    let records = f.records().await;
    let (ada, bo, cy) = (lead("ada@acme.io"), lead("bo@acme.io"), lead("cy@acme.io"));
    let (anon1, anon2) = (visitor("anon-1"), visitor("anon-2"));
    let expected: BTreeSet<_> = [
        (&anon1, "v1", t(0)),
        (&anon1, "v2", t(6)),
        (&ada, "a1", t(10)),
        // A visitor's event after the stitch is in both ledgers.
        (&anon1, "v3", t(21)),
        (&ada, "v3", t(21)),
        (&bo, "b3", t(130)),
    ]
    .into_iter()
    .map(|(id, e, at)| (id.clone(), e.to_string(), at))
    .collect();
    assert_eq!(entries(&records), expected);
    let aliases: Vec<_> = records
        .iter()
        .filter(|r| matches!(r, Record::Alias { .. }))
        .collect();
    assert_eq!(
        aliases,
        vec![&Record::Alias {
            visitor: anon1.clone(),
            lead: ada.clone()
        }]
    );
    let markers: BTreeSet<_> = records
        .iter()
        .filter_map(|r| match r {
            Record::Erased { id, at } => Some((id.clone(), *at)),
            _ => None,
        })
        .collect();
    let want: BTreeSet<_> = [(bo, t(100)), (cy, t(110)), (anon2, t(110))].into();
    assert_eq!(markers, want);
    // The records make the ledgers the store answers.
    let ledger: BTreeSet<String> = f
        .store()
        .ledger(&ada)
        .await
        .unwrap()
        .iter()
        .map(|e| e.id.to_string())
        .collect();
    let from_records: BTreeSet<String> = expected
        .iter()
        .filter(|(id, _, _)| *id == ada || *id == anon1)
        .map(|(_, e, _)| e.clone())
        .collect();
    assert_eq!(ledger, from_records);
}

async fn the_suppression_list_holds_erased_people_not_their_visitors(f: Fixture) {
    populate(f.store()).await;
    let want: BTreeSet<_> = [(lead("bo@acme.io"), t(100)), (lead("cy@acme.io"), t(110))].into();
    assert_eq!(f.suppressions().await, want);
    // Erased again after coming back: the list holds the latest time, once.
    let key = LeadKey::Email(Email::parse("bo@acme.io").unwrap());
    f.store().erase(&key, t(200), BUDGET).await.unwrap();
    let want: BTreeSet<_> = [(lead("bo@acme.io"), t(200)), (lead("cy@acme.io"), t(110))].into();
    assert_eq!(f.suppressions().await, want);
}

macro_rules! both {
    ($($test:ident),*) => {
        mod embedded {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $test() {
                super::$test(super::Fixture::embedded().await).await;
            })*
        }
        mod dynamodb {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $test() {
                super::$test(super::Fixture::dynamo().await).await;
            })*
        }
    };
}

both!(
    records_are_the_live_entries_aliases_and_markers,
    the_suppression_list_holds_erased_people_not_their_visitors
);

/// Every item of the table, read raw.
async fn items(
    store: &Dynamo,
) -> Vec<std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>> {
    let out = store
        .client()
        .scan()
        .table_name(store.table())
        .consistent_read(true)
        .send()
        .await
        .unwrap();
    assert!(out.last_evaluated_key().is_none());
    out.items().to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn items_map_to_records_and_back_to_exactly_the_items_written() {
    let store = common::dynamo_table("records-items").await;
    populate(&store).await;
    let mut kinds = std::collections::BTreeMap::<&str, usize>::new();
    for item in items(&store).await {
        let record = Dynamo::record_of_item(&item).unwrap();
        let kind = match &record {
            Some(Record::Entry { .. }) => "entry",
            Some(Record::Alias { .. }) => "alias",
            Some(Record::Erased { .. }) => "marker",
            None => "none",
        };
        *kinds.entry(kind).or_default() += 1;
        let Some(record) = record else { continue };
        let back = Dynamo::item_of_record(&record).unwrap();
        match record {
            // A person's marker also lists its visitors (cy's): the record does not.
            Record::Erased { ref id, .. } if *id == lead("cy@acme.io") => {
                assert_eq!(back["erased_at"], item["erased_at"]);
                assert_eq!(back["pk"], item["pk"]);
            }
            _ => assert_eq!(back, item, "{record:?}"),
        }
    }
    let want = [("alias", 1), ("entry", 6), ("marker", 3)];
    for (kind, n) in want {
        assert_eq!(kinds.get(kind), Some(&n), "{kind}: {kinds:?}");
    }
    // Snapshots, stage entries, the tombstone and the suppression list are not records.
    assert!(kinds["none"] >= 4, "{kinds:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_items_are_errors_not_silence() {
    use aws_sdk_dynamodb::types::AttributeValue::S;
    let item = |pk: &str, sk: &str| {
        std::collections::HashMap::from([
            ("pk".to_string(), S(pk.into())),
            ("sk".to_string(), S(sk.into())),
        ])
    };
    let id = lead("ada@acme.io");
    assert!(Dynamo::record_of_item(&item(&format!("LEAD#{id}"), "NEW-KIND")).is_err());
    assert!(Dynamo::record_of_item(&item("OTHER", "x")).is_err());
    assert!(Dynamo::record_of_item(&item(&format!("LEAD#{id}"), "E#x")).is_err());
    assert!(Dynamo::record_of_item(&item(&format!("LEAD#{id}"), "SNAP"))
        .unwrap()
        .is_none());
}

/// A table of 40 leads with 3 events each.
async fn forty_leads(prefix: &str) -> Dynamo {
    let store = common::dynamo_table(prefix).await;
    let r = Rules::default_rules();
    let events: Vec<Event> = (0..120)
        .map(|i| {
            ev(
                &format!("e{i}"),
                t(i),
                Some(&format!("p{}@acme.io", i % 40)),
                None,
            )
        })
        .collect();
    for result in store.apply_batch(&events, &r, t(200)).await {
        result.unwrap();
    }
    store
}

async fn read(store: &dyn LeadStore, budget: ReadBudget) -> (Vec<Record>, bool) {
    let mut reading = store.read_records(budget);
    let mut out = Vec::new();
    while let Some(r) = reading.records.recv().await {
        out.push(r.unwrap());
    }
    (out, reading.complete())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_its_budget_stops_holds_whole_ledgers_and_says_it_is_partial() {
    // 20 leads of 1 to 40 events: pages end inside ledgers.
    let store = common::dynamo_table("records-budget").await;
    let size = |p: usize| p * 17 % 40 + 1;
    let events: Vec<Event> = (0..20)
        .flat_map(|p| (0..size(p)).map(move |i| (p, i)))
        .map(|(p, i)| {
            let email = format!("p{p}@acme.io");
            ev(&format!("e{p}-{i}"), t(i as i64), Some(&email), None)
        })
        .collect();
    let r = Rules::default_rules();
    for result in store.apply_batch(&events, &r, t(200)).await {
        result.unwrap();
    }
    let sizes: std::collections::BTreeMap<LeadId, usize> = (0..20)
        .map(|p| (lead(&format!("p{p}@acme.io")), size(p)))
        .collect();
    let per_lead = |records: &[Record]| {
        let mut n = std::collections::BTreeMap::<LeadId, usize>::new();
        for (id, _, _) in entries(records) {
            *n.entry(id).or_default() += 1;
        }
        n
    };
    let whole = ReadBudget {
        until: Some(tokio::time::Instant::now() + std::time::Duration::from_secs(600)),
        segments: 2,
        max_read_units_per_second: 0.0,
    };
    let (all, complete) = read(&store, whole).await;
    assert!(complete);
    assert_eq!(per_lead(&all), sizes);

    // Paced at 2 units a second, the table takes several seconds: a second is not enough.
    let short = ReadBudget {
        until: Some(tokio::time::Instant::now() + std::time::Duration::from_secs(1)),
        segments: 2,
        max_read_units_per_second: 2.0,
    };
    let (some, complete) = read(&store, short).await;
    assert!(!complete, "the budget ran out before the end");
    let read_leads = per_lead(&some);
    assert!(read_leads.len() < 20, "{} leads read", read_leads.len());
    for (id, n) in &read_leads {
        assert_eq!(*n, sizes[id], "a ledger cut short was sent");
    }

    // The embedded store is local: it reads everything whatever the budget.
    let dir = tempfile::tempdir().unwrap();
    let local = Embedded::open(dir.path()).unwrap();
    populate(&local).await;
    let (records, complete) = read(&local, short).await;
    assert!(complete);
    assert_eq!(records, Fixture::Embedded(local, dir).records().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scan_paces_itself_to_its_read_budget() {
    let store = forty_leads("records-scan").await;
    let fast = Fixture::Dynamo(store.clone()).records().await;
    assert_eq!(entries(&fast).len(), 120);

    let seen = std::sync::Arc::new(std::sync::Mutex::new(ScanProgress::default()));
    let progress = seen.clone();
    let rate = 4.0;
    let started = std::time::Instant::now();
    let mut rx = store.scan_records(2, rate, move |p| *progress.lock().unwrap() = p);
    let mut paced = Vec::new();
    while let Some(r) = rx.recv().await {
        paced.push(r.unwrap());
    }
    let elapsed = started.elapsed().as_secs_f64();
    let done = *seen.lock().unwrap();
    assert_eq!(entries(&paced), entries(&fast));
    assert_eq!(done.segments_done, 2);
    assert!(done.items as usize >= paced.len());
    assert!(
        done.read_units > 0.0,
        "DynamoDB reported no capacity: {done:?}"
    );
    // Every request waits for the budget to cover what was spent before it: only the last
    // page of each segment is spent ahead of it.
    let last_pages = 2.0 * rate;
    let floor = (done.read_units - last_pages) / rate;
    assert!(
        elapsed >= floor,
        "{elapsed:.1} s for {:.1} units at {rate}/s",
        done.read_units
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_embedded_store_fills_its_suppression_list_from_its_markers_on_first_open() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Embedded::open(dir.path()).unwrap();
        populate(&store).await;
    }
    // As a store written before the list existed: no list.
    {
        let db = redb::Database::open(dir.path().join("leads.redb")).unwrap();
        let tx = db.begin_write().unwrap();
        let table: redb::TableDefinition<&str, i64> = redb::TableDefinition::new("suppressed");
        assert!(tx.delete_table(table).unwrap());
        tx.commit().unwrap();
    }
    let store = Embedded::open(dir.path()).unwrap();
    let f = Fixture::Embedded(store, dir);
    let want: BTreeSet<_> = [(lead("bo@acme.io"), t(100)), (lead("cy@acme.io"), t(110))].into();
    assert_eq!(f.suppressions().await, want);
}
