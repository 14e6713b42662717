//! Time as a value. The scoring core never reads a clock: callers pass `now`.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Milliseconds since the Unix epoch, UTC.
/// The default is the epoch (only for records written before a field existed).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

pub const MILLIS_PER_SECOND: i64 = 1_000;
pub const MILLIS_PER_DAY: i64 = 86_400_000;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an RFC 3339 date-time: {0:?}")]
pub struct TimestampError(pub String);

impl Timestamp {
    pub const fn from_millis(ms: i64) -> Self {
        Timestamp(ms)
    }
    pub const fn from_unix_seconds(s: i64) -> Self {
        Timestamp(s.saturating_mul(MILLIS_PER_SECOND))
    }
    pub const fn millis(self) -> i64 {
        self.0
    }
    pub const fn unix_seconds(self) -> i64 {
        self.0.div_euclid(MILLIS_PER_SECOND)
    }
    /// Parses an RFC 3339 date-time ("2026-11-22T10:00:00Z", offsets allowed).
    pub fn parse_rfc3339(s: &str) -> Result<Self, TimestampError> {
        let dt =
            OffsetDateTime::parse(s.trim(), &Rfc3339).map_err(|_| TimestampError(s.to_string()))?;
        let ms = dt.unix_timestamp_nanos() / 1_000_000;
        i64::try_from(ms)
            .map(Timestamp)
            .map_err(|_| TimestampError(s.to_string()))
    }
    /// RFC 3339 in UTC with millisecond precision when needed.
    pub fn to_rfc3339(self) -> String {
        match OffsetDateTime::from_unix_timestamp_nanos(self.0 as i128 * 1_000_000) {
            Ok(dt) => dt.format(&Rfc3339).unwrap_or_else(|_| self.0.to_string()),
            Err(_) => self.0.to_string(),
        }
    }
    pub fn plus_millis(self, ms: i64) -> Self {
        Timestamp(self.0.saturating_add(ms))
    }
    /// Age of `self` as seen at `now`, never negative.
    pub fn age_millis_at(self, now: Timestamp) -> i64 {
        now.0.saturating_sub(self.0).max(0)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

// Serialized as RFC 3339 so stored state and API documents read naturally.
impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_rfc3339())
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Timestamp::parse_rfc3339(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_round_trip() {
        let t = Timestamp::parse_rfc3339("2026-11-22T10:00:00Z").unwrap();
        assert_eq!(t.unix_seconds(), 1_795_341_600);
        assert_eq!(Timestamp::parse_rfc3339(&t.to_rfc3339()).unwrap(), t);
        let offset = Timestamp::parse_rfc3339("2026-11-22T11:00:00+01:00").unwrap();
        assert_eq!(offset, t);
    }

    #[test]
    fn rejects_garbage() {
        assert!(Timestamp::parse_rfc3339("yesterday").is_err());
        assert!(Timestamp::parse_rfc3339("2026-13-01T00:00:00Z").is_err());
    }
}
