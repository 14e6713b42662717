//! The `STAGE` item: a lead's entry in the stage listing, and a mirror of its erasure marker.
//!
//! Whenever the `ERASED` marker exists, `STAGE` exists and carries the marker's `erased_at`:
//! every marker write updates `STAGE` in the same transaction, a `STAGE` put carries the
//! time its condition check saw, and the other `STAGE` writes are updates that leave the
//! attribute alone. So a writer whose view saw no marker publishes its stage entry with one
//! conditional PutItem (`attribute_not_exists(erased_at)`) instead of a transaction with a
//! check of the marker: a new lead's event costs a PutItem, a Query and a PutItem, and the
//! last is half the time of a transaction. A put refused for any reason takes the transaction
//! path, which tells an erasure from an older view (and covers markers written before the
//! mirror existed: a view that sees one always takes that path).

use super::items::{key, n};
use super::{build_error, s, sdk_error, Dynamo, Item};
use crate::records::StageEntry;
use crate::{CommitError, StoreError};
use aws_sdk_dynamodb::types::{Put, ReturnConsumedCapacity, TransactWriteItem, Update};
use leadscore_scoring::{LeadId, Timestamp};

/// An older view never overwrites a newer one.
const NEWER: &str = "attribute_not_exists(pk) OR folded <= :f";

fn stage_item(id: &LeadId, entry: &StageEntry, folded: u64) -> Item {
    let mut item = key(id, "STAGE");
    item.insert("lsi1sk".into(), s("~STAGE"));
    item.insert("stage".into(), s(entry.stage.as_str()));
    item.insert("gsi1pk".into(), s(format!("STAGE#{}", entry.stage)));
    item.insert("gsi1sk".into(), s(entry.sort_key()));
    item.insert("folded".into(), n(folded));
    item
}

impl Dynamo {
    /// The stage entry alone, from a view that saw no erasure marker: one PutItem. `Ok(false)`
    /// when refused (an older view, or an erasure mirrored here): the caller then takes the
    /// transaction path.
    pub(super) async fn put_stage(
        &self,
        id: &LeadId,
        entry: &StageEntry,
        folded: u64,
    ) -> Result<bool, StoreError> {
        self.put_if(
            stage_item(id, entry, folded),
            &format!("({NEWER}) AND attribute_not_exists(erased_at)"),
            Item::from([(":f".to_string(), n(folded))]),
        )
        .await
    }

