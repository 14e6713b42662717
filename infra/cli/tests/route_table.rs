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
        ("POST", "/webhooks/chatbot/{source}", "chatbot-message"),
        ("POST", "/webhooks/email/{source}", "newsletter-click"),
        ("GET", "/webhooks/email/{source}", "newsletter-click"),
        ("HEAD", "/webhooks/email/{source}", "newsletter-click"),
        ("GET", "/leads", "stage-query"),
        ("GET", "/leads/{lead}", "stage-query"),
        ("POST", "/leads/{lead}/qualification", "stage-query"),
        ("DELETE", "/leads/{lead}", "stage-query"),
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
