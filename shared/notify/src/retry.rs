//! Retries with exponential back-off and jitter, bounded by a deadline.

use crate::{Failure, Outgoing, Sink};
use std::time::Duration;
use tokio::time::Instant;

/// How hard one delivery attempt window tries before the notification is parked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Attempts at most (the first included).
    pub tries: u32,
    /// The wait after the first failure; doubled after each further one.
    pub first: Duration,
    /// One request's own timeout.
    pub request_timeout: Duration,
    /// The whole window: no attempt starts, and no wait ends, past it.
    pub window: Duration,
}

impl Default for Backoff {
    /// 4 tries, waits about 0.5 s, 1 s, 2 s; 5 s per request; 10 s in all.
    fn default() -> Self {
        Backoff {
            tries: 4,
            first: Duration::from_millis(500),
            request_timeout: Duration::from_secs(5),
            window: Duration::from_secs(10),
        }
    }
}

impl Backoff {
    /// The wait before attempt `attempt + 1` (after `attempt` >= 1 failures), jittered into
    /// [base/2, base] ("equal jitter": receivers recovering are not hit in lockstep).
    pub fn wait(&self, attempt: u32) -> Duration {
        let base = self
            .first
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
        let half = base / 2;
        half + half.mul_f64(jitter())
    }
}

/// A number in [0, 1) that differs between calls and processes (no RNG dependency: the
/// standard library's randomly keyed hasher).
fn jitter() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    (h.finish() >> 11) as f64 / (1u64 << 53) as f64
}

/// What one attempt window came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Delivered { tries: u32 },
    Failed { failure: Failure, tries: u32 },
}

/// Delivers `notification` to `sink`, retrying retryable failures with back-off until
/// `policy.tries` or `deadline`, whichever comes first (a wait that would end past the
/// deadline is not taken).
pub async fn deliver_with_retries(
    sink: &dyn Sink,
    notification: &Outgoing,
    policy: &Backoff,
    deadline: Instant,
) -> Outcome {
    let mut tries = 0;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let timeout = policy.request_timeout.min(left);
        if timeout.is_zero() {
            let failure = Failure::Retryable("no time left in the delivery window".into());
            return Outcome::Failed { failure, tries };
        }
        tries += 1;
        let failure = match sink.deliver(notification, timeout).await {
            Ok(()) => return Outcome::Delivered { tries },
            Err(failure) => failure,
        };
        if failure.is_permanent() || tries >= policy.tries {
            return Outcome::Failed { failure, tries };
        }
        let wait = policy.wait(tries);
        if Instant::now() + wait >= deadline {
            return Outcome::Failed { failure, tries };
        }
        tracing::debug!(destination = sink.name(), notification = %notification.id, tries,
            wait_ms = wait.as_millis() as u64, error = %failure, "delivery failed; retrying");
        tokio::time::sleep(wait).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_with_jitter_within_half_and_whole() {
        let policy = Backoff::default();
        for (attempt, base_ms) in [(1, 500u64), (2, 1000), (3, 2000)] {
            for _ in 0..50 {
                let w = policy.wait(attempt).as_millis() as u64;
                assert!(
                    w >= base_ms / 2 && w <= base_ms,
                    "attempt {attempt}: {w} ms"
                );
            }
        }
        let waits: std::collections::BTreeSet<_> = (0..20).map(|_| policy.wait(3)).collect();
        assert!(waits.len() > 1, "jittered");
    }
}
