//! Outbound webhooks: configuration as data, the Standard Webhooks signature checked by an
//! independent verifier, how answers are classified, back-off bounded by its deadline, and a
//! receiver that fails then recovers getting everything through the parked replay.

mod common;

use async_trait::async_trait;
use common::*;
use leadscore_notify::*;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

fn vars(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect()
}

#[test]
fn the_signature_is_the_published_standard_webhooks_vector() {
    // From the Standard Webhooks reference libraries' tests.
    let key = SigningKey::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
    assert_eq!(
        key.sign(
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            br#"{"test": 2432232314}"#
        ),
        "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    );
    assert!(!format!("{key:?}").contains("MfKQ"), "Debug hides the key");
}

#[test]
fn receivers_are_configured_as_data_and_mistakes_are_named() {
    let ok = webhooks_from_vars(vars(&[
        (
            "LEADSCORE_WEBHOOK_CRM",
            "https://crm.example.com/hooks/leadscore",
        ),
        ("LEADSCORE_WEBHOOK_SECRET_CRM", SECRET),
        (
            "LEADSCORE_WEBHOOK_TYPES_CRM",
            "lead.stage_changed, lead.erased",
        ),
        ("LEADSCORE_WEBHOOK_SLACK_BOT", "http://127.0.0.1:9/x"),
        ("LEADSCORE_WEBHOOK_SECRET_SLACK_BOT", SECRET),
        // Empty (the template's unset parameters): no receiver.
        ("LEADSCORE_WEBHOOK_UNUSED", ""),
        ("LEADSCORE_WEBHOOK_SECRET_UNUSED", ""),
        ("LEADSCORE_SECRET_JSON", SECRET),
    ]))
    .unwrap();
    assert_eq!(ok.len(), 2);
    assert_eq!(ok[0].name, "crm");
    assert_eq!(
        ok[0].types.as_ref().unwrap().iter().collect::<Vec<_>>(),
        ["lead.erased", "lead.stage_changed"]
    );
    assert_eq!(ok[1].name, "slack_bot");
    assert!(ok[1].types.is_none());
    let sink = WebhookSink::new(ok[0].clone());
    assert_eq!(sink.name(), "webhook:crm");
    assert!(sink.wants("lead.erased") && !sink.wants("lead.segment_entered"));

    let cases: &[(&[(&str, &str)], &str)] = &[
        (
            &[("LEADSCORE_WEBHOOK_CRM", "https://crm.example.com")],
            "LEADSCORE_WEBHOOK_CRM has no secret: set LEADSCORE_WEBHOOK_SECRET_CRM",
        ),
        (
            &[("LEADSCORE_WEBHOOK_SECRET_CRM", SECRET)],
            "LEADSCORE_WEBHOOK_SECRET_CRM is set but LEADSCORE_WEBHOOK_CRM",
        ),
        (
            &[("LEADSCORE_WEBHOOK_TYPES_CRM", "lead.erased")],
            "LEADSCORE_WEBHOOK_TYPES_CRM is set but LEADSCORE_WEBHOOK_CRM",
        ),
        (
            &[
                ("LEADSCORE_WEBHOOK_CRM", "crm.example.com"),
                ("LEADSCORE_WEBHOOK_SECRET_CRM", SECRET),
            ],
            "LEADSCORE_WEBHOOK_CRM: not a URL",
        ),
        (
            &[
                ("LEADSCORE_WEBHOOK_CRM", "ftp://crm.example.com"),
                ("LEADSCORE_WEBHOOK_SECRET_CRM", SECRET),
            ],
            "LEADSCORE_WEBHOOK_CRM: an http(s) URL",
        ),
        (
            &[
                ("LEADSCORE_WEBHOOK_CRM", "https://crm.example.com"),
                (
                    "LEADSCORE_WEBHOOK_SECRET_CRM",
                    "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                ),
            ],
            "LEADSCORE_WEBHOOK_SECRET_CRM: must be `whsec_`",
        ),
        (
            &[
                ("LEADSCORE_WEBHOOK_CRM", "https://crm.example.com"),
                ("LEADSCORE_WEBHOOK_SECRET_CRM", "whsec_!!"),
            ],
            "LEADSCORE_WEBHOOK_SECRET_CRM: the part after `whsec_` is not base64",
        ),
        (
            &[
                ("LEADSCORE_WEBHOOK_CRM", "https://crm.example.com"),
                ("LEADSCORE_WEBHOOK_SECRET_CRM", "whsec_c2hvcnQ="),
            ],
            "LEADSCORE_WEBHOOK_SECRET_CRM: the key is 5 bytes",
        ),
        (
            &[
                ("LEADSCORE_WEBHOOK_CRM", "https://crm.example.com"),
                ("LEADSCORE_WEBHOOK_SECRET_CRM", SECRET),
                ("LEADSCORE_WEBHOOK_TYPES_CRM", "lead.stage_changed,lead.won"),
            ],
            "LEADSCORE_WEBHOOK_TYPES_CRM: unknown type \"lead.won\"",
        ),
        (
            &[
                ("LEADSCORE_WEBHOOK_CR-M", "https://crm.example.com"),
                ("LEADSCORE_WEBHOOK_SECRET_CR-M", SECRET),
            ],
            "LEADSCORE_WEBHOOK_CR-M: a receiver's name is letters, digits and `_`",
        ),
    ];
    for (list, message) in cases {
        let err = webhooks_from_vars(vars(list)).unwrap_err().to_string();
        assert!(err.contains(message), "{list:?}: {err}");
        assert!(!err.contains("MfKQ9r8G"), "a secret in an error: {err}");
    }
}

#[test]
fn answers_are_delivered_refused_or_retried() {
    for status in [200, 201, 202, 204, 299] {
        assert_eq!(classify(status), Ok(()), "{status}");
    }
    for status in [400, 401, 403, 404, 410, 413, 422] {
        assert!(classify(status).unwrap_err().is_permanent(), "{status}");
    }
    for status in [408, 429, 500, 502, 503, 504, 301, 302, 100] {
        let failure = classify(status).unwrap_err();
        assert!(!failure.is_permanent(), "{status}");
    }
}

/// A sink that fails every attempt (retryable or not) and counts them.
struct Failing {
    permanent: bool,
    attempts: AtomicU32,
}

#[async_trait]
impl Sink for Failing {
    fn name(&self) -> &str {
        "failing"
    }
    async fn deliver(&self, _: &Outgoing, timeout: Duration) -> Result<(), Failure> {
        assert!(!timeout.is_zero());
        self.attempts.fetch_add(1, Ordering::SeqCst);
        if self.permanent {
            Err(Failure::Permanent("HTTP 410".into()))
        } else {
            Err(Failure::Retryable("HTTP 503".into()))
        }
    }
}

#[tokio::test]
async fn back_off_stops_at_its_deadline_and_a_refusal_is_not_retried() {
    let n = notification(1, "lead.stage_changed");
    let policy = Backoff {
        tries: 20,
        first: Duration::from_millis(100),
        request_timeout: Duration::from_secs(5),
        window: Duration::from_secs(1),
    };
    let sink = Failing {
        permanent: false,
        attempts: AtomicU32::new(0),
    };
    let start = tokio::time::Instant::now();
    let outcome = deliver_with_retries(&sink, &n, &policy, start + policy.window).await;
    let took = start.elapsed();
    let tries = sink.attempts.load(Ordering::SeqCst);
    assert!(took <= Duration::from_millis(1_000), "{took:?}");
    // Waits of 50..100, 100..200, 200..400, 400..800 ms: 3 to 5 attempts fit in a second.
    assert!((3..=5).contains(&tries), "{tries} tries");
    assert!(
        matches!(outcome, Outcome::Failed { failure: Failure::Retryable(_), tries: t } if t == tries)
    );

    let sink = Failing {
        permanent: true,
        attempts: AtomicU32::new(0),
    };
    let outcome = deliver_with_retries(&sink, &n, &policy, start + policy.window).await;
    assert_eq!(sink.attempts.load(Ordering::SeqCst), 1);
    assert!(matches!(
        outcome,
        Outcome::Failed {
            failure: Failure::Permanent(_),
            ..
        }
    ));

    // The default: 4 tries.
    let sink = Failing {
        permanent: false,
        attempts: AtomicU32::new(0),
    };
    let policy = Backoff {
        first: Duration::from_millis(10),
        ..Backoff::default()
    };
    let start = tokio::time::Instant::now();
    deliver_with_retries(&sink, &n, &policy, start + policy.window).await;
    assert_eq!(sink.attempts.load(Ordering::SeqCst), 4);
}

fn quick() -> Backoff {
    Backoff {
        tries: 3,
        first: Duration::from_millis(50),
        request_timeout: Duration::from_secs(2),
        window: Duration::from_secs(2),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_that_fails_then_recovers_gets_every_notification_signed() {
    let dir = tempfile::tempdir().unwrap();
    let store = leadscore_store::Embedded::open(dir.path()).unwrap();
    // Fails the first 5 requests: the first notification's 3 tries, then 2 more.
    let flaky = receiver("127.0.0.1:0", 5).await;
    let healthy = receiver("127.0.0.1:0", 0).await;
    let config = vars(&[
        ("LEADSCORE_WEBHOOK_FLAKY", &flaky.url),
        ("LEADSCORE_WEBHOOK_SECRET_FLAKY", SECRET),
        ("LEADSCORE_WEBHOOK_HEALTHY", &healthy.url),
        ("LEADSCORE_WEBHOOK_SECRET_HEALTHY", SECRET),
        ("LEADSCORE_WEBHOOK_TYPES_HEALTHY", "lead.stage_changed"),
    ]);
    let destinations = Destinations::embedded(&config, store.clone())
        .unwrap()
        .with_backoff(quick());
    assert_eq!(destinations.names(), ["webhook:flaky", "webhook:healthy"]);
    let first: Vec<Outgoing> = (0..3)
        .map(|i| notification(i, "lead.stage_changed"))
        .collect();
    let d = destinations.deliver(&first).await.unwrap();
    // flaky: the first parked after 3 refusals, the others parked without trying (down).
    assert_eq!(
        d,
        Delivered {
            delivered: 3,
            parked: 3
        }
    );
    assert_eq!(flaky.seen.lock().unwrap().refused, 3);
    // A second lead: flaky is down, so it costs nothing; healthy filters out the erasure.
    let second = vec![
        notification(3, "lead.stage_changed"),
        notification(4, "lead.erased"),
    ];
    let started = std::time::Instant::now();
    let d = destinations.deliver(&second).await.unwrap();
    assert!(started.elapsed() < Duration::from_millis(500));
    assert_eq!(
        d,
        Delivered {
            delivered: 1,
            parked: 2
        }
    );
    assert_eq!(store.parked(100).unwrap().len(), 5);
    assert_eq!(healthy.seen.lock().unwrap().ids().len(), 4);

    // The replay: flaky refuses twice more (within the first one's window), then takes all.
    let r = destinations.replay(100).await.unwrap();
    assert_eq!(
        r,
        Replayed {
            delivered: 5,
            remaining: 0
        }
    );
    assert!(store.parked(100).unwrap().is_empty());
    let seen = flaky.seen.lock().unwrap();
    let all: std::collections::BTreeSet<String> =
        first.iter().chain(&second).map(|n| n.id.clone()).collect();
    assert_eq!(seen.ids(), all);
    assert_eq!(seen.unsigned, 0);
    assert_eq!(healthy.seen.lock().unwrap().unsigned, 0);
    // The body is the notification document, byte for byte.
    let (_, doc) = seen
        .accepted
        .iter()
        .find(|(id, _)| *id == first[0].id)
        .unwrap();
    assert_eq!(serde_json::to_vec(doc).unwrap(), first[0].body.to_vec());
}

#[tokio::test]
async fn a_refused_notification_is_parked_without_retries_and_the_receiver_stays_up() {
    let dir = tempfile::tempdir().unwrap();
    let store = leadscore_store::Embedded::open(dir.path()).unwrap();
    // A receiver that rejects the signature (another secret): 401, permanent.
    let other = receiver("127.0.0.1:0", 0).await;
    let config = vars(&[
        ("LEADSCORE_WEBHOOK_OTHER", &other.url),
        (
            "LEADSCORE_WEBHOOK_SECRET_OTHER",
            "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        ),
    ]);
    let destinations = Destinations::embedded(&config, store.clone())
        .unwrap()
        .with_backoff(quick());
    let ns: Vec<Outgoing> = (0..2)
        .map(|i| notification(i, "lead.stage_changed"))
        .collect();
    let d = destinations.deliver(&ns).await.unwrap();
    assert_eq!(
        d,
        Delivered {
            delivered: 0,
            parked: 2
        }
    );
    // One request each: a 401 is not retried, and does not mark the receiver down.
    assert_eq!(other.seen.lock().unwrap().unsigned, 2);
    let keys: Vec<String> = store
        .parked(10)
        .unwrap()
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(
        keys,
        [
            format!("webhook:other/{}", ns[0].id),
            format!("webhook:other/{}", ns[1].id)
        ]
    );
}

#[tokio::test]
async fn a_receiver_that_is_not_listening_is_retried_then_parked() {
    let dir = tempfile::tempdir().unwrap();
    let store = leadscore_store::Embedded::open(dir.path()).unwrap();
    let url = format!("http://{}/hook", free_addr());
    let config = vars(&[
        ("LEADSCORE_WEBHOOK_GONE", &url),
        ("LEADSCORE_WEBHOOK_SECRET_GONE", SECRET),
    ]);
    let destinations = Destinations::embedded(&config, store.clone())
        .unwrap()
        .with_backoff(quick());
    let d = destinations
        .deliver(&[notification(7, "lead.erased")])
        .await
        .unwrap();
    assert_eq!(d.parked, 1);
    // Nothing delivered, nothing lost: a replay with the receiver still gone leaves it.
    let r = destinations.replay(10).await.unwrap();
    assert_eq!(
        r,
        Replayed {
            delivered: 0,
            remaining: 1
        }
    );
    assert_eq!(store.parked(10).unwrap().len(), 1);
}
