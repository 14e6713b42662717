//! Creates the table of infra/dynamodb/table.json in a DynamoDB (Local) endpoint, so the
//! Lambda binaries run locally against exactly the table they get in AWS.

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
};
use aws_sdk_dynamodb::Client;

use crate::table::{KeyElement, TableDefinition};

#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    #[error("table definition: {0}")]
    Definition(String),
    #[error("DynamoDB: {0}")]
    Api(String),
}

fn keys(elements: &[KeyElement]) -> Result<Vec<KeySchemaElement>, CreateError> {
    elements
        .iter()
        .map(|k| {
            KeySchemaElement::builder()
                .attribute_name(&k.attribute_name)
                .key_type(KeyType::from(k.key_type.as_str()))
                .build()
                .map_err(|e| CreateError::Definition(e.to_string()))
        })
        .collect()
}

/// Whether the call created the table (`false`: it already existed, nothing changed).
pub async fn create_table(
    client: &Client,
    name: &str,
    def: &TableDefinition,
) -> Result<bool, CreateError> {
    let bad = |e: aws_sdk_dynamodb::error::BuildError| CreateError::Definition(e.to_string());
    let mut request = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .set_key_schema(Some(keys(&def.key_schema)?));
    for a in &def.attribute_definitions {
        request = request.attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(&a.attribute_name)
                .attribute_type(ScalarAttributeType::from(a.attribute_type.as_str()))
                .build()
                .map_err(bad)?,
        );
    }
    for g in &def.global_secondary_indexes {
        let projection = Projection::builder()
            .projection_type(ProjectionType::from(g.projection.projection_type.as_str()))
            .set_non_key_attributes(
                (!g.projection.non_key_attributes.is_empty())
                    .then(|| g.projection.non_key_attributes.clone()),
            )
            .build();
        request = request.global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(&g.index_name)
                .set_key_schema(Some(keys(&g.key_schema)?))
                .projection(projection)
                .build()
                .map_err(bad)?,
        );
    }
    let created = match request.send().await {
        Ok(_) => true,
        Err(SdkError::ServiceError(e)) if e.err().is_resource_in_use_exception() => false,
        Err(e) => {
            return Err(CreateError::Api(
                aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string(),
            ))
        }
    };
    if let (true, Some(ttl)) = (created, &def.time_to_live_specification) {
        client
            .update_time_to_live()
            .table_name(name)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .attribute_name(&ttl.attribute_name)
                    .enabled(ttl.enabled)
                    .build()
                    .map_err(bad)?,
            )
            .send()
            .await
            .map_err(|e| {
                CreateError::Api(aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string())
            })?;
    }
    Ok(created)
}
