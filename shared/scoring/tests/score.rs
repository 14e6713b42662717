//! Scores with the default rules: decay, expiry, limits, caps, bots, fit and grade, each
//! explained line by line.

mod common;
use common::*;
use leadscore_scoring::*;

fn lines(b: &ScoreBreakdown) -> Vec<(String, i64)> {
    b.contributions
        .iter()
        .map(|c| (c.rule.clone(), c.points))
        .collect()
}

/// The behaviour lines only (the test lead's corporate email adds a fit line).
fn behaviour(b: &ScoreBreakdown) -> Vec<(String, i64)> {
    lines(b)
        .into_iter()
        .filter(|(rule, _)| !rule.starts_with("fit:"))
        .collect()
}

#[test]
fn points_halve_with_the_half_life_and_expire() {
    let rules = defaults();
    // content_downloaded: 8 points, group content (half-life 60 days, expiry 365 days).
    let state = run(&rules, &[event("dl", Signal::ContentDownloaded, t(0))]);
    let at = |days| score(&state, &rules, t(days * DAY)).engagement;
    assert_eq!(at(0), 8);
    assert_eq!(at(60), 4);
    assert_eq!(at(120), 2);
    assert_eq!(at(364), 0); // 8 * 0.5^(364/60) rounds to 0
                            // email_clicked: group email expires after 180 days, while still worth a point.
    let click = run(&rules, &[event("c", Signal::EmailClicked, t(0))]);
    assert_eq!(score(&click, &rules, t(179 * DAY)).engagement, 0);
    assert_eq!(score(&click, &rules, t(30 * DAY)).engagement, 2);
}

#[test]
fn negative_points_never_decay() {
    let rules = defaults();
    let state = run(&rules, &[event("sp", Signal::SpamComplaint, t(0))]);
    assert_eq!(score(&state, &rules, t(0)).engagement, -50);
    assert_eq!(score(&state, &rules, t(3_000 * DAY)).engagement, -50);
}

#[test]
fn frequency_limits_and_caps_are_explained() {
    let rules = defaults();
    // 20 opens in one day count once (limit 1 per day); 15 days of opens hit the 10-point cap.
    let same_day: Vec<Event> = (0..20)
        .map(|i| event(&format!("o{i}"), Signal::EmailOpened, t(i * 60_000)))
        .collect();
    let state = run(&rules, &same_day);
    assert_eq!(
        behaviour(&score(&state, &rules, t(HOUR))),
        vec![("signal:email_opened".to_string(), 1)]
    );
    let daily: Vec<Event> = (0..15)
        .map(|i| event(&format!("d{i}"), Signal::EmailOpened, t(i * DAY)))
        .collect();
    let state = run(&rules, &daily);
    assert_eq!(
        behaviour(&score(&state, &rules, t(14 * DAY))),
        vec![("signal:email_opened".to_string(), 10)]
    );
}

#[test]
fn group_and_engagement_caps_show_as_their_own_lines() {
    let rules = defaults();
    // Every hand-raise at once: intent group capped at 100, engagement at 150.
    let mut events: Vec<Event> = Signal::ALL
        .iter()
        .filter(|s| s.is_hand_raise())
        .enumerate()
        .map(|(i, s)| event(&format!("h{i}"), *s, t(0)))
        .collect();
    events.extend((0..4).map(|i| event(&format!("dl{i}"), Signal::ContentDownloaded, t(0))));
    events.extend((0..4).map(|i| event(&format!("f{i}"), Signal::FormSubmitted, t(0))));
    events.extend((0..4).map(|i| event(&format!("v{i}"), Signal::DemoVideoWatched, t(0))));
    events.extend((0..4).map(|i| event(&format!("r{i}"), Signal::ReferralMade, t(0))));
    let state = run(&rules, &events);
    let b = score(&state, &rules, t(0));
    let l = lines(&b);
    // 40+35+30+40+20+25+35 = 225 -> 100
    assert!(l.contains(&("cap:group:intent".to_string(), -125)), "{l:?}");
    // 32 + 20 = 52 -> 50
    assert!(l.contains(&("cap:group:content".to_string(), -2)), "{l:?}");
    // 100 + 50 + 16 + 40 = 206 -> 150
    assert!(l.contains(&("cap:engagement".to_string(), -56)), "{l:?}");
    assert_eq!(b.engagement, 150);
    assert_eq!(l.iter().map(|(_, p)| p).sum::<i64>(), b.total);
}

