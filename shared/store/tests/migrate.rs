//! A store written by the first version (one snapshot of the whole aggregate per event, the
//! event as its ledger entry) is read by re-applying its ledger: the embedded store at open
//! time (`migrate_v1`, which `leadscore serve` runs), a DynamoDB table by `migrate_v1_from`
//! (`leadscore migrate --from-table`). The v1 records are written here as v1 wrote them.

mod common;

use leadscore_scoring::*;
use leadscore_store::*;
use serde_json::json;

const T0: i64 = 1_761_955_200_000;

fn t(minutes: i64) -> Timestamp {
    Timestamp::from_millis(T0 + minutes * 60_000)
}

fn ev(id: &str, signal: Signal, minutes: i64, e: Option<&str>, a: Option<&str>) -> Event {
    let identity = Identity::new(
        e.map(|e| Email::parse(e).unwrap()),
        a.map(|a| AnonymousId::parse(a).unwrap()),
    )
    .unwrap();
    Event::new(EventId::parse(id).unwrap(), signal, t(minutes), identity)
}

/// A v1 history: a visitor stitched into a lead that became an SQL, sales accepted another.
fn v1_history() -> Vec<(LeadId, u64, Event)> {
    let mut accept = ev(
        "qual-1",
        Signal::SalesAccepted,
        30,
        Some("bo@acme.io"),
        None,
    );
    accept.attributes.actor = Some("rep@crm".into());
    let visitor = LeadId::for_visitor(&AnonymousId::parse("anon-9").unwrap());
    let ada = LeadId::for_email(&Email::parse("ada@acme.io").unwrap());
    let bo = LeadId::for_email(&Email::parse("bo@acme.io").unwrap());
    vec![
        (
            visitor.clone(),
            1,
            ev("v1", Signal::SiteVisit, 0, None, Some("anon-9")),
        ),
        (
            visitor,
            2,
            ev("v2", Signal::SiteVisit, 5, None, Some("anon-9")),
        ),
        (
            ada.clone(),
            1,
            ev(
                "f1",
                Signal::FormSubmitted,
                10,
                Some("ada@acme.io"),
                Some("anon-9"),
            ),
        ),
        (
            ada,
            2,
            ev("d1", Signal::DemoRequested, 20, Some("ada@acme.io"), None),
        ),
        (
            bo.clone(),
            1,
            ev(
                "b1",
                Signal::NewsletterSubscribed,
                25,
                Some("bo@acme.io"),
                None,
            ),
        ),
        (bo, 2, accept),
    ]
}

fn v1_entry(e: &Event) -> String {
    json!({ "applied_at": e.occurred_at, "event": e }).to_string()
}

async fn check(store: &dyn LeadStore) {
    let rules = Rules::default_rules();
    let now = t(60);
    let ada = store
        .get(
            &LeadKey::Email(Email::parse("ada@acme.io").unwrap()),
            &rules,
            now,
        )
        .await
        .unwrap()
        .expect("ada migrated");
    assert_eq!(ada.state.stage, Stage::Sql);
    assert_eq!(ada.state.signal_counts()[&Signal::SiteVisit], 2);
    assert_eq!(ada.state.first_seen, t(0));
    let by_anon = store
        .get(
            &LeadKey::Anonymous(AnonymousId::parse("anon-9").unwrap()),
            &rules,
            now,
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(by_anon.state.id, ada.state.id);
    let bo = store
        .get(
            &LeadKey::Email(Email::parse("bo@acme.io").unwrap()),
            &rules,
            now,
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(bo.state.stage, Stage::Sql);
    let sql = store
        .list_by_stage(Stage::Sql, None, 10, None, &rules, now)
        .await
        .unwrap();
    assert_eq!(sql.leads.len(), 2);
    let ids: Vec<String> = store
        .ledger(&ada.state.id)
        .await
        .unwrap()
        .iter()
        .map(|e| e.id.to_string())
        .collect();
    assert_eq!(ids, ["v1", "v2", "f1", "d1"]);
}

#[tokio::test]
async fn an_embedded_store_of_the_first_version_is_migrated_once() {
    let dir = tempfile::tempdir().unwrap();
    {
        // The v1 file: heads, ledger ("<lead id>#<version, 12 digits>" -> entry), stages.
        let db = redb::Database::create(dir.path().join("leads.redb")).unwrap();
        let tx = db.begin_write().unwrap();
        {
            let heads: redb::TableDefinition<&str, &[u8]> = redb::TableDefinition::new("heads");
            let ledger: redb::TableDefinition<&str, &[u8]> = redb::TableDefinition::new("ledger");
            let stages: redb::TableDefinition<&str, &str> = redb::TableDefinition::new("stages");
            tx.open_table(heads).unwrap();
            tx.open_table(stages).unwrap();
            let mut ledger = tx.open_table(ledger).unwrap();
            for (id, version, e) in v1_history() {
                let key = format!("{id}#{version:012}");
                ledger
                    .insert(key.as_str(), v1_entry(&e).as_bytes())
                    .unwrap();
            }
        }
        tx.commit().unwrap();
    }
    let store = Embedded::open(dir.path()).unwrap();
    let done = store
        .migrate_v1(&Rules::default_rules())
        .await
        .unwrap()
        .expect("v1 tables found");
    assert_eq!((done.read, done.imported, done.skipped), (6, 6, 0));
    check(&store).await;
    // Once: the v1 tables are gone.
    assert_eq!(
        store.migrate_v1(&Rules::default_rules()).await.unwrap(),
        None
    );
    drop(store);
    let reopened = Embedded::open(dir.path()).unwrap();
    check(&reopened).await;
}

#[tokio::test]
async fn a_dynamodb_table_of_the_first_version_is_migrated() {
    // The v1 table had the same keys; its items were `V#<version>` with `head` and `entry`.
    let old = common::dynamo_table("v1").await;
    use aws_sdk_dynamodb::types::AttributeValue::S;
    for (id, version, e) in v1_history() {
        old.client()
            .put_item()
            .table_name(old.table())
            .item("pk", S(format!("LEAD#{id}")))
            .item("sk", S(format!("V#{version:012}")))
            .item("head", S(json!({"version": version}).to_string()))
            .item("entry", S(v1_entry(&e)))
            .send()
            .await
            .unwrap();
    }
    let new = common::dynamo_table("v2").await;
    let rules = Rules::default_rules();
    let done = new.migrate_v1_from(old.table(), &rules).await.unwrap();
    assert_eq!((done.read, done.imported), (6, 6));
    check(&new).await;
    // Run again (an interrupted migration is resumed this way): nothing doubles.
    let again = new.migrate_v1_from(old.table(), &rules).await.unwrap();
    assert_eq!((again.read, again.imported), (6, 0));
    check(&new).await;
}
