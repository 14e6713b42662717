//! The rules file's hand-off sections: the shipped default parses, each mistake is refused
//! with a message naming the section and key; segment membership.

mod common;
use common::*;
use leadscore_handoff::*;
use leadscore_scoring::*;

#[test]
fn the_shipped_default_parses_and_scoring_still_reads_it() {
    let config = HandoffConfig::from_rules_toml(DEFAULT_RULES_TOML).unwrap();
    let nurture = config
        .segment("nurture")
        .expect("a default nurture segment");
    assert!(!nurture.description().is_empty());
    assert_eq!(config.accounts().engagement_cap(), 300);
    assert_eq!(config.accounts().engaged_min_score(), 10);
    assert_eq!(HandoffConfig::default(), config);
    Rules::from_toml_str(DEFAULT_RULES_TOML).unwrap();
}

#[test]
fn sections_read_once_are_the_users_segments_and_accounts_over_the_shipped_ones() {
    let shipped: toml::Table = toml::from_str(DEFAULT_RULES_TOML).unwrap();
    // No file of the user's: the shipped one is in force, as if given over itself.
    let alone = HandoffConfig::from_sections(&shipped, None).unwrap();
    assert_eq!(alone, HandoffConfig::default());
    assert_eq!(
        alone,
        HandoffConfig::from_sections(&shipped, Some(&shipped)).unwrap()
    );
    // The user's file: only its own segments; its accounts keys win, the rest are shipped.
    let own: toml::Table = toml::from_str("version = 1\n[accounts]\nengagement_cap = 7\n").unwrap();
    let theirs = HandoffConfig::from_sections(&shipped, Some(&own)).unwrap();
    assert!(theirs.segments().is_empty());
    assert_eq!(theirs.accounts().engagement_cap(), 7);
    assert_eq!(theirs.accounts().engaged_min_score(), 10);
}

#[test]
fn a_file_without_the_sections_has_no_segments_and_default_accounts() {
    let config = HandoffConfig::from_rules_toml("version = 1\n").unwrap();
    assert!(config.segments().is_empty());
    assert_eq!(config.accounts().engagement_cap(), 300);
    let config =
        HandoffConfig::from_rules_toml("version = 1\n[accounts]\nengaged_min_score = 25\n")
            .unwrap();
    assert_eq!(config.accounts().engaged_min_score(), 25);
    assert_eq!(
        config.accounts().engagement_cap(),
        300,
        "a key left out keeps its default"
    );
}

#[test]
fn every_key_of_a_segment_is_read() {
    let text = r#"
version = 1
[segments.hot-pql_2]
description = "  Product users worth a call  "
stages = ["MQL", "sql"]
recycled = false
disqualified = false
pql = true
score_at_least = 40
score_below = 500
exclude_signals = ["spam_complaint"]
"#;
    let config = HandoffConfig::from_rules_toml(text).unwrap();
    let s = config.segment("hot-pql_2").unwrap();
    assert_eq!(s.description(), "Product users worth a call");
    assert_eq!(config.segments().len(), 1);
}

fn refused(text: &str) -> String {
    match HandoffConfig::from_rules_toml(text) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(e) => e.to_string(),
    }
}

