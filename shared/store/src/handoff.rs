//! Hand-off storage, the part both backends share: what the hand-off remembered per lead
//! (`HandoffRecord`), its index entries (`members`) and the account items. Checks, keys and
//! cursors live here; each backend provides the primitives of [`Handoffs`]
//! (`dynamo/handoff.rs`, `embedded/handoff.rs`).

use crate::{check_limit, HandoffRecord, StoreError};
use async_trait::async_trait;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use leadscore_scoring::{LeadId, Timestamp};
use serde::{Deserialize, Serialize};

/// Memberships per record: its index entries go in one DynamoDB transaction (at most 100
/// items) with the record, the erasure check and a few deletes of entries it left.
pub(crate) const MAX_MEMBERSHIPS: usize = 90;

/// Longest index name or account domain, in bytes (well inside DynamoDB's key limits).
pub(crate) const MAX_NAME: usize = 200;

/// The primitives a backend provides; the checks are done before they are called.
#[async_trait]
pub(crate) trait Handoffs: Send + Sync {
    async fn read_handoff(&self, id: &LeadId) -> Result<Option<HandoffRecord>, StoreError>;
    /// The compare-and-set write of a checked record (see `LeadStore::put_handoff`).
    async fn write_handoff(&self, id: &LeadId, record: &HandoffRecord) -> Result<bool, StoreError>;
    /// At most `limit` entries of `index` after lead id `after`, in lead id order, and
    /// whether more may follow.
    async fn member_page(
        &self,
        index: &str,
        after: Option<&LeadId>,
        limit: usize,
    ) -> Result<(Vec<(LeadId, Vec<u8>)>, bool), StoreError>;
    /// Writes the account under its new `key` (`account_key`), replacing any older one.
    async fn write_account(
        &self,
        domain: &str,
        key: &str,
        score: i64,
        body: &[u8],
    ) -> Result<(), StoreError>;
    async fn remove_account(&self, domain: &str) -> Result<(), StoreError>;
    async fn read_account(&self, domain: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// At most `limit` (account key, body) pairs with a key after `after`, in key order
    /// (highest score first), and whether more may follow.
    async fn account_page(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<(String, Vec<u8>)>, bool), StoreError>;
    async fn erasure_time(&self, id: &LeadId) -> Result<Option<Timestamp>, StoreError>;
}

/// An index name or account domain: it becomes part of a key (and of a cursor).
pub(crate) fn check_name(what: &str, name: &str) -> Result<(), StoreError> {
    if valid_name(name) {
        return Ok(());
    }
    Err(StoreError::Internal(format!(
        "invalid {what} {name:?}: must be 1..={MAX_NAME} bytes without control characters"
    )))
}

fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= MAX_NAME && !name.chars().any(char::is_control)
}

/// What a record must be before any backend writes it. Errors are the caller's bug
/// (leadscore-handoff builds the memberships), hence `Internal`.
pub(crate) fn check_record(record: &HandoffRecord) -> Result<(), StoreError> {
    if record.memberships.len() > MAX_MEMBERSHIPS {
        return Err(StoreError::Internal(format!(
            "a hand-off record holds at most {MAX_MEMBERSHIPS} memberships (got {})",
            record.memberships.len()
        )));
    }
    for name in &record.memberships {
        check_name("index name", name)?;
    }
    if record.version == u64::MAX {
        return Err(StoreError::Internal(
            "hand-off record version overflow".into(),
        ));
    }
    Ok(())
}

pub(crate) async fn put_handoff_with<B: Handoffs + ?Sized>(
    backend: &B,
    id: &LeadId,
    record: &HandoffRecord,
) -> Result<bool, StoreError> {
    check_record(record)?;
    backend.write_handoff(id, record).await
}

pub(crate) async fn members_with<B: Handoffs + ?Sized>(
    backend: &B,
    index: &str,
    cursor: Option<&str>,
    limit: u32,
) -> Result<(Vec<(LeadId, Vec<u8>)>, Option<String>), StoreError> {
    check_limit(limit)?;
    check_name("index name", index)?;
    let after = cursor.map(|c| read_members_cursor(index, c)).transpose()?;
    let (page, more) = backend
        .member_page(index, after.as_ref(), limit as usize)
        .await?;
    let next = match page.last() {
        Some((last, _)) if more && page.len() == limit as usize => Some(issue(&Cursor::Members {
            i: index.to_string(),
            k: last.to_string(),
        })),
        _ => None,
    };
    Ok((page, next))
}

pub(crate) async fn put_account_with<B: Handoffs + ?Sized>(
    backend: &B,
    domain: &str,
    score: i64,
    body: &[u8],
) -> Result<(), StoreError> {
    check_name("domain", domain)?;
    backend
        .write_account(domain, &account_key(score, domain), score, body)
        .await
}

