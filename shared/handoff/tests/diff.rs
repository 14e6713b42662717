//! The per-lead diff: what `hand_off` notifies and remembers.

mod common;
use common::*;
use leadscore_handoff::*;
use leadscore_scoring::*;
use std::collections::BTreeSet;

fn moves(step: &Step) -> Vec<String> {
    kinds(step)
        .into_iter()
        .filter(|(k, what)| *k == Kind::StageChanged && what != "pql")
        .map(|(_, what)| what)
        .collect()
}

#[test]
fn a_lead_moving_to_mql_then_sql_gives_two_moves_in_order_once() {
    let rules = Rules::default_rules();
    let config = no_segments();
    let lead = fold(&rules, &identified());
    let first = step(None, &lead, &config, t(MINUTE));
    assert_eq!(moves(&first), vec!["visitor->lead"]);

    let lead = fold_onto(lead, &rules, &[engaged(), demo()].concat());
    assert_eq!(lead.stage, Stage::Sql);
    let second = step(Some(&first.remembered), &lead, &config, t(2 * HOUR));
    assert_eq!(moves(&second), vec!["lead->mql", "mql->sql"]);
    let ats: Vec<Timestamp> = second.notifications.iter().map(|n| n.at).collect();
    assert!(ats.windows(2).all(|w| w[0] <= w[1]), "event-time order");

    let again = step(Some(&second.remembered), &lead, &config, t(3 * HOUR));
    assert!(
        again.notifications.is_empty(),
        "idempotent: {:?}",
        kinds(&again)
    );
    // The stored body reads back to the same record.
    let stored = Remembered::from_json(&second.body).unwrap();
    assert_eq!(stored, second.remembered);
    let from_bytes = step(Some(&stored), &lead, &config, t(3 * HOUR));
    assert!(from_bytes.notifications.is_empty());
}

#[test]
fn the_wire_document() {
    let rules = Rules::default_rules();
    let lead = fold(&rules, &[identified(), engaged()].concat());
    let now = t(HOUR);
    let s = step(None, &lead, &no_segments(), now);
    let mql = &s.notifications[1];
    let doc = mql.to_json();
    let t = &lead.stage_history[1];
    let breakdown = score(&lead, &rules, now);
    let expected = serde_json::json!({
        "id": mql.id,
        "type": "lead.stage_changed",
        "timestamp": t.recorded_at.to_rfc3339(),
        "data": {
            "lead": lead.id.as_str(), "email": "ada@acme.com", "change": "stage",
            "from": "lead", "to": "mql", "at": t.at.to_rfc3339(),
            "cause": serde_json::to_value(&t.cause).unwrap(),
            "score": {"total": breakdown.total, "fit": breakdown.fit,
                      "engagement": breakdown.engagement, "grade": breakdown.grade},
            "pql": false,
            "url": format!("https://api.example.com/leads/{}", lead.id),
        }
    });
    assert_eq!(doc, expected);
    assert_eq!(
        doc["data"]["cause"],
        serde_json::json!({"type": "rule", "rule": "mql.engagement"})
    );
    assert!(mql.id.starts_with("ntf_") && mql.id.len() == 36);
}

#[test]
fn a_sales_move_carries_the_cause_as_the_lead_document_shows_it() {
    let rules = Rules::default_rules();
    let events = [
        identified(),
        demo(),
        vec![sales(
            "qual:lost",
            Signal::SalesRejected,
            t(2 * HOUR),
            Some("no budget"),
        )],
    ]
    .concat();
    let lead = fold(&rules, &events);
    let s = step(None, &lead, &no_segments(), t(3 * HOUR));
    let last = s.notifications.last().unwrap();
    assert_eq!(last.data["to"], "lead");
    assert_eq!(
        last.data["cause"],
        serde_json::json!({"type": "actor", "actor": "rep@crm", "action": "sales_rejected",
                           "reason": "no budget"})
    );
}

