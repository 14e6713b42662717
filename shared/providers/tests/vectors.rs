//! The vendors' published test vectors (shared/providers.md) pass through `receive`.
#![cfg(any(feature = "forms", feature = "chatbot", feature = "email"))]

mod common;

use common::*;
use leadscore_providers::AdapterError;

/// Standard Webhooks' published vector. Its body is not one of our events, so a passing
/// signature shows as a Malformed body (checked after the signature), a failing one as 401.
#[test]
fn standard_webhooks_published_vector() {
    let body = br#"{"test": 2432232314}"#;
    let req = |sig: &str| {
        Request::post(url_of("json"), "application/json", body.to_vec())
            .with_header("webhook-id", "msg_p5jXN8AQM9LWM0D4loKWxJek")
            .with_header("webhook-timestamp", "1614265330")
            .with_header("webhook-signature", sig)
            .received_at(1_614_265_330)
    };
    let world = World::new();
    let good = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
    for header in [
        good.to_string(),
        format!("v1,AAAAg0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOL= {good}"),
    ] {
        match world.receive("json", &req(&header)) {
            Err(AdapterError::Malformed(m)) => assert!(m.contains("event 0"), "{m}"),
            other => panic!("the published signature must verify: {other:?}"),
        }
    }
    for bad in [
        "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OF=",
        "v2,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
        "g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
    ] {
        assert!(
            matches!(
                world.receive("json", &req(bad)),
                Err(AdapterError::Unauthorized(_))
            ),
            "{bad}"
        );
    }
    // The same vector a day later is stale.
    let late = req(good).received_at(1_614_265_330 + 86_400);
    assert!(matches!(
        world.receive("json", &late),
        Err(AdapterError::Stale(_))
    ));
}

/// SendGrid's published ECDSA vector (the trailing CR LF is signed too). Its one event is
/// `dropped`, which maps to no signal.
#[test]
#[cfg(feature = "email")]
fn sendgrid_published_vector() {
    let key = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE83T4O/n84iotIvIW4mdBgQ/7dAfSmpqIM8kF9mN1flpVKS3GRqe62gw+2fNNRaINXvVpiglSI8eNEc6wEA3F+g==";
    let body = "[{\"email\":\"hello@world.com\",\"event\":\"dropped\",\"reason\":\"Bounced Address\",\"sg_event_id\":\"ZHJvcC0xMDk5NDkxOS1MUnpYbF9OSFN0T0doUTRrb2ZTbV9BLTA\",\"sg_message_id\":\"LRzXl_NHStOGhQ4kofSm_A.filterdrecv-p3mdw1-756b745b58-kmzbl-18-5F5FC76C-9.0\",\"smtp-id\":\"<LRzXl_NHStOGhQ4kofSm_A@ismtpd0039p1iad1.sendgrid.net>\",\"timestamp\":1600112492}]\r\n";
    let signature = "MEUCIGHQVtGj+Y3LkG9fLcxf3qfI10QysgDWmMOVmxG0u6ZUAiEAyBiXDWzM+uOe5W0JuG+luQAbPIqHh89M15TluLtEZtM=";
    let world = World {
        secrets: leadscore_providers::Secrets::from_vars([(
            "LEADSCORE_SECRET_SENDGRID".to_string(),
            key.to_string(),
        )]),
        ..World::new()
    };
    let req = |body: &str, ts: &str| {
        Request::post(
            url_of("sendgrid"),
            "application/json",
            body.as_bytes().to_vec(),
        )
        .with_header("x-twilio-email-event-webhook-signature", signature)
        .with_header("x-twilio-email-event-webhook-timestamp", ts)
        .received_at(1_600_112_502)
    };
    let got = world.receive("sendgrid", &req(body, "1600112502")).unwrap();
    assert!(got.events.is_empty());
    assert_eq!(got.ignored, 1);

    let without_crlf = body.trim_end();
    for (b, ts) in [(without_crlf, "1600112502"), (body, "1600112503")] {
        assert!(matches!(
            world.receive("sendgrid", &req(b, ts)),
            Err(AdapterError::Unauthorized(_))
        ));
    }
}

#[test]
#[cfg(feature = "email")]
fn a_sendgrid_secret_that_is_not_a_key_is_refused_clearly() {
    for (secret, needle) in [("not base64!", "base64"), ("AAAA", "P-256")] {
        let world = World {
            secrets: leadscore_providers::Secrets::from_vars([(
                "LEADSCORE_SECRET_SENDGRID".to_string(),
                secret.to_string(),
            )]),
            ..World::new()
        };
        let req = signed("sendgrid", &fixture("sendgrid/click.json"), NOW);
        match world.receive("sendgrid", &req) {
            Err(AdapterError::Unauthorized(m)) => {
                assert!(
                    m.contains("LEADSCORE_SECRET_SENDGRID") && m.contains(needle),
                    "{m}"
                )
            }
            other => panic!("{other:?}"),
        }
    }
}
