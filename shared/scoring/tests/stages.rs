//! Leads walked through every stage with the shipped default rules.

mod common;
use common::*;
use leadscore_scoring::*;

fn causes(state: &LeadState) -> Vec<(Stage, Stage, String)> {
    state
        .stage_history
        .iter()
        .map(|tr| (tr.from, tr.to, tr.cause.to_string()))
        .collect()
}

#[test]
fn each_hand_raise_makes_an_sql() {
    let rules = defaults();
    let hand_raises = Signal::ALL.iter().filter(|s| s.is_hand_raise());
    for (i, signal) in hand_raises.enumerate() {
        let state = run(&rules, &[event(&format!("hr{i}"), *signal, t(0))]);
        assert_eq!(state.stage, Stage::Sql, "{signal}");
        assert_eq!(
            causes(&state),
            vec![
                (Stage::Visitor, Stage::Lead, "rule:identified".into()),
                (
                    Stage::Lead,
                    Stage::Sql,
                    format!("rule:sql.hand_raise.{signal}")
                ),
            ],
            "{signal}"
        );
        let pql = matches!(
            signal,
            Signal::FreeTrialStarted | Signal::FreeVersionDownloaded
        );
        assert_eq!(state.pql, pql, "{signal}");
    }
}

#[test]
fn newsletter_three_visits_and_a_follow_make_an_mql() {
    let rules = defaults();
    let mut events = vec![
        event("n", Signal::NewsletterSubscribed, t(0)),
        event("v1", Signal::SiteVisit, t(DAY)),
        event("v2", Signal::SiteVisit, t(2 * DAY)),
    ];
    let state = run(&rules, &events);
    assert_eq!(state.stage, Stage::Lead, "two visits are not enough");

    events.push(event("v3", Signal::SiteVisit, t(3 * DAY)));
    let state = run(&rules, &events);
    assert_eq!(state.stage, Stage::Lead, "no social follow yet");

    events.push(event("f", Signal::SocialFollowed, t(4 * DAY)));
    let state = run(&rules, &events);
    assert_eq!(state.stage, Stage::Mql);
    assert_eq!(state.stage_entered_at, t(4 * DAY));
    assert_eq!(
        causes(&state).last().unwrap(),
        &(
            Stage::Lead,
            Stage::Mql,
            "rule:mql.engaged_subscriber".to_string()
        )
    );
    // Far below the engagement threshold: the combination alone qualified the lead.
    assert!(score(&state, &rules, t(4 * DAY)).engagement < 50);
}

#[test]
fn page_views_in_one_session_count_as_one_visit() {
    let rules = defaults();
    let state = run(
        &rules,
        &[
            event("n", Signal::NewsletterSubscribed, t(0)),
            event("f", Signal::SocialFollowed, t(0)),
            event("v1", Signal::SiteVisit, t(HOUR)),
            event("v2", Signal::SiteVisit, t(HOUR + 60_000)),
            event("v3", Signal::SiteVisit, t(HOUR + 120_000)),
        ],
    );
    assert_eq!(state.stage, Stage::Lead);
}

#[test]
fn engagement_threshold_makes_an_mql() {
    let rules = defaults();
    let events: Vec<Event> = (0..6)
        .map(|i| event(&format!("d{i}"), Signal::ContentDownloaded, t(i * HOUR)))
        .chain((0..4).map(|i| event(&format!("w{i}"), Signal::DemoVideoWatched, t(i * HOUR))))
        .collect();
    let state = run(&rules, &events);
    // downloads capped at 32, videos at 16: 48 < 50 until the form below.
    assert_eq!(state.stage, Stage::Lead);
    let mut more = events.clone();
    more.push(event("form", Signal::FormSubmitted, t(5 * HOUR)));
    let state = run(&rules, &more);
    assert_eq!(state.stage, Stage::Mql);
    assert_eq!(
        causes(&state).last().unwrap().2,
        "rule:mql.engagement".to_string()
    );
}

fn bant(budget: u64, authority: &str, need: &str, months: u32) -> BantUpdate {
    BantUpdate {
        budget: Some(budget),
        authority: Some(authority.to_string()),
        need: Some(need.to_string()),
        timeline_months: Some(months),
        source: BantSource::Form,
    }
}