#[test]
fn ids_are_deterministic_and_distinct() {
    let rules = Rules::default_rules();
    let lead = fold(&rules, &[identified(), engaged(), demo()].concat());
    let a = step(None, &lead, &HandoffConfig::default(), t(2 * HOUR));
    let b = step(None, &lead, &HandoffConfig::default(), t(2 * HOUR + MINUTE));
    let ids = |s: &Step| {
        s.notifications
            .iter()
            .map(|n| n.id.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        ids(&a),
        ids(&b),
        "a retry at another time gives the same ids"
    );
    let unique: BTreeSet<String> = ids(&a).into_iter().collect();
    assert_eq!(unique.len(), a.notifications.len());
    // Another lead's moves have other ids.
    let mut bob = fold(&rules, &identified());
    bob.id = LeadState::new(&person("bob@acme.com"), t(0)).id;
    let other = step(None, &bob, &no_segments(), t(HOUR));
    assert!(!unique.contains(&other.notifications[0].id));
}

#[test]
fn erasure_is_one_notification_without_the_email() {
    let rules = Rules::default_rules();
    let config = HandoffConfig::default();
    let lead = fold(&rules, &[identified(), engaged()].concat());
    let before = step(None, &lead, &config, t(HOUR));
    assert!(before.memberships.contains("domain:acme.com"));
    assert!(before.memberships.contains("segment:nurture") || lead.stage == Stage::Mql);

    let erased_at = t(DAY);
    let erase = |prev: Option<&Remembered>| {
        hand_off(
            &lead.id,
            prev,
            None,
            Some(erased_at),
            &rules,
            &config,
            t(DAY + MINUTE),
            BASE_URL,
        )
    };
    let s = erase(Some(&before.remembered));
    assert_eq!(s.notifications.len(), 1, "{:?}", kinds(&s));
    let n = &s.notifications[0];
    assert_eq!(n.kind, Kind::Erased);
    assert_eq!(
        n.to_json()["data"],
        serde_json::json!({"lead": lead.id.as_str(), "erased_at": erased_at.to_rfc3339()})
    );
    let wire = serde_json::to_string(&n.to_json()).unwrap();
    assert!(!wire.contains('@'), "{wire}");
    assert!(s.memberships.is_empty());
    assert!(s.summary.is_none() && s.summary_json.is_empty());
    assert_eq!(
        s.accounts,
        BTreeSet::from(["acme.com".to_string()]),
        "re-aggregate the account it left"
    );
    assert!(!String::from_utf8(s.body.clone()).unwrap().contains('@'));

    // Notified once; a purged record (None) gives the same id again, for receivers to drop.
    assert!(erase(Some(&s.remembered)).notifications.is_empty());
    assert_eq!(erase(None).notifications[0].id, n.id);
}

#[test]
fn an_unknown_lead_notifies_nothing() {
    let rules = Rules::default_rules();
    let lead = fold(&rules, &identified());
    let s = hand_off(
        &lead.id,
        None,
        None,
        None,
        &rules,
        &HandoffConfig::default(),
        t(HOUR),
        BASE_URL,
    );
    assert!(s.notifications.is_empty() && s.memberships.is_empty() && s.summary.is_none());
}

#[test]
fn a_lead_read_under_a_visitors_id_is_not_handed_off_there() {
    let rules = Rules::default_rules();
    let lead = fold(&rules, &identified());
    let visitor = LeadState::new(
        &Identity::new(None, Some(AnonymousId::parse("anon-1").unwrap())).unwrap(),
        t(0),
    );
    let s = hand_off(
        &visitor.id,
        None,
        Some(&lead),
        None,
        &rules,
        &HandoffConfig::default(),
        t(HOUR),
        BASE_URL,
    );
    assert!(s.notifications.is_empty() && s.memberships.is_empty() && s.summary.is_none());
}

#[test]
fn pql_turning_on_is_notified_once() {
    let rules = Rules::default_rules();
    let config = no_segments();
    let lead = fold(&rules, &identified());
    let first = step(None, &lead, &config, t(MINUTE));
    let trial = vec![event("trial-1", Signal::FreeTrialStarted, t(HOUR))];
    let lead = fold_onto(lead, &rules, &trial);
    assert!(lead.pql);
    let second = step(Some(&first.remembered), &lead, &config, t(2 * HOUR));
    let k = kinds(&second);
    assert!(k.contains(&(Kind::StageChanged, "pql".into())), "{k:?}");
    let pql = second
        .notifications
        .iter()
        .find(|n| n.data["change"] == "pql")
        .unwrap();
    assert_eq!(pql.at, t(HOUR), "dated by the trial");
    assert_eq!(pql.data["pql"], true);
    assert_eq!(pql.data["email"], "ada@acme.com");
    let third = step(Some(&second.remembered), &lead, &config, t(3 * HOUR));
    assert!(third.notifications.is_empty());
}

#[test]
fn segment_entries_and_leaves() {
    let rules = Rules::default_rules();
    let config = HandoffConfig::from_rules_toml(
        "version = 1\n[segments.nurture]\nstages = [\"lead\", \"mql\"]\nrecycled = true\n",
    )
    .unwrap();
    let lead = fold(&rules, &identified());
    let first = step(None, &lead, &config, t(MINUTE));
    assert_eq!(
        kinds(&first),
        vec![
            (Kind::StageChanged, "visitor->lead".into()),
            (Kind::SegmentEntered, "nurture".into())
        ]
    );
    assert!(first.memberships.contains("segment:nurture"));
    let entered = first.notifications[1].to_json();
    assert_eq!(entered["data"]["segment"], "nurture");
    assert_eq!(entered["data"]["email"], "ada@acme.com");
    // Mailchimp's subscriber hash: md5 of the lower-case address (`md5sum` agrees).
    assert_eq!(
        entered["data"]["email_md5"],
        "d6989818aac5c9e3a73e24e520111ed9"
    );
    assert!(step(Some(&first.remembered), &lead, &config, t(2 * MINUTE))
        .notifications
        .is_empty());

    // A demo request makes an SQL: it leaves nurture (after the moves that took it out).
    let lead = fold_onto(lead, &rules, &demo());
    let second = step(Some(&first.remembered), &lead, &config, t(2 * HOUR));
    assert_eq!(
        kinds(&second),
        vec![
            (Kind::StageChanged, "lead->sql".into()),
            (Kind::SegmentLeft, "nurture".into())
        ]
    );
    let left = &second.notifications[1];
    assert_eq!(left.data["entered_at"], t(MINUTE).to_rfc3339());
    assert!(!second.memberships.iter().any(|m| m.starts_with("segment:")));
    assert!(second.remembered.segments().is_empty());

    // Recycled back to lead: in again, under another id.
    let lead = fold_onto(
        lead,
        &rules,
        &[sales(
            "qual:rej",
            Signal::SalesRejected,
            t(3 * HOUR),
            Some("later"),
        )],
    );
    let third = step(Some(&second.remembered), &lead, &config, t(4 * HOUR));
    assert_eq!(
        kinds(&third),
        vec![
            (Kind::StageChanged, "sql->lead".into()),
            (Kind::SegmentEntered, "nurture".into())
        ]
    );
    assert_ne!(third.notifications[1].id, first.notifications[1].id);
}

#[test]
fn decay_alone_moves_a_lead_into_a_score_segment() {
    let rules = Rules::default_rules();
    let config =
        HandoffConfig::from_rules_toml("version = 1\n[segments.cooling]\nscore_below = 20\n")
            .unwrap();
    let lead = fold(&rules, &[identified(), engaged()].concat());
    let fresh = step(None, &lead, &config, t(HOUR));
    assert!(!fresh.memberships.contains("segment:cooling"));
    let later = step(Some(&fresh.remembered), &lead, &config, t(400 * DAY));
    assert_eq!(
        kinds(&later),
        vec![(Kind::SegmentEntered, "cooling".into())]
    );
    // The daily run of the next day finds nothing new; a retry of that step the same id.
    assert!(step(Some(&later.remembered), &lead, &config, t(401 * DAY))
        .notifications
        .is_empty());
    let retry = step(Some(&fresh.remembered), &lead, &config, t(401 * DAY));
    assert_eq!(retry.notifications[0].id, later.notifications[0].id);
}

#[test]
fn memberships_summary_and_accounts() {
    let rules = Rules::default_rules();
    let config = HandoffConfig::default();
    let lead = fold(&rules, &identified());
    let s = step(None, &lead, &config, t(MINUTE));
    assert_eq!(
        s.memberships,
        BTreeSet::from(["domain:acme.com".to_string(), "segment:nurture".to_string()])
    );
    assert_eq!(s.accounts, BTreeSet::from(["acme.com".to_string()]));
    let summary = MemberSummary::from_json(&s.summary_json).unwrap();
    assert_eq!(Some(summary), s.summary);
    assert_eq!(s.remembered.domain(), Some("acme.com"));

    // A free-mail lead is in no account.
    let gmail = vec![Event::new(
        EventId::parse("form-g").unwrap(),
        Signal::FormSubmitted,
        t(0),
        person("ada@gmail.com"),
    )];
    let free = fold(&rules, &gmail);
    let s = step(None, &free, &config, t(MINUTE));
    assert!(!s.memberships.iter().any(|m| m.starts_with("domain:")));
    assert!(s.accounts.is_empty());
}

#[test]
fn a_move_removed_by_a_refold_is_not_notified_again() {
    let rules = Rules::default_rules();
    let config = no_segments();
    // The lead is recycled at 2h, then a late hand-raise dated before the recycle arrives.
    let events = [
        identified(),
        engaged(),
        vec![sales("qual:acc", Signal::SalesAccepted, t(2 * HOUR), None)],
    ]
    .concat();
    let lead = fold(&rules, &events);
    let before: Vec<Transition> = lead.stage_history.clone();
    let first = step(None, &lead, &config, t(3 * HOUR));
    assert_eq!(moves(&first).len(), before.len());

    let late = vec![event("demo-late", Signal::DemoRequested, t(HOUR))];
    let mut refolded = fold_onto(lead, &rules, &late);
    assert!(
        before
            .iter()
            .any(|b| !refolded.stage_history.iter().any(|t| t.same_move(b))),
        "the late hand-raise supersedes the acceptance: its move is gone"
    );
    let second = step(Some(&first.remembered), &refolded, &config, t(4 * HOUR));
    let notified_again: Vec<&Notification> = second
        .notifications
        .iter()
        .filter(|n| first.notifications.iter().any(|f| f.id == n.id))
        .collect();
    assert!(notified_again.is_empty());
    // Only the moves the re-fold added are new.
    let added = refolded
        .stage_history
        .iter()
        .filter(|t| !before.iter().any(|b| b.same_move(t)))
        .count();
    assert_eq!(moves(&second).len(), added);

    // Should the removed moves come back (the same evidence folded again), they are not
    // notified again either.
    refolded.stage_history = before;
    let third = step(Some(&second.remembered), &refolded, &config, t(5 * HOUR));
    assert!(third.notifications.is_empty(), "{:?}", kinds(&third));
}

#[test]
fn the_remembered_moves_stay_bounded() {
    let rules = Rules::default_rules();
    let config = no_segments();
    let mut lead = fold(&rules, &identified());
    // A long history of accept / reject cycles.
    let mut events = Vec::new();
    for i in 0..(MAX_REMEMBERED_MOVES as i64 / 2 + 20) {
        let at = t((i + 1) * HOUR);
        events.push(sales(
            &format!("qual:a{i}"),
            Signal::SalesAccepted,
            at,
            None,
        ));
        events.push(sales(
            &format!("qual:r{i}"),
            Signal::SalesRejected,
            at.plus_millis(MINUTE),
            Some("x"),
        ));
    }
    let mut prev: Option<Remembered> = None;
    let mut total = 0;
    for chunk in events.chunks(25) {
        lead = fold_onto(lead, &rules, chunk);
        let s = step(
            prev.as_ref(),
            &lead,
            &config,
            chunk.last().unwrap().occurred_at,
        );
        total += s.notifications.len();
        assert!(s.body.len() < 40_000, "{}", s.body.len());
        prev = Some(s.remembered);
    }
    assert!(lead.stage_history.len() > MAX_REMEMBERED_MOVES);
    assert_eq!(total, lead.stage_history.len(), "each move once");
    let again = step(prev.as_ref(), &lead, &config, t(1000 * DAY));
    assert!(again.notifications.is_empty());
}