/// One case per mistake: the sections (after `version = 1`) and what the message must say.
#[test]
fn each_mistake_is_refused_naming_the_key() {
    let long = "a".repeat(65);
    let cases: Vec<(String, &str)> = vec![
        (
            "[segments.x]\nstagez = [\"lead\"]\n".into(),
            "segments.x.stagez: unknown field `stagez`",
        ),
        (
            "[segments.x]\nstages = [\"leed\"]\n".into(),
            "segments.x.stages: unknown stage \"leed\"",
        ),
        (
            "[segments.x]\nstages = []\n".into(),
            "segments.x.stages: empty list",
        ),
        (
            "[segments.x]\nexclude_signals = [\"unsubscribe\"]\n".into(),
            "segments.x.exclude_signals: unknown signal \"unsubscribe\"",
        ),
        (
            "[segments.x]\nscore_below = \"thirty\"\n".into(),
            "segments.x.score_below: invalid type: string \"thirty\", expected i64",
        ),
        (
            "[segments.x]\npql = \"yes\"\n".into(),
            "segments.x.pql: invalid type: string \"yes\", expected a boolean",
        ),
        (
            "[segments.x]\nscore_at_least = 50\nscore_below = 50\n".into(),
            "segments.x: score_at_least (50) must be below score_below (50)",
        ),
        (
            "[segments.x]\nscore_below = 5000000000\n".into(),
            "segments.x.score_below: must be between",
        ),
        (
            "[segments.x]\nrecycled = true\n".into(),
            "segments.x.recycled: true only adds recycled leads to the `stages` listed",
        ),
        (
            "[segments.Nurture]\n".into(),
            "segments.Nurture: segment name \"Nurture\"",
        ),
        (
            "[segments.\"a b\"]\n".into(),
            "segments.a b: segment name \"a b\"",
        ),
        (format!("[segments.{long}]\n"), "segment name"),
        ("segments = 5\n".into(), "segments: expected tables"),
        (
            "[segments]\nx = 3\n".into(),
            "segments.x: expected a table ([segments.x])",
        ),
        (
            "[accounts]\nengagement_kap = 3\n".into(),
            "accounts.engagement_kap: unknown field `engagement_kap`",
        ),
        (
            "[accounts]\nengagement_cap = -1\n".into(),
            "accounts.engagement_cap: must be between 0 and",
        ),
        (
            "[accounts]\nengaged_min_score = -5\n".into(),
            "accounts.engaged_min_score: must be between 0 and",
        ),
        (
            "[accounts]\nfree_domains = [\"not a domain\"]\n".into(),
            "accounts.free_domains: \"not a domain\" is not a domain name",
        ),
        (
            "[accounts]\nfree_domains = \"gmail.com\"\n".into(),
            "accounts.free_domains: invalid type: string \"gmail.com\", expected a sequence",
        ),
        ("[accounts\n".into(), "not valid TOML"),
        (
            "accounts = 3\n".into(),
            "accounts: expected a table ([accounts])",
        ),
        (
            "[segments.x]\nstages = \"lead\"\n".into(),
            "segments.x.stages: invalid type: string \"lead\", expected a sequence",
        ),
    ];
    for (sections, expected) in cases {
        let message = refused(&format!("version = 1\n{sections}"));
        assert!(
            message.contains(expected),
            "for\n{sections}the message {message:?} does not contain {expected:?}"
        );
    }
}

fn config(segment: &str) -> HandoffConfig {
    HandoffConfig::from_rules_toml(&format!("version = 1\n[segments.s]\n{segment}")).unwrap()
}

fn member(segment: &str, lead: &LeadState, now: Timestamp) -> bool {
    let rules = Rules::default_rules();
    config(segment)
        .segment("s")
        .unwrap()
        .contains(lead, &score(lead, &rules, now))
}

#[test]
fn stages_are_any_of() {
    let rules = Rules::default_rules();
    let lead = fold(&rules, &identified());
    let now = t(HOUR);
    assert!(member("stages = [\"lead\", \"mql\"]\n", &lead, now));
    assert!(!member("stages = [\"mql\", \"sql\"]\n", &lead, now));
    assert!(member("", &lead, now), "no condition: everyone");
}

#[test]
fn score_thresholds_read_the_score_as_of_now() {
    let rules = Rules::default_rules();
    let lead = fold(&rules, &[identified(), engaged()].concat());
    let fresh = score(&lead, &rules, t(HOUR)).total;
    assert!(fresh >= 30, "{fresh}");
    assert!(!member("score_below = 30\n", &lead, t(HOUR)));
    assert!(member("score_at_least = 30\n", &lead, t(HOUR)));
    // Content decays with a 60-day half-life and expires after a year.
    let later = t(400 * DAY);
    assert!(score(&lead, &rules, later).total < 30);
    assert!(member("score_below = 30\n", &lead, later));
    assert!(member(
        "score_at_least = -100\nscore_below = 30\n",
        &lead,
        later
    ));
}

