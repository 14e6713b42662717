//! Histories from a store, an export folder and an export in S3 (moto's server mode, started
//! by the test command, which exports AWS_ENDPOINT_URL_S3) are the ledgers the store holds.

use aws_sdk_dynamodb::types::AttributeValue;
use leadscore_history::*;
use leadscore_scoring::*;
use leadscore_store::*;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

const T0: i64 = 1_761_955_200_000;
const MINUTE: i64 = 60_000;
const BUDGET: std::time::Duration = std::time::Duration::from_secs(60);

type Item = HashMap<String, AttributeValue>;
type Histories = BTreeMap<LeadId, Vec<Event>>;

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

async fn dynamo_table() -> Dynamo {
    Dynamo::scratch("history").await.unwrap()
}

/// Visitors stitched (anon-1 into ada, also visiting after; anon-3 into dee), bo erased and
/// back, cy erased with its visitor, a visitor never stitched (anon-9), 30 events of eve.
async fn populate(store: &dyn LeadStore) {
    let r = Rules::default_rules();
    let events = [
        ev("v1", t(0), None, Some("anon-1")),
        ev("v2", t(5), None, Some("anon-1")),
        ev("a1", t(10), Some("ada@acme.io"), Some("anon-1")),
        ev("v3", t(20), None, Some("anon-1")),
        ev("b1", t(30), Some("bo@acme.io"), None),
        ev("b2", t(40), Some("bo@acme.io"), None),
        ev("c0", t(45), None, Some("anon-2")),
        ev("c1", t(50), Some("cy@acme.io"), Some("anon-2")),
        ev("d0", t(55), None, Some("anon-3")),
        ev("d1", t(56), Some("dee@acme.io"), Some("anon-3")),
        ev("n1", t(60), None, Some("anon-9")),
    ];
    for (i, e) in events.iter().enumerate() {
        store.apply(e, &r, t(i as i64 * 7)).await.unwrap();
    }
    let eve: Vec<Event> = (0..30)
        .map(|i| ev(&format!("e{i:02}"), t(200 - i), Some("eve@acme.io"), None))
        .collect();
    for result in store.apply_batch(&eve, &r, t(300)).await {
        result.unwrap();
    }
    for (who, at) in [("bo@acme.io", 100), ("cy@acme.io", 110)] {
        let key = LeadKey::Email(Email::parse(who).unwrap());
        assert_eq!(
            store.erase(&key, t(at), BUDGET).await.unwrap(),
            Erasure::Done
        );
    }
    assert!(
        store
            .apply(&ev("b0", t(35), Some("bo@acme.io"), None), &r, t(120))
            .await
            .unwrap()
            .dropped
    );
    store
        .apply(&ev("b3", t(130), Some("bo@acme.io"), None), &r, t(130))
        .await
        .unwrap();
}

/// The leads a populated store answers for, and their ledgers.
async fn ledgers(store: &dyn LeadStore) -> Histories {
    let mut out = Histories::new();
    let anon9 = LeadId::for_visitor(&AnonymousId::parse("anon-9").unwrap());
    for id in ["ada", "bo", "dee", "eve"]
        .map(|n| lead(&format!("{n}@acme.io")))
        .into_iter()
        .chain([anon9])
    {
        out.insert(id.clone(), store.ledger(&id).await.unwrap());
    }
    assert!(store.ledger(&lead("cy@acme.io")).await.unwrap().is_empty());
    out
}

