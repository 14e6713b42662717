//! A lead is a function of its set of events: arrival order, batching and late delivery
//! change nothing but when moves were recorded (proptest and the issue's examples).

mod common;
use common::*;
use leadscore_scoring::*;
use proptest::prelude::*;

/// The lead with what only arrival decides (when moves were recorded) blanked out.
fn folded(state: &LeadState) -> LeadState {
    let mut s = state.clone();
    s.stage_recorded_at = Timestamp::default();
    for t in s.stage_history.iter_mut() {
        t.recorded_at = Timestamp::default();
    }
    if let Some(c) = s.checkpoint.as_mut() {
        for t in c.funnel.stage_history.iter_mut() {
            t.recorded_at = Timestamp::default();
        }
    }
    s
}

/// Delivers `events` one by one in the given order at `now`; refused sales actions are
/// dropped, as the API's 409 drops them. Returns the lead and the events it accepted.
fn deliver(rules: &Rules, events: &[Event], now: Timestamp) -> (LeadState, Vec<Event>) {
    let mut state = LeadState::for_event(&events[0]);
    let mut accepted = Vec::new();
    for e in events {
        if let Ok(out) = apply(&state, e, rules, now) {
            if !out.duplicate {
                accepted.push(clamped(e, now));
            }
            state = out.state;
        }
    }
    (state, accepted)
}

fn six_events() -> Vec<Event> {
    let now = 10 * DAY;
    let mut subscribe = event("newsletter", Signal::NewsletterSubscribed, t(now - 9 * DAY));
    subscribe.profile.job_title = Some("CTO".into());
    vec![
        event("visit-10", Signal::SiteVisit, t(now - 10 * DAY)),
        subscribe,
        event("visit-6", Signal::SiteVisit, t(now - 6 * DAY)),
        event("click-5", Signal::EmailClicked, t(now - 5 * DAY)),
        event("visit-3", Signal::SiteVisit, t(now - 3 * DAY)),
        event("follow-1", Signal::SocialFollowed, t(now - DAY)),
    ]
}

#[test]
fn six_events_make_an_mql_in_any_order() {
    let rules = defaults();
    let now = t(10 * DAY);
    let in_order = deliver(&rules, &six_events(), now).0;
    assert_eq!(in_order.stage, Stage::Mql);
    let mql = in_order.stage_history.last().unwrap();
    assert_eq!(mql.cause.to_string(), "rule:mql.engaged_subscriber");
    // Dated by the follow that completed the evidence, not by the last arrival.
    assert_eq!(mql.at, t(9 * DAY));

    let mut reversed = six_events();
    reversed.reverse();
    let mut shuffled = six_events();
    shuffled.swap(0, 4);
    shuffled.swap(1, 5);
    for order in [reversed, shuffled] {
        let lead = deliver(&rules, &order, now).0;
        assert_eq!(folded(&lead), folded(&in_order));
        assert_eq!(score(&lead, &rules, now), score(&in_order, &rules, now));
    }
}

#[test]
fn a_move_found_late_is_recorded_when_it_is_found() {
    let rules = defaults();
    let mut events = six_events();
    let visit = events.remove(4);
    // Everything but the visit of three days ago arrives first; it comes a day later.
    let (state, _) = deliver(&rules, &events, t(10 * DAY));
    assert_eq!(state.stage, Stage::Lead);
    let later = t(11 * DAY);
    let out = apply(&state, &visit, &rules, later).unwrap();
    assert_eq!(out.state.stage, Stage::Mql);
    assert_eq!(out.transitions.len(), 1);
    assert_eq!(out.transitions[0].at, t(9 * DAY));
    assert_eq!(out.transitions[0].recorded_at, later);
    assert_eq!(out.state.stage_recorded_at, later);
    // The move to lead was recorded before and keeps its time.
    assert_eq!(out.state.stage_history[0].recorded_at, t(10 * DAY));
}

