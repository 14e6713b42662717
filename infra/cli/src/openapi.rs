//! Checks JSON answers against openapi.yaml's schemas, so the document cannot drift from
//! what the handlers return. A small validator for the JSON Schema subset the document
//! uses ($ref, type, enum, required, properties, additionalProperties, items, oneOf, anyOf,
//! minimum, maximum, format date-time); an unsupported keyword is an error, not a pass.

use serde_json::Value;

#[derive(Debug, thiserror::Error)]
pub enum OpenApiError {
    #[error("openapi.yaml is not YAML: {0}")]
    Yaml(#[from] serde_yaml::Error),
    #[error("openapi.yaml: no {0}")]
    Missing(String),
}

pub struct OpenApi {
    doc: Value,
}

const KNOWN: [&str; 17] = [
    "$ref",
    "type",
    "enum",
    "required",
    "properties",
    "additionalProperties",
    "items",
    "oneOf",
    "anyOf",
    "minimum",
    "maximum",
    "format",
    "description",
    "default",
    "summary",
    "title",
    "example",
];

impl OpenApi {
    pub fn parse(yaml: &str) -> Result<Self, OpenApiError> {
        Ok(OpenApi {
            doc: serde_yaml::from_str(yaml)?,
        })
    }

    fn resolve<'a>(&'a self, mut v: &'a Value) -> Result<&'a Value, OpenApiError> {
        while let Some(r) = v.get("$ref").and_then(Value::as_str) {
            let pointer = r
                .strip_prefix('#')
                .ok_or_else(|| OpenApiError::Missing(format!("local $ref {r}")))?;
            v = self
                .doc
                .pointer(pointer)
                .ok_or_else(|| OpenApiError::Missing(r.to_string()))?;
        }
        Ok(v)
    }

    /// The `application/json` schema of one documented response, `None` when the response
    /// has no JSON body (204, 304, HEAD).
    pub fn response_schema(
        &self,
        method: &str,
        path: &str,
        status: u16,
    ) -> Result<Option<Value>, OpenApiError> {
        let op = self
            .doc
            .get("paths")
            .and_then(|p| p.get(path))
            .and_then(|p| p.get(method.to_ascii_lowercase()))
            .ok_or_else(|| OpenApiError::Missing(format!("operation {method} {path}")))?;
        let response = op
            .get("responses")
            .and_then(|r| r.get(status.to_string()))
            .ok_or_else(|| {
                OpenApiError::Missing(format!("response {status} for {method} {path}"))
            })?;
        let response = self.resolve(response)?;
        Ok(response
            .get("content")
            .and_then(|c| c.get("application/json"))
            .and_then(|c| c.get("schema"))
            .cloned())
    }

    /// Every way `instance` breaks `schema`, each with its JSON path.
    pub fn validate(&self, schema: &Value, instance: &Value) -> Vec<String> {
        let mut errors = Vec::new();
        self.check(schema, instance, "$", &mut errors);
        errors
    }

    fn check(&self, schema: &Value, v: &Value, at: &str, errors: &mut Vec<String>) {
        let schema = match self.resolve(schema) {
            Ok(s) => s,
            Err(e) => return errors.push(format!("{at}: {e}")),
        };
        let Some(obj) = schema.as_object() else {
            return; // `{}` or `true`: anything goes
        };
        for key in obj.keys() {
            if !KNOWN.contains(&key.as_str()) {
                errors.push(format!(
                    "{at}: schema keyword `{key}` not supported by the checker"
                ));
            }
        }
        if let Some(t) = obj.get("type") {
            let types: Vec<&str> = match t {
                Value::String(s) => vec![s.as_str()],
                Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
                _ => vec![],
            };
            if !types.iter().any(|t| type_matches(t, v)) {
                errors.push(format!(
                    "{at}: expected {}, got {}",
                    types.join(" or "),
                    kind(v)
                ));
                return;
            }
        }
        if let Some(Value::Array(allowed)) = obj.get("enum") {
            if !allowed.contains(v) {
                errors.push(format!(
                    "{at}: {v} is not one of {}",
                    Value::Array(allowed.clone())
                ));
            }
        }
        if let (Some(n), Some(min)) = (v.as_f64(), obj.get("minimum").and_then(Value::as_f64)) {
            if n < min {
                errors.push(format!("{at}: {n} < minimum {min}"));
            }
        }
        if let (Some(n), Some(max)) = (v.as_f64(), obj.get("maximum").and_then(Value::as_f64)) {
            if n > max {
                errors.push(format!("{at}: {n} > maximum {max}"));
            }
        }
        if obj.get("format").and_then(Value::as_str) == Some("date-time") {
            if let Some(s) = v.as_str() {
                let rfc3339 = &time::format_description::well_known::Rfc3339;
                if time::OffsetDateTime::parse(s, rfc3339).is_err() {
                    errors.push(format!("{at}: {s:?} is not an RFC 3339 date-time"));
                }
            }
        }
        if let Some(map) = v.as_object() {
            if let Some(Value::Array(required)) = obj.get("required") {
                for name in required.iter().filter_map(Value::as_str) {
                    if !map.contains_key(name) {
                        errors.push(format!("{at}: missing required `{name}`"));
                    }
                }
            }
            let props = obj.get("properties").and_then(Value::as_object);
            for (name, value) in map {
                let child = format!("{at}.{name}");
                match (
                    props.and_then(|p| p.get(name)),
                    obj.get("additionalProperties"),
                ) {
                    (Some(s), _) => self.check(s, value, &child, errors),
                    (None, Some(Value::Bool(false))) => {
                        errors.push(format!("{at}: unexpected property `{name}`"))
                    }
                    (None, Some(s @ Value::Object(_))) => self.check(s, value, &child, errors),
                    (None, _) => {}
                }
            }
        }
        if let (Some(items), Some(list)) = (obj.get("items"), v.as_array()) {
            for (i, item) in list.iter().enumerate() {
                self.check(items, item, &format!("{at}[{i}]"), errors);
            }
        }
        if let Some(Value::Array(options)) = obj.get("oneOf") {
            let passing = options
                .iter()
                .filter(|s| self.validate_at(s, v, at).is_empty())
                .count();
            if passing != 1 {
                errors.push(format!(
                    "{at}: matches {passing} of oneOf's {} schemas, not exactly one",
                    options.len()
                ));
            }
        }
        if let Some(Value::Array(options)) = obj.get("anyOf") {
            if !options
                .iter()
                .any(|s| self.validate_at(s, v, at).is_empty())
            {
                errors.push(format!("{at}: matches none of anyOf's schemas"));
            }
        }
    }

