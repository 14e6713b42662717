//! Corporate domains, buying-group roles, member summaries and account aggregation.

mod common;
use common::*;
use leadscore_handoff::*;
use leadscore_scoring::*;
use std::collections::BTreeSet;

fn domain(email: &str) -> Option<String> {
    let rules = Rules::default_rules();
    HandoffConfig::default()
        .accounts()
        .corporate_domain(&Email::parse(email).unwrap(), &rules)
}

#[test]
fn free_mail_and_disposable_domains_are_no_account() {
    for email in [
        "ada@gmail.com",
        "ada@GMAIL.com",
        "ada@mailinator.com",
        "ada@yopmail.fr",
        "ada@hotmail.co.uk",
        "ada@laposte.net",
        "ada@qq.com",
        "ada@mail.yahoo.com",
    ] {
        assert_eq!(domain(email), None, "{email}");
    }
}

#[test]
fn a_corporate_domain_is_the_lower_cased_part_after_the_at() {
    assert_eq!(domain("ada@acme.com").as_deref(), Some("acme.com"));
    assert_eq!(domain(" Ada@ACME.Com ").as_deref(), Some("acme.com"));
    assert_eq!(domain("ada@eu.acme.com").as_deref(), Some("eu.acme.com"));
}

#[test]
fn the_built_in_lists_are_a_few_hundred_each() {
    for d in ["gmail.com", "outlook.com", "web.de", "naver.com"] {
        assert!(builtin_personal_domain(d), "{d}");
    }
    for d in ["guerrillamail.com", "10minutemail.com", "trashmail.de"] {
        assert!(builtin_personal_domain(d), "{d}");
    }
    assert!(!builtin_personal_domain("acme.com"));
    let count = |text: &str| {
        text.lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
            .count()
    };
    assert!(count(include_str!("../data/free.txt")) >= 300);
    assert!(count(include_str!("../data/disposable.txt")) >= 300);
}

#[test]
fn configured_and_rules_listed_domains_are_no_account_either() {
    let rules = Rules::from_toml_str(
        "version = 1\n[domains]\nfree = [\"freebie.org\"]\ndisposable = [\"burn.io\"]\n",
    )
    .unwrap();
    let config = HandoffConfig::from_rules_toml(
        "version = 1\n[accounts]\nfree_domains = [\"@Webmail.Example\"]\n",
    )
    .unwrap();
    let of = |email: &str| {
        config
            .accounts()
            .corporate_domain(&Email::parse(email).unwrap(), &rules)
    };
    assert_eq!(of("a@freebie.org"), None);
    assert_eq!(of("a@burn.io"), None);
    assert_eq!(of("a@webmail.example"), None);
    assert_eq!(of("a@eu.webmail.example"), None);
    assert_eq!(of("a@acme.org").as_deref(), Some("acme.org"));
}

fn roles(title: &str) -> Vec<Role> {
    let profile = Profile {
        job_title: Some(title.to_string()),
        ..Profile::default()
    };
    roles_of(&profile).into_iter().collect()
}

#[test]
fn roles_come_from_the_keyword_table() {
    use Role::*;
    let cases: &[(&str, &[Role])] = &[
        ("CEO", &[DecisionMaker]),
        ("Co-Founder & CEO", &[DecisionMaker]),
        ("VP Sales", &[DecisionMaker]),
        ("Head of Growth", &[DecisionMaker]),
        ("Managing Director", &[DecisionMaker]),
        ("Owner", &[DecisionMaker]),
        ("Directrice marketing", &[DecisionMaker]),
        ("CTO", &[DecisionMaker, Technical]),
        ("CFO", &[DecisionMaker, Finance]),
        ("Chief Financial Officer", &[DecisionMaker, Finance]),
        ("Financial Controller", &[Finance]),
        ("Procurement specialist", &[Finance]),
        ("Senior Software Engineer", &[Technical]),
        ("Head of IT", &[DecisionMaker, Technical]),
        ("Solutions Architect", &[Technical]),
        ("Développeur back-end", &[Technical]),
        ("Marketing Manager", &[User]),
        ("Content writer", &[User]),
        // whole words only: "director" holds no "cto", "digital" no "it"
        ("Digital director", &[DecisionMaker]),
    ];
    for (title, expected) in cases {
        assert_eq!(roles(title), expected.to_vec(), "{title}");
    }
    assert!(
        roles_of(&Profile::default()).is_empty(),
        "no title: no role"
    );
}

#[test]
fn a_department_or_seniority_gives_roles_too() {
    let profile = Profile {
        job_title: Some("Analyst".into()),
        job_function: Some("Finance".into()),
        seniority: Some("c_level".into()),
        ..Profile::default()
    };
    assert_eq!(
        roles_of(&profile),
        BTreeSet::from([Role::DecisionMaker, Role::Finance])
    );
}

#[test]
fn every_keyword_is_lower_case_words() {
    for (phrase, roles) in ROLE_KEYWORDS {
        assert!(!roles.is_empty(), "{phrase}");
        assert_eq!(*phrase, phrase.to_lowercase(), "{phrase}");
        assert!(
            phrase
                .split(' ')
                .all(|w| !w.is_empty() && w.chars().all(char::is_alphanumeric)),
            "{phrase:?} must be words separated by single spaces"
        );
    }
}

