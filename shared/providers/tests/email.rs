//! Email sources: each event kind, bot judgement within a request, handshakes, SNS.
#![cfg(feature = "email")]

mod common;

use common::*;
use leadscore_providers::{AdapterError, Received, Secrets};
use leadscore_scoring::{Signal, Timestamp};
use std::collections::BTreeMap;

fn got(source: &str, path: &str) -> Received {
    World::new()
        .receive(source, &signed(source, &fixture(path), NOW))
        .unwrap_or_else(|e| panic!("{source} {path}: {e}"))
}

fn bot_reason(r: &Received, id: &str) -> Option<String> {
    let e = r
        .events
        .iter()
        .find(|e| e.id.as_str() == id)
        .unwrap_or_else(|| panic!("no event {id}"));
    e.bot
        .as_ref()
        .filter(|b| b.is_bot)
        .map(|b| b.reason.clone())
}

#[test]
fn sendgrid_clicks_carry_url_campaign_and_message() {
    let r = got("sendgrid", "sendgrid/click.json");
    let click = &r.events[0];
    assert_eq!(click.id.as_str(), "sendgrid:sg-click-0001");
    assert_eq!(email_of(click), "email@example.com");
    assert_eq!(
        click.attributes.url.as_deref(),
        Some("https://example.com/blog/news.html")
    );
    assert_eq!(click.attributes.campaign.as_deref(), Some("q4-webinar"));
    assert_eq!(
        click.attributes.message_id.as_deref(),
        Some("msg-0001.filter0001")
    );
    assert_eq!(
        click.occurred_at,
        Timestamp::from_unix_seconds(1_795_341_480)
    );
    assert_eq!(click.bot, None);
}

#[test]
fn sendgrid_machine_opens_are_bots() {
    let r = got("sendgrid", "sendgrid/open.json");
    assert_eq!(signals(&r), vec![Signal::EmailOpened, Signal::EmailOpened]);
    assert_eq!(bot_reason(&r, "sendgrid:sg-open-0001"), None);
    assert!(bot_reason(&r, "sendgrid:sg-open-0002")
        .unwrap()
        .contains("sg_machine_open"));
}

#[test]
fn sendgrid_negative_events() {
    let r = got("sendgrid", "sendgrid/negative.json");
    assert_eq!(
        signals(&r),
        vec![
            Signal::Bounced,
            Signal::SpamComplaint,
            Signal::Unsubscribed,
            Signal::Unsubscribed
        ]
    );
    // A blocked message (not a bad address) and `processed` say nothing about the person.
    assert_eq!(r.ignored, 2);
    assert!(r.events.iter().all(|e| e.bot.is_none()));
}

#[test]
fn bots_within_one_batch_are_flagged_with_a_reason() {
    let r = got("sendgrid", "sendgrid/scanner_burst.json");
    assert_eq!(r.ignored, 2, "the two delivery receipts");
    for id in [
        "sendgrid:sg-clk-0101",
        "sendgrid:sg-clk-0102",
        "sendgrid:sg-clk-0103",
    ] {
        let reason = bot_reason(&r, id).unwrap_or_else(|| panic!("{id} should be a bot"));
        assert!(reason.starts_with("burst: 3 links"), "{reason}");
    }
    assert!(bot_reason(&r, "sendgrid:sg-clk-0201")
        .unwrap()
        .contains("after delivery"));
    assert!(bot_reason(&r, "sendgrid:sg-clk-0301")
        .unwrap()
        .contains("scanner user agent (barracuda)"));
    assert_eq!(
        bot_reason(&r, "sendgrid:sg-clk-0401").as_deref(),
        Some("honeypot link")
    );
    // A person clicking two links 40 s apart.
    assert_eq!(bot_reason(&r, "sendgrid:sg-clk-0501"), None);
    assert_eq!(bot_reason(&r, "sendgrid:sg-clk-0502"), None);
}

#[test]
fn the_same_link_clicked_twice_is_not_a_burst_but_an_empty_user_agent_is_a_bot() {
    let body = br#"[
      {"sg_event_id":"a1","sg_message_id":"m","event":"click","email":"p@x.io","timestamp":1795341480,"url":"https://example.com/a","useragent":"Mozilla/5.0"},
      {"sg_event_id":"a2","sg_message_id":"m","event":"click","email":"p@x.io","timestamp":1795341480,"url":"https://example.com/a","useragent":"Mozilla/5.0"},
      {"sg_event_id":"a3","sg_message_id":"n","event":"click","email":"p@x.io","timestamp":1795341480,"url":"https://example.com/a","useragent":""}]"#;
    let r = World::new()
        .receive("sendgrid", &signed("sendgrid", body, NOW))
        .unwrap();
    assert_eq!(bot_reason(&r, "sendgrid:a1"), None);
    assert_eq!(bot_reason(&r, "sendgrid:a2"), None);
    assert_eq!(
        bot_reason(&r, "sendgrid:a3").as_deref(),
        Some("empty user agent")
    );
}

