//! Storage failure: DynamoDB Local stopped in the middle of the test. Every operation answers
//! `Unavailable` (the edge's 503), and once it is back nothing partial is left.
//! This test runs its own DynamoDB Local (on disk, so data survives the restart).

use leadscore_scoring::*;
use leadscore_store::*;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const T0: i64 = 1_761_955_200_000;

/// A read time after every event of the test.
fn far() -> Timestamp {
    Timestamp::from_millis(T0 + 365 * 86_400_000)
}

fn ev(id: &str, signal: Signal, minutes: i64) -> Event {
    let identity = Identity::new(Some(Email::parse("fragile@acme.io").unwrap()), None).unwrap();
    Event::new(
        EventId::parse(id).unwrap(),
        signal,
        Timestamp::from_millis(T0 + minutes * 60_000),
        identity,
    )
}

/// A DynamoDB Local process, killed when dropped (even when the test fails).
struct Local(Child);

impl Local {
    /// Stops it as an operator would (SIGTERM, like `ddb_stop`): DynamoDB Local flushes its
    /// database on the way out. A SIGKILL can lose writes it already acknowledged (seen here:
    /// the first event gone after the restart), which is DynamoDB Local's durability, not the
    /// store's. Falls back to a kill if `kill -TERM` cannot run.
    fn stop(mut self) {
        let pid = self.0.id().to_string();
        let termed = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .is_ok_and(|s| s.success());
        if termed {
            let _ = self.0.wait();
        }
        // Drop kills (if still running) and reaps.
    }
}

impl Drop for Local {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(jar: &str, db: &std::path::Path, port: u16) -> Local {
    let lib = std::path::Path::new(jar)
        .parent()
        .unwrap()
        .join("DynamoDBLocal_lib");
    // Run in the data directory: DynamoDB Local writes `dynamodb-local-metadata.json` into its
    // working directory, which would otherwise be the crate's source directory.
    let child = Command::new("java")
        .current_dir(db)
        .arg(format!("-Djava.library.path={}", lib.display()))
        .args(["-jar", jar, "-dbPath"])
        .arg(db)
        .args(["-port", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("java (17+) must be on PATH");
    // Owned at once, so a start that times out still kills the process.
    let local = Local(child);
    for _ in 0..200 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return local;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("DynamoDB Local did not start on port {port}");
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn unavailable<T: std::fmt::Debug>(what: &str, result: Result<T, StoreError>) {
    match result {
        Err(StoreError::Unavailable(_)) => {}
        other => panic!("{what}: expected Unavailable, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_dynamodb_is_unavailable_and_leaves_nothing_partial() {
    let jar = std::env::var("LEADSCORE_DYNAMODB_LOCAL_JAR").expect(
        "LEADSCORE_DYNAMODB_LOCAL_JAR is not set: run the suite with infra/scripts/test, which \
         installs DynamoDB Local and exports it",
    );
    let db = tempfile::tempdir().unwrap();
    let port = free_port();
    let local = start(&jar, db.path(), port);
    // A patient client writes the first event (a DynamoDB Local just started on a busy
    // machine can take seconds to answer); an impatient one meets the stopped one.
    let config = |timeout: u64, max_attempts: u32| DynamoConfig {
        table: "failure".to_string(),
        operation_timeout: Duration::from_secs(timeout),
        max_attempts,
        endpoint: Some(format!("http://127.0.0.1:{port}")),
        retention: None,
    };
    let setup = Dynamo::connect(config(60, 3)).await;
    setup.create_table().await.unwrap();
    let rules = Rules::default_rules();
    let first = ev("e1", Signal::FormSubmitted, 0);
    let applied = setup
        .apply(&first, &rules, first.occurred_at)
        .await
        .unwrap();
    let id = applied.lead_id.clone();
    let store = Dynamo::connect(config(2, 1)).await;

    local.stop();
    let second = ev("e2", Signal::DemoRequested, 1);
    unavailable(
        "apply",
        store.apply(&second, &rules, second.occurred_at).await,
    );
    unavailable(
        "get",
        store.get(&LeadKey::Id(id.clone()), &rules, far()).await,
    );
    unavailable(
        "list",
        store
            .list_by_stage(Stage::Lead, None, 10, None, &rules, far())
            .await,
    );
    unavailable("ledger", store.ledger(&id).await);
    unavailable(
        "erase",
        store
            .erase(
                &LeadKey::Id(id.clone()),
                far(),
                std::time::Duration::from_secs(60),
            )
            .await,
    );

    let _back = start(&jar, db.path(), port);
    // Back up: what was written is checked with a patient client (a restarted DynamoDB
    // Local on a busy machine can take seconds to answer its first requests).
    let store = Dynamo::connect(config(60, 3)).await;
    let lead = store
        .get(&LeadKey::Id(id.clone()), &rules, far())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(lead.version, 1, "nothing of the failed event was written");
    assert_eq!(lead.state.stage, Stage::Lead);
    assert_eq!(store.ledger(&id).await.unwrap(), vec![first]);
    // The provider's retry lands once.
    let retried = store
        .apply(&second, &rules, second.occurred_at)
        .await
        .unwrap();
    assert!(!retried.duplicate);
    assert_eq!(retried.state.unwrap().stage, Stage::Sql);
    assert_eq!(store.ledger(&id).await.unwrap().len(), 2);
}