pub(crate) async fn accounts_with<B: Handoffs + ?Sized>(
    backend: &B,
    cursor: Option<&str>,
    limit: u32,
) -> Result<(Vec<(String, Vec<u8>)>, Option<String>), StoreError> {
    check_limit(limit)?;
    let after = cursor.map(read_accounts_cursor).transpose()?;
    let (page, more) = backend
        .account_page(after.as_deref(), limit as usize)
        .await?;
    let next = match page.last() {
        Some((key, _)) if more && page.len() == limit as usize => {
            Some(issue(&Cursor::Accounts { k: key.clone() }))
        }
        _ => None,
    };
    Ok((page.into_iter().map(strip_key).collect(), next))
}

/// Account pages travel as (key, body) between backend and here; callers get (domain, body).
fn strip_key((key, body): (String, Vec<u8>)) -> (String, Vec<u8>) {
    match key.split_once('#') {
        Some((_, domain)) => (domain.to_string(), body),
        None => (key, body),
    }
}

/// A score as a 20-digit key that sorts highest score first: the score shifted to unsigned
/// (order kept), then subtracted from the largest value (order reversed).
pub(crate) fn score_key(score: i64) -> String {
    let ascending = (score as u64) ^ (1 << 63);
    format!("{:020}", u64::MAX - ascending)
}

/// `<score key>#<domain>`: highest score first, ties by domain.
pub(crate) fn account_key(score: i64, domain: &str) -> String {
    format!("{}#{domain}", score_key(score))
}

/// Opaque cursors: base64url JSON, accepted only in the shape issued (and for members, only
/// for the index it was issued for).
#[derive(Serialize, Deserialize)]
#[serde(tag = "c")]
enum Cursor {
    #[serde(rename = "m")]
    Members { i: String, k: String },
    #[serde(rename = "a")]
    Accounts { k: String },
}

fn issue(cursor: &Cursor) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(cursor).unwrap_or_default())
}

fn read(cursor: &str) -> Result<Cursor, StoreError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(cursor.trim())
        .map_err(|_| StoreError::InvalidCursor)?;
    serde_json::from_slice(&bytes).map_err(|_| StoreError::InvalidCursor)
}

fn read_members_cursor(index: &str, cursor: &str) -> Result<LeadId, StoreError> {
    match read(cursor)? {
        Cursor::Members { i, k } if i == index => {
            LeadId::parse(&k).map_err(|_| StoreError::InvalidCursor)
        }
        _ => Err(StoreError::InvalidCursor),
    }
}

/// The account key after which the next page starts.
fn read_accounts_cursor(cursor: &str) -> Result<String, StoreError> {
    match read(cursor)? {
        Cursor::Accounts { k } if well_formed_account_key(&k) => Ok(k),
        _ => Err(StoreError::InvalidCursor),
    }
}

fn well_formed_account_key(key: &str) -> bool {
    match key.split_once('#') {
        Some((score, domain)) => {
            score.len() == 20 && score.bytes().all(|b| b.is_ascii_digit()) && valid_name(domain)
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn score_keys_sort_highest_first_over_the_whole_range() {
        let scores = [i64::MAX, 1_000, 1, 0, -1, -1_000, i64::MIN];
        let keys: Vec<String> = scores.iter().map(|s| score_key(*s)).collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);
        assert!(keys.iter().all(|k| k.len() == 20));
    }

    #[test]
    fn names_are_checked() {
        for bad in ["", "a\nb", "tab\there", "\u{7f}", &"x".repeat(MAX_NAME + 1)] {
            assert!(check_name("index name", bad).is_err(), "{bad:?}");
        }
        for good in ["segment:nurture", "domain:acme.com", &"x".repeat(MAX_NAME)] {
            assert!(check_name("index name", good).is_ok(), "{good:?}");
        }
    }

    #[test]
    fn cursors_refuse_forgeries_and_other_indexes() {
        let id = LeadId::parse(&format!("ld_{}", "a".repeat(32))).unwrap();
        let c = issue(&Cursor::Members {
            i: "segment:a".into(),
            k: id.to_string(),
        });
        assert_eq!(read_members_cursor("segment:a", &c).unwrap(), id);
        assert!(read_members_cursor("segment:b", &c).is_err());
        assert!(read_accounts_cursor(&c).is_err());
        let a = issue(&Cursor::Accounts {
            k: account_key(-5, "acme.com"),
        });
        assert_eq!(
            read_accounts_cursor(&a).unwrap(),
            account_key(-5, "acme.com")
        );
        assert!(read_members_cursor("segment:a", &a).is_err());
        for bad in ["", "nope", "e30"] {
            assert!(read_accounts_cursor(bad).is_err(), "{bad:?}");
            assert!(read_members_cursor("segment:a", bad).is_err(), "{bad:?}");
        }
    }
}