#[test]
fn mailgun_event_kinds() {
    for (path, want) in [
        ("mailgun/clicked.json", Some(Signal::EmailClicked)),
        ("mailgun/opened.json", Some(Signal::EmailOpened)),
        ("mailgun/unsubscribed.json", Some(Signal::Unsubscribed)),
        ("mailgun/complained.json", Some(Signal::SpamComplaint)),
        ("mailgun/failed_permanent.json", Some(Signal::Bounced)),
        ("mailgun/failed_temporary.json", None),
        ("mailgun/delivered.json", None),
    ] {
        let r = got("mailgun", path);
        match want {
            Some(signal) => {
                assert_eq!(signals(&r), vec![signal], "{path}");
                assert_eq!(email_of(&r.events[0]), "recipient@example.com");
                assert_eq!(r.events[0].attributes.campaign.as_deref(), Some("welcome"));
            }
            None => assert_eq!((r.events.len(), r.ignored), (0, 1), "{path}"),
        }
    }
    let click = got("mailgun", "mailgun/clicked.json");
    assert_eq!(click.events[0].id.as_str(), "mailgun:mg-clicked-0001");
    assert_eq!(
        click.events[0].occurred_at,
        Timestamp::from_millis(1_795_341_480_090)
    );
    let robot = got("mailgun", "mailgun/clicked_robot.json");
    assert!(bot_reason(&robot, "mailgun:mg-clicked-robot")
        .unwrap()
        .contains("robot"));
}

#[test]
fn mailgun_signature_without_body_object_is_unauthorized() {
    let req = Request::post(
        url_of("mailgun"),
        "application/json",
        br#"{"event-data":{}}"#.to_vec(),
    );
    assert!(matches!(
        World::new().receive("mailgun", &req),
        Err(AdapterError::Unauthorized(m)) if m.contains("signature")
    ));
}

#[test]
fn mandrill_batches_robots_and_sync_events() {
    let r = got("mandrill", "mandrill/events.json");
    // send and the whitelist sync event map to nothing.
    assert_eq!(r.ignored, 2);
    let robot = r
        .events
        .iter()
        .find(|e| e.attributes.url.as_deref() == Some("http://example.com/other"))
        .unwrap();
    assert!(robot.bot.as_ref().unwrap().reason.contains("robot"));
    let human = r
        .events
        .iter()
        .find(|e| e.attributes.url.as_deref() == Some("http://example.com/pricing"))
        .unwrap();
    assert_eq!(human.bot, None);
    assert_eq!(human.attributes.campaign.as_deref(), Some("q4-webinar"));
    assert_eq!(
        human.attributes.message_id.as_deref(),
        Some("abcdef012345789abcdef012345789")
    );
    assert_eq!(email_of(event(&r, Signal::Bounced)), "gone@example.com");
}

#[test]
fn mandrill_clicks_seconds_after_sending_are_bots() {
    let body = br#"[{"event":"click","msg":{"ts":1795341477,"email":"p@x.io","_id":"m1"},"_id":"m1","ts":1795341480,"url":"https://example.com/a","user_agent":"Mozilla/5.0","user_agent_parsed":{"type":"browser"}}]"#;
    let r = World::new()
        .receive("mandrill", &signed("mandrill", body, NOW))
        .unwrap();
    assert!(r.events[0]
        .bot
        .as_ref()
        .unwrap()
        .reason
        .contains("3.0 s after delivery"));
}

#[test]
fn mandrill_and_mailchimp_url_checks_are_answered_even_unconfigured() {
    let world = World {
        secrets: Secrets::from_vars(Vec::new()),
        ..World::new()
    };
    for source in ["mandrill", "mailchimp"] {
        for method in ["GET", "HEAD"] {
            let mut req = Request::post(url_of(source), "text/plain", Vec::new());
            req.method = method.into();
            let r = world.receive(source, &req).unwrap();
            assert_eq!(r.reply.map(|r| r.status), Some(200), "{source} {method}");
            assert!(r.events.is_empty());
        }
    }
}

