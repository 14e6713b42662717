//! Operations: template.yaml alarms on what users would otherwise hear from their sales team.
//! Every function is watched for throttles, every stream consumer for its iterator age, every
//! queue for its depth, the API for its 5xx rate; each alarm notifies the optional topic.

use serde_yaml::Value;
use std::path::PathBuf;

fn template() -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../template.yaml");
    serde_yaml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// `!Ref X` / `!GetAtt X.Y` as the resource name they point at.
fn referenced(v: &Value) -> Option<String> {
    match v {
        Value::Tagged(t) => match &t.value {
            Value::String(s) => Some(s.split('.').next().unwrap_or(s).to_string()),
            _ => None,
        },
        _ => None,
    }
}

fn resources_of(doc: &Value, kind: &str) -> Vec<(String, Value)> {
    doc["Resources"]
        .as_mapping()
        .unwrap()
        .iter()
        .filter(|(_, r)| r["Type"].as_str() == Some(kind))
        .map(|(n, r)| (n.as_str().unwrap().to_string(), r.clone()))
        .collect()
}

/// Every (namespace, metric, dimension resource) an alarm watches, its metric math included.
fn watched(alarm: &Value) -> Vec<(String, String, Option<String>)> {
    let p = &alarm["Properties"];
    let dimension = |m: &Value| {
        m["Dimensions"]
            .as_sequence()
            .and_then(|d| d.first())
            .and_then(|d| referenced(&d["Value"]))
    };
    let mut out = Vec::new();
    if let Some(metric) = p["MetricName"].as_str() {
        out.push((
            p["Namespace"].as_str().unwrap().to_string(),
            metric.to_string(),
            dimension(p),
        ));
    }
    for m in p["Metrics"].as_sequence().into_iter().flatten() {
        let metric = &m["MetricStat"]["Metric"];
        if let Some(name) = metric["MetricName"].as_str() {
            out.push((
                metric["Namespace"].as_str().unwrap().to_string(),
                name.to_string(),
                dimension(metric),
            ));
        }
    }
    out
}

#[test]
fn every_failure_a_user_cares_about_has_an_alarm() {
    let doc = template();
    let alarms = resources_of(&doc, "AWS::CloudWatch::Alarm");
    let all: Vec<(String, String, Option<String>)> =
        alarms.iter().flat_map(|(_, a)| watched(a)).collect();
    let has = |ns: &str, metric: &str, target: &str| {
        all.iter()
            .any(|(n, m, d)| n == ns && m == metric && d.as_deref() == Some(target))
    };
    assert!(has("AWS/ApiGateway", "5xx", "Api"), "5xx rate");
    assert!(
        has("AWS/ApiGateway", "Count", "Api"),
        "5xx as a rate of requests"
    );
    for (name, function) in resources_of(&doc, "AWS::Serverless::Function") {
        assert!(has("AWS/Lambda", "Throttles", &name), "{name} throttles");
        let events = function["Properties"]["Events"].as_mapping().cloned();
        let on_stream = events
            .iter()
            .flatten()
            .any(|(_, e)| e["Type"].as_str() == Some("DynamoDB"));
        if on_stream {
            assert!(
                has("AWS/Lambda", "IteratorAge", &name),
                "{name} iterator age"
            );
        }
    }
    for (name, _) in resources_of(&doc, "AWS::SQS::Queue") {
        assert!(
            has("AWS/SQS", "ApproximateNumberOfMessagesVisible", &name),
            "{name} depth"
        );
    }
    assert!(has("AWS/DynamoDB", "WriteThrottleEvents", "LeadsTable"));
    assert!(has("AWS/DynamoDB", "ReadThrottleEvents", "LeadsTable"));
}

#[test]
fn every_alarm_notifies_the_optional_topic() {
    let doc = template();
    let topic = &doc["Resources"]["AlertTopic"];
    assert_eq!(topic["Condition"].as_str(), Some("HasAlertEmail"));
    for (name, alarm) in resources_of(&doc, "AWS::CloudWatch::Alarm") {
        let actions = serde_yaml::to_string(&alarm["Properties"]["AlarmActions"]).unwrap();
        assert!(
            actions.contains("HasAlertEmail") && actions.contains("AlertTopic"),
            "{name}: {actions}"
        );
    }
}
