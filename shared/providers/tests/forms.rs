//! What each form source reads: identity, profile, BANT and the signals a form raises.
#![cfg(feature = "forms")]

mod common;

use common::*;
use leadscore_providers::{AdapterError, Channel};
use leadscore_scoring::{BantSource, Signal, Timestamp};

fn receive_fixture(source: &str, path: &str) -> leadscore_providers::Received {
    World::new()
        .receive(source, &signed(source, &fixture(path), NOW))
        .unwrap_or_else(|e| panic!("{source} {path}: {e}"))
}

#[test]
fn typeform_answers_fill_identity_profile_bant_and_signals() {
    let got = receive_fixture("typeform", "typeform/form_response.json");
    let form = event(&got, Signal::FormSubmitted);
    assert_eq!(form.id.as_str(), "typeform:LtWXD3crgy");
    assert_eq!(email_of(form), "laura@example.com");
    assert_eq!(
        form.identity.anonymous_id.as_ref().unwrap().as_str(),
        "anon-42"
    );
    assert_eq!(
        form.occurred_at,
        Timestamp::parse_rfc3339("2026-11-22T09:58:00Z").unwrap()
    );
    assert_eq!(form.profile.job_title.as_deref(), Some("Head of Marketing"));
    assert_eq!(form.profile.company_size, Some(51));
    assert_eq!(form.bant.budget, Some(25_000));
    assert_eq!(form.bant.timeline_months, Some(3));
    assert_eq!(form.bant.source, BantSource::Form);
    assert_eq!(form.attributes.campaign.as_deref(), Some("q4-webinar"));
    assert_eq!(form.attributes.form.as_deref(), Some("Talk to our team"));
    // "Would you like a demo? yes" raises it; "newsletter: no" does not.
    let demo = event(&got, Signal::DemoRequested);
    assert_eq!(demo.id.as_str(), "typeform:LtWXD3crgy:demo_requested");
    assert!(demo.profile.is_empty());
    assert!(!signals(&got).contains(&Signal::NewsletterSubscribed));
}

#[test]
fn a_form_that_identifies_nobody_is_ignored() {
    let got = receive_fixture("typeform", "typeform/form_response_no_email.json");
    assert!(got.events.is_empty());
    assert_eq!(got.ignored, 1);
}

#[test]
fn other_typeform_event_types_are_ignored() {
    let body = br#"{"event_id":"x1","event_type":"form_partial_response","form_response":{}}"#;
    let got = World::new()
        .receive("typeform", &signed("typeform", body, NOW))
        .unwrap();
    assert_eq!((got.events.len(), got.ignored), (0, 1));
}

#[test]
fn webflow_labels_are_read_by_meaning_and_the_form_name_raises_a_demo() {
    let got = receive_fixture("webflow", "webflow/form_submission.json");
    let form = event(&got, Signal::FormSubmitted);
    assert_eq!(form.id.as_str(), "webflow:6321ca84df3949bfc6752327");
    assert_eq!(email_of(form), "zaphod@heartofgold.ai");
    assert_eq!(form.profile.first_name.as_deref(), Some("Zaphod"));
    assert_eq!(form.profile.last_name.as_deref(), Some("Beeblebrox"));
    assert_eq!(form.profile.phone.as_deref(), Some("15550000000"));
    assert_eq!(form.profile.company.as_deref(), Some("Heart of Gold"));
    assert_eq!(form.profile.country.as_deref(), Some("GB"));
    assert!(signals(&got).contains(&Signal::DemoRequested));
}

#[test]
fn an_email_under_any_label_is_found_by_its_value() {
    let body = br#"{"triggerType":"form_submission","payload":{"name":"Hello","id":"w2",
        "data":{"Ou vous joindre":"Jo@Example.org","Couleur":"bleu"}}}"#;
    let got = World::new()
        .receive("webflow", &signed("webflow", body, NOW))
        .unwrap();
    let form = event(&got, Signal::FormSubmitted);
    assert_eq!(email_of(form), "jo@example.org");
    assert_eq!(
        form.profile.custom.get("couleur").map(String::as_str),
        Some("bleu")
    );
    assert_eq!(form.occurred_at, Timestamp::from_unix_seconds(NOW));
}

