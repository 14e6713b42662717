//! The ledger worker fed by a real table stream: DynamoDB Local's stream is read with the
//! Streams API, its records filtered like template.yaml's event source mapping and handed
//! to the worker in the shape Lambda delivers them. The worker writes the snapshot the event
//! path left to it, and finishes an erasure a DELETE answered 202 for.

mod common;
use common::*;
use leadscore_edge::worker::{tend_batch, StreamBatch};
use leadscore_scoring::{Email, Event, EventId, Identity, LeadId, Rules, Signal, Timestamp};
use leadscore_store::{Dynamo, LeadKey, LeadStore};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

/// Reads a table's stream from its start, shard by shard, as Lambda's poller does: each
/// batch continues after the last record seen in each shard.
struct StreamReader {
    client: aws_sdk_dynamodbstreams::Client,
    arn: String,
    /// Shard id -> the last sequence number read from it.
    read: std::collections::BTreeMap<String, String>,
}

impl StreamReader {
    async fn open(table: &str) -> StreamReader {
        // DynamoDB Local serves the table's stream on the same endpoint.
        let config = leadscore_store::aws::config("DYNAMODB").await;
        let arn = aws_sdk_dynamodb::Client::new(&config)
            .describe_table()
            .table_name(table)
            .send()
            .await
            .unwrap()
            .table()
            .and_then(|t| t.latest_stream_arn())
            .expect("the table has a stream (infra/dynamodb/table.json)")
            .to_string();
        StreamReader {
            client: aws_sdk_dynamodbstreams::Client::new(&config),
            arn,
            read: Default::default(),
        }
    }

    /// The records written since the last call, as Lambda would invoke the worker with them
    /// after template.yaml's filters (ledger entries inserted, erasure markers written), and
    /// how many records there were before filtering.
    async fn next_batch(&mut self) -> (Value, usize) {
        use aws_sdk_dynamodbstreams::types::ShardIteratorType;
        let stream = self
            .client
            .describe_stream()
            .stream_arn(&self.arn)
            .send()
            .await
            .unwrap();
        let shards: Vec<String> = stream
            .stream_description()
            .map(|d| d.shards())
            .unwrap_or_default()
            .iter()
            .filter_map(|s| s.shard_id().map(str::to_string))
            .collect();
        let mut records = Vec::new();
        let mut seen = 0;
        for shard in shards {
            let request = self
                .client
                .get_shard_iterator()
                .stream_arn(&self.arn)
                .shard_id(&shard);
            let request = match self.read.get(&shard) {
                Some(last) => request
                    .shard_iterator_type(ShardIteratorType::AfterSequenceNumber)
                    .sequence_number(last),
                None => request.shard_iterator_type(ShardIteratorType::TrimHorizon),
            };
            let mut iterator = request
                .send()
                .await
                .unwrap()
                .shard_iterator()
                .map(str::to_string);
            while let Some(it) = iterator.take() {
                let out = self
                    .client
                    .get_records()
                    .shard_iterator(it)
                    .send()
                    .await
                    .unwrap();
                for r in out.records() {
                    seen += 1;
                    let change = r.dynamodb().unwrap();
                    let keys = change.keys().unwrap();
                    let key = |k: &str| keys[k].as_s().unwrap().to_string();
                    let event_name = r.event_name().unwrap().as_str().to_string();
                    let sk = key("sk");
                    let sequence = change.sequence_number().unwrap().to_string();
                    self.read.insert(shard.clone(), sequence.clone());
                    if (event_name == "INSERT" && sk.starts_with("E#")) || sk == "ERASED" {
                        records.push(json!({
                            "eventID": r.event_id(),
                            "eventName": event_name,
                            "eventVersion": "1.1",
                            "eventSource": "aws:dynamodb",
                            "awsRegion": "us-east-1",
                            "dynamodb": {
                                "Keys": {"pk": {"S": key("pk")}, "sk": {"S": sk}},
                                "SequenceNumber": sequence,
                                "SizeBytes": change.size_bytes(),
                                "StreamViewType": "KEYS_ONLY"
                            },
                            "eventSourceARN": self.arn,
                        }));
                    }
                }
                if !out.records().is_empty() {
                    iterator = out.next_shard_iterator().map(str::to_string);
                }
            }
        }
        (json!({ "Records": records }), seen)
    }
}

