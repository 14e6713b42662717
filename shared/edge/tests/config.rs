//! Start-up configuration the deployed functions need (each test runs in its own process).

use leadscore_edge::{App, LEAD_ID_KEY_VAR};
use leadscore_store::{Embedded, LeadStore};
use std::sync::Arc;

fn store() -> (tempfile::TempDir, Arc<dyn LeadStore>) {
    let dir = tempfile::tempdir().unwrap();
    let store = Embedded::open(dir.path()).unwrap();
    (dir, Arc::new(store))
}

#[test]
fn the_functions_refuse_to_start_without_the_lead_id_key() {
    std::env::remove_var(LEAD_ID_KEY_VAR);
    let (_dir, store) = store();
    let err = App::from_env(store).err().expect("refused");
    assert!(err.to_string().contains(LEAD_ID_KEY_VAR), "{err}");
}

#[test]
fn a_short_lead_id_key_is_refused_by_name() {
    let (_dir, store) = store();
    let vars = vec![(LEAD_ID_KEY_VAR.to_string(), "short".to_string())];
    let err = App::new(store, leadscore_scoring::DEFAULT_RULES_TOML, vars)
        .err()
        .expect("refused");
    assert!(err.to_string().contains(LEAD_ID_KEY_VAR), "{err}");
}

#[test]
fn the_rules_read_at_build_time_are_the_shipped_file() {
    let parsed = leadscore_scoring::RulesFile::parse(leadscore_scoring::DEFAULT_RULES_TOML);
    assert_eq!(leadscore_edge::shipped_rules().unwrap(), parsed.unwrap());
}

#[test]
fn an_app_from_the_shipped_rules_scores_as_one_from_their_text() {
    let (_dir, store) = store();
    let shipped = App::new(store.clone(), leadscore_scoring::DEFAULT_RULES_TOML, vec![]).unwrap();
    // A trailing comment makes the text differ from the shipped one: it is parsed.
    let text = format!("{}\n# a copy\n", leadscore_scoring::DEFAULT_RULES_TOML);
    let parsed = App::new(store.clone(), &text, vec![]).unwrap();
    assert_eq!(shipped.rules(), parsed.rules());
    assert_eq!(shipped.rules().fingerprint(), parsed.rules().fingerprint());
    // A user's file is read whole: its own section wins over the shipped one.
    let text = text.replace("engagement_cap = 300", "engagement_cap = -1");
    let err = App::new(store, &text, vec![]).err().expect("refused");
    assert!(err.to_string().contains("accounts.engagement_cap"), "{err}");
}
