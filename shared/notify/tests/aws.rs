//! EventBridge and the SQS dead-letter queue against moto's server mode (`source
//! infra/scripts/moto.sh && moto_start` exports `AWS_ENDPOINT_URL_EVENTBRIDGE` and
//! `AWS_ENDPOINT_URL_SQS`). These tests fail, never skip, without it.

mod common;

use common::*;
use leadscore_notify::*;
use std::sync::Arc;
use std::time::Duration;

/// moto serves every service on one endpoint: one configuration for EventBridge and SQS.
async fn aws() -> leadscore_store::aws::SdkConfig {
    for var in ["AWS_ENDPOINT_URL_EVENTBRIDGE", "AWS_ENDPOINT_URL_SQS"] {
        assert!(
            std::env::var(var).is_ok(),
            "{var} is not set: run `source infra/scripts/moto.sh && moto_start` first"
        );
    }
    leadscore_store::aws::config("EVENTBRIDGE").await
}

#[tokio::test]
async fn put_events_reach_a_rule_targeting_a_queue() {
    let config = aws().await;
    let events = aws_sdk_eventbridge::Client::new(&config);
    let sqs = aws_sdk_sqs::Client::new(&config);
    let bus = unique("leadscore-bus");
    events.create_event_bus().name(&bus).send().await.unwrap();
    let (url, arn) = queue(&sqs, &unique("stage-changes")).await;
    let rule = unique("sql-moves");
    events
        .put_rule()
        .name(&rule)
        .event_bus_name(&bus)
        .event_pattern(r#"{"source":["leadscore"],"detail-type":["lead.stage_changed"]}"#)
        .send()
        .await
        .unwrap();
    events
        .put_targets()
        .rule(&rule)
        .event_bus_name(&bus)
        .targets(
            aws_sdk_eventbridge::types::Target::builder()
                .id("queue")
                .arn(&arn)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();

    let sink = EventBridgeSink::new(&bus);
    let moved = notification(1, "lead.stage_changed");
    sink.deliver(&moved, Duration::from_secs(5)).await.unwrap();
    // Not matched by the rule: delivered to the bus, not to the queue.
    sink.deliver(&notification(2, "lead.erased"), Duration::from_secs(5))
        .await
        .unwrap();

    let messages = peek(&sqs, &url, 1).await;
    assert_eq!(messages.len(), 1);
    let event: serde_json::Value = serde_json::from_str(messages[0].body().unwrap()).unwrap();
    assert_eq!(event["source"], "leadscore");
    assert_eq!(event["detail-type"], "lead.stage_changed");
    let sent: serde_json::Value = serde_json::from_slice(&moved.body).unwrap();
    assert_eq!(event["detail"], sent);
    assert_eq!(event["time"], "2026-11-22T10:00:00Z");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        peek(&sqs, &url, 2).await.len(),
        1,
        "the erasure did not match the rule"
    );
}

#[tokio::test]
async fn failed_deliveries_are_parked_in_sqs_and_replayed_from_it() {
    let config = aws().await;
    let sqs = aws_sdk_sqs::Client::new(&config);
    let (dead_letters, _) = queue(&sqs, &unique("notifications-dlq")).await;
    // The receiver's address, nothing listening yet.
    let addr = free_addr();
    let vars = vec![
        (
            "LEADSCORE_WEBHOOK_CRM".to_string(),
            format!("http://{addr}/hook"),
        ),
        (
            "LEADSCORE_WEBHOOK_SECRET_CRM".to_string(),
            SECRET.to_string(),
        ),
        (
            "LEADSCORE_DEAD_LETTER_QUEUE_URL".to_string(),
            dead_letters.clone(),
        ),
    ];
    assert!(Destinations::from_vars(&vars)
        .unwrap()
        .describe()
        .iter()
        .any(|l| l.contains(&dead_letters)));
    let sinks = Destinations::sinks_from_vars(&vars).unwrap();
    let parking = SqsParking::new(&dead_letters).with_visibility(Duration::from_secs(1));
    let destinations = Destinations::new(sinks, Arc::new(parking)).with_backoff(Backoff {
        tries: 2,
        first: Duration::from_millis(50),
        request_timeout: Duration::from_secs(1),
        window: Duration::from_secs(1),
    });
    let ns: Vec<Outgoing> = (0..3)
        .map(|i| notification(i, "lead.stage_changed"))
        .collect();
    let d = destinations.deliver(&ns).await.unwrap();
    assert_eq!(
        d,
        Delivered {
            delivered: 0,
            parked: 3
        }
    );

    // Parked: the notification document as the body, the destination as an attribute.
    let parked = peek(&sqs, &dead_letters, 3).await;
    assert_eq!(parked.len(), 3);
    for m in &parked {
        let attributes = m.message_attributes().unwrap();
        assert_eq!(
            attributes["destination"].string_value(),
            Some("webhook:crm")
        );
        let id = attributes["notification_id"].string_value().unwrap();
        let n = ns.iter().find(|n| n.id == id).unwrap();
        assert_eq!(m.body().unwrap().as_bytes(), &n.body[..]);
        assert_eq!(
            attributes["type"].string_value(),
            Some("lead.stage_changed")
        );
    }

    // Still down: the replay leaves them (visible again after the visibility timeout).
    let r = destinations.replay(100).await.unwrap();
    assert_eq!(r.delivered, 0);

    // Up: a replay delivers them (once the failed pass's reads are visible again) and
    // empties the queue.
    let up = receiver(&addr, 0).await;
    let mut delivered = 0;
    for _ in 0..20 {
        delivered += destinations.replay(100).await.unwrap().delivered;
        if delivered >= 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert_eq!(delivered, 3);
    {
        let seen = up.seen.lock().unwrap();
        assert_eq!(seen.ids(), ns.iter().map(|n| n.id.clone()).collect());
        assert_eq!(seen.unsigned, 0);
    }
    assert!(
        peek(&sqs, &dead_letters, 1).await.is_empty(),
        "deleted once delivered"
    );
}
