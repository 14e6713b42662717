//! Per-client-IP rate limit for the unsigned `html` source: at most `per_minute` submissions
//! per address in each clock minute, in the memory of one process (one Lambda instance). It
//! slows a flood from one address; it is not a global quota (API Gateway's route throttle is).
//!
//! The counts live in a fixed table (a count-min sketch): each address hashes, with a key
//! drawn at start, to one counter in each of [`ROWS`] rows, and its count is the smallest of
//! them. A request touches [`ROWS`] counters and nothing else, and the table never grows, so a
//! flood from 100,000 addresses costs the same per request and the same memory as one from
//! ten. Counters shared with other addresses only ever over-count: one address never gets
//! more than the limit in a minute, whatever the other traffic; in a crowded minute an
//! address may be slowed a little early. Each counter carries the minute it counts, so a new
//! minute needs no sweep: a counter from an older minute reads as zero.

use std::hash::BuildHasher;
use std::net::IpAddr;
use std::sync::Mutex;

pub const DEFAULT_PER_MINUTE: u32 = 20;

/// The limit from `LEADSCORE_HTML_RATE_LIMIT` (unset: [`DEFAULT_PER_MINUTE`]).
pub(crate) fn per_minute(var: Option<&str>) -> Result<u32, crate::ConfigError> {
    let Some(v) = var else {
        return Ok(DEFAULT_PER_MINUTE);
    };
    v.trim()
        .parse::<u32>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| {
            crate::ConfigError(format!(
                "LEADSCORE_HTML_RATE_LIMIT must be a positive number of submissions per minute \
                 per client IP, not {v:?}"
            ))
        })
}
const WINDOW_MS: i64 = 60_000;
/// Rows of the table; each address has one counter per row.
const ROWS: usize = 4;
/// Counters per row (a power of two, at most 2^16: an index is 16 bits of the hash or fewer).
/// 4 rows of 16 Ki counters of 8 bytes: the memory is fixed at 512 KiB.
const WIDTH: usize = 1 << 14;

#[derive(Clone, Copy, Default)]
struct Counter {
    /// The minute (since the epoch) `count` is about.
    minute: u32,
    count: u32,
}

pub struct RateLimiter {
    per_minute: u32,
    width: usize,
    /// Keyed per process, so nobody can pick addresses that share a victim's counters.
    keys: std::collections::hash_map::RandomState,
    counters: Mutex<Box<[Counter]>>,
    /// Counters read or written so far (tests count work with it).
    #[cfg(test)]
    touched: std::sync::atomic::AtomicU64,
}

impl RateLimiter {
    pub fn new(per_minute: u32) -> Self {
        Self::with_width(per_minute, WIDTH)
    }