#[test]
fn an_event_from_the_future_is_kept_at_the_time_it_was_clamped_to() {
    let rules = defaults();
    let now = t(DAY);
    let ahead = event("ahead", Signal::DemoRequested, t(30 * DAY));
    let state = apply(&LeadState::for_event(&ahead), &ahead, &rules, now)
        .unwrap()
        .state;
    assert_eq!(state.hits[0].at, now);
    assert_eq!(state.stage_entered_at, now);
    let stored = clamped(&ahead, now);
    assert_eq!(stored.occurred_at, now);
    let again = rebuild(&state, &[stored], &rules, t(40 * DAY));
    assert_eq!(folded(&again), folded(&state));
}

#[test]
fn a_sales_action_that_late_evidence_made_moot_is_kept_as_superseded() {
    let rules = defaults();
    let now = t(2 * DAY);
    let visit = event("visit", Signal::SiteVisit, t(0));
    let accept = sales("accept", Signal::SalesAccepted, t(DAY), None);
    let (state, _) = deliver(&rules, &[visit, accept], now);
    assert_eq!(state.stage, Stage::Sql);
    // A demo request made before the accept arrives: the lead was an SQL already.
    let demo = event("demo", Signal::DemoRequested, t(DAY / 2));
    let state = apply(&state, &demo, &rules, now).unwrap().state;
    assert_eq!(state.stage, Stage::Sql);
    let last = state.stage_history.last().unwrap();
    assert_eq!(last.cause.to_string(), "rule:sql.hand_raise.demo_requested");
    assert_eq!(state.superseded.len(), 1);
    assert_eq!(state.superseded[0].action, Signal::SalesAccepted);
    assert_eq!(state.superseded[0].stage, Stage::Sql);
    // The API still refuses what the current stage does not allow.
    let again = sales("accept-2", Signal::SalesAccepted, now, None);
    assert!(apply(&state, &again, &rules, now).is_err());
}

#[test]
fn events_older_than_the_lateness_window_still_count_from_the_checkpoint_on() {
    let rules = defaults();
    let now = t(100 * DAY);
    // Sixty days of history build a checkpoint 30 days behind the newest event.
    let mut events: Vec<Event> = (0..60)
        .map(|d| event(&format!("open-{d}"), Signal::EmailOpened, t((40 + d) * DAY)))
        .collect();
    events.push(event("sub", Signal::NewsletterSubscribed, t(41 * DAY)));
    let (state, _) = deliver(&rules, &events, now);
    let checkpoint = state.checkpoint.as_ref().expect("a checkpoint").at;
    assert!(checkpoint >= t(69 * DAY) && checkpoint <= t(70 * DAY));
    assert_eq!(state.stage, Stage::Lead);

    // A visit and a follow from before the checkpoint arrive late: they are scored, and the
    // combination they complete qualifies the lead, dated at the checkpoint (moves before it
    // are final).
    let mut late = state.clone();
    for (id, signal, day) in [
        ("v1", Signal::SiteVisit, 60),
        ("v2", Signal::SiteVisit, 61),
        ("v3", Signal::SiteVisit, 62),
        ("follow", Signal::SocialFollowed, 63),
    ] {
        late = apply(&late, &event(id, signal, t(day * DAY)), &rules, now)
            .unwrap()
            .state;
    }
    assert_eq!(late.stage, Stage::Mql);
    assert_eq!(late.stage_entered_at, checkpoint);
    assert_eq!(late.signal_counts()[&Signal::SiteVisit], 3);
    let before = score(&state, &rules, now).engagement;
    assert!(score(&late, &rules, now).engagement > before);
    // An old profile answer only fills gaps.
    let mut old = event("old-form", Signal::FormSubmitted, t(50 * DAY));
    old.profile.company = Some("Acme".into());
    let late = apply(&late, &old, &rules, now).unwrap().state;
    assert_eq!(late.profile.company.as_deref(), Some("Acme"));
}

