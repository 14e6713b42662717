//! Opaque listing cursors: the stage and the last sort key returned, base64url-encoded JSON.
//! A cursor is only accepted for the stage it was issued for and in the shape we issue.

use crate::StoreError;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use leadscore_scoring::{LeadId, Stage, Timestamp};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
struct Cursor {
    s: Stage,
    k: String,
}

pub(crate) fn issue(stage: Stage, last_key: &str) -> String {
    let json = serde_json::to_vec(&Cursor {
        s: stage,
        k: last_key.to_string(),
    })
    .unwrap_or_default();
    URL_SAFE_NO_PAD.encode(json)
}

/// The sort key after which the next page starts.
pub(crate) fn read(stage: Stage, cursor: &str) -> Result<String, StoreError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(cursor.trim())
        .map_err(|_| StoreError::InvalidCursor)?;
    let c: Cursor = serde_json::from_slice(&bytes).map_err(|_| StoreError::InvalidCursor)?;
    if c.s != stage || !well_formed(&c.k) {
        return Err(StoreError::InvalidCursor);
    }
    Ok(c.k)
}

/// `<20 digits>#<lead id>`, as `crate::sort_key` writes it.
fn well_formed(key: &str) -> bool {
    match key.split_once('#') {
        Some((ms, id)) => {
            ms.len() == 20 && ms.bytes().all(|b| b.is_ascii_digit()) && LeadId::parse(id).is_ok()
        }
        None => false,
    }
}

/// The first sort key of entries at or after `since`.
pub(crate) fn since_key(since: Option<Timestamp>) -> String {
    format!("{:020}#", since.map_or(0, |t| t.millis().max(0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_forgeries() {
        let key = crate::records::sort_key(
            Timestamp::from_millis(42),
            &LeadId::parse(&format!("ld_{}", "a".repeat(32))).unwrap(),
        );
        let c = issue(Stage::Sql, &key);
        assert_eq!(read(Stage::Sql, &c).unwrap(), key);
        assert!(matches!(
            read(Stage::Mql, &c),
            Err(StoreError::InvalidCursor)
        ));
        for bad in [
            "",
            "nope",
            "e30",
            &URL_SAFE_NO_PAD.encode(br#"{"s":"sql","k":"x"}"#),
        ] {
            assert!(
                matches!(read(Stage::Sql, bad), Err(StoreError::InvalidCursor)),
                "{bad}"
            );
        }
    }
}