#[test]
fn excluded_signals_keep_a_lead_out_for_good() {
    let rules = Rules::default_rules();
    let mut events = identified();
    let lead = fold(&rules, &events);
    let seg = "stages = [\"lead\"]\nexclude_signals = [\"unsubscribed\", \"bounced\"]\n";
    assert!(member(seg, &lead, t(HOUR)));
    events.push(event("unsub-1", Signal::Unsubscribed, t(MINUTE)));
    let lead = fold(&rules, &events);
    assert!(!member(seg, &lead, t(HOUR)));
    assert!(
        !member(seg, &lead, t(900 * DAY)),
        "negative signals never expire"
    );
}

#[test]
fn bot_hits_of_an_excluded_signal_do_not_count() {
    let rules = Rules::default_rules();
    let mut click = event("click-1", Signal::EmailClicked, t(MINUTE));
    click.bot = Some(BotVerdict {
        is_bot: true,
        reason: "scanner".into(),
    });
    let lead = fold(&rules, &[identified(), vec![click]].concat());
    assert!(member(
        "exclude_signals = [\"email_clicked\"]\n",
        &lead,
        t(HOUR)
    ));
}

#[test]
fn recycled_leads_are_also_in_or_never_in() {
    let rules = Rules::default_rules();
    let mut events = [identified(), demo()].concat();
    let sql = fold(&rules, &events);
    assert_eq!(sql.stage, Stage::Sql);
    assert!(!is_recycled(&sql));
    events.push(sales(
        "qual:rej",
        Signal::SalesRejected,
        t(2 * HOUR),
        Some("no budget"),
    ));
    let recycled = fold(&rules, &events);
    assert_eq!(recycled.stage, Stage::Lead);
    assert!(is_recycled(&recycled));
    let now = t(3 * HOUR);
    // `recycled = true` adds recycled leads to the stages listed...
    assert!(member(
        "stages = [\"mql\"]\nrecycled = true\n",
        &recycled,
        now
    ));
    assert!(!member("stages = [\"mql\"]\n", &recycled, now));
    // ...`false` keeps them out.
    assert!(!member(
        "stages = [\"lead\"]\nrecycled = false\n",
        &recycled,
        now
    ));
    assert!(member("stages = [\"sql\"]\nrecycled = false\n", &sql, now));
}

#[test]
fn a_disqualified_lead_is_not_recycled_and_can_be_excluded() {
    let rules = Rules::default_rules();
    let events = [
        identified(),
        vec![sales(
            "qual:dq",
            Signal::Disqualified,
            t(HOUR),
            Some("student"),
        )],
    ]
    .concat();
    let lead = fold(&rules, &events);
    assert!(lead.disqualified.is_some());
    assert!(!is_recycled(&lead));
    assert!(!member("disqualified = false\n", &lead, t(2 * HOUR)));
    assert!(member("disqualified = true\n", &lead, t(2 * HOUR)));
    let nurture = HandoffConfig::default();
    let nurture = nurture.segment("nurture").unwrap();
    assert!(!nurture.contains(&lead, &score(&lead, &rules, t(2 * HOUR))));
}

#[test]
fn pql_is_the_scoring_flag() {
    let rules = Rules::default_rules();
    let trial = vec![event("trial-1", Signal::FreeTrialStarted, t(HOUR))];
    let lead = fold(&rules, &[identified(), trial].concat());
    assert!(lead.pql);
    assert!(member("pql = true\n", &lead, t(2 * HOUR)));
    assert!(!member("pql = false\n", &lead, t(2 * HOUR)));
    let plain = fold(&rules, &identified());
    assert!(member("pql = false\n", &plain, t(2 * HOUR)));
}

#[test]
fn the_default_nurture_segment() {
    let rules = Rules::default_rules();
    let config = HandoffConfig::default();
    let nurture = config.segment("nurture").unwrap();
    let lead = fold(&rules, &identified());
    assert!(nurture.contains(&lead, &score(&lead, &rules, t(HOUR))));
    let sql = fold(&rules, &[identified(), demo()].concat());
    assert!(!nurture.contains(&sql, &score(&sql, &rules, t(2 * HOUR))));
}