fn opened(n: i64, at: Timestamp, who: &str) -> Event {
    let identity = Identity::new(Some(Email::parse(who).unwrap()), None).unwrap();
    let signal = [Signal::EmailOpened, Signal::EmailClicked][(n % 2) as usize];
    Event::new(
        EventId::parse(&format!("o-{n}")).unwrap(),
        signal,
        at,
        identity,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_worker_keeps_snapshots_and_finishes_erasures_from_the_stream() {
    let (store, table) = table().await;
    let mut stream = StreamReader::open(&table).await;
    let app =
        leadscore_edge::App::new(store.clone(), leadscore_scoring::DEFAULT_RULES_TOML, vars())
            .unwrap()
            .with_clock(now)
            .with_erasure_budget(Duration::ZERO);
    let rules = Rules::default_rules();
    let who = "reader@example.com";
    let id = LeadId::for_email(&Email::parse(who).unwrap());

    // Forty events an hour apart, each delivered at its own time: the event path never
    // writes the snapshot (the tail stays under the path's own limit).
    let first = NOW_MS - 50 * 3_600_000;
    for n in 0..40 {
        let at = Timestamp::from_millis(first + n * 3_600_000);
        store.take_usage();
        let applied = store.apply(&opened(n, at, who), &rules, at).await.unwrap();
        let usage = store.take_usage();
        if applied.transitions.is_empty() {
            assert_eq!(usage.requests, 2, "event {n}: {usage:?}");
        }
    }
    // The same events on the embedded store: what the lead must read as.
    let dir = tempfile::tempdir().unwrap();
    let twin = leadscore_store::Embedded::open(dir.path()).unwrap();
    for n in 0..40 {
        let at = Timestamp::from_millis(first + n * 3_600_000);
        twin.apply(&opened(n, at, who), &rules, at).await.unwrap();
    }
    let expected = twin
        .get(&LeadKey::Id(id.clone()), &rules, now())
        .await
        .unwrap()
        .unwrap();

    // The stream delivers them: the worker reads the lead once and writes its snapshot.
    let (batch, seen) = stream.next_batch().await;
    assert!(seen >= 40, "{seen} records on the stream");
    assert_eq!(
        batch["Records"].as_array().unwrap().len(),
        40,
        "the ledger entries"
    );
    let batch: StreamBatch = serde_json::from_value(batch).unwrap();
    store.take_usage();
    let answer = tend_batch(&app, batch, Duration::from_secs(60)).await;
    assert!(answer.batch_item_failures.is_empty(), "{answer:?}");
    let usage = store.take_usage();
    assert_eq!(usage.requests, 2, "one read, one snapshot: {usage:?}");
    assert!(usage.write_units > 0.0);
    let after = store
        .get(&LeadKey::Id(id.clone()), &rules, now())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(after, expected, "the snapshot holds what the tail did");
    store.take_usage();
    store
        .get(&LeadKey::Id(id.clone()), &rules, now())
        .await
        .unwrap();
    assert_eq!(
        store.take_usage().requests,
        1,
        "nothing left for a reader to write"
    );

    // A DELETE with no time to spare answers 202: the lead no longer reads.
    let erase = request(
        "DELETE",
        "/leads/reader%40example.com",
        "",
        &[("authorization", &bearer())],
        b"",
    );
    let answer = send(&app, erase).await;
    assert_eq!(
        answer.status,
        202,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    assert!(answer.json()["message"]
        .as_str()
        .unwrap()
        .contains("background"));
    assert_eq!(
        api_get(&app, "/leads/reader%40example.com", "")
            .await
            .status,
        404
    );
    assert!(
        !store.ledger(&id).await.unwrap().is_empty(),
        "not purged yet"
    );

    // The erasure marker reaches the worker through the stream, and it finishes the job.
    let (batch, _) = stream.next_batch().await;
    let markers = batch["Records"].as_array().unwrap().len();
    assert!(markers >= 1, "the erasure marker is on the stream");
    let batch: StreamBatch = serde_json::from_value(batch).unwrap();
    let answer = tend_batch(&app, batch, Duration::from_secs(60)).await;
    assert!(answer.batch_item_failures.is_empty(), "{answer:?}");
    assert!(store.ledger(&id).await.unwrap().is_empty());
    let again = request(
        "DELETE",
        "/leads/reader%40example.com",
        "",
        &[("authorization", &bearer())],
        b"",
    );
    assert_eq!(send(&app, again).await.status, 404, "nothing is left");

    // Its own marker saying done comes back on the stream: nothing to do, nothing begun.
    let (batch, _) = stream.next_batch().await;
    let batch: StreamBatch = serde_json::from_value(batch).unwrap();
    let answer = tend_batch(&app, batch, Duration::from_secs(60)).await;
    assert!(answer.batch_item_failures.is_empty(), "{answer:?}");
}

#[tokio::test]
async fn an_erasure_out_of_time_is_a_failed_record_delivered_again() {
    let (store, _) = table().await;
    let app =
        leadscore_edge::App::new(store.clone(), leadscore_scoring::DEFAULT_RULES_TOML, vars())
            .unwrap()
            .with_clock(now)
            .with_erasure_budget(Duration::ZERO);
    let rules = Rules::default_rules();
    for (n, who) in [(0, "late@example.com"), (1, "other@example.com")] {
        let at = Timestamp::from_millis(NOW_MS - 3_600_000);
        store.apply(&opened(n, at, who), &rules, at).await.unwrap();
    }
    let erase = request(
        "DELETE",
        "/leads/late%40example.com",
        "",
        &[("authorization", &bearer())],
        b"",
    );
    assert_eq!(send(&app, erase).await.status, 202);
    let record = |who: &str, sk: &str, sequence: &str| {
        let id = LeadId::for_email(&Email::parse(who).unwrap());
        json!({"eventName": "INSERT", "dynamodb": {
            "Keys": {"pk": {"S": format!("LEAD#{id}")}, "sk": {"S": sk}},
            "SequenceNumber": sequence}})
    };
    let batch = || -> StreamBatch {
        serde_json::from_value(json!({"Records": [
            record("other@example.com", "E#o-1", "100"),
            record("late@example.com", "ERASED", "200"),
            record("late@example.com", "E#o-0", "300"),
        ]}))
        .unwrap()
    };
    // No time: the erasure cannot progress, its first record is reported.
    let answer = tend_batch(&app, batch(), Duration::ZERO).await;
    let failed: Vec<&str> = answer
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect();
    assert_eq!(failed, ["200"]);
    let late = LeadId::for_email(&Email::parse("late@example.com").unwrap());
    assert!(!store.ledger(&late).await.unwrap().is_empty());
    // Delivered again with time: done, and the other lead untouched.
    let answer = tend_batch(&app, batch(), Duration::from_secs(60)).await;
    assert!(answer.batch_item_failures.is_empty(), "{answer:?}");
    assert!(store.ledger(&late).await.unwrap().is_empty());
    let other = LeadId::for_email(&Email::parse("other@example.com").unwrap());
    assert_eq!(store.ledger(&other).await.unwrap().len(), 1);
    // Keys that name no lead are not the worker's business.
    let stray: StreamBatch = serde_json::from_value(json!({"Records": [
        {"eventName": "INSERT", "dynamodb": {"Keys": {"pk": {"S": "OTHER#x"}, "sk": {"S": "E#1"}},
         "SequenceNumber": "1"}}]}))
    .unwrap();
    assert!(tend_batch(&app, stray, Duration::ZERO)
        .await
        .batch_item_failures
        .is_empty());
}

#[tokio::test]
async fn with_the_store_down_every_lead_is_delivered_again() {
    let app = leadscore_edge::App::new(
        Arc::new(DownStore),
        leadscore_scoring::DEFAULT_RULES_TOML,
        vars(),
    )
    .unwrap();
    let pk = |who: &str| format!("LEAD#{}", LeadId::for_email(&Email::parse(who).unwrap()));
    let batch: StreamBatch = serde_json::from_value(json!({"Records": [
        {"eventName": "INSERT", "dynamodb": {"Keys": {"pk": {"S": pk("a@example.com")}, "sk": {"S": "E#1"}}, "SequenceNumber": "11"}},
        {"eventName": "INSERT", "dynamodb": {"Keys": {"pk": {"S": pk("b@example.com")}, "sk": {"S": "E#2"}}, "SequenceNumber": "12"}},
        {"eventName": "INSERT", "dynamodb": {"Keys": {"pk": {"S": pk("a@example.com")}, "sk": {"S": "E#3"}}, "SequenceNumber": "13"}}
    ]}))
    .unwrap();
    let answer = tend_batch(&app, batch, Duration::from_secs(5)).await;
    let failed: Vec<&str> = answer
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect();
    assert_eq!(failed, ["11", "12"], "each lead from its first record");
    assert_eq!(
        serde_json::to_value(&answer).unwrap(),
        json!({"batchItemFailures": [{"itemIdentifier": "11"}, {"itemIdentifier": "12"}]}),
        "the shape Lambda reads"
    );
}

/// A fresh table in DynamoDB Local (with its stream), and its name.
async fn table() -> (Arc<Dynamo>, String) {
    let store = Dynamo::scratch("worker").await.unwrap();
    let table = store.table().to_string();
    (Arc::new(store), table)
}