#[test]
fn tally_choices_show_their_text_and_raise_signals() {
    let got = receive_fixture("tally", "tally/form_response.json");
    let form = event(&got, Signal::FormSubmitted);
    assert_eq!(
        form.id.as_str(),
        "tally:02ee4066-93f1-446b-8115-259577c22366"
    );
    assert_eq!(email_of(form), "john@company.com");
    assert_eq!(form.bant.budget, Some(25_000));
    assert_eq!(form.bant.timeline_months, Some(6));
    assert_eq!(form.bant.authority.as_deref(), Some("decision_maker"));
    assert_eq!(
        form.bant.need.as_deref(),
        Some("Too many unqualified leads")
    );
    assert_eq!(
        form.attributes.form.as_deref(),
        Some("Lead Generation Form")
    );
    assert!(signals(&got).contains(&Signal::FreeTrialStarted));
}

#[test]
fn hubspot_workflow_contacts_are_read_and_api_events_ignored() {
    let got = receive_fixture("hubspot", "hubspot/workflow_contact.json");
    let form = event(&got, Signal::FormSubmitted);
    assert_eq!(email_of(form), "grace@bigcorp.com");
    assert_eq!(form.profile.job_title.as_deref(), Some("VP Engineering"));
    assert_eq!(form.profile.company_size, Some(1001));
    assert_eq!(form.profile.industry.as_deref(), Some("Software"));
    assert_eq!(form.profile.country.as_deref(), Some("US"));
    assert_eq!(form.attributes.form.as_deref(), Some("Contact sales form"));
    assert_eq!(form.occurred_at, Timestamp::from_millis(1_795_341_480_000));
    assert!(!form.profile.custom.contains_key("hs_analytics_source"));
    assert!(signals(&got).contains(&Signal::ContactRequested));

    let api = receive_fixture("hubspot", "hubspot/webhooks_api.json");
    assert_eq!((api.events.len(), api.ignored), (0, 1));
}

#[test]
fn hubspot_signs_the_exact_url() {
    let mut req = signed("hubspot", &fixture("hubspot/workflow_contact.json"), NOW);
    req.url.push_str("?extra=1");
    assert!(matches!(
        World::new().receive("hubspot", &req),
        Err(AdapterError::Unauthorized(_))
    ));
}

#[test]
fn jotform_raw_request_fields_are_read() {
    let got = receive_fixture("jotform", "jotform/submission.txt");
    let form = event(&got, Signal::FormSubmitted);
    assert_eq!(form.id.as_str(), "jotform:5790000000000000001");
    assert_eq!(email_of(form), "amelia@flight.example");
    assert_eq!(form.profile.first_name.as_deref(), Some("Amelia"));
    assert_eq!(form.profile.last_name.as_deref(), Some("Earhart"));
    assert_eq!(
        form.profile.job_title.as_deref(),
        Some("Director of Operations")
    );
    assert_eq!(form.profile.company_size, Some(250));
    assert_eq!(form.bant.timeline_months, Some(0));
    // "Request a quote" is a contact request; the ticked newsletter box a subscription.
    assert!(signals(&got).contains(&Signal::ContactRequested));
    assert!(signals(&got).contains(&Signal::NewsletterSubscribed));
}

