//! Who an event is about. Newtypes with private fields: a value that exists is valid.

use hmac::{Hmac, Mac};
use serde::{Deserialize, Deserializer, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;
use std::sync::OnceLock;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    #[error("invalid email address")]
    InvalidEmail,
    #[error("invalid anonymous id: 1 to 128 characters of letters, digits and . _ : - expected")]
    InvalidAnonymousId,
    #[error("invalid event id: 1 to 256 printable characters expected")]
    InvalidEventId,
    #[error("invalid lead id")]
    InvalidLeadId,
    #[error("the lead id key must be at least 32 bytes (LEADSCORE_LEAD_ID_KEY)")]
    ShortLeadIdKey,
    #[error("lead ids are already derived with another key in this process")]
    LeadIdKeyChanged,
}

/// The key lead ids are derived with (`LEADSCORE_LEAD_ID_KEY`), set once at start.
static LEAD_ID_KEY: OnceLock<Vec<u8>> = OnceLock::new();

/// Derives every lead id of this process with `key` (HMAC-SHA-256 of the first identity), so
/// that nobody holding a list of emails can tell which id in a log is whose. Set once, at
/// start, before any id is derived; the same key again is fine, another one is refused.
/// Without a key (tests, the first version's data) ids are a plain SHA-256, which anyone can
/// recompute from an email address.
pub fn set_lead_id_key(key: &[u8]) -> Result<(), IdentityError> {
    if key.len() < 32 {
        return Err(IdentityError::ShortLeadIdKey);
    }
    let set = LEAD_ID_KEY.get_or_init(|| key.to_vec());
    if set.as_slice() == key {
        Ok(())
    } else {
        Err(IdentityError::LeadIdKeyChanged)
    }
}

/// Whether lead ids are keyed in this process.
pub fn lead_ids_keyed() -> bool {
    LEAD_ID_KEY.get().is_some()
}

/// A normalised email address: trimmed and lower-cased.
///
/// The contract asks for a lower-cased domain; we lower-case the local part too because every
/// marketing tool we receive from treats addresses case-insensitively, and `Ada@x.com` and
/// `ada@x.com` splitting into two leads would be worse than the rare case-sensitive mailbox.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, IdentityError> {
        let s = raw.trim();
        if s.len() > 254 || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(IdentityError::InvalidEmail);
        }
        let (local, domain) = s.rsplit_once('@').ok_or(IdentityError::InvalidEmail)?;
        let domain_ok = !domain.is_empty()
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && domain
                .chars()
                .all(|c| c.is_alphanumeric() || c == '.' || c == '-');
        if local.is_empty() || local.len() > 64 || local.contains('@') || !domain_ok {
            return Err(IdentityError::InvalidEmail);
        }
        Ok(Email(s.to_lowercase()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map(|(_, d)| d).unwrap_or("")
    }
    /// For logs: never the raw address. Keeps the domain, which is not personal for companies.
    pub fn redacted(&self) -> String {
        format!("***@{}", self.domain())
    }
}

// Debug never prints the address: logs must not carry raw emails.
impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Email({})", self.redacted())
    }
}

