//! One notification as the sinks carry it: the wire JSON and what they need to route it
//! (id, type, time), read once.

use leadscore_scoring::Timestamp;
use std::sync::Arc;

/// The notification types a receiver can filter on (`LEADSCORE_WEBHOOK_TYPES_<NAME>`).
pub const KINDS: [&str; 4] = [
    "lead.stage_changed",
    "lead.erased",
    "lead.segment_entered",
    "lead.segment_left",
];

/// A notification ready to deliver. Its body holds an email: `Debug` shows only the id and
/// type, and nothing here logs the body.
#[derive(Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// Deterministic (`ntf_<32 hex>`): the `webhook-id` a receiver deduplicates on.
    pub id: String,
    /// `lead.stage_changed`, ...: EventBridge's `DetailType`.
    pub kind: String,
    /// When what it tells happened (the wire document's `timestamp`).
    pub at: Timestamp,
    /// The wire document, exactly the bytes sent.
    pub body: Arc<[u8]>,
}

impl std::fmt::Debug for Outgoing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outgoing")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("at", &self.at)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a notification document: {0}")]
pub struct NotNotification(pub String);

impl Outgoing {
    /// Reads id, type and time from a wire document (`{"id","type","timestamp","data"}`),
    /// e.g. a parked one.
    pub fn from_json(body: &[u8]) -> Result<Outgoing, NotNotification> {
        let doc: serde_json::Value =
            serde_json::from_slice(body).map_err(|e| NotNotification(e.to_string()))?;
        let field = |name: &str| {
            doc.get(name)
                .and_then(|v| v.as_str())
                .filter(|s| !s.is_empty())
                .ok_or_else(|| NotNotification(format!("no `{name}` string")))
        };
        let at = Timestamp::parse_rfc3339(field("timestamp")?)
            .map_err(|e| NotNotification(format!("timestamp: {e}")))?;
        Ok(Outgoing {
            id: field("id")?.to_string(),
            kind: field("type")?.to_string(),
            at,
            body: Arc::from(body),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_wire_document_and_never_shows_its_body() {
        let body = br#"{"id":"ntf_1","type":"lead.stage_changed","timestamp":"2026-11-22T10:00:00Z","data":{"email":"ada@acme.com"}}"#;
        let n = Outgoing::from_json(body).unwrap();
        assert_eq!(n.id, "ntf_1");
        assert_eq!(n.kind, "lead.stage_changed");
        assert_eq!(n.at.to_rfc3339(), "2026-11-22T10:00:00Z");
        assert!(!format!("{n:?}").contains("ada@"));
        for bad in [&b"{}"[..], b"[]", b"{\"id\":\"x\",\"type\":\"t\"}", b"nope"] {
            assert!(Outgoing::from_json(bad).is_err());
        }
    }
}
