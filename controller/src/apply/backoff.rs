//! Per-object exponential backoff with jitter for failed reconciles.
//!
//! A transient error (API server 5xx, a conflict) retries after 1 s, 2 s, 4 s ... up to
//! the cap, each delay scaled by a random factor in [0.5, 1.0] so thousands of objects
//! failing together do not retry in lock step. Success forgets the object.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use rand::Rng as _;

/// Backoff state for many objects, keyed by a caller-chosen id (the object's uid).
#[derive(Debug)]
pub struct Backoff {
    base: Duration,
    cap: Duration,
    attempts: Mutex<HashMap<String, u32>>,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff::new(Duration::from_secs(1), Duration::from_secs(300))
    }
}

impl Backoff {
    /// Delays start at `base` and double up to `cap`.
    pub fn new(base: Duration, cap: Duration) -> Backoff {
        Backoff {
            base,
            cap,
            attempts: Mutex::new(HashMap::new()),
        }
    }

    /// The un-jittered delay before attempt `n` (0-based).
    pub fn ceiling(&self, n: u32) -> Duration {
        let factor = 1u32.checked_shl(n.min(20)).unwrap_or(u32::MAX);
        self.base.saturating_mul(factor).min(self.cap)
    }

    /// Record a failure of `key` and return how long to wait before retrying.
    pub fn failed(&self, key: &str) -> Duration {
        let n = {
            let mut map = self.attempts.lock().unwrap_or_else(|p| p.into_inner());
            let n = map.entry(key.to_owned()).or_insert(0);
            let current = *n;
            *n = n.saturating_add(1);
            current
        };
        let ceiling = self.ceiling(n);
        let jitter: f64 = rand::thread_rng().gen_range(0.5..=1.0);
        ceiling.mul_f64(jitter)
    }

    /// Forget `key` after a success.
    pub fn succeeded(&self, key: &str) {
        self.attempts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(key);
    }

    /// Failures recorded for `key` since its last success.
    pub fn attempts(&self, key: &str) -> u32 {
        self.attempts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(key)
            .copied()
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_up_to_the_cap_with_jitter_and_resets() {
        let b = Backoff::new(Duration::from_secs(1), Duration::from_secs(8));
        let delays: Vec<Duration> = (0..6).map(|_| b.failed("x")).collect();
        for (i, d) in delays.iter().enumerate() {
            let ceiling = b.ceiling(i as u32);
            assert!(
                *d <= ceiling && *d >= ceiling / 2,
                "{i}: {d:?} vs {ceiling:?}"
            );
        }
        assert_eq!(b.ceiling(5), Duration::from_secs(8));
        assert_eq!(b.attempts("x"), 6);
        b.succeeded("x");
        assert_eq!(b.attempts("x"), 0);
        assert!(b.failed("x") <= Duration::from_secs(1));
    }
}