    fn validate_at(&self, schema: &Value, v: &Value, at: &str) -> Vec<String> {
        let mut errors = Vec::new();
        self.check(schema, v, at, &mut errors);
        errors
    }
}

fn type_matches(t: &str, v: &Value) -> bool {
    match t {
        "object" => v.is_object(),
        "array" => v.is_array(),
        "string" => v.is_string(),
        "boolean" => v.is_boolean(),
        "null" => v.is_null(),
        "number" => v.is_number(),
        "integer" => v.is_i64() || v.is_u64(),
        _ => false,
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const DOC: &str = r##"
paths:
  /x:
    get:
      responses:
        "200":
          content:
            application/json:
              schema:
                $ref: "#/components/schemas/Page"
        "204":
          description: nothing
components:
  schemas:
    Page:
      type: object
      required: [items, next]
      properties:
        items:
          type: array
          items: { type: integer, minimum: 0 }
        next: { type: [string, "null"] }
        at: { type: string, format: date-time }
        stage: { type: string, enum: [lead, mql] }
      additionalProperties: false
"##;

    fn page() -> (OpenApi, Value) {
        let api = OpenApi::parse(DOC).unwrap();
        let schema = api.response_schema("GET", "/x", 200).unwrap().unwrap();
        (api, schema)
    }

    #[test]
    fn accepts_a_conforming_answer() {
        let (api, schema) = page();
        let ok =
            json!({"items": [1, 2], "next": null, "at": "2026-11-22T10:00:00Z", "stage": "mql"});
        assert_eq!(api.validate(&schema, &ok), Vec::<String>::new());
    }

    #[test]
    fn reports_each_violation_with_its_path() {
        let (api, schema) = page();
        let bad = json!({"items": [1, -1, "x"], "at": "yesterday", "stage": "MQL", "extra": 1});
        let errors = api.validate(&schema, &bad);
        for expected in [
            "$: missing required `next`",
            "$.items[1]: -1 < minimum 0",
            "$.items[2]: expected integer, got string",
            "$.at: \"yesterday\" is not an RFC 3339 date-time",
            "$.stage: \"MQL\" is not one of [\"lead\",\"mql\"]",
            "$: unexpected property `extra`",
        ] {
            assert!(
                errors.iter().any(|e| e == expected),
                "{expected} not in {errors:#?}"
            );
        }
    }

    #[test]
    fn bodiless_and_undocumented_responses() {
        let api = OpenApi::parse(DOC).unwrap();
        assert!(api.response_schema("GET", "/x", 204).unwrap().is_none());
        assert!(api.response_schema("GET", "/x", 500).is_err());
        assert!(api.response_schema("POST", "/x", 200).is_err());
    }

    #[test]
    fn an_unsupported_keyword_fails_instead_of_passing() {
        let api = OpenApi::parse(DOC).unwrap();
        let errors = api.validate(&json!({"type": "string", "pattern": "^a"}), &json!("b"));
        assert_eq!(
            errors,
            vec!["$: schema keyword `pattern` not supported by the checker"]
        );
    }
}
