//! The items the store writes for ledger entries, aliases, erasure markers and the
//! suppression list, built in one place, and read back as analysis [`Record`]s (a table scan
//! or an export to S3 holds exactly these items).

use super::handoff::{HANDOFF_SK, INDEX_PREFIX};
use super::{attr, json, pk, s, Dynamo, Item};
use crate::records::{Erased, LedgerEntry};
use crate::{decode, Record, StoreError};
use aws_sdk_dynamodb::types::AttributeValue;
use leadscore_scoring::{LeadId, Timestamp};
use std::collections::HashMap;

/// The one partition of the suppression list: `sk` = lead id, `erased_at` (ms).
pub(crate) const SUPPRESSED_PK: &str = "SUPPRESSED";

pub(crate) fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

pub(crate) fn key(id: &LeadId, sk: &str) -> Item {
    HashMap::from([("pk".to_string(), s(pk(id))), ("sk".to_string(), s(sk))])
}

pub(crate) fn entry_item(id: &LeadId, entry: &LedgerEntry) -> Result<Item, StoreError> {
    let mut item = key(id, &format!("E#{}", entry.event.id));
    item.insert("lsi1sk".into(), s(format!("A#{}", entry.arrival_key())));
    item.insert("entry".into(), s(json(entry)?));
    Ok(item)
}

pub(crate) fn alias_item(visitor: &LeadId, lead: &LeadId) -> Item {
    let mut item = key(visitor, "ALIAS");
    item.insert("lsi1sk".into(), s("~ALIAS"));
    item.insert("lead".into(), s(lead.as_str()));
    item
}

pub(crate) fn marker_item(id: &LeadId, erased: &Erased) -> Result<Item, StoreError> {
    let mut item = key(id, "ERASED");
    item.insert("lsi1sk".into(), s("~ERASED"));
    item.insert("erased".into(), s(json(erased)?));
    item.insert("erased_at".into(), n(erased.at.millis()));
    Ok(item)
}

pub(crate) fn suppression_item(id: &LeadId, at: Timestamp) -> Item {
    HashMap::from([
        ("pk".to_string(), s(SUPPRESSED_PK)),
        ("sk".to_string(), s(id.as_str())),
        ("erased_at".to_string(), n(at.millis())),
    ])
}

/// A suppression item's (lead id, erasure time).
pub(crate) fn suppression_of(item: &Item) -> Result<(LeadId, Timestamp), StoreError> {
    let id = attr(item, "sk").and_then(|sk| LeadId::parse(sk).ok());
    match (id, millis(item, "erased_at")) {
        (Some(id), Some(at)) => Ok((id, at)),
        _ => Err(unreadable("suppression", item)),
    }
}

fn millis(item: &Item, name: &str) -> Option<Timestamp> {
    let n = item.get(name)?.as_n().ok()?;
    n.parse::<i64>().ok().map(Timestamp::from_millis)
}

/// When an erasure marker item says the person was erased (`erased_at`, or the marker's JSON
/// for markers written before that attribute).
pub(crate) fn marker_time(item: &Item) -> Result<Timestamp, StoreError> {
    if let Some(at) = millis(item, "erased_at") {
        return Ok(at);
    }
    match attr(item, "erased") {
        Some(e) => Ok(decode::<Erased>(e.as_bytes())?.at),
        None => Err(unreadable("erasure marker", item)),
    }
}

/// Names the item by its keys only: its other attributes may hold personal data.
pub(crate) fn unreadable(kind: &str, item: &Item) -> StoreError {
    StoreError::Internal(format!(
        "unreadable {kind} item (pk {:?}, sk {:?})",
        attr(item, "pk").unwrap_or_default(),
        attr(item, "sk").unwrap_or_default()
    ))
}

impl Dynamo {
    /// The analysis record an item of the table holds: ledger entries, aliases and erasure
    /// markers; `None` for snapshots, stage entries, tombstones, the suppression list (which
    /// repeats the markers) and what the hand-off derived (records, index entries, accounts). An item this version does not know is an error, so that
    /// an analysis never silently reads less than the table holds.
    pub fn record_of_item(
        item: &HashMap<String, AttributeValue>,
    ) -> Result<Option<Record>, StoreError> {
        let (Some(pk), Some(sk)) = (attr(item, "pk"), attr(item, "sk")) else {
            return Err(unreadable("keyless", item));
        };
        if pk == SUPPRESSED_PK {
            suppression_of(item)?;
            return Ok(None);
        }
        if super::delivery::is_delivery(pk) {
            return Ok(None); // a remembered signed token, no lead's record
        }
        if super::handoff::is_account(pk) {
            return Ok(None); // an account figure, derived from leads
        }
        let Some(id) = Dynamo::lead_of_key(pk) else {
            return Err(unreadable("unknown", item));
        };
        match sk {
            "SNAP" | "STAGE" | HANDOFF_SK => Ok(None),
            _ if sk.starts_with(INDEX_PREFIX) => Ok(None), // what the hand-off said, derived
            "ALIAS" => {
                let lead = attr(item, "lead").and_then(|l| LeadId::parse(l).ok());
                let lead = lead.ok_or_else(|| unreadable("alias", item))?;
                Ok(Some(Record::Alias { visitor: id, lead }))
            }
            "ERASED" => Ok(Some(Record::Erased {
                id,
                at: marker_time(item)?,
            })),
            _ if sk.starts_with("E#") => match attr(item, "entry") {
                Some(entry) => {
                    let entry: LedgerEntry = decode(entry.as_bytes())?;
                    Ok(Some(Record::Entry {
                        id,
                        applied_at: entry.applied_at,
                        event: entry.event,
                    }))
                }
                None if item.contains_key("tombstone") => Ok(None),
                None => Err(unreadable("ledger", item)),
            },
            _ => Err(unreadable("unknown", item)),
        }
    }

    /// The item the store writes for `record` (tests and `leadscore simulate --export` make
    /// exports with it). An erasure marker is written as a finished erasure without
    /// visitors: the record does not carry the rest, and no reader of records needs it.
    pub fn item_of_record(record: &Record) -> Result<HashMap<String, AttributeValue>, StoreError> {
        match record {
            Record::Entry {
                id,
                applied_at,
                event,
            } => entry_item(
                id,
                &LedgerEntry {
                    applied_at: *applied_at,
                    event: event.clone(),
                },
            ),
            Record::Alias { visitor, lead } => Ok(alias_item(visitor, lead)),
            Record::Erased { id, at } => marker_item(
                id,
                &Erased {
                    at: *at,
                    done: true,
                    visitors: Vec::new(),
                },
            ),
        }
    }
}
