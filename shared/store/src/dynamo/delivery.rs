//! Remembered signed tokens on DynamoDB (`crate::delivery`): one item per token, deleted by
//! the table's TTL after it expires.

use super::{attr, s, sdk_error, Dynamo, Item};
use crate::{Delivery, DeliveryCheck, StoreError};
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnConsumedCapacity};
use leadscore_scoring::Timestamp;

const SK: &str = "D";

fn pk(delivery: &Delivery) -> String {
    format!("DELIVERY#{}", delivery.key)
}

/// Whether `pk` is a remembered token's (not a record of any lead).
pub(crate) fn is_delivery(pk: &str) -> bool {
    pk.starts_with("DELIVERY#")
}

fn expires(item: &Item) -> Option<Timestamp> {
    let seconds: i64 = item.get("expires_at")?.as_n().ok()?.parse().ok()?;
    Some(Timestamp::from_unix_seconds(seconds))
}

impl Dynamo {
    pub(crate) async fn delivery(
        &self,
        delivery: &Delivery,
        now: Timestamp,
        record: bool,
    ) -> Result<DeliveryCheck, StoreError> {
        if record {
            return self.record(delivery, now).await;
        }
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(pk(delivery)))
            .key("sk", s(SK))
            .consistent_read(true)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await;
        let out = self.tally(out, false).map_err(sdk_error)?;
        let stored = out.item().and_then(|item| {
            let digest = attr(item, "digest")?;
            Some((digest, expires(item).unwrap_or(now)))
        });
        Ok(DeliveryCheck::of(stored, delivery, now))
    }

    async fn record(
        &self,
        delivery: &Delivery,
        now: Timestamp,
    ) -> Result<DeliveryCheck, StoreError> {
        // Rounded up: the TTL never deletes a token before its signature expires.
        let seconds = (delivery.expires_at.millis() + 999).div_euclid(1_000);
        let item: Item = [
            ("pk".to_string(), s(pk(delivery))),
            ("sk".to_string(), s(SK)),
            ("digest".to_string(), s(&delivery.digest)),
            (
                "expires_at".to_string(),
                AttributeValue::N(seconds.to_string()),
            ),
        ]
        .into_iter()
        .collect();
        // An expired token is free again (the TTL deletes it, but not at once).
        let condition = "attribute_not_exists(pk) OR digest = :digest OR expires_at <= :now";
        let out = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(condition)
            .expression_attribute_values(":digest", s(&delivery.digest))
            .expression_attribute_values(
                ":now",
                AttributeValue::N(now.millis().div_euclid(1_000).to_string()),
            )
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await;
        match self.tally(out, true) {
            Ok(_) => Ok(DeliveryCheck::New),
            Err(e) if e.code() == Some("ConditionalCheckFailedException") => {
                Ok(DeliveryCheck::Conflict)
            }
            Err(e) => Err(sdk_error(e)),
        }
    }
}
