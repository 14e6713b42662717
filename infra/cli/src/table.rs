//! The DynamoDB table definition, one source: infra/dynamodb/table.json (CreateTable's JSON
//! shape). template.yaml's table must describe the same keys and indexes (tested), and
//! `leadscore dynamodb create-table` creates exactly it in DynamoDB Local.

use serde::Deserialize;
use serde_json::Value;

/// The parts of a table definition that must agree everywhere.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TableDefinition {
    pub attribute_definitions: Vec<AttributeDefinition>,
    pub key_schema: Vec<KeyElement>,
    #[serde(default)]
    pub local_secondary_indexes: Vec<GlobalSecondaryIndex>,
    #[serde(default)]
    pub global_secondary_indexes: Vec<GlobalSecondaryIndex>,
    #[serde(default)]
    pub time_to_live_specification: Option<TimeToLive>,
    /// The stream the ledger worker reads (snapshots and erasures off the event path).
    #[serde(default)]
    pub stream_specification: Option<StreamSpecification>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StreamSpecification {
    pub stream_view_type: String,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AttributeDefinition {
    pub attribute_name: String,
    pub attribute_type: String,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeyElement {
    pub attribute_name: String,
    pub key_type: String,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GlobalSecondaryIndex {
    pub index_name: String,
    pub key_schema: Vec<KeyElement>,
    pub projection: Projection,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Projection {
    pub projection_type: String,
    #[serde(default)]
    pub non_key_attributes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TimeToLive {
    pub attribute_name: String,
    pub enabled: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum TableError {
    #[error("table definition: {0}")]
    Json(#[from] serde_json::Error),
    #[error("template.yaml: {0}")]
    Yaml(#[from] serde_yaml::Error),
    #[error("template.yaml: {0}")]
    Template(String),
}

impl TableDefinition {
    /// Reads CreateTable-shaped JSON (extra keys such as TableName or BillingMode are fine).
    pub fn from_json(json: &str) -> Result<Self, TableError> {
        Ok(serde_json::from_str::<Self>(json)?.normalized())
    }

    /// The `AWS::DynamoDB::Table` resource named `resource` in a SAM/CloudFormation template.
    pub fn from_template(template_yaml: &str, resource: &str) -> Result<Self, TableError> {
        let doc: serde_yaml::Value = serde_yaml::from_str(template_yaml)?;
        let props = doc
            .get("Resources")
            .and_then(|r| r.get(resource))
            .filter(|r| r.get("Type").and_then(|t| t.as_str()) == Some("AWS::DynamoDB::Table"))
            .and_then(|r| r.get("Properties"))
            .ok_or_else(|| TableError::Template(format!("no AWS::DynamoDB::Table {resource}")))?;
        // Through JSON: the table's properties use no intrinsic functions, and a tag here
        // (e.g. `!Ref`) makes the conversion fail loudly rather than compare wrongly.
        let json: Value = serde_json::to_value(props)
            .map_err(|e| TableError::Template(format!("{resource}: {e}")))?;
        Ok(serde_json::from_value::<Self>(json)?.normalized())
    }

    /// Order does not matter to DynamoDB for attributes and indexes; it does for key schemas.
    fn normalized(mut self) -> Self {
        self.attribute_definitions.sort();
        self.local_secondary_indexes.sort();
        self.global_secondary_indexes.sort();
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const JSON: &str = r#"{
        "TableName": "leadscore",
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [
            {"AttributeName": "sk", "AttributeType": "S"},
            {"AttributeName": "pk", "AttributeType": "S"}
        ],
        "KeySchema": [
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"}
        ],
        "GlobalSecondaryIndexes": [
            {"IndexName": "g", "KeySchema": [{"AttributeName": "sk", "KeyType": "HASH"}],
             "Projection": {"ProjectionType": "ALL"}}
        ]
    }"#;

    const TEMPLATE: &str = r#"
Resources:
  T:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions:
        - { AttributeName: pk, AttributeType: S }
        - { AttributeName: sk, AttributeType: S }
      KeySchema:
        - { AttributeName: pk, KeyType: HASH }
        - { AttributeName: sk, KeyType: RANGE }
      GlobalSecondaryIndexes:
        - IndexName: g
          KeySchema: [{ AttributeName: sk, KeyType: HASH }]
          Projection: { ProjectionType: ALL }
"#;

    #[test]
    fn same_table_in_json_and_template_compares_equal() {
        assert_eq!(
            TableDefinition::from_json(JSON).unwrap(),
            TableDefinition::from_template(TEMPLATE, "T").unwrap()
        );
    }

    #[test]
    fn a_different_index_key_is_a_difference() {
        let drifted = TEMPLATE.replace(
            "[{ AttributeName: sk, KeyType: HASH }]",
            "[{ AttributeName: pk, KeyType: HASH }]",
        );
        assert_ne!(
            TableDefinition::from_json(JSON).unwrap(),
            TableDefinition::from_template(&drifted, "T").unwrap()
        );
    }

    #[test]
    fn names_the_missing_resource() {
        let err = TableDefinition::from_template(TEMPLATE, "Leads").unwrap_err();
        assert_eq!(
            err.to_string(),
            "template.yaml: no AWS::DynamoDB::Table Leads"
        );
    }
}
