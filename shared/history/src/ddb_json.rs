//! DynamoDB JSON (`{"S": "..."}`, `{"N": "1"}`...), as exports to S3 hold items, to and from
//! the SDK's `AttributeValue`.

use crate::HistoryError;
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;
use base64::Engine;
use serde_json::{Map, Value};
use std::collections::HashMap;

pub(crate) type Item = HashMap<String, AttributeValue>;

fn b64(bytes: &[u8]) -> Value {
    Value::String(base64::engine::general_purpose::STANDARD.encode(bytes))
}

fn strings(v: &[String]) -> Value {
    Value::Array(v.iter().cloned().map(Value::String).collect())
}

pub(crate) fn to_json(value: &AttributeValue) -> Value {
    let (kind, inner) = match value {
        AttributeValue::S(s) => ("S", Value::String(s.clone())),
        AttributeValue::N(n) => ("N", Value::String(n.clone())),
        AttributeValue::Bool(b) => ("BOOL", Value::Bool(*b)),
        AttributeValue::Null(_) => ("NULL", Value::Bool(true)),
        AttributeValue::B(b) => ("B", b64(b.as_ref())),
        AttributeValue::Ss(v) => ("SS", strings(v)),
        AttributeValue::Ns(v) => ("NS", strings(v)),
        AttributeValue::Bs(v) => (
            "BS",
            Value::Array(v.iter().map(|b| b64(b.as_ref())).collect()),
        ),
        AttributeValue::L(v) => ("L", Value::Array(v.iter().map(to_json).collect())),
        AttributeValue::M(m) => ("M", item_to_json(m)),
        _ => ("NULL", Value::Bool(true)),
    };
    Value::Object(Map::from_iter([(kind.to_string(), inner)]))
}

pub(crate) fn item_to_json(item: &Item) -> Value {
    let mut keys: Vec<&String> = item.keys().collect();
    keys.sort();
    Value::Object(
        keys.into_iter()
            .map(|k| (k.clone(), to_json(&item[k])))
            .collect(),
    )
}

fn bad(what: &str) -> HistoryError {
    HistoryError::Format(format!("holds an unreadable DynamoDB JSON value ({what})"))
}

fn text(v: &Value) -> Result<String, HistoryError> {
    v.as_str()
        .map(str::to_string)
        .ok_or_else(|| bad("not a string"))
}

fn blob(v: &Value) -> Result<Blob, HistoryError> {
    let raw = v.as_str().ok_or_else(|| bad("binary"))?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(raw)
        .map_err(|_| bad("binary"))?;
    Ok(Blob::new(bytes))
}

fn list<T>(
    v: &Value,
    f: impl Fn(&Value) -> Result<T, HistoryError>,
) -> Result<Vec<T>, HistoryError> {
    v.as_array()
        .ok_or_else(|| bad("not a list"))?
        .iter()
        .map(f)
        .collect()
}

pub(crate) fn from_json(value: &Value) -> Result<AttributeValue, HistoryError> {
    let object = value
        .as_object()
        .filter(|o| o.len() == 1)
        .ok_or_else(|| bad("shape"))?;
    let Some((kind, v)) = object.iter().next() else {
        return Err(bad("shape"));
    };
    Ok(match kind.as_str() {
        "S" => AttributeValue::S(text(v)?),
        "N" => AttributeValue::N(text(v)?),
        "BOOL" => AttributeValue::Bool(v.as_bool().ok_or_else(|| bad("BOOL"))?),
        "NULL" => AttributeValue::Null(true),
        "B" => AttributeValue::B(blob(v)?),
        "SS" => AttributeValue::Ss(list(v, text)?),
        "NS" => AttributeValue::Ns(list(v, text)?),
        "BS" => AttributeValue::Bs(list(v, blob)?),
        "L" => AttributeValue::L(list(v, from_json)?),
        "M" => AttributeValue::M(item_from_json(v)?),
        other => return Err(bad(other)),
    })
}

pub(crate) fn item_from_json(value: &Value) -> Result<Item, HistoryError> {
    value
        .as_object()
        .ok_or_else(|| bad("an item is not an object"))?
        .iter()
        .map(|(k, v)| Ok((k.clone(), from_json(v)?)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_of_value_goes_there_and_back() {
        let item: Item = HashMap::from([
            ("s".to_string(), AttributeValue::S("x".into())),
            ("n".to_string(), AttributeValue::N("12".into())),
            ("t".to_string(), AttributeValue::Bool(true)),
            ("z".to_string(), AttributeValue::Null(true)),
            (
                "b".to_string(),
                AttributeValue::B(Blob::new(vec![0, 1, 255])),
            ),
            (
                "ss".to_string(),
                AttributeValue::Ss(vec!["a".into(), "b".into()]),
            ),
            ("ns".to_string(), AttributeValue::Ns(vec!["1".into()])),
            (
                "bs".to_string(),
                AttributeValue::Bs(vec![Blob::new(vec![7])]),
            ),
            (
                "l".to_string(),
                AttributeValue::L(vec![AttributeValue::S("y".into())]),
            ),
            (
                "m".to_string(),
                AttributeValue::M(HashMap::from([(
                    "k".to_string(),
                    AttributeValue::N("2".into()),
                )])),
            ),
        ]);
        let json = item_to_json(&item);
        assert_eq!(json["s"], serde_json::json!({"S": "x"}));
        assert_eq!(item_from_json(&json).unwrap(), item);
        assert!(item_from_json(&serde_json::json!({"a": {"X": 1}})).is_err());
        assert!(item_from_json(&serde_json::json!({"a": {"S": 1}})).is_err());
    }
}