    /// A table of `width` counters per row (a power of two up to 2^16): small ones in tests,
    /// where addresses must share counters.
    fn with_width(per_minute: u32, width: usize) -> Self {
        let width = width.clamp(1, 1 << 16).next_power_of_two();
        RateLimiter {
            per_minute,
            width,
            keys: std::collections::hash_map::RandomState::new(),
            counters: Mutex::new(vec![Counter::default(); ROWS * width].into_boxed_slice()),
            #[cfg(test)]
            touched: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// Counts one request from `ip` at `now_ms`; `Err(seconds to wait)` when over the limit
    /// (the request is then not counted).
    pub fn check(&self, ip: IpAddr, now_ms: i64) -> Result<(), u32> {
        let minute = u32::try_from(now_ms.div_euclid(WINDOW_MS)).unwrap_or(0);
        let hash = self.keys.hash_one(ip);
        // One counter per row, each indexed by its own 16 bits of the hash.
        let width = self.width;
        let slots: [usize; ROWS] =
            std::array::from_fn(|row| row * width + ((hash >> (16 * row)) as usize & (width - 1)));
        #[cfg(test)]
        self.touched
            .fetch_add(ROWS as u64, std::sync::atomic::Ordering::Relaxed);
        let mut counters = self.counters.lock().unwrap_or_else(|p| p.into_inner());
        let count = slots
            .iter()
            .map(|&i| {
                let c = counters[i];
                // An older minute counts nothing now; a later one (a clock that stepped
                // back) is kept: over-counting is the safe side.
                if c.minute >= minute {
                    c.count
                } else {
                    0
                }
            })
            .min()
            .unwrap_or(0);
        if count >= self.per_minute {
            let minute_end = (i64::from(minute) + 1) * WINDOW_MS;
            let wait = ((minute_end - now_ms).max(1_000) + 999) / 1_000;
            return Err(u32::try_from(wait).unwrap_or(60));
        }
        // Conservative update: raise each counter only as far as this address's new count,
        // which over-counts the other addresses sharing them as little as possible.
        for &i in &slots {
            let c = &mut counters[i];
            if c.minute < minute {
                *c = Counter { minute, count: 0 };
            }
            c.count = c.count.max(count + 1);
        }
        Ok(())
    }

    /// Counters held: fixed at `ROWS * width` whatever the traffic.
    #[cfg(test)]
    fn capacity(&self) -> usize {
        self.counters
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::sync::atomic::Ordering;

    fn address(n: u32) -> IpAddr {
        IpAddr::V4(std::net::Ipv4Addr::from(0x0a00_0000 | n))
    }

    #[test]
    fn limits_each_address_per_window() {
        let limiter = RateLimiter::new(2);
        let a: IpAddr = "203.0.113.1".parse().unwrap();
        let b: IpAddr = "203.0.113.2".parse().unwrap();
        assert!(limiter.check(a, 0).is_ok());
        assert!(limiter.check(a, 10).is_ok());
        assert_eq!(limiter.check(a, 20_000), Err(40));
        assert!(limiter.check(b, 20_000).is_ok());
        assert!(limiter.check(a, 60_000).is_ok());
        assert_eq!(limiter.check(a, 60_000), Ok(()));
        assert_eq!(
            limiter.check(a, 119_500),
            Err(1),
            "never less than a second"
        );
    }

    #[test]
    fn a_flood_from_100_000_addresses_keeps_memory_and_work_per_request_fixed() {
        let limiter = RateLimiter::new(20);
        let mut refused = 0;
        for n in 0..100_000 {
            let at = i64::from(n) / 10; // 100,000 requests within 10 s: one minute
            if limiter.check(address(n), at).is_err() {
                refused += 1;
            }
        }
        assert_eq!(limiter.capacity(), ROWS * WIDTH, "the table never grows");
        // Each request read and wrote its own ROWS counters: no scan, whatever was tracked.
        assert_eq!(
            limiter.touched.load(Ordering::Relaxed),
            100_000 * ROWS as u64
        );
        // One request each, 64 Ki counters: nobody was near 20.
        assert_eq!(refused, 0);
        // One of the flood's addresses still stops at 20 (one was spent in the flood; counters
        // shared with 100,000 others may stop it a few early, never late).
        let a = address(7);
        let granted = (0..40).filter(|_| limiter.check(a, 20_000).is_ok()).count();
        assert!((12..=19).contains(&granted), "{granted}");
        assert_eq!(
            limiter.touched.load(Ordering::Relaxed),
            100_040 * ROWS as u64
        );
    }

    #[test]
    fn a_new_minute_needs_no_sweep() {
        let limiter = RateLimiter::new(1);
        for n in 0..1_000 {
            assert!(limiter.check(address(n), 0).is_ok());
        }
        let touched = limiter.touched.load(Ordering::Relaxed);
        assert!(limiter.check(address(3), 59_999).is_err());
        assert!(limiter.check(address(3), 60_000).is_ok());
        assert_eq!(
            limiter.touched.load(Ordering::Relaxed) - touched,
            2 * ROWS as u64,
            "the minute turned over without visiting the other counters"
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// One watched address never gets more than the limit in any minute, whatever the
        /// other traffic (addresses drawn from a small pool, so that they share counters).
        #[test]
        fn one_address_never_gets_more_than_the_limit_in_a_minute(
            limit in 1u32..6,
            traffic in proptest::collection::vec((0u32..64, any::<bool>(), 0i64..1_500), 1..600),
        ) {
            // Four counters a row: every address shares its counters with many others.
            let limiter = RateLimiter::with_width(limit, 4);
            let watched: IpAddr = "198.51.100.7".parse().unwrap();
            let mut now = 0i64;
            let mut granted: std::collections::BTreeMap<i64, u32> = Default::default();
            for (other, watched_too, step) in traffic {
                now += step;
                let _ = limiter.check(address(other), now);
                if watched_too && limiter.check(watched, now).is_ok() {
                    *granted.entry(now.div_euclid(WINDOW_MS)).or_default() += 1;
                }
            }
            for (minute, n) in granted {
                prop_assert!(n <= limit, "minute {minute}: {n} granted, limit {limit}");
            }
        }
    }
}
