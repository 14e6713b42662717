//! API keys (`LEADSCORE_API_KEYS`): who may read the stage API and who may change a lead.
//!
//! Entries are comma-separated, `name:role:key` (role `read` or `write`). A bare `key` (the
//! first format) stays a write key named `key-<n>`, so existing deployments keep working.
//! The key's name is the actor in a lead's stage history: a caller cannot claim another.

use crate::{header, ApiError, ConfigError};
use lambda_http::Request;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// What a key may do. `Write` includes reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// Pollers and the dashboard's views: every GET.
    Read,
    /// Qualification and erasure too.
    Write,
}

/// A configured key: kept as its digest only.
#[derive(Clone)]
pub(crate) struct ApiKey {
    pub name: String,
    pub role: Role,
    digest: [u8; 32],
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ApiKey({}, {:?})", self.name, self.role)
    }
}

/// Parses `LEADSCORE_API_KEYS`. Refused at start: a malformed entry, a duplicate name.
pub(crate) fn parse_keys(raw: &str) -> Result<Vec<ApiKey>, ConfigError> {
    let mut keys: Vec<ApiKey> = Vec::new();
    let entries = raw.split(',').map(str::trim).filter(|e| !e.is_empty());
    for (n, entry) in entries.enumerate() {
        let parts: Vec<&str> = entry.splitn(3, ':').collect();
        let (name, role, secret) = match parts.as_slice() {
            [secret] => (format!("key-{}", n + 1), Role::Write, *secret),
            [name, role, secret] => {
                let role = match *role {
                    "read" => Role::Read,
                    "write" => Role::Write,
                    other => {
                        return Err(ConfigError(format!(
                        "LEADSCORE_API_KEYS entry {}: role must be read or write, not {other:?}",
                        n + 1
                    )))
                    }
                };
                (name.to_string(), role, *secret)
            }
            _ => {
                return Err(ConfigError(format!(
                    "LEADSCORE_API_KEYS entry {}: expected name:role:key (or a bare key)",
                    n + 1
                )))
            }
        };
        let valid_name = (1..=64).contains(&name.len())
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._@-".contains(c));
        if !valid_name {
            return Err(ConfigError(format!(
                "LEADSCORE_API_KEYS entry {}: a key name is 1 to 64 of A-Z a-z 0-9 . _ @ -",
                n + 1
            )));
        }
        if secret.trim().is_empty() {
            return Err(ConfigError(format!(
                "LEADSCORE_API_KEYS entry {} ({name}): the key is empty",
                n + 1
            )));
        }
        if keys.iter().any(|k| k.name == name) {
            return Err(ConfigError(format!(
                "LEADSCORE_API_KEYS: the name {name:?} is used twice (names are the actor in stage histories)"
            )));
        }
        keys.push(ApiKey {
            name,
            role,
            digest: Sha256::digest(secret.trim().as_bytes()).into(),
        });
    }
    Ok(keys)
}

/// The key a request carries (`Authorization: Bearer <key>`), if it may do `need`. Every
/// configured key is compared, as digests, in constant time.
pub(crate) fn authorize_key<'a>(
    keys: &'a [ApiKey],
    req: &Request,
    need: Role,
) -> Result<&'a ApiKey, ApiError> {
    if keys.is_empty() {
        return Err(ApiError::Unauthorized(
            "the stage API is closed: no API keys configured (set LEADSCORE_API_KEYS)".into(),
        ));
    }
    let given = header(req, "authorization")
        .and_then(|h| {
            h.strip_prefix("Bearer ")
                .or_else(|| h.strip_prefix("bearer "))
        })
        .map(str::trim)
        .ok_or_else(|| {
            ApiError::Unauthorized("missing `Authorization: Bearer <API key>` header".into())
        })?;
    let given: [u8; 32] = Sha256::digest(given.as_bytes()).into();
    let mut found = None;
    for key in keys {
        if bool::from(key.digest.ct_eq(&given)) {
            found = Some(key);
        }
    }
    let key = found.ok_or_else(|| ApiError::Unauthorized("wrong API key".into()))?;
    if key.role < need {
        return Err(ApiError::Forbidden(format!(
            "the API key {:?} is read-only: qualification and erasure need a write key",
            key.name
        )));
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_keys_stay_write_keys_and_named_keys_carry_their_role() {
        let keys = parse_keys("old-secret, crm:read:r-123,ana:write:w:with:colons").unwrap();
        let got: Vec<(&str, Role)> = keys.iter().map(|k| (k.name.as_str(), k.role)).collect();
        assert_eq!(
            got,
            [
                ("key-1", Role::Write),
                ("crm", Role::Read),
                ("ana", Role::Write)
            ]
        );
        let digest: [u8; 32] = Sha256::digest(b"w:with:colons").into();
        assert_eq!(keys[2].digest, digest);
    }

    #[test]
    fn malformed_entries_are_refused_with_their_position() {
        for (raw, says) in [
            ("a:admin:k", "role must be read or write"),
            ("a:k", "expected name:role:key"),
            ("bad name:read:k", "key name is 1 to 64"),
            (":read:k", "key name is 1 to 64"),
            ("a:read:", "the key is empty"),
            ("a:read:k1,a:write:k2", "used twice"),
        ] {
            let e = parse_keys(raw).unwrap_err().0;
            assert!(e.contains(says), "{raw}: {e}");
        }
        assert!(parse_keys(" , ").unwrap().is_empty());
    }
}