#[test]
fn mandrill_test_batch_is_answered_with_the_test_key() {
    use base64::Engine;
    use hmac::Mac;
    let url = url_of("mandrill");
    let sign = |key: &[u8]| {
        let mut m = hmac::Hmac::<sha1::Sha1>::new_from_slice(key).unwrap();
        m.update(format!("{url}mandrill_events[]").as_bytes());
        base64::engine::general_purpose::STANDARD.encode(m.finalize().into_bytes())
    };
    let req = |sig: String| {
        Request::post(
            url.clone(),
            "application/x-www-form-urlencoded",
            b"mandrill_events=%5B%5D".to_vec(),
        )
        .with_header("x-mandrill-signature", &sig)
    };
    let unconfigured = World {
        secrets: Secrets::from_vars(Vec::new()),
        ..World::new()
    };
    let r = unconfigured
        .receive("mandrill", &req(sign(b"test-webhook")))
        .unwrap();
    assert_eq!(r.reply.map(|r| r.status), Some(200));
    // Also with the real key once configured.
    let r = World::new()
        .receive("mandrill", &req(sign(b"mandrill-test-secret")))
        .unwrap();
    assert_eq!(r.reply.map(|r| r.status), Some(200));
    assert!(matches!(
        World::new().receive("mandrill", &req(sign(b"guess"))),
        Err(AdapterError::Unauthorized(_))
    ));
}

#[test]
fn postmark_record_types() {
    for (path, want) in [
        ("postmark/click.json", Some(Signal::EmailClicked)),
        ("postmark/open.json", Some(Signal::EmailOpened)),
        ("postmark/bounce.json", Some(Signal::Bounced)),
        ("postmark/spam_complaint.json", Some(Signal::SpamComplaint)),
        (
            "postmark/subscription_change.json",
            Some(Signal::Unsubscribed),
        ),
        ("postmark/soft_bounce.json", None),
        ("postmark/delivery.json", None),
    ] {
        let r = got("postmark", path);
        match want {
            Some(signal) => assert_eq!(signals(&r), vec![signal], "{path}"),
            None => assert_eq!((r.events.len(), r.ignored), (0, 1), "{path}"),
        }
    }
    let click = got("postmark", "postmark/click.json");
    let e = &click.events[0];
    assert_eq!(email_of(e), "john.doe@example.com");
    assert_eq!(
        e.attributes.url.as_deref(),
        Some("http://example.com/click-me")
    );
    assert_eq!(e.attributes.campaign.as_deref(), Some("Invitation"));
    assert_eq!(
        e.occurred_at,
        Timestamp::parse_rfc3339("2026-11-22T09:58:10.805Z").unwrap()
    );
    assert_eq!(
        email_of(&got("postmark", "postmark/bounce.json").events[0]),
        "gone@example.com"
    );
}

#[test]
fn brevo_events_and_apple_proxy_opens() {
    for (path, want) in [
        ("brevo/click.json", Some(Signal::EmailClicked)),
        ("brevo/unique_opened.json", Some(Signal::EmailOpened)),
        ("brevo/proxy_open.json", Some(Signal::EmailOpened)),
        ("brevo/hard_bounce.json", Some(Signal::Bounced)),
        ("brevo/spam.json", Some(Signal::SpamComplaint)),
        ("brevo/unsubscribed.json", Some(Signal::Unsubscribed)),
        ("brevo/delivered.json", None),
    ] {
        let r = got("brevo", path);
        match want {
            Some(signal) => assert_eq!(signals(&r), vec![signal], "{path}"),
            None => assert_eq!((r.events.len(), r.ignored), (0, 1), "{path}"),
        }
    }
    let proxy = got("brevo", "brevo/proxy_open.json");
    assert!(proxy.events[0]
        .bot
        .as_ref()
        .unwrap()
        .reason
        .contains("Apple Mail Privacy"));
    assert_eq!(got("brevo", "brevo/unique_opened.json").events[0].bot, None);
    let click = got("brevo", "brevo/click.json");
    assert_eq!(
        click.events[0].occurred_at,
        Timestamp::from_millis(1_795_341_480_123)
    );
    assert_eq!(
        click.events[0].attributes.url.as_deref(),
        Some("https://example.com/click/me")
    );
}

#[test]
fn ses_events_through_sns() {
    for (path, want) in [
        ("ses/click.json", Some(Signal::EmailClicked)),
        ("ses/open.json", Some(Signal::EmailOpened)),
        ("ses/bounce.json", Some(Signal::Bounced)),
        ("ses/complaint.json", Some(Signal::SpamComplaint)),
        ("ses/delivery.json", None),
    ] {
        let r = got("ses", path);
        match want {
            Some(signal) => {
                assert_eq!(signals(&r), vec![signal], "{path}");
                assert_eq!(email_of(&r.events[0]), "recipient@example.com");
                assert!(r.events[0].id.as_str().starts_with("ses:sns-"));
            }
            None => assert_eq!((r.events.len(), r.ignored), (0, 1), "{path}"),
        }
    }
    let click = got("ses", "ses/click.json");
    let e = &click.events[0];
    assert_eq!(
        e.attributes.url.as_deref(),
        Some("https://example.com/pricing")
    );
    assert_eq!(e.attributes.campaign.as_deref(), Some("q4-webinar-link"));
    assert_eq!(
        e.attributes.message_id.as_deref(),
        Some("0100018b-ses-msg-0001")
    );
    assert_eq!(e.bot, None);
}

