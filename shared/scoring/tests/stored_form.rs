//! The working state's stored form: what is written reads back the same, and a state written
//! in the first v2 form (before `encoding.rs`) reads as one to rebuild from the ledger.

mod common;
use common::*;
use leadscore_scoring::*;

#[test]
fn a_state_reads_back_as_it_was_written() {
    let rules = defaults();
    // Long enough for summaries with counted times, bots flagged by bursts, frozen verdicts.
    let (mut state, _, _) = every_kind_every_hour(&rules, 35);
    let end = 35 * DAY;
    for (i, ms) in [0, 400].into_iter().enumerate() {
        // Two clicks of one message 0.4 s apart: a link scanner's.
        let mut click = event(&format!("scan-{i}"), Signal::EmailClicked, t(end + ms));
        click.attributes.message_id = Some("scanned".into());
        state = apply(&state, &click, &rules, t(end + ms)).unwrap().state;
    }
    assert!(state.hits.iter().any(|h| h.bot.is_some()));
    // A frozen verdict on a hit with no message (summarising usually takes these away).
    let mut frozen = state.hits[0].clone();
    frozen.message_id = None;
    frozen.counted = Some(false);
    state.hits[0] = frozen;
    assert!(state.summaries.values().any(|s| !s.pending.is_empty()));
    let json = serde_json::to_string(&state).unwrap();
    let back: LeadState = serde_json::from_str(&json).unwrap();
    assert_eq!(back, state);
}

#[test]
fn a_state_in_the_earlier_form_is_rebuilt_not_misread() {
    let rules = defaults();
    let mut state = run(&rules, &[event("a", Signal::SiteVisit, t(0))]);
    let mut json: serde_json::Value = serde_json::to_value(&state).unwrap();
    // The first v2 form: hits as `[at, event, signal, bot, message_id, counted]` under `hits`,
    // and a fingerprint computed without the format's name (any other than today's: the store
    // rebuilds every state whose fingerprint is not the current rules').
    let obj = json.as_object_mut().unwrap();
    obj.remove("window");
    obj.insert(
        "hits".into(),
        serde_json::json!([[T0, "a", "site_visit", null, null, null]]),
    );
    obj.insert("rules".into(), "0123456789abcdef".into());
    let old: LeadState = serde_json::from_value(json).unwrap();
    assert!(old.hits.is_empty());
    // Which the store answers with `rebuild` from the ledger: the lead as it was.
    let rebuilt = rebuild(&old, &[event("a", Signal::SiteVisit, t(0))], &rules, t(0));
    state.rules = rules.fingerprint().to_string();
    assert_eq!(rebuilt.hits, state.hits);
    assert_eq!(score(&rebuilt, &rules, t(0)), score(&state, &rules, t(0)));
}
