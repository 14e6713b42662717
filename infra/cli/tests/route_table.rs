//! The deployed route table (template.yaml) is the one every other surface serves: the
//! OpenAPI document and the cargo-lambda router used by `cargo lambda watch`.

use std::collections::BTreeSet;
use std::path::PathBuf;

use leadscore::routes::{cargo_lambda_routes, openapi_operations, template_routes, Route};

fn repo_file(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn template() -> BTreeSet<Route> {
    template_routes(&repo_file("template.yaml")).unwrap()
}

#[test]
fn template_has_every_route_of_the_api() {
    let expected: BTreeSet<Route> = [
        ("POST", "/webhooks/forms/{source}", "form-submission"),
        ("POST", "/webhooks/forms/html", "form-submission"),
        ("POST", "/webhooks/chatbot/{source}", "chatbot-message"),
        ("POST", "/webhooks/email/{source}", "newsletter-click"),
        ("GET", "/webhooks/email/{source}", "newsletter-click"),
        ("HEAD", "/webhooks/email/{source}", "newsletter-click"),
        ("GET", "/leads", "stage-query"),
        ("GET", "/leads/{lead}", "stage-query"),
        ("POST", "/leads/{lead}/qualification", "stage-query"),
        ("DELETE", "/leads/{lead}", "stage-query"),
        ("GET", "/insights", "stage-query"),
        ("GET", "/dashboard", "stage-query"),
        ("GET", "/dashboard/{asset}", "stage-query"),
        ("GET", "/accounts", "stage-query"),
        ("GET", "/accounts/{domain}", "stage-query"),
        ("GET", "/segments", "stage-query"),
        ("GET", "/segments/{name}", "stage-query"),
    ]
    .into_iter()
    .map(|(m, p, f)| Route::new(m, p, f))
    .collect();
    assert_eq!(template(), expected);
}

#[test]
fn openapi_documents_exactly_the_template_routes() {
    let from_template: BTreeSet<(String, String)> =
        template().into_iter().map(|r| (r.method, r.path)).collect();
    assert_eq!(
        openapi_operations(&repo_file("openapi.yaml")).unwrap(),
        from_template
    );
}

#[test]
fn cargo_lambda_router_serves_the_template_routes() {
    assert_eq!(
        cargo_lambda_routes(&repo_file("Cargo.toml")).unwrap(),
        template()
    );
}

/// The environment variable names each function crate gets in template.yaml.
fn function_env(template: &str) -> Vec<(String, Vec<String>)> {
    let doc: serde_yaml::Value = serde_yaml::from_str(template).unwrap();
    let mut out = Vec::new();
    for (_, r) in doc["Resources"].as_mapping().unwrap() {
        if r["Type"].as_str() != Some("AWS::Serverless::Function") {
            continue;
        }
        let dir = r["Properties"]["CodeUri"].as_str().unwrap();
        let vars = r["Properties"]["Environment"]["Variables"]
            .as_mapping()
            .map(|m| {
                m.keys()
                    .filter_map(|k| k.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        out.push((dir.rsplit('/').next().unwrap().to_string(), vars));
    }
    out
}

#[test]
fn each_function_gets_exactly_the_secrets_of_its_sources() {
    let env = function_env(&repo_file("template.yaml"));
    for (crate_name, kind) in [
        ("form-submission", "forms"),
        ("chatbot-message", "chatbot"),
        ("newsletter-click", "email"),
    ] {
        let mut expected: Vec<String> = leadscore::banner::SOURCES
            .iter()
            .filter(|(_, k)| *k == kind)
            .map(|(s, _)| leadscore::banner::secret_variable(s))
            .collect();
        expected.sort();
        let (_, vars) = env.iter().find(|(c, _)| c == crate_name).unwrap();
        let mut got: Vec<String> = vars
            .iter()
            .filter(|v| v.starts_with("LEADSCORE_SECRET_") || *v == "LEADSCORE_ALLOWED_ORIGINS")
            .cloned()
            .collect();
        got.sort();
        assert_eq!(got, expected, "{crate_name}");
        assert!(
            !vars.iter().any(|v| v == "LEADSCORE_API_KEYS"),
            "API keys never reach webhooks"
        );
    }
    let (_, stage) = env.iter().find(|(c, _)| c == "stage-query").unwrap();
    assert_eq!(
        stage,
        &vec!["LEADSCORE_API_KEYS".to_string()],
        "webhook secrets never reach the stage API"
    );
}

/// The ledger worker: no secrets, fed by the table's stream with the filters its code
/// expects (ledger entries inserted, erasure markers written), reporting failed records.
#[test]
fn the_ledger_worker_reads_the_table_stream_and_no_secret() {
    let template = repo_file("template.yaml");
    let env = function_env(&template);
    let (_, vars) = env.iter().find(|(c, _)| c == "ledger-worker").unwrap();
    assert!(vars.is_empty(), "{vars:?}");
    let doc: serde_yaml::Value = serde_yaml::from_str(&template).unwrap();
    let source = &doc["Resources"]["LedgerWorkerFunction"]["Properties"]["Events"]["LedgerChanges"]
        ["Properties"];
    assert_eq!(
        source["FunctionResponseTypes"][0].as_str(),
        Some("ReportBatchItemFailures")
    );
    let patterns: Vec<serde_json::Value> = source["FilterCriteria"]["Filters"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|f| serde_json::from_str(f["Pattern"].as_str().unwrap()).unwrap())
        .collect();
    let sk = |p: &serde_json::Value| p["dynamodb"]["Keys"]["sk"]["S"].clone();
    assert!(patterns
        .iter()
        .any(|p| p["eventName"] == serde_json::json!(["INSERT"])
            && sk(p) == serde_json::json!([{"prefix": "E#"}])));
    assert!(patterns
        .iter()
        .any(|p| p.get("eventName").is_none() && sk(p) == serde_json::json!(["ERASED"])));
}