#[test]
fn the_working_state_stays_bounded_over_years_of_engagement() {
    let rules = defaults();
    let kinds = [
        Signal::EmailOpened,
        Signal::EmailClicked,
        Signal::SiteVisit,
        Signal::ContentDownloaded,
        Signal::DemoVideoWatched,
        Signal::ChatbotQuestion,
    ];
    let mut state = LeadState::for_event(&event("first", Signal::FormSubmitted, t(0)));
    let mut sizes = Vec::new();
    let mut n = 0;
    for day in 0..730i64 {
        for (k, signal) in kinds.iter().enumerate() {
            // Every kind every day, several times a day for opens and visits.
            for rep in 0..if k < 3 { 3 } else { 1 } {
                n += 1;
                let at = t(day * DAY + (k as i64 * 3 + rep) * HOUR);
                let mut e = event(&format!("e{n}"), *signal, at);
                e.attributes.message_id = Some(format!("m{day}"));
                state = apply(&state, &e, &rules, at).unwrap().state;
            }
        }
        if day == 364 || day == 729 {
            sizes.push(serde_json::to_vec(&state).unwrap().len());
        }
    }
    let (one_year, two_years) = (sizes[0], sizes[1]);
    assert!(two_years < 64 * 1024, "{two_years} bytes after two years");
    // Bounded by the rules' windows, not by the history: the second year adds nothing.
    assert!(
        (two_years as f64) < one_year as f64 * 1.1,
        "{one_year} -> {two_years} bytes"
    );
    assert_eq!(state.events, n);
    let counts = state.signal_counts();
    assert_eq!(counts[&Signal::EmailOpened], 3 * 730);
}

// ---- random histories ----

fn any_signal() -> impl Strategy<Value = Signal> {
    proptest::sample::select(Signal::ALL.to_vec())
}

fn arb_event() -> impl Strategy<Value = Event> {
    (
        any_signal(),
        0i64..(20 * 24),
        0u8..4,
        proptest::option::of(proptest::sample::select(vec![
            "CTO",
            "Intern",
            "Head of IT",
        ])),
        proptest::option::of(5_000u64..50_000),
        proptest::option::of(1u32..12),
        proptest::option::of(prop_oneof![Just("m1"), Just("m2")]),
        0u8..10,
    )
        .prop_map(
            |(signal, hour, minute, title, budget, timeline, message, bot)| {
                // Hours and a few minutes within them: distinct times and many ties.
                let at = t(hour * HOUR + minute as i64 * 60_000);
                let mut e = if signal.kind() == SignalKind::SalesFeedback {
                    sales("x", signal, at, Some("because"))
                } else {
                    event("x", signal, at)
                };
                e.profile.job_title = title.map(str::to_string);
                e.bant.budget = budget;
                e.bant.timeline_months = timeline;
                if budget.is_some() {
                    e.bant.authority = Some("cto".into());
                    e.bant.need = Some("a CRM".into());
                }
                e.attributes.message_id = message.map(str::to_string);
                if bot == 0 && signal.kind() != SignalKind::SalesFeedback {
                    e.bot = Some(BotVerdict {
                        is_bot: true,
                        reason: "scanner user agent".into(),
                    });
                }
                e
            },
        )
}

fn arb_history() -> impl Strategy<Value = Vec<Event>> {
    proptest::collection::vec(arb_event(), 1..30).prop_map(|v| {
        v.into_iter()
            .enumerate()
            .map(|(i, mut e)| {
                e.id = EventId::parse(&format!("e{i:02}")).unwrap();
                e
            })
            .collect()
    })
}