#[test]
fn complete_bant_makes_an_sql_and_incomplete_does_not() {
    let rules = defaults();
    let table = [
        (bant(50_000, "CTO", "replace spreadsheets", 3), Stage::Sql),
        (bant(5_000, "CTO", "replace spreadsheets", 3), Stage::Lead), // budget too low
        (
            bant(50_000, "intern", "replace spreadsheets", 3),
            Stage::Lead,
        ), // no authority
        (bant(50_000, "Director of IT", "x", 12), Stage::Lead),       // too far out
        (bant(50_000, "Director of IT", " ", 6), Stage::Lead),        // no need stated
        (bant(10_000, "Head of Sales", "pipeline", 6), Stage::Sql),   // thresholds inclusive
    ];
    for (update, expected) in table {
        let mut e = event("form", Signal::FormSubmitted, t(0));
        e.bant = update.clone();
        let state = run(&rules, &[e]);
        assert_eq!(state.stage, expected, "{update:?}");
        assert_eq!(rules.bant_complete(&state.bant), expected == Stage::Sql);
    }
}

#[test]
fn bant_answers_can_arrive_in_pieces_from_several_sources() {
    let rules = defaults();
    let mut chat = event("chat", Signal::ChatbotQuestion, t(0));
    chat.bant.budget = Some(20_000);
    chat.bant.source = BantSource::Chatbot;
    let state = run(&rules, std::slice::from_ref(&chat));
    assert_eq!(state.stage, Stage::Lead);
    let mut call = sales("call", Signal::BantReported, t(DAY), None);
    call.bant = BantUpdate {
        authority: Some("VP Engineering".into()),
        need: Some("faster onboarding".into()),
        timeline_months: Some(2),
        source: BantSource::SalesCall,
        ..BantUpdate::default()
    };
    let state = apply(&state, &call, &rules, t(DAY)).unwrap().state;
    assert_eq!(state.stage, Stage::Sql);
    assert_eq!(
        state.bant.budget.as_ref().unwrap().source,
        BantSource::Chatbot
    );
    assert_eq!(
        state.bant.need.as_ref().unwrap().source,
        BantSource::SalesCall
    );
    assert_eq!(
        state.stage_history.last().unwrap().cause,
        Cause::Rule {
            rule: "sql.bant_complete".into()
        }
    );
}

#[test]
fn sales_walk_a_lead_to_evangelist() {
    let rules = defaults();
    let steps: Vec<(Event, Stage)> = vec![
        (event("dl", Signal::ContentDownloaded, t(0)), Stage::Lead),
        (
            sales("acc", Signal::SalesAccepted, t(DAY), None),
            Stage::Sql,
        ),
        (
            sales("opp", Signal::OpportunityOpened, t(2 * DAY), None),
            Stage::Opportunity,
        ),
        (
            event("demo", Signal::DemoRequested, t(3 * DAY)),
            Stage::Opportunity,
        ),
        (
            sales("won", Signal::DealWon, t(4 * DAY), None),
            Stage::Customer,
        ),
        (
            event("rev", Signal::ReviewPosted, t(5 * DAY)),
            Stage::Evangelist,
        ),
    ];
    let mut state = LeadState::for_event(&steps[0].0);
    for (e, expected) in steps {
        state = apply(&state, &e, &rules, e.occurred_at).unwrap().state;
        assert_eq!(state.stage, expected, "after {}", e.signal);
    }
    assert_eq!(
        causes(&state),
        vec![
            (Stage::Visitor, Stage::Lead, "rule:identified".into()),
            (Stage::Lead, Stage::Sql, "rep@crm:sales_accepted".into()),
            (
                Stage::Sql,
                Stage::Opportunity,
                "rep@crm:opportunity_opened".into()
            ),
            (
                Stage::Opportunity,
                Stage::Customer,
                "rep@crm:deal_won".into()
            ),
            (
                Stage::Customer,
                Stage::Evangelist,
                "rule:evangelist.review_posted".into()
            ),
        ]
    );
}

#[test]
fn sales_can_mark_a_customer_evangelist() {
    let rules = defaults();
    let state = run(
        &rules,
        &[
            event("demo", Signal::DemoRequested, t(0)),
            sales("won", Signal::DealWon, t(DAY), None),
            sales("ev", Signal::EvangelistConfirmed, t(2 * DAY), None),
        ],
    );
    assert_eq!(state.stage, Stage::Evangelist);
}