#[test]
fn bot_events_are_kept_but_never_scored() {
    let rules = defaults();
    let mut scanner = event("c1", Signal::EmailClicked, t(0));
    scanner.bot = Some(BotVerdict {
        is_bot: true,
        reason: "scanner user agent".into(),
    });
    let state = run(&rules, &[scanner]);
    assert_eq!(state.hits.len(), 1);
    assert_eq!(state.hits[0].bot.as_deref(), Some("scanner user agent"));
    assert_eq!(score(&state, &rules, t(0)).engagement, 0);
    assert!(state.signal_counts().is_empty());
}

#[test]
fn a_burst_of_clicks_across_deliveries_scores_zero_and_a_human_click_scores() {
    let rules = defaults();
    let click = |id: &str, ms: i64, message: &str, link: &str| {
        let mut e = event(id, Signal::EmailClicked, t(ms));
        e.attributes.message_id = Some(message.into());
        e.attributes.url = Some(format!("https://acme.io/{link}"));
        e
    };
    // A scanner follows four links of message m1 within 1.2 s, in separate webhook calls.
    let mut events = vec![
        click("s1", 0, "m1", "a"),
        click("s2", 400, "m1", "b"),
        click("s3", 800, "m1", "c"),
        click("s4", 1_200, "m1", "d"),
    ];
    let state = run(&rules, &events);
    assert!(state
        .hits
        .iter()
        .all(|h| h.bot.as_deref().is_some_and(|r| r.starts_with("burst: "))));
    assert_eq!(score(&state, &rules, t(HOUR)).engagement, 0);
    // The person reads the mail later and clicks one link.
    events.push(click("p1", HOUR, "m1", "pricing"));
    let state = run(&rules, &events);
    assert_eq!(
        behaviour(&score(&state, &rules, t(HOUR))),
        vec![("signal:email_clicked".to_string(), 3)]
    );
}

fn with_profile(email: &str, profile: Profile) -> LeadState {
    let rules = defaults();
    let identity = Identity::new(Some(Email::parse(email).unwrap()), None).unwrap();
    let mut e = Event::new(
        EventId::parse("form").unwrap(),
        Signal::FormSubmitted,
        t(0),
        identity,
    );
    e.profile = profile;
    let state = LeadState::for_event(&e);
    apply(&state, &e, &rules, t(0)).unwrap().state
}

#[test]
fn fit_rules_and_grades() {
    let rules = defaults();
    let table: Vec<(&str, Profile, Vec<&str>, Grade)> = vec![
        (
            "ada@acme.io",
            Profile {
                job_title: Some("Co-Founder & CTO".into()),
                industry: Some("SaaS".into()),
                company_size: Some(250),
                country: Some("FR".into()),
                ..Profile::default()
            },
            vec![
                "fit:decision_maker",
                "fit:target_industry",
                "fit:mid_market",
                "fit:served_country",
                "fit:corporate_email",
            ],
            Grade::A,
        ),
        (
            "bob@gmail.com",
            Profile {
                job_title: Some("Director of Sales".into()),
                company_size: Some(20_000),
                ..Profile::default()
            },
            vec!["fit:decision_maker", "fit:enterprise", "fit:free_email"],
            Grade::C, // 20 + 10 - 10 = 20: C starts at 10, B at 25
        ),
        (
            // A sub-domain of a disposable-mail domain is disposable too.
            "eve@mail.yopmail.com",
            Profile {
                job_title: Some("Intern".into()),
                company_size: Some(3),
                ..Profile::default()
            },
            vec!["fit:micro_company", "fit:disposable_email"],
            Grade::D,
        ),
    ];
    for (email, profile, expected, grade) in table {
        let state = with_profile(email, profile);
        let b = score(&state, &rules, t(0));
        let fit_lines: Vec<String> = b
            .contributions
            .iter()
            .filter(|c| c.rule.starts_with("fit:") || c.rule == "cap:fit")
            .map(|c| c.rule.clone())
            .collect();
        assert_eq!(fit_lines, expected, "{email}");
        assert_eq!(b.grade, grade, "{email}: fit {}", b.fit);
    }
}