    /// The stage entry as part of a transaction whose first item checks that the marker is
    /// still the one seen (`erased_seen`); the item carries that time on.
    pub(super) fn stage_put(
        &self,
        id: &LeadId,
        entry: &StageEntry,
        folded: u64,
        erased_seen: Option<Timestamp>,
    ) -> Result<TransactWriteItem, StoreError> {
        let mut item = stage_item(id, entry, folded);
        if let Some(at) = erased_seen {
            item.insert("erased_at".into(), n(at.millis()));
        }
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(NEWER)
            .expression_attribute_values(":f", n(folded))
            .build()
            .map_err(build_error)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// Out of the listing (a visitor stitched into a lead), with an update: webhook functions
    /// may not delete, and the mirrored erasure time stays.
    pub(super) async fn unlist(&self, id: &LeadId) -> Result<(), CommitError> {
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(id, "STAGE")))
            .update_expression("SET lsi1sk = :l REMOVE stage, gsi1pk, gsi1sk, folded")
            .expression_attribute_values(":l", s("~STAGE"))
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await;
        self.tally(out, true)
            .map(|_| ())
            .map_err(|e| CommitError::Store(sdk_error(e)))
    }

    /// The erasure's mirror, for the marker's transaction. `folded` starts at 0 where there
    /// was no entry, so that a person who comes back after the erasure is listed again.
    pub(super) fn stage_erased(
        &self,
        id: &LeadId,
        at: Timestamp,
    ) -> Result<TransactWriteItem, StoreError> {
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(id, "STAGE")))
            .update_expression("SET erased_at = :at, folded = if_not_exists(folded, :zero)")
            .expression_attribute_values(":at", n(at.millis()))
            .expression_attribute_values(":zero", n(0u64))
            .build()
            .map_err(build_error)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    /// The purge's part: the lead leaves the listing, the item (and its mirror) stays.
    pub(super) async fn strip_stage(&self, id: &LeadId) -> Result<(), StoreError> {
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(id, "STAGE")))
            .condition_expression("attribute_exists(pk)")
            .update_expression("SET folded = :zero REMOVE stage, gsi1pk, gsi1sk")
            .expression_attribute_values(":zero", n(0u64))
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await;
        // No stage item (refused): nothing to take out of the listing.
        self.written(out).map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Backend;
    use crate::records::{Erased, Publish};
    use leadscore_scoring::{AnonymousId, Email, Stage};

    /// A fresh table in the DynamoDB Local the test command started.
    async fn table() -> Dynamo {
        Dynamo::scratch("stage").await.unwrap()
    }

    fn at(minute: i64) -> Timestamp {
        Timestamp::from_millis(1_761_955_200_000 + minute * 60_000)
    }

    /// A stage entry written from a view that saw the marker `seen`.
    fn stage(id: &LeadId, stage: Stage, folded: u64, seen: Option<Timestamp>) -> Publish {
        let entry = StageEntry {
            stage,
            recorded_at: at(folded as i64),
            id: id.clone(),
        };
        Publish {
            stage: Some((entry, folded)),
            erased_seen: seen,
            ..Publish::default()
        }
    }

    fn erased(minute: i64) -> Erased {
        Erased {
            at: at(minute),
            done: false,
            visitors: Vec::new(),
        }
    }

    async fn listed(store: &Dynamo, stage: Stage, id: &LeadId) -> bool {
        let (keys, _) = store.stage_index(stage, "0", false, 100).await.unwrap();
        keys.iter().any(|k| k.ends_with(&format!("#{id}")))
    }

    fn refused(out: Result<(), CommitError>) -> bool {
        matches!(out, Err(CommitError::Conflict))
    }

    #[tokio::test]
    async fn a_view_read_before_an_erasure_never_lists_the_person_again() {
        let store = table().await;
        let id = LeadId::for_email(&Email::parse("ada@stale.io").unwrap());
        store
            .publish(&id, stage(&id, Stage::Lead, 1, None))
            .await
            .unwrap();
        assert!(listed(&store, Stage::Lead, &id).await);

        store.mark_lead_erased(&id, &erased(10)).await.unwrap();
        // A writer that read the lead before the erasure began: refused, whether it moves
        // the lead or repeats its entry.
        assert!(refused(
            store.publish(&id, stage(&id, Stage::Mql, 2, None)).await
        ));
        assert!(refused(
            store.publish(&id, stage(&id, Stage::Lead, 1, None)).await
        ));
        assert!(!listed(&store, Stage::Mql, &id).await);

        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
        assert!(store.purge(&id, at(10), deadline).await.unwrap());
        assert!(!listed(&store, Stage::Lead, &id).await);
        assert!(refused(
            store.publish(&id, stage(&id, Stage::Mql, 3, None)).await
        ));

        // The person comes back: a view that saw this erasure lists them again, from a
        // fresh history (fewer events folded than before).
        store
            .publish(&id, stage(&id, Stage::Lead, 1, Some(at(10))))
            .await
            .unwrap();
        assert!(listed(&store, Stage::Lead, &id).await);
        // A second erasure refuses a view that saw only the first.
        store.mark_lead_erased(&id, &erased(20)).await.unwrap();
        assert!(refused(
            store
                .publish(&id, stage(&id, Stage::Mql, 2, Some(at(10))))
                .await
        ));
        assert!(!listed(&store, Stage::Mql, &id).await);
    }

    #[tokio::test]
    async fn a_marker_on_an_id_never_listed_refuses_a_view_from_before_it() {
        let store = table().await;
        let visitor = LeadId::for_visitor(&AnonymousId::parse("anon-stale").unwrap());
        store.mark_erased(&visitor, &erased(5)).await.unwrap();
        assert!(refused(
            store
                .publish(&visitor, stage(&visitor, Stage::Visitor, 1, None))
                .await
        ));
        assert!(!listed(&store, Stage::Visitor, &visitor).await);
        // An unlisted visitor stays out of the listing, whatever view writes.
        let unlist = Publish {
            unlist: true,
            ..Publish::default()
        };
        store.publish(&visitor, unlist).await.unwrap();
        for seen in [None, Some(at(5))] {
            let _ = store
                .publish(&visitor, stage(&visitor, Stage::Visitor, 2, seen))
                .await;
            assert!(!listed(&store, Stage::Visitor, &visitor).await);
        }
        // Seen, the marker lets the entry in (a visitor back after the erasure).
        let other = LeadId::for_visitor(&AnonymousId::parse("anon-back").unwrap());
        store.mark_erased(&other, &erased(5)).await.unwrap();
        store
            .publish(&other, stage(&other, Stage::Visitor, 1, Some(at(5))))
            .await
            .unwrap();
        assert!(listed(&store, Stage::Visitor, &other).await);
    }

    #[tokio::test]
    async fn an_older_view_leaves_the_newer_entry() {
        let store = table().await;
        let id = LeadId::for_email(&Email::parse("grace@order.io").unwrap());
        store
            .publish(&id, stage(&id, Stage::Mql, 5, None))
            .await
            .unwrap();
        // Refused as older, not as erased: nothing to retry.
        store
            .publish(&id, stage(&id, Stage::Lead, 3, None))
            .await
            .unwrap();
        assert!(listed(&store, Stage::Mql, &id).await);
        assert!(!listed(&store, Stage::Lead, &id).await);
    }
}
