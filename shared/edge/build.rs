//! Reads the shipped rules file (`infra/rules.toml`, compiled into leadscore-scoring) once,
//! at build time, into `$OUT_DIR/default_rules.json`: a function then starts from that
//! instead of parsing TOML (most of its init before; BENCHMARKS.md "Lambda cold start").
//! An invalid rules file, or one that does not serialize, fails the build (never an empty
//! JSON file for the functions to fail on at start).

fn main() {
    // Reruns when this script or leadscore-scoring (with the rules file) is rebuilt.
    println!("cargo:rerun-if-changed=build.rs");
    let file = leadscore_scoring::RulesFile::parse(leadscore_scoring::DEFAULT_RULES_TOML)
        .unwrap_or_else(|e| panic!("infra/rules.toml: {e}"));
    let out = std::path::Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"))
        .join("default_rules.json");
    let json = file
        .to_json()
        .unwrap_or_else(|e| panic!("infra/rules.toml as JSON: {e}"));
    std::fs::write(&out, json).unwrap_or_else(|e| panic!("writing {}: {e}", out.display()));
}