async fn grouped<E: Send + 'static>(
    rx: tokio::sync::mpsc::Receiver<Result<Record, E>>,
    suppressed: Vec<(LeadId, Timestamp)>,
) -> Histories
where
    HistoryError: From<E>,
{
    tokio::task::spawn_blocking(move || {
        let options = GroupOptions {
            suppressed,
            partitions: 3,
            work_dir: None,
        };
        let mut out = Histories::new();
        let mut read = 0;
        let stats = group(
            rx,
            &options,
            |n| read = n,
            |h| {
                assert!(
                    out.insert(h.lead, h.events).is_none(),
                    "one history per lead"
                );
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(read, stats.records);
        assert_eq!(stats.histories as usize, out.len());
        out
    })
    .await
    .unwrap()
}

async fn table_items(store: &Dynamo) -> Vec<Item> {
    let (mut items, mut start) = (Vec::new(), None);
    loop {
        let out = store
            .client()
            .scan()
            .table_name(store.table())
            .set_exclusive_start_key(start)
            .send()
            .await
            .unwrap();
        items.extend(out.items().iter().cloned());
        match out.last_evaluated_key() {
            Some(k) => start = Some(k.clone()),
            None => return items,
        }
    }
}

fn export(dir: &Path, items: Vec<Item>) -> std::path::PathBuf {
    let options = ExportOptions {
        items_per_file: 7,
        ..ExportOptions::default()
    };
    write_export_with(dir, items, &options).unwrap()
}

fn local(path: &Path) -> tokio::sync::mpsc::Receiver<Result<Record, HistoryError>> {
    read_export(ExportSource::Local(path.to_path_buf()), |_| {})
}

fn check_stitched(histories: &Histories) {
    let ada: Vec<String> = histories[&lead("ada@acme.io")]
        .iter()
        .map(|e| e.id.to_string())
        .collect();
    assert_eq!(
        ada,
        ["v1", "v2", "a1", "v3"],
        "the visitor's events are in its lead's history"
    );
    let bo: Vec<String> = histories[&lead("bo@acme.io")]
        .iter()
        .map(|e| e.id.to_string())
        .collect();
    assert_eq!(bo, ["b3"], "only what came after the erasure");
    assert!(!histories.contains_key(&lead("cy@acme.io")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dynamodb_export_reads_back_as_the_stores_ledgers_from_a_folder_and_from_s3() {
    let store = dynamo_table().await;
    populate(&store).await;
    let want = ledgers(&store).await;
    check_stitched(&want);

    let dir = tempfile::tempdir().unwrap();
    let folder = export(dir.path(), table_items(&store).await);
    assert_eq!(
        grouped(local(&folder), vec![]).await,
        want,
        "from the export's folder"
    );
    assert_eq!(
        grouped(local(dir.path()), vec![]).await,
        want,
        "from its prefix"
    );
    let scanned = store.scan_records(2, 0.0, |_| {});
    assert_eq!(
        grouped(scanned, vec![]).await,
        want,
        "from a scan of the table"
    );

    let (bucket, client) = s3_bucket().await;
    upload(&client, &bucket, "exports/nightly", dir.path()).await;
    for place in [
        format!("s3://{bucket}/exports/nightly"),
        format!("s3://{bucket}/exports/nightly/"),
    ] {
        let rx = read_export(ExportSource::parse(&place).unwrap(), |_| {});
        assert_eq!(grouped(rx, vec![]).await, want, "{place}");
    }
    let id = folder.file_name().unwrap().to_str().unwrap();
    let exact = format!("s3://{bucket}/exports/nightly/AWSDynamoDB/{id}");
    let rx = read_export(ExportSource::parse(&exact).unwrap(), |_| {});
    assert_eq!(grouped(rx, vec![]).await, want, "{exact}");
    let rx = read_export(
        ExportSource::parse(&format!("s3://{bucket}/elsewhere")).unwrap(),
        |_| {},
    );
    assert!(matches!(drain(rx).await, Err(HistoryError::Format(_))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_embedded_store_reads_as_its_ledgers_directly_and_through_an_export() {
    let dir = tempfile::tempdir().unwrap();
    let store = Embedded::open(dir.path().join("data")).unwrap();
    populate(&store).await;
    let want = ledgers(&store).await;
    check_stitched(&want);
    assert_eq!(grouped(store.records(), vec![]).await, want);

    let mut items = Vec::new();
    let mut rx = store.records();
    while let Some(record) = rx.recv().await {
        items.push(Dynamo::item_of_record(&record.unwrap()).unwrap());
    }
    let folder = export(&dir.path().join("export"), items);
    assert_eq!(grouped(local(&folder), vec![]).await, want);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_erased_after_the_export_is_left_out_when_suppressed() {
    let store = dynamo_table().await;
    populate(&store).await;
    let dir = tempfile::tempdir().unwrap();
    let folder = export(dir.path(), table_items(&store).await);
    let before = ledgers(&store).await;

    let ada = lead("ada@acme.io");
    let key = LeadKey::Id(ada.clone());
    assert_eq!(
        store.erase(&key, t(400), BUDGET).await.unwrap(),
        Erasure::Done
    );
    let suppressed = store.suppressions().await.unwrap();
    assert!(suppressed.contains(&(ada.clone(), t(400))));

    assert_eq!(
        grouped(local(&folder), vec![]).await,
        before,
        "the export still holds ada"
    );
    let mut want = before.clone();
    want.remove(&ada);
    assert_eq!(grouped(local(&folder), suppressed.clone()).await, want);
    // bo came back after an erasure the export already held: bo keeps the new events.
    assert!(want.contains_key(&lead("bo@acme.io")));
}

async fn drain(
    mut rx: tokio::sync::mpsc::Receiver<Result<Record, HistoryError>>,
) -> Result<usize, HistoryError> {
    let mut n = 0;
    while let Some(r) = rx.recv().await {
        r?;
        n += 1;
    }
    Ok(n)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_export_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let store = Embedded::open(dir.path().join("data")).unwrap();
    populate(&store).await;
    let mut items = Vec::new();
    let mut rx = store.records();
    while let Some(record) = rx.recv().await {
        items.push(Dynamo::item_of_record(&record.unwrap()).unwrap());
    }
    let folder = export(&dir.path().join("export"), items);
    assert!(drain(local(&folder)).await.unwrap() > 40);
    // A data file changed after the manifest was written.
    let data = std::fs::read_dir(folder.join("data"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let mut bytes = std::fs::read(&data).unwrap();
    bytes.push(0);
    std::fs::write(&data, bytes).unwrap();
    assert!(
        matches!(drain(local(&folder)).await, Err(HistoryError::Format(m)) if m.contains("MD5"))
    );
    assert!(matches!(
        drain(local(&dir.path().join("nothing"))).await,
        Err(HistoryError::Io { .. })
    ));
}

async fn s3_bucket() -> (String, aws_sdk_s3::Client) {
    assert!(
        std::env::var("AWS_ENDPOINT_URL_S3").is_ok(),
        "AWS_ENDPOINT_URL_S3 is not set: run infra/scripts/test (or source infra/scripts/moto.sh; moto_start)"
    );
    let sdk = leadscore_store::aws::config("S3").await;
    let config = aws_sdk_s3::config::Builder::from(&sdk)
        .force_path_style(true)
        .build();
    let client = aws_sdk_s3::Client::from_conf(config);
    let nanos = std::time::UNIX_EPOCH.elapsed().unwrap().as_nanos();
    let bucket = format!("exports-{nanos}");
    client.create_bucket().bucket(&bucket).send().await.unwrap();
    (bucket, client)
}

async fn upload(client: &aws_sdk_s3::Client, bucket: &str, prefix: &str, dir: &Path) {
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let rel = path
                .strip_prefix(dir)
                .unwrap()
                .to_str()
                .unwrap()
                .replace('\\', "/");
            let body = aws_sdk_s3::primitives::ByteStream::from(std::fs::read(&path).unwrap());
            client
                .put_object()
                .bucket(bucket)
                .key(format!("{prefix}/{rel}"))
                .body(body)
                .send()
                .await
                .unwrap();
        }
    }
}
