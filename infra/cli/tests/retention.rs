//! `leadscore serve` refuses a retention it cannot honour rather than keeping everything.

use std::process::Command;

#[test]
fn serve_names_a_bad_retention_and_does_not_start() {
    let dir = tempfile::tempdir().unwrap();
    for bad in ["7", "a year"] {
        let out = Command::new(env!("CARGO_BIN_EXE_leadscore"))
            .args(["serve", "--addr", "127.0.0.1:0", "--data", "data"])
            .env("LEADSCORE_RETENTION_DAYS", bad)
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert!(!out.status.success(), "started with retention {bad:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("LEADSCORE_RETENTION_DAYS"), "{err}");
    }
}