fn summary(lead: &str, stage: Stage, fit: i64, engagement: i64, roles: &[Role]) -> MemberSummary {
    MemberSummary {
        lead: LeadId::parse(lead).unwrap(),
        stage,
        fit,
        engagement,
        total: fit + engagement,
        grade: Grade::B,
        roles: roles.iter().copied().collect(),
        engaged: engagement >= 10,
        last_seen: t(0),
    }
}

fn id(n: u8) -> String {
    format!("ld_{:032x}", n)
}

#[test]
fn an_account_sums_engagement_up_to_the_cap_and_takes_the_best_fit() {
    let config =
        HandoffConfig::from_rules_toml("version = 1\n[accounts]\nengagement_cap = 100\n").unwrap();
    let members = vec![
        summary(&id(1), Stage::Lead, 10, 60, &[Role::User]),
        summary(
            &id(2),
            Stage::Sql,
            35,
            70,
            &[Role::DecisionMaker, Role::Technical],
        ),
        summary(&id(3), Stage::Mql, 5, -20, &[]),
    ];
    let account = account_of("acme.com", &members, &config);
    assert_eq!(account.fit, 35);
    assert_eq!(
        account.engagement, 100,
        "60 + 70 (+ 0 for the negative) capped at 100"
    );
    assert_eq!(account.score, 135);
    assert_eq!(account.contacts, 3);
    assert_eq!(account.engaged_contacts, 2);
    assert_eq!(account.stage, Stage::Sql, "the furthest stage");
    assert_eq!(
        account.roles,
        BTreeSet::from([Role::DecisionMaker, Role::Technical, Role::User])
    );
    assert_eq!(account.missing_roles, BTreeSet::from([Role::Finance]));
    let order: Vec<String> = account.leads.iter().map(|l| l.lead.to_string()).collect();
    assert_eq!(order, vec![id(2), id(1), id(3)], "best score first");

    let uncapped = account_of("acme.com", &members[..1], &config);
    assert_eq!(uncapped.engagement, 60);
    assert_eq!(uncapped.stage, Stage::Lead);
}

#[test]
fn the_account_json_has_the_documented_fields() {
    let config = HandoffConfig::default();
    let members = vec![summary(&id(7), Stage::Customer, 20, 15, &[Role::Finance])];
    let account = account_of("acme.com", &members, &config);
    let json: serde_json::Value = serde_json::from_slice(&account.to_json()).unwrap();
    let expected = serde_json::json!({
        "domain": "acme.com", "score": 35, "fit": 20, "engagement": 15, "contacts": 1,
        "engaged_contacts": 1, "roles": ["finance"],
        "missing_roles": ["decision_maker", "technical", "user"], "stage": "customer",
        "leads": [{"lead": id(7), "stage": "customer", "score": 35, "grade": "B",
                   "roles": ["finance"], "engaged": true}],
    });
    assert_eq!(json, expected);
    assert_eq!(Account::from_json(&account.to_json()).unwrap(), account);
}

#[test]
fn an_account_lists_at_most_its_best_leads() {
    let config = HandoffConfig::default();
    let members: Vec<MemberSummary> = (0..=(MAX_ACCOUNT_LEADS as u8 + 10))
        .map(|i| summary(&id(i), Stage::Lead, i64::from(i), 0, &[]))
        .collect();
    let account = account_of("acme.com", &members, &config);
    assert_eq!(account.contacts as usize, members.len());
    assert_eq!(account.leads.len(), MAX_ACCOUNT_LEADS);
    assert_eq!(
        account.leads[0].score,
        i64::from(MAX_ACCOUNT_LEADS as u8 + 10)
    );
    let empty = account_of("acme.com", &[], &config);
    assert_eq!(
        (empty.contacts, empty.score, empty.stage),
        (0, 0, Stage::Visitor)
    );
}

#[test]
fn a_member_summary_is_built_from_the_folded_lead() {
    let rules = Rules::default_rules();
    let events = [
        vec![titled(event("form-1", Signal::FormSubmitted, t(0)), "CTO")],
        engaged(),
    ]
    .concat();
    let lead = fold(&rules, &events);
    let now = t(HOUR);
    let breakdown = score(&lead, &rules, now);
    let config = HandoffConfig::default();
    let s = MemberSummary::of(&lead, &breakdown, config.accounts());
    assert_eq!(s.lead, lead.id);
    assert_eq!(s.stage, Stage::Mql);
    assert_eq!(
        (s.fit, s.engagement, s.total),
        (breakdown.fit, breakdown.engagement, breakdown.total)
    );
    assert_eq!(
        s.roles,
        BTreeSet::from([Role::DecisionMaker, Role::Technical])
    );
    assert!(s.engaged);
    assert_eq!(s.last_seen, lead.last_seen);
    let json = String::from_utf8(s.to_json()).unwrap();
    assert!(!json.contains('@'), "no email in a summary: {json}");
    assert_eq!(MemberSummary::from_json(json.as_bytes()).unwrap(), s);
}
