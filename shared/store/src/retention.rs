//! Retention: how long ledger entries are kept (`LEADSCORE_RETENTION_DAYS`; unset or 0 keeps
//! everything, the default). An entry whose event is older is removed: on DynamoDB by the
//! table's TTL (`expires_at` = event time + retention, written with the entry), in the
//! embedded store by `Embedded::forget_before` at start and daily, once the lead's snapshot
//! holds it. Leads keep what their snapshot folded (stage, its history, profile); README
//! "Retention" says what it does to backtests and to rule windows longer than it.

use std::time::Duration;

pub const RETENTION_VAR: &str = "LEADSCORE_RETENTION_DAYS";

/// Provider redeliveries (days at most) and sales cycles must fit well inside.
pub const MIN_RETENTION_DAYS: u64 = 30;

/// The retention a value of `LEADSCORE_RETENTION_DAYS` asks for (`None`: keep everything).
pub fn parse_retention(raw: Option<&str>) -> Result<Option<Duration>, String> {
    let raw = raw.map(str::trim).unwrap_or_default();
    if raw.is_empty() || raw == "0" {
        return Ok(None);
    }
    match raw.parse::<u64>() {
        Ok(days) if (MIN_RETENTION_DAYS..=36_500).contains(&days) => {
            Ok(Some(Duration::from_secs(days * 86_400)))
        }
        _ => Err(format!(
            "{RETENTION_VAR} must be a number of days from {MIN_RETENTION_DAYS} to 36500, or 0 \
             to keep everything, not {raw:?}"
        )),
    }
}

/// `parse_retention` of the process environment.
pub fn retention_from_env() -> Result<Option<Duration>, String> {
    parse_retention(std::env::var(RETENTION_VAR).ok().as_deref())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retention_is_whole_days_of_at_least_a_month_or_nothing() {
        assert_eq!(parse_retention(None), Ok(None));
        assert_eq!(parse_retention(Some(" 0 ")), Ok(None));
        assert_eq!(
            parse_retention(Some("365")),
            Ok(Some(Duration::from_secs(365 * 86_400)))
        );
        for bad in ["7", "-30", "1y", "365.5", "99999999"] {
            let e = parse_retention(Some(bad)).unwrap_err();
            assert!(e.contains(RETENTION_VAR), "{e}");
        }
    }
}
