//! Retention: entries older than the retention leave the ledger (embedded: once the lead's
//! snapshot holds them; DynamoDB: the table's TTL, from `expires_at` written with each entry),
//! and the lead keeps what its snapshot folded.

mod common;

use leadscore_scoring::*;
use leadscore_store::*;
use std::time::Duration;

const DAY: i64 = 86_400_000;
const T0: i64 = 1_767_225_600_000; // 2026-01-01

fn at(day: i64) -> Timestamp {
    Timestamp::from_millis(T0 + day * DAY)
}

fn ev(id: &str, signal: Signal, day: i64) -> Event {
    let email = Email::parse("ada@acme.io").unwrap();
    Event::new(
        EventId::parse(id).unwrap(),
        signal,
        at(day),
        Identity::new(Some(email), None).unwrap(),
    )
}

/// Ada's year: a form, reading, a demo video, a demo request, then more reading.
fn year() -> Vec<Event> {
    let mut events = vec![ev("form", Signal::FormSubmitted, 0)];
    for d in 1..12 {
        events.push(ev(&format!("read{d}"), Signal::EmailClicked, d * 10));
    }
    events.push(ev("video", Signal::DemoVideoWatched, 130));
    events.push(ev("demo", Signal::DemoRequested, 140));
    for d in 15..25 {
        events.push(ev(&format!("late{d}"), Signal::EmailOpened, d * 10));
    }
    events
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_embedded_store_forgets_what_its_snapshots_hold() {
    let dir = tempfile::tempdir().unwrap();
    let store = Embedded::open(dir.path()).unwrap();
    let rules = Rules::default_rules();
    for e in year() {
        store.apply(&e, &rules, e.occurred_at).await.unwrap();
    }
    let ada = LeadKey::Email(Email::parse("ada@acme.io").unwrap());
    let now = at(260);
    let before = store.get(&ada, &rules, now).await.unwrap().unwrap();
    let id = before.state.id.clone();
    assert_eq!(before.state.stage, Stage::Sql);

    let forgotten = store.forget_before(at(135)).await.unwrap();
    assert!(forgotten > 0);
    let kept = store.ledger(&id).await.unwrap();
    assert_eq!(kept.len(), year().len() - forgotten as usize);
    assert!(
        kept.iter().any(|e| e.id.as_str() == "demo"),
        "newer events stay"
    );
    // The lead is what its snapshot folded: stage, its history, its first sight.
    let after = store.get(&ada, &rules, now).await.unwrap().unwrap();
    assert_eq!(after.state.stage, before.state.stage);
    assert_eq!(after.state.stage_history, before.state.stage_history);
    assert_eq!(after.state.first_seen, before.state.first_seen);
    // A very late redelivery of a forgotten event is still a duplicate.
    let again = store.apply(&year()[0], &rules, now).await.unwrap();
    assert!(again.duplicate);
    // Nothing left to forget at the same cutoff; the records an analysis reads agree.
    assert_eq!(store.forget_before(at(135)).await.unwrap(), 0);
    let mut records = store.records();
    let mut entries = 0;
    while let Some(r) = records.recv().await {
        entries += usize::from(matches!(r.unwrap(), Record::Entry { .. }));
    }
    assert_eq!(entries, kept.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamodb_entries_carry_their_expiry_for_the_table_ttl() {
    let plain = common::dynamo_table("retention").await;
    let keep = Duration::from_secs(365 * 86_400);
    let kept = Dynamo::connect(DynamoConfig {
        table: plain.table().to_string(),
        retention: Some(keep),
        operation_timeout: Duration::from_secs(120),
        ..DynamoConfig::from_env()
    })
    .await;
    let rules = Rules::default_rules();
    let (first, second) = (
        ev("form", Signal::FormSubmitted, 0),
        ev("read", Signal::EmailClicked, 3),
    );
    plain
        .apply(&first, &rules, first.occurred_at)
        .await
        .unwrap();
    kept.apply(&second, &rules, second.occurred_at)
        .await
        .unwrap();
    let id = LeadId::for_email(&Email::parse("ada@acme.io").unwrap());
    let expiry = |event: &str| {
        let (store, event) = (plain.clone(), event.to_string());
        let id = id.clone();
        async move {
            let out = store
                .client()
                .get_item()
                .table_name(store.table())
                .key(
                    "pk",
                    aws_sdk_dynamodb::types::AttributeValue::S(format!("LEAD#{id}")),
                )
                .key(
                    "sk",
                    aws_sdk_dynamodb::types::AttributeValue::S(format!("E#{event}")),
                )
                .consistent_read(true)
                .send()
                .await
                .unwrap();
            let item = out.item().expect("the entry").clone();
            item.get("expires_at")
                .map(|v| v.as_n().unwrap().parse::<i64>().unwrap())
        }
    };
    assert_eq!(expiry("form").await, None, "no retention: kept for ever");
    assert_eq!(
        expiry("read").await,
        Some(at(3).millis() / 1_000 + keep.as_secs() as i64)
    );
}