#[test]
fn jotform_needs_the_token_in_the_url() {
    let mut req = signed("jotform", &fixture("jotform/submission.txt"), NOW);
    req.url = url_of("jotform");
    match World::new().receive("jotform", &req) {
        Err(AdapterError::Unauthorized(m)) => assert!(m.contains("token"), "{m}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn html_forms_read_fields_and_drop_honeypot_submissions() {
    let world = World::new();
    let got = world
        .receive("html", &signed("html", &fixture("html/contact.form"), NOW))
        .unwrap();
    let form = event(&got, Signal::FormSubmitted);
    assert_eq!(email_of(form), "ada@example.com");
    assert_eq!(form.profile.company.as_deref(), Some("Acme"));
    assert_eq!(form.attributes.form.as_deref(), Some("Contact us"));
    assert!(!form.profile.custom.contains_key("_gotcha"));

    let bot = world
        .receive("html", &signed("html", &fixture("html/honeypot.form"), NOW))
        .unwrap();
    assert_eq!((bot.events.len(), bot.ignored), (0, 1));
}

#[test]
fn html_origins_are_checked() {
    let world = World::new();
    let body = fixture("html/contact.form");
    let ok = |req: Request| world.receive("html", &req).is_ok();
    // Listed with a trailing slash in the configuration: still matches.
    assert!(ok(
        signed("html", &body, NOW).with_header("origin", "https://example.com")
    ));
    // No Origin: the Referer's origin counts.
    assert!(ok(signed("html", &body, NOW)
        .without_header("origin")
        .with_header("referer", "https://www.example.com/contact?x=1")));
    for (origin, referer) in [
        (Some("https://www.example.com.evil.io"), None),
        (Some("http://www.example.com"), None),
        (Some("null"), None),
        (None, Some("https://evil.example/page")),
        (None, None),
    ] {
        let mut req = signed("html", &body, NOW).without_header("origin");
        if let Some(o) = origin {
            req = req.with_header("origin", o);
        }
        if let Some(r) = referer {
            req = req.with_header("referer", r);
        }
        assert!(
            matches!(
                world.receive("html", &req),
                Err(AdapterError::OriginNotAllowed(_))
            ),
            "{origin:?} {referer:?}"
        );
    }
}

#[test]
fn html_accepts_multipart_forms() {
    let body = "--b1\r\nContent-Disposition: form-data; name=\"email\"\r\n\r\nmo@example.com\r\n--b1\r\nContent-Disposition: form-data; name=\"whitepaper\"\r\n\r\nscoring-guide.pdf\r\n--b1--\r\n";
    let req = signed("html", body.as_bytes(), NOW)
        .with_header("content-type", "multipart/form-data; boundary=b1");
    let got = World::new().receive("html", &req).unwrap();
    let download = event(&got, Signal::ContentDownloaded);
    assert_eq!(
        download.attributes.asset.as_deref(),
        Some("scoring-guide.pdf")
    );
    assert_eq!(email_of(download), "mo@example.com");
}

#[test]
fn html_forms_keep_no_human_verification_token() {
    // The edge verifies the widget's token; it is not an answer to keep on the lead.
    let mut body = fixture("html/contact.form");
    body.extend_from_slice(
        b"&cf-turnstile-response=0.tok&h-captcha-response=P1_tok&g-recaptcha-response=03A_tok",
    );
    let got = World::new()
        .receive("html", &signed("html", &body, NOW))
        .unwrap();
    for event in &got.events {
        assert!(
            !format!("{:?}", event.profile).contains("tok"),
            "{:?}",
            event.profile
        );
    }
    let form = event(&got, Signal::FormSubmitted);
    assert_eq!(form.profile.company.as_deref(), Some("Acme"));
}

#[test]
fn html_submissions_within_a_minute_are_one_submission() {
    let world = World::new();
    let body = fixture("html/contact.form");
    let at = |s: i64| {
        ids(&world
            .receive("html", &signed("html", &body, NOW).received_at(s))
            .unwrap())
    };
    assert_eq!(at(NOW + 5), at(NOW + 50));
    assert_ne!(at(NOW + 5), at(NOW + 65));
}

#[test]
fn segment_identify_page_and_track_calls() {
    let world = World::new();
    let identify = world
        .receive(
            "segment",
            &signed("segment", &fixture("segment/identify.json"), NOW),
        )
        .unwrap();
    let visit = event(&identify, Signal::SiteVisit);
    assert_eq!(visit.id.as_str(), "segment:ajs-77aa0002");
    assert_eq!(email_of(visit), "ada@example.com");
    assert_eq!(
        visit.identity.anonymous_id.as_ref().unwrap().as_str(),
        "a-9f1"
    );
    assert_eq!(visit.profile.job_title.as_deref(), Some("CTO"));
    assert_eq!(visit.profile.company.as_deref(), Some("Acme"));
    assert_eq!(visit.profile.company_size, Some(250));
    assert_eq!(visit.profile.industry.as_deref(), Some("Software"));

    let page = world
        .receive(
            "segment",
            &signed("segment", &fixture("segment/page.json"), NOW),
        )
        .unwrap();
    let visit = event(&page, Signal::SiteVisit);
    assert_eq!(
        visit.attributes.url.as_deref(),
        Some("https://example.com/pricing")
    );
    assert!(visit.identity.email.is_none());

    let track = world
        .receive(
            "segment",
            &signed("segment", &fixture("segment/track.json"), NOW),
        )
        .unwrap();
    let video = event(&track, Signal::DemoVideoWatched);
    assert_eq!(video.attributes.asset.as_deref(), Some("product-tour"));
    assert_eq!(
        video.attributes.url.as_deref(),
        Some("https://example.com/tour")
    );

    let unmapped = world
        .receive(
            "segment",
            &signed("segment", &fixture("segment/track_unmapped.json"), NOW),
        )
        .unwrap();
    assert_eq!((unmapped.events.len(), unmapped.ignored), (0, 1));
}

#[test]
fn segment_batches_and_rudderstack_tokens() {
    let batch = format!(
        "{{\"batch\":[{},{}]}}",
        String::from_utf8(fixture("segment/track.json")).unwrap(),
        String::from_utf8(fixture("segment/page.json")).unwrap()
    );
    let req = signed("segment", batch.as_bytes(), NOW)
        .without_header("x-signature")
        .with_header("authorization", "Bearer segment-test-secret");
    let got = World::new().receive("segment", &req).unwrap();
    assert_eq!(
        signals(&got),
        vec![Signal::DemoVideoWatched, Signal::SiteVisit]
    );
    let wrong = req.with_header("authorization", "Bearer nope");
    assert!(matches!(
        World::new().receive("segment", &wrong),
        Err(AdapterError::Unauthorized(_))
    ));
}

#[test]
fn json_events_are_accepted_on_every_route() {
    let world = World::new();
    let req = signed("json", &fixture("json/batch.json"), NOW);
    let ctx = leadscore_providers::Context {
        secrets: &world.secrets,
        mapping: &world.mapping,
        sns_certificates: &world.certs,
    };
    let routes = [Channel::Forms, Channel::Chatbot, Channel::Email];
    // Every route of this build (tests/features.rs: the others refuse it).
    for channel in routes.into_iter().filter(|c| c.is_built()) {
        let got = leadscore_providers::receive(channel, "json", &req.inbound(), &ctx).unwrap();
        assert_eq!(ids(&got), vec!["json:evt_200", "json:evt_201"]);
        assert_eq!(
            signals(&got),
            vec![Signal::SiteVisit, Signal::ContentDownloaded]
        );
    }
    let single = world
        .receive(
            "json",
            &signed("json", &fixture("json/demo_requested.json"), NOW),
        )
        .unwrap();
    let demo = &single.events[0];
    assert_eq!(demo.profile.company_size, Some(250));
    assert_eq!(demo.profile.country.as_deref(), Some("FR"));
    assert_eq!(demo.attributes.campaign.as_deref(), Some("q4-webinar"));
    assert_eq!(
        demo.identity.anonymous_id.as_ref().unwrap().as_str(),
        "anon-42"
    );
}

#[test]
fn json_without_occurred_at_is_dated_by_its_signature() {
    let body = br#"{"id":"e9","type":"site_visit","anonymous_id":"v-1"}"#;
    let got = World::new()
        .receive("json", &signed("json", body, NOW - 100))
        .unwrap();
    assert_eq!(
        got.events[0].occurred_at,
        Timestamp::from_unix_seconds(NOW - 100)
    );
}