#[test]
fn ses_clicks_seconds_after_sending_are_bots() {
    let body = String::from_utf8(fixture("ses/click.json"))
        .unwrap()
        .replace("2026-11-22T09:58:00.000Z", "2026-11-22T09:40:04.000Z");
    let r = World::new()
        .receive("ses", &signed("ses", body.as_bytes(), NOW))
        .unwrap();
    assert!(r.events[0]
        .bot
        .as_ref()
        .unwrap()
        .reason
        .contains("after delivery"));
}

#[test]
fn sns_needs_its_certificate_from_an_sns_host() {
    let req = signed("ses", &fixture("ses/click.json"), NOW);
    let no_certs = World {
        certs: BTreeMap::new(),
        ..World::new()
    };
    assert_eq!(
        no_certs.receive("ses", &req),
        Err(AdapterError::NeedCertificate(SNS_CERT_URL.to_string()))
    );
    // A certificate URL outside SNS is never fetched.
    for url in [
        "https://evil.example/cert.pem",
        "http://sns.eu-west-1.amazonaws.com/cert.pem",
        "https://sns.eu-west-1.amazonaws.com.evil.example/cert.pem",
    ] {
        let body = String::from_utf8(req.body.clone())
            .unwrap()
            .replace(SNS_CERT_URL, url);
        let forged = Request {
            body: body.into_bytes(),
            ..req.clone()
        };
        assert!(
            matches!(no_certs.receive("ses", &forged), Err(AdapterError::Unauthorized(m)) if m.contains("SigningCertURL")),
            "{url}"
        );
    }
    // A certificate that is not one.
    let garbage = World {
        certs: BTreeMap::from([(SNS_CERT_URL.to_string(), b"not a pem".to_vec())]),
        ..World::new()
    };
    assert!(matches!(
        garbage.receive("ses", &req),
        Err(AdapterError::Unauthorized(_))
    ));
}

#[test]
fn sns_topics_must_be_listed() {
    let world = World {
        secrets: Secrets::from_vars([(
            "LEADSCORE_SECRET_SES".to_string(),
            "arn:aws:sns:eu-west-1:123456789012:other-topic".to_string(),
        )]),
        ..World::new()
    };
    let req = signed("ses", &fixture("ses/click.json"), NOW);
    assert!(matches!(
        world.receive("ses", &req),
        Err(AdapterError::Unauthorized(m)) if m.contains("not listed")
    ));
}

#[test]
fn sns_subscription_is_confirmed_after_checking_its_signature() {
    let req = Request::post(
        url_of("ses"),
        "text/plain; charset=UTF-8",
        sns_envelope(
            "SubscriptionConfirmation",
            "You have chosen to subscribe to the topic",
            true,
        ),
    );
    let r = World::new().receive("ses", &req).unwrap();
    let url = r.confirm_subscription.unwrap();
    assert!(url.starts_with("https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription"));
    assert!(r.events.is_empty());

    let forged = Request {
        body: sns_envelope(
            "SubscriptionConfirmation",
            "You have chosen to subscribe",
            false,
        ),
        ..req
    };
    assert!(matches!(
        World::new().receive("ses", &forged),
        Err(AdapterError::Unauthorized(_))
    ));
}

#[test]
fn mailchimp_audience_events() {
    let sub = got("mailchimp", "mailchimp/subscribe.form");
    let e = event(&sub, Signal::NewsletterSubscribed);
    assert_eq!(email_of(e), "api@mailchimp.com");
    assert_eq!(e.profile.first_name.as_deref(), Some("Mailchimp"));
    assert_eq!(e.profile.last_name.as_deref(), Some("API"));
    assert_eq!(
        e.occurred_at,
        Timestamp::parse_rfc3339("2026-11-22T09:58:00Z").unwrap()
    );

    let unsub = got("mailchimp", "mailchimp/unsubscribe.form");
    assert_eq!(
        email_of(event(&unsub, Signal::Unsubscribed)),
        "api+unsub@mailchimp.com"
    );
    let cleaned = got("mailchimp", "mailchimp/cleaned.form");
    assert_eq!(signals(&cleaned), vec![Signal::Bounced]);
    let profile = got("mailchimp", "mailchimp/profile.form");
    assert_eq!((profile.events.len(), profile.ignored), (0, 1));
}
