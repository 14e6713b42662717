//! The route table as deployed: read from template.yaml so the local server, the OpenAPI
//! document and the cargo-lambda router can be checked against the one that ships.

use std::collections::BTreeSet;

use serde_yaml::Value;

/// One HTTP route and the function crate that answers it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Route {
    pub method: String,
    /// API Gateway path template, e.g. `/leads/{lead}`.
    pub path: String,
    /// The function crate's directory name under `functions/`, e.g. `stage-query`.
    pub function: String,
}

impl Route {
    pub fn new(method: &str, path: &str, function: &str) -> Self {
        Route {
            method: method.to_ascii_uppercase(),
            path: path.to_string(),
            function: function.to_string(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("template is not YAML: {0}")]
    Yaml(#[from] serde_yaml::Error),
    #[error("template: {0}")]
    Shape(String),
}

fn shape(msg: impl Into<String>) -> TemplateError {
    TemplateError::Shape(msg.into())
}

/// Every `HttpApi` event of every `AWS::Serverless::Function` in a SAM template.
pub fn template_routes(template_yaml: &str) -> Result<BTreeSet<Route>, TemplateError> {
    let doc: Value = serde_yaml::from_str(template_yaml)?;
    let resources = doc
        .get("Resources")
        .and_then(Value::as_mapping)
        .ok_or_else(|| shape("no Resources"))?;
    let mut routes = BTreeSet::new();
    for (name, resource) in resources {
        if resource.get("Type").and_then(Value::as_str) != Some("AWS::Serverless::Function") {
            continue;
        }
        let name = name.as_str().unwrap_or("?");
        let props = resource
            .get("Properties")
            .ok_or_else(|| shape(format!("{name}: no Properties")))?;
        let code_uri = props
            .get("CodeUri")
            .and_then(Value::as_str)
            .ok_or_else(|| shape(format!("{name}: CodeUri must be a local path")))?;
        let function = code_uri
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or(code_uri);
        let Some(events) = props.get("Events").and_then(Value::as_mapping) else {
            continue;
        };
        for (event_name, event) in events {
            if event.get("Type").and_then(Value::as_str) != Some("HttpApi") {
                continue;
            }
            let event_name = event_name.as_str().unwrap_or("?");
            let p = event
                .get("Properties")
                .ok_or_else(|| shape(format!("{name}.{event_name}: no Properties")))?;
            let method = p
                .get("Method")
                .and_then(Value::as_str)
                .ok_or_else(|| shape(format!("{name}.{event_name}: no Method")))?;
            let path = p
                .get("Path")
                .and_then(Value::as_str)
                .ok_or_else(|| shape(format!("{name}.{event_name}: no Path")))?;
            routes.insert(Route::new(method, path, function));
        }
    }
    Ok(routes)
}

/// The `(method, path)` pairs of an OpenAPI document.
pub fn openapi_operations(openapi_yaml: &str) -> Result<BTreeSet<(String, String)>, TemplateError> {
    const METHODS: [&str; 8] = [
        "get", "put", "post", "delete", "options", "head", "patch", "trace",
    ];
    let doc: Value = serde_yaml::from_str(openapi_yaml)?;
    let paths = doc
        .get("paths")
        .and_then(Value::as_mapping)
        .ok_or_else(|| shape("openapi: no paths"))?;
    let mut ops = BTreeSet::new();
    for (path, item) in paths {
        let path = path.as_str().ok_or_else(|| shape("openapi: path key"))?;
        for method in METHODS {
            if item.get(method).is_some() {
                ops.insert((method.to_ascii_uppercase(), path.to_string()));
            }
        }
    }
    Ok(ops)
}

/// The routes of `[workspace.metadata.lambda.watch.router]` in the root Cargo.toml, the table
/// `cargo lambda watch` serves the Lambda binaries on.
pub fn cargo_lambda_routes(cargo_toml: &str) -> Result<BTreeSet<Route>, TemplateError> {
    let doc = toml::Value::Table(toml::from_str(cargo_toml).map_err(|e| shape(e.to_string()))?);
    let router = ["workspace", "metadata", "lambda", "watch", "router"]
        .iter()
        .try_fold(&doc, |v, key| v.get(key))
        .and_then(toml::Value::as_table)
        .ok_or_else(|| shape("Cargo.toml: no [workspace.metadata.lambda.watch.router]"))?;
    let mut routes = BTreeSet::new();
    for (path, target) in router {
        let entries = target.as_array().ok_or_else(|| {
            shape(format!(
                "router {path}: give {{ method, function }} entries"
            ))
        })?;
        for entry in entries {
            let method = entry.get("method").and_then(toml::Value::as_str);
            let function = entry.get("function").and_then(toml::Value::as_str);
            match (method, function) {
                (Some(m), Some(f)) => {
                    routes.insert(Route::new(m, path, f));
                }
                _ => {
                    return Err(shape(format!(
                        "router {path}: entry without method/function"
                    )))
                }
            }
        }
    }
    Ok(routes)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEMPLATE: &str = r#"
Resources:
  Table:
    Type: AWS::DynamoDB::Table
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/stage-query/
      Environment:
        Variables:
          LEADSCORE_TABLE: !Ref Table
      Events:
        A:
          Type: HttpApi
          Properties: { ApiId: !Ref Api, Method: get, Path: "/leads/{lead}" }
        B:
          Type: Schedule
          Properties: { Schedule: rate(1 day) }
"#;

    #[test]
    fn reads_http_api_events_with_their_function_crate() {
        let routes = template_routes(TEMPLATE).unwrap();
        assert_eq!(
            routes.into_iter().collect::<Vec<_>>(),
            vec![Route::new("GET", "/leads/{lead}", "stage-query")]
        );
    }

    #[test]
    fn rejects_an_event_without_a_path() {
        let bad = TEMPLATE.replace(r#", Path: "/leads/{lead}""#, "");
        let err = template_routes(&bad).unwrap_err().to_string();
        assert!(err.contains("Fn.A: no Path"), "{err}");
    }

    #[test]
    fn rejects_a_router_entry_without_a_function() {
        let cargo = r#"
[workspace.metadata.lambda.watch.router]
"/leads" = [{ method = "GET" }]
"#;
        let err = cargo_lambda_routes(cargo).unwrap_err().to_string();
        assert!(err.contains("router /leads"), "{err}");
    }
}
