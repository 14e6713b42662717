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
