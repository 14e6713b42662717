//! The notifier fed by a real table stream: events applied through the DynamoDB store
//! (DynamoDB Local), its stream read with the Streams API and filtered like template.yaml's
//! event source mapping, handed to the stage-notifier's handler in the shape Lambda delivers;
//! the notifications arrive at a webhook receiver and on an EventBridge bus (moto).

mod common;

use common::*;
use leadscore_notify::lambda::handle;
use leadscore_notify::*;
use leadscore_scoring::{Email, Event, EventId, Identity, LeadId, Rules, Signal, Timestamp};
use leadscore_store::{Dynamo, LeadKey, LeadStore};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

struct StreamReader {
    client: aws_sdk_dynamodbstreams::Client,
    arn: String,
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
            .unwrap()
            .to_string();
        StreamReader {
            client: aws_sdk_dynamodbstreams::Client::new(&config),
            arn,
            read: Default::default(),
        }
    }

    /// The records since the last call that pass template.yaml's filters for the stage
    /// notifier: ledger entries inserted, stage entries and erasure markers written.
    async fn next_batch(&mut self) -> Value {
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
                    let change = r.dynamodb().unwrap();
                    let keys = change.keys().unwrap();
                    let key = |k: &str| keys[k].as_s().unwrap().to_string();
                    let event_name = r.event_name().unwrap().as_str().to_string();
                    let sk = key("sk");
                    let sequence = change.sequence_number().unwrap().to_string();
                    self.read.insert(shard.clone(), sequence.clone());
                    let keep = (event_name == "INSERT" && sk.starts_with("E#"))
                        || (matches!(event_name.as_str(), "INSERT" | "MODIFY")
                            && (sk == "STAGE" || sk == "ERASED"));
                    if keep {
                        records.push(json!({
                            "eventID": r.event_id(),
                            "eventName": event_name,
                            "eventSource": "aws:dynamodb",
                            "dynamodb": {
                                "Keys": {"pk": {"S": key("pk")}, "sk": {"S": sk}},
                                "SequenceNumber": sequence,
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
        json!({ "Records": records })
    }
}

async fn table() -> (Arc<Dynamo>, String) {
    let store = Dynamo::scratch("notify").await.unwrap();
    let table = store.table().to_string();
    (Arc::new(store), table)
}

const EMAIL: &str = "grace@analytical-engines.com";

fn event(id: &str, signal: Signal, at: Timestamp) -> Event {
    let identity = Identity::new(Some(Email::parse(EMAIL).unwrap()), None).unwrap();
    Event::new(EventId::parse(id).unwrap(), signal, at, identity)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_records_hand_leads_off_to_a_receiver_and_eventbridge() {
    assert!(
        std::env::var("AWS_ENDPOINT_URL_EVENTBRIDGE").is_ok(),
        "start moto (infra/scripts/moto.sh)"
    );
    let aws = leadscore_store::aws::config("EVENTBRIDGE").await;
    let bus = unique("leadscore-stream");
    let queue_url = bus_to_queue(&aws, &bus).await;
    let sqs = aws_sdk_sqs::Client::new(&aws);
    let hook = receiver("127.0.0.1:0", 0).await;
    let (store, table) = table().await;
    let mut stream = StreamReader::open(&table).await;
    let vars: Vec<(String, String)> = vec![
        ("LEADSCORE_EVENT_BUS".into(), bus.clone()),
        ("LEADSCORE_WEBHOOK_CRM".into(), hook.url.clone()),
        ("LEADSCORE_WEBHOOK_SECRET_CRM".into(), SECRET.into()),
    ];
    let destinations = Destinations::from_vars(&vars).unwrap();
    assert_eq!(destinations.names(), ["eventbridge", "webhook:crm"]);
    let notifier = Notifier::new(
        store.clone(),
        leadscore_scoring::DEFAULT_RULES_TOML,
        destinations,
        "https://api.example.com/",
    )
    .unwrap();
    let rules = Rules::default_rules();
    let t0 = Timestamp::parse_rfc3339("2026-11-22T10:00:00Z").unwrap();
    let id = LeadId::for_email(&Email::parse(EMAIL).unwrap());

    // Three events of one lead: a newsletter signup, two clicks, a demo request.
    for (n, signal) in [
        Signal::NewsletterSubscribed,
        Signal::EmailClicked,
        Signal::DemoRequested,
    ]
    .into_iter()
    .enumerate()
    {
        let at = t0.plus_millis(n as i64 * 60_000);
        store
            .apply(&event(&format!("e-{n}"), signal, at), &rules, at)
            .await
            .unwrap();
    }
    let now = t0.plus_millis(3_600_000);
    let batch = stream.next_batch().await;
    let records = batch["Records"].as_array().unwrap().len();
    assert!(
        records >= 4,
        "3 ledger entries and a stage entry: {records}"
    );
    let answer = handle(&notifier, batch, now).await.unwrap();
    assert_eq!(answer, json!({"batchItemFailures": []}));

    let seen = hook.seen.lock().unwrap().accepted.clone();
    let moves: Vec<&Value> = seen
        .iter()
        .map(|(_, n)| n)
        .filter(|n| n["type"] == "lead.stage_changed")
        .collect();
    assert!(moves.iter().any(|n| n["data"]["to"] == "sql"), "{seen:?}");
    for n in &moves {
        assert_eq!(n["data"]["lead"], id.as_str());
        assert_eq!(n["data"]["email"], EMAIL);
        assert_eq!(
            n["data"]["url"],
            format!("https://api.example.com/leads/{id}")
        );
    }
    let ids: std::collections::BTreeSet<&str> = seen.iter().map(|(i, _)| i.as_str()).collect();
    assert_eq!(
        ids.len(),
        seen.len(),
        "each lead once per batch: no duplicate"
    );

    // The same notifications on the bus, routed by the rule to the queue.
    let on_bus = peek(&sqs, &queue_url, seen.len()).await;
    let details: Vec<Value> = on_bus
        .iter()
        .map(|m| serde_json::from_str::<Value>(m.body().unwrap()).unwrap())
        .inspect(|e| assert_eq!(e["source"], "leadscore"))
        .map(|e| e["detail"].clone())
        .collect();
    assert_eq!(details.len(), seen.len());
    for (_, n) in &seen {
        assert!(details.contains(n), "{n} not on the bus");
    }

    // The same batch again (a retry): nothing new is sent.
    let again = stream.next_batch().await;
    handle(&notifier, again, now).await.unwrap();
    assert_eq!(hook.seen.lock().unwrap().accepted.len(), seen.len());

    // The erasure: one lead.erased, with the lead id and time only.
    store
        .erase(&LeadKey::Id(id.clone()), now, Duration::from_secs(10))
        .await
        .unwrap();
    let batch = stream.next_batch().await;
    let answer = handle(&notifier, batch, now.plus_millis(1_000))
        .await
        .unwrap();
    assert_eq!(answer, json!({"batchItemFailures": []}));
    let after = hook.seen.lock().unwrap().accepted.clone();
    let erased: Vec<&Value> = after
        .iter()
        .map(|(_, n)| n)
        .filter(|n| n["type"] == "lead.erased")
        .collect();
    assert_eq!(erased.len(), 1, "{after:?}");
    assert_eq!(erased[0]["data"]["lead"], id.as_str());
    assert!(
        !erased[0].to_string().contains("grace@"),
        "no email in an erasure"
    );
    assert_eq!(hook.seen.lock().unwrap().unsigned, 0);

    // A scheduled daily run: nobody left to list, nothing parked.
    let daily = handle(
        &notifier,
        json!({"run": "daily"}),
        now.plus_millis(86_400_000),
    )
    .await
    .unwrap();
    assert_eq!(daily["still_parked"], 0);
    assert!(handle(&notifier, json!({"run": "weekly"}), now)
        .await
        .is_err());
}