#[test]
fn recycle_needs_new_behaviour_to_requalify() {
    let rules = defaults();
    let state = run(
        &rules,
        &[
            event("demo", Signal::DemoRequested, t(0)),
            sales(
                "rej",
                Signal::SalesRejected,
                t(DAY),
                Some("student project"),
            ),
        ],
    );
    assert_eq!(state.stage, Stage::Lead);
    let last = state.stage_history.last().unwrap();
    assert_eq!(
        last.cause,
        Cause::Actor {
            actor: "rep@crm".into(),
            action: "sales_rejected".into(),
            reason: Some("student project".into())
        }
    );
    // Old behaviour does not requalify it; a visit does not either; a new hand-raise does.
    let state = apply(
        &state,
        &event("v", Signal::SiteVisit, t(2 * DAY)),
        &rules,
        t(2 * DAY),
    )
    .unwrap()
    .state;
    assert_eq!(state.stage, Stage::Lead);
    let state = apply(
        &state,
        &event("demo2", Signal::DemoRequested, t(3 * DAY)),
        &rules,
        t(3 * DAY),
    )
    .unwrap()
    .state;
    assert_eq!(state.stage, Stage::Sql);
}

#[test]
fn disqualified_leads_stop_moving_until_sales_accepts_them() {
    let rules = defaults();
    let state = run(
        &rules,
        &[
            event("dl", Signal::ContentDownloaded, t(0)),
            sales("dq", Signal::Disqualified, t(DAY), Some("competitor")),
            event("demo", Signal::DemoRequested, t(2 * DAY)),
        ],
    );
    assert_eq!(state.stage, Stage::Lead);
    assert_eq!(state.disqualified.as_ref().unwrap().reason, "competitor");
    let state = apply(
        &state,
        &sales("acc", Signal::SalesAccepted, t(3 * DAY), None),
        &rules,
        t(3 * DAY),
    )
    .unwrap()
    .state;
    assert_eq!(state.stage, Stage::Sql);
    assert!(state.disqualified.is_none());
}

#[test]
fn invalid_sales_actions_name_the_stage_and_the_allowed_moves() {
    let rules = defaults();
    let state = run(&rules, &[event("dl", Signal::ContentDownloaded, t(0))]);
    let err = apply(
        &state,
        &sales("won", Signal::DealWon, t(DAY), None),
        &rules,
        t(DAY),
    )
    .unwrap_err();
    assert_eq!(err.current, Stage::Lead);
    assert_eq!(
        err.allowed,
        vec![
            Signal::SalesAccepted,
            Signal::OpportunityOpened,
            Signal::Disqualified,
            Signal::BantReported
        ]
    );
    assert_eq!(
        err.to_string(),
        "deal_won is not allowed while the lead is lead"
    );
}

#[test]
fn visitors_stay_visitors_until_identified() {
    let rules = defaults();
    let anon = Event::new(
        EventId::parse("v-demo").unwrap(),
        Signal::DemoRequested,
        t(0),
        visitor("anon-1"),
    );
    let state = LeadState::for_event(&anon);
    let state = apply(&state, &anon, &rules, t(0)).unwrap().state;
    assert_eq!(state.stage, Stage::Visitor);
    assert!(state.stage_history.is_empty());
    // Stitched into a lead, its hand-raise counts.
    let form = event("form", Signal::FormSubmitted, t(DAY));
    let mut lead = LeadState::for_event(&form);
    lead.absorb_visitor(&state, &rules, t(DAY));
    let lead = apply(&lead, &form, &rules, t(DAY)).unwrap().state;
    assert_eq!(lead.stage, Stage::Sql);
    assert_eq!(lead.first_seen, t(0));
    assert!(lead.has_seen(&EventId::parse("v-demo").unwrap()));
}

#[test]
fn hand_raises_wait_for_sales_when_acceptance_is_required() {
    let text = DEFAULT_RULES_TOML.replace(
        "require_sales_acceptance = false",
        "require_sales_acceptance = true",
    );
    let rules = Rules::from_toml_str(&text).unwrap();
    let state = run(&rules, &[event("demo", Signal::DemoRequested, t(0))]);
    assert_eq!(state.stage, Stage::Mql);
    assert_eq!(
        state.stage_history.last().unwrap().cause.to_string(),
        "rule:mql.hand_raise.demo_requested"
    );
}

#[test]
fn decay_never_moves_a_stage_back() {
    let rules = defaults();
    let state = run(&rules, &[event("demo", Signal::DemoRequested, t(0))]);
    let later = apply(
        &state,
        &event("open", Signal::EmailOpened, t(400 * DAY)),
        &rules,
        t(400 * DAY),
    )
    .unwrap()
    .state;
    assert!(score(&later, &rules, t(400 * DAY)).engagement < 5);
    assert_eq!(later.stage, Stage::Sql);
}