fn shuffle<T>(items: &mut [T], seed: u64) {
    let mut x = seed | 1;
    for i in (1..items.len()).rev() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        items.swap(i, (x % (i as u64 + 1)) as usize);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Whatever order events arrive in, the lead is the fold of the events it accepted, which
    /// is what `rebuild` computes from the ledger.
    #[test]
    fn a_lead_is_the_fold_of_the_events_it_accepted(events in arb_history(), seed in any::<u64>()) {
        let rules = defaults();
        let now = t(21 * DAY);
        let mut order = events.clone();
        shuffle(&mut order, seed);
        let (lead, accepted) = deliver(&rules, &order, now);
        let again = rebuild(&lead, &accepted, &rules, now);
        prop_assert_eq!(folded(&again), folded(&lead));
        prop_assert_eq!(score(&again, &rules, now), score(&lead, &rules, now));
    }

    /// Without sales decisions every event is accepted, so any two orders give one lead.
    #[test]
    fn behaviour_in_any_order_gives_the_same_lead(events in arb_history(), a in any::<u64>(), b in any::<u64>()) {
        let rules = defaults();
        let now = t(21 * DAY);
        let behaviour: Vec<Event> = events
            .into_iter()
            .filter(|e| e.signal.kind() != SignalKind::SalesFeedback)
            .collect();
        prop_assume!(!behaviour.is_empty());
        let (mut one, mut two) = (behaviour.clone(), behaviour);
        shuffle(&mut one, a);
        shuffle(&mut two, b);
        let x = deliver(&rules, &one, now).0;
        let y = deliver(&rules, &two, now).0;
        prop_assert_eq!(folded(&x), folded(&y));
        prop_assert_eq!(score(&x, &rules, now), score(&y, &rules, now));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(40))]

    /// Summarising old hits changes no score and no move: a long history folded with the
    /// default 30-day lateness window scores like the same history never summarised.
    #[test]
    fn summaries_change_no_score(
        kinds in proptest::collection::vec(any_signal(), 200..400),
        gaps in proptest::collection::vec(1i64..(3 * 24), 400),
        later in proptest::collection::vec(0i64..400, 3),
    ) {
        let rules = defaults();
        let never = Rules::from_toml_str(
            &DEFAULT_RULES_TOML.replace("lateness_days = 30", "lateness_days = 3650"),
        )
        .unwrap();
        let mut at = 0;
        let mut events = Vec::new();
        for (i, (signal, gap)) in kinds.iter().zip(&gaps).enumerate() {
            if signal.kind() == SignalKind::SalesFeedback {
                continue;
            }
            at += gap * HOUR;
            let mut e = event(&format!("s{i:04}"), *signal, t(at));
            e.attributes.message_id = Some(format!("m{}", i / 4));
            events.push(e);
        }
        let end = t(at);
        let summarised = deliver(&rules, &events, end).0;
        let whole = deliver(&never, &events, end).0;
        prop_assert!(summarised.checkpoint.is_some());
        prop_assert!(whole.summaries.is_empty());
        prop_assert!(summarised.hits.len() < whole.hits.len());
        prop_assert_eq!(&summarised.stage_history, &whole.stage_history);
        prop_assert_eq!(summarised.signal_counts(), whole.signal_counts());
        for days in later {
            let now = end.plus_millis(days * DAY);
            prop_assert_eq!(score(&summarised, &rules, now), score(&whole, &never, now), "{} days on", days);
        }
    }
}

fn three_follows_and_two_clicks_within_3_days() -> String {
    // Follows never expire: once summarised, only the window keeps their times one by one.
    DEFAULT_RULES_TOML
        .replace("engagement_at_least = 50", "engagement_at_least = 100000")
        .replace(
            "{ signal = \"newsletter_subscribed\" },",
            "{ signal = \"email_clicked\", at_least = 2 },",
        )
        .replace("{ signal = \"site_visit\", at_least = 3 },", "")
        .replace(
            "{ signal = \"social_followed\" },",
            "{ signal = \"social_followed\", at_least = 3 },",
        )
        .replace("within_days = 90", "within_days = 3")
}

