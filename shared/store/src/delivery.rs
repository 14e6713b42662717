//! Signed tokens remembered with the body they came with (issue 12). Mailgun signs
//! `timestamp + token`, not the event: whoever captured one delivery could, while its
//! signature is fresh, send any event with it. The edge checks the token before applying a
//! request's events and records it after they are committed, so a refused or failed request
//! writes nothing, and a retry of the same body after a 503 still lands.
//!
//! Stored: `DELIVERY#<key>` / `D` with `digest` and `expires_at` (unix seconds, the table's
//! TTL attribute) on DynamoDB; the `deliveries` table in the embedded store, swept of expired
//! tokens when it opens and as it grows. No personal data: the key and the digest are hashes.

use leadscore_scoring::Timestamp;

/// One signed token and the body it came with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// A digest of the source and the token (hex): fixed size whatever the token.
    pub key: String,
    /// The body's digest (hex).
    pub digest: String,
    /// When the token's signature stops being accepted: remembered until then.
    pub expires_at: Timestamp,
}

/// What is known of a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryCheck {
    /// Not seen (or expired): the request goes ahead.
    New,
    /// Seen with this very body: a redelivery (its events are duplicates).
    Same,
    /// Seen with another body: a captured signature carrying another event.
    Conflict,
}

impl DeliveryCheck {
    /// Compares what is stored (`digest`, `expires_at`) with `delivery` at `now`.
    pub(crate) fn of(
        stored: Option<(&str, Timestamp)>,
        delivery: &Delivery,
        now: Timestamp,
    ) -> Self {
        match stored {
            Some((_, expires)) if expires <= now => DeliveryCheck::New,
            Some((digest, _)) if digest == delivery.digest => DeliveryCheck::Same,
            Some(_) => DeliveryCheck::Conflict,
            None => DeliveryCheck::New,
        }
    }
}