#[test]
fn fit_is_capped() {
    let rules = defaults();
    let state = with_profile(
        "ceo@acme.io",
        Profile {
            job_title: Some("CEO".into()),
            seniority: Some("c_level".into()),
            industry: Some("software".into()),
            company_size: Some(800),
            country: Some("US".into()),
            ..Profile::default()
        },
    );
    let b = score(&state, &rules, t(0));
    // 20 + 10 + 10 + 15 + 5 + 5 = 65 -> 60
    assert_eq!(b.fit, 60);
    assert!(lines(&b).contains(&("cap:fit".to_string(), -5)));
}

#[test]
fn later_profile_answers_win_and_late_ones_only_fill_gaps() {
    let rules = defaults();
    let mut newer = event("new", Signal::FormSubmitted, t(DAY));
    newer.profile.job_title = Some("CTO".into());
    let mut older = event("old", Signal::FormSubmitted, t(0));
    older.profile.job_title = Some("Engineer".into());
    older.profile.company = Some("Acme".into());
    let state = run(&rules, &[newer, older]);
    assert_eq!(state.profile.job_title.as_deref(), Some("CTO"));
    assert_eq!(state.profile.company.as_deref(), Some("Acme"));
}

#[test]
fn events_from_the_future_count_as_now() {
    let rules = defaults();
    let e = event("f", Signal::ContentDownloaded, t(10 * DAY));
    let state = LeadState::for_event(&e);
    let state = apply(&state, &e, &rules, t(0)).unwrap().state;
    assert_eq!(state.hits[0].at, t(0));
    assert_eq!(state.last_seen, t(0));
}

#[test]
fn clicks_without_an_open_are_bots_when_the_rules_say_so() {
    let text =
        DEFAULT_RULES_TOML.replace("click_without_open = false", "click_without_open = true");
    let rules = Rules::from_toml_str(&text).unwrap();
    let with_message = |id: &str, signal: Signal, ms: i64, message: &str| {
        let mut e = event(id, signal, t(ms));
        e.attributes.message_id = Some(message.into());
        e
    };
    // m1: clicked, never opened. m2: the open is delivered after the click.
    let state = run(
        &rules,
        &[
            with_message("c1", Signal::EmailClicked, 0, "m1"),
            with_message("c2", Signal::EmailClicked, HOUR, "m2"),
            with_message("o2", Signal::EmailOpened, HOUR - 5_000, "m2"),
        ],
    );
    let verdict = |id: &str| {
        state
            .hits
            .iter()
            .find(|h| h.event.as_str() == id)
            .unwrap()
            .bot
            .clone()
    };
    assert_eq!(verdict("c1").as_deref(), Some("click without open"));
    assert_eq!(verdict("c2"), None);
    assert_eq!(state.signal_counts()[&Signal::EmailClicked], 1);
    // With the shipped default (off), both clicks count.
    let state = run(
        &defaults(),
        &[
            with_message("c1", Signal::EmailClicked, 0, "m1"),
            with_message("c2", Signal::EmailClicked, HOUR, "m2"),
        ],
    );
    assert_eq!(state.signal_counts()[&Signal::EmailClicked], 2);
}