impl<'de> Deserialize<'de> for Email {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Email::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// An anonymous visitor id (cookie id, Segment `anonymousId`, chat session id).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct AnonymousId(String);

impl AnonymousId {
    pub fn parse(raw: &str) -> Result<Self, IdentityError> {
        let s = raw.trim();
        let ok = !s.is_empty()
            && s.len() <= 128
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-'));
        if ok {
            Ok(AnonymousId(s.to_string()))
        } else {
            Err(IdentityError::InvalidAnonymousId)
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for AnonymousId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        AnonymousId::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// The dedup key of an event, unique per lead.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct EventId(String);

impl EventId {
    pub fn parse(raw: &str) -> Result<Self, IdentityError> {
        let s = raw.trim();
        if s.is_empty() || s.len() > 256 || s.chars().any(|c| c.is_control()) {
            return Err(IdentityError::InvalidEventId);
        }
        Ok(EventId(s.to_string()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for EventId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        EventId::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// A lead's stable id: `ld_` + 32 hex chars, derived from the first identity it was known by.
///
/// Deriving it (instead of drawing a random id) means a lookup by email is one read, with no
/// alias item in between. Keyed ([`set_lead_id_key`]), it is a pseudonym only the key's holder
/// can link to an address; never treat it as a credential.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct LeadId(String);

impl LeadId {
    pub fn for_email(email: &Email) -> Self {
        Self::derive("email", email.as_str())
    }
    pub fn for_visitor(anon: &AnonymousId) -> Self {
        Self::derive("anon", anon.as_str())
    }
    fn derive(kind: &str, value: &str) -> Self {
        let input = format!("{kind}:{value}");
        let digest: Vec<u8> = match LEAD_ID_KEY.get() {
            Some(key) => match Hmac::<Sha256>::new_from_slice(key) {
                Ok(mut mac) => {
                    mac.update(input.as_bytes());
                    mac.finalize().into_bytes().to_vec()
                }
                // HMAC takes keys of any length; this arm cannot be reached.
                Err(_) => Sha256::digest(input.as_bytes()).to_vec(),
            },
            None => Sha256::digest(input.as_bytes()).to_vec(),
        };
        let mut id = String::from("ld_");
        for b in &digest[..16] {
            id.push_str(&format!("{b:02x}"));
        }
        LeadId(id)
    }
    pub fn parse(raw: &str) -> Result<Self, IdentityError> {
        let s = raw.trim();
        let ok = s.len() == 35
            && s.starts_with("ld_")
            && s[3..]
                .chars()
                .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c));
        if ok {
            Ok(LeadId(s.to_string()))
        } else {
            Err(IdentityError::InvalidLeadId)
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for LeadId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for LeadId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        LeadId::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// Who an event is about: an email, an anonymous id, or both (which stitches them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<Email>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anonymous_id: Option<AnonymousId>,
}

impl Identity {
    /// At least one of the two is required.
    pub fn new(email: Option<Email>, anonymous_id: Option<AnonymousId>) -> Option<Self> {
        if email.is_none() && anonymous_id.is_none() {
            None
        } else {
            Some(Identity {
                email,
                anonymous_id,
            })
        }
    }
    /// The lead this identity belongs to before any stitching: the email wins.
    pub fn primary_lead_id(&self) -> LeadId {
        match (&self.email, &self.anonymous_id) {
            (Some(e), _) => LeadId::for_email(e),
            (None, Some(a)) => LeadId::for_visitor(a),
            // `new` forbids it; an empty identity maps to a fixed, never-stored id.
            (None, None) => LeadId::derive("none", ""),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_is_trimmed_and_lowercased() {
        let e = Email::parse("  Ada.Lovelace@EXAMPLE.com ").unwrap();
        assert_eq!(e.as_str(), "ada.lovelace@example.com");
        assert_eq!(e.domain(), "example.com");
        assert!(!format!("{e:?}").contains("lovelace"));
    }

    #[test]
    fn bad_emails_are_rejected() {
        for bad in [
            "",
            "ada",
            "ada@",
            "@x.com",
            "ada@x",
            "a b@x.com",
            "ada@x..com",
            "ada@.x.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn lead_ids_are_stable_and_parse() {
        let e = Email::parse("ada@example.com").unwrap();
        let id = LeadId::for_email(&e);
        assert_eq!(
            id,
            LeadId::for_email(&Email::parse("ADA@example.com").unwrap())
        );
        assert_eq!(LeadId::parse(id.as_str()).unwrap(), id);
        assert!(LeadId::parse("ld_xyz").is_err());
        let a = AnonymousId::parse("anon-42").unwrap();
        assert_ne!(LeadId::for_visitor(&a), id);
    }
}