#[test]
fn a_late_event_finds_the_summarised_times_its_window_needs() {
    // Three follows, then the checkpoint passes them (an event 30 days on), then two clicks
    // arrive late: the combination needs every one of the three summarised follows.
    let rules = Rules::from_toml_str(&three_follows_and_two_clicks_within_3_days()).unwrap();
    let mut events: Vec<Event> = (0..3)
        .map(|h| event(&format!("follow-{h}"), Signal::SocialFollowed, t(h * HOUR)))
        .collect();
    events.push(event(
        "download",
        Signal::ContentDownloaded,
        t(30 * DAY + 3 * HOUR),
    ));
    for (i, h) in [4, 5].into_iter().enumerate() {
        let mut click = event(&format!("click-{i}"), Signal::EmailClicked, t(h * HOUR));
        click.attributes.message_id = Some(format!("m{i}"));
        events.push(click);
    }
    let now = t(30 * DAY + 4 * HOUR);
    let (lead, _) = deliver(&rules, &events, now);
    assert_eq!(lead.summaries[&Signal::SocialFollowed].pending.len(), 3);
    assert_eq!(lead.stage, Stage::Mql);
    assert_eq!(lead.stage_entered_at, t(5 * HOUR));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(40))]

    /// A combination window reads only its count of newest summarised times: a late event
    /// that re-folds across the checkpoint finds the same moves as a state that kept them all.
    #[test]
    fn summarised_windows_qualify_like_whole_ones(
        kinds in proptest::collection::vec(0usize..4, 150..250),
        gaps in proptest::collection::vec(1i64..(4 * 24), 250),
        seed in any::<u64>(),
    ) {
        let toml = three_follows_and_two_clicks_within_3_days();
        let rules = Rules::from_toml_str(&toml).unwrap();
        let never = Rules::from_toml_str(&toml.replace("lateness_days = 30", "lateness_days = 3650")).unwrap();
        let signals = [Signal::SocialFollowed, Signal::EmailClicked, Signal::EmailOpened, Signal::ContentDownloaded];
        let mut at = 0;
        let mut events = Vec::new();
        for (i, (k, gap)) in kinds.iter().zip(&gaps).enumerate() {
            at += gap * HOUR;
            let mut e = event(&format!("w{i:04}"), signals[*k], t(at));
            e.attributes.message_id = Some(format!("m{i}"));
            events.push(e);
        }
        let end = t(at);
        let whole = deliver(&never, &events, end).0;
        // Each event up to 20 days late: inside the 30-day lateness window, so every late
        // event re-folds from a checkpoint with the combination's times summarised behind it.
        let mut delays: Vec<i64> = (0..events.len() as i64).map(|i| i % 20).collect();
        shuffle(&mut delays, seed);
        let mut arrivals: Vec<(Timestamp, Event)> = events
            .into_iter()
            .zip(delays)
            .map(|(e, d)| (e.occurred_at.plus_millis(d * DAY), e))
            .collect();
        arrivals.sort_by_key(|(arrival, _)| *arrival);
        let events: Vec<Event> = arrivals.into_iter().map(|(_, e)| e).collect();
        let summarised = deliver(&rules, &events, end).0;
        prop_assert!(summarised.checkpoint.is_some());
        prop_assert_eq!(&folded(&summarised).stage_history, &folded(&whole).stage_history);
        prop_assert_eq!(score(&summarised, &rules, end), score(&whole, &never, end));
    }
}

#[test]
fn a_lead_with_every_kind_of_event_every_hour_stays_under_64_kb() {
    // 200 days: past the longest expiry that keeps counted times (email, 180 days), after
    // which nothing grows (the two-year figure is in BENCHMARKS.md).
    let rules = defaults();
    let (state, largest, n) = every_kind_every_hour(&rules, 200);
    assert!(largest < 64 * 1024, "{largest} bytes");
    // The window is shortened to what a state can hold.
    assert!(state.hits.len() <= MAX_WINDOW_HITS + MAX_WINDOW_HITS / 4 + 24);
    assert_eq!(state.events, n);
}

#[test]
fn a_visitor_seen_late_is_recorded_when_it_arrives() {
    let rules = defaults();
    let visit = Event::new(
        EventId::parse("late-visit").unwrap(),
        Signal::SiteVisit,
        t(0),
        visitor("anon-late"),
    );
    let now = t(5 * DAY);
    let state = apply(&LeadState::for_event(&visit), &visit, &rules, now)
        .unwrap()
        .state;
    assert_eq!(state.stage, Stage::Visitor);
    assert_eq!(state.stage_entered_at, t(0));
    // The visitor listing follows when it became known, like every other stage.
    assert_eq!(state.stage_recorded_at, now);
}

#[test]
fn a_rebuild_keeps_when_an_unchanged_stage_was_recorded() {
    let rules = defaults();
    let visit = Event::new(
        EventId::parse("v").unwrap(),
        Signal::SiteVisit,
        t(0),
        visitor("anon-r"),
    );
    let state = apply(&LeadState::for_event(&visit), &visit, &rules, t(HOUR))
        .unwrap()
        .state;
    // Re-folded later (new rules, a migration): nothing moved, so nothing is recorded anew.
    let again = rebuild(&state, &[visit], &rules, t(30 * DAY));
    assert_eq!(again.stage_recorded_at, t(HOUR));
    assert_eq!(folded(&again), folded(&state));
}
