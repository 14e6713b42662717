//! Per-client-IP rate limit for the unsigned `html` source: a fixed one-minute window, in the
//! memory of one process (one Lambda instance). It slows a flood from one address; it is not a
//! global quota (API Gateway's throttling is that).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

pub const DEFAULT_PER_MINUTE: u32 = 20;
const WINDOW_MS: i64 = 60_000;
/// Forget idle addresses beyond this many, so memory stays bounded.
const MAX_TRACKED: usize = 10_000;

pub struct RateLimiter {
    per_minute: u32,
    windows: Mutex<HashMap<IpAddr, (i64, u32)>>,
}

impl RateLimiter {
    pub fn new(per_minute: u32) -> Self {
        RateLimiter {
            per_minute,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one request from `ip` at `now_ms`; `Err(seconds to wait)` when over the limit.
    pub fn check(&self, ip: IpAddr, now_ms: i64) -> Result<(), u32> {
        let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        if windows.len() > MAX_TRACKED {
            windows.retain(|_, (start, _)| now_ms - *start < WINDOW_MS);
        }
        let entry = windows.entry(ip).or_insert((now_ms, 0));
        if now_ms - entry.0 >= WINDOW_MS {
            *entry = (now_ms, 0);
        }
        if entry.1 >= self.per_minute {
            let wait = (entry.0 + WINDOW_MS - now_ms).max(1_000) / 1_000;
            return Err(wait as u32);
        }
        entry.1 += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    }
}
