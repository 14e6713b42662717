//! The table's DynamoDB stream as Lambda delivers it to the functions that follow it (the
//! ledger worker, the stage notifier): keys only; each lead a batch names, once.

use crate::Dynamo;
use leadscore_scoring::LeadId;
use serde::{Deserialize, Serialize};

/// A DynamoDB stream batch; only the keys are read.
#[derive(Debug, Deserialize)]
pub struct StreamBatch {
    #[serde(rename = "Records", default)]
    records: Vec<StreamRecord>,
}

#[derive(Debug, Deserialize)]
struct StreamRecord {
    dynamodb: StreamChange,
}

#[derive(Debug, Deserialize)]
struct StreamChange {
    #[serde(rename = "Keys")]
    keys: Keys,
    #[serde(rename = "SequenceNumber")]
    sequence_number: String,
}

#[derive(Debug, Deserialize)]
struct Keys {
    pk: StringAttribute,
}

#[derive(Debug, Deserialize)]
struct StringAttribute {
    #[serde(rename = "S")]
    s: String,
}

impl StreamBatch {
    /// Each lead id the batch names, once, with the sequence number of the first record that
    /// named it (where a retry must start). Items of no lead are skipped.
    pub fn leads(self) -> Vec<(LeadId, String)> {
        let mut leads: Vec<(LeadId, String)> = Vec::new();
        for record in self.records {
            let Some(id) = Dynamo::lead_of_key(&record.dynamodb.keys.pk.s) else {
                continue;
            };
            if !leads.iter().any(|(known, _)| *known == id) {
                leads.push((id, record.dynamodb.sequence_number));
            }
        }
        leads
    }
}

/// The partial batch response Lambda reads for stream sources (`ReportBatchItemFailures`).
#[derive(Debug, Default, Serialize, PartialEq, Eq)]
pub struct BatchResponse {
    #[serde(rename = "batchItemFailures")]
    pub batch_item_failures: Vec<ItemFailure>,
}

#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct ItemFailure {
    #[serde(rename = "itemIdentifier")]
    pub item_identifier: String,
}

impl BatchResponse {
    /// The records to deliver again, in order.
    pub fn failed(mut sequences: Vec<String>) -> Self {
        sequences.sort();
        BatchResponse {
            batch_item_failures: sequences
                .into_iter()
                .map(|item_identifier| ItemFailure { item_identifier })
                .collect(),
        }
    }
}
