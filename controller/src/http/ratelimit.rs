//! The `/v1/verify` rate limit, as Bitnami's: GCRA, `--rate-limit` requests per second
//! sustained with `--rate-limit-burst` extra, keyed by path + `X-Forwarded-For` (each
//! verify costs RSA private-key operations, so it must not be a free CPU sink).
//!
//! GCRA keeps one "theoretical arrival time" per key; a request is allowed when admitting
//! it would not push that time more than `(burst + 1)` emission intervals into the future.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Keys tracked at most (like Bitnami's 65536-entry memstore); expired ones go first.
const MAX_KEYS: usize = 65_536;

/// A keyed GCRA limiter.
#[derive(Debug)]
pub struct RateLimiter {
    interval: Duration,
    tolerance: Duration,
    tats: Mutex<HashMap<String, Instant>>,
}

impl RateLimiter {
    /// `rate` per second sustained, `burst` more allowed at once. A rate of 0 disables
    /// limiting.
    pub fn new(rate: u32, burst: u32) -> RateLimiter {
        let interval = if rate == 0 {
            Duration::ZERO
        } else {
            Duration::from_secs(1) / rate
        };
        RateLimiter {
            interval,
            tolerance: interval * (burst + 1),
            tats: Mutex::new(HashMap::new()),
        }
    }

    /// Whether a request with this key may proceed now.
    pub fn allow(&self, key: &str) -> bool {
        self.allow_at(key, Instant::now())
    }

    /// [`RateLimiter::allow`] at a given instant (tests).
    pub fn allow_at(&self, key: &str, now: Instant) -> bool {
        if self.interval.is_zero() {
            return true;
        }
        let mut tats = self.tats.lock().unwrap_or_else(|p| p.into_inner());
        if tats.len() >= MAX_KEYS && !tats.contains_key(key) {
            tats.retain(|_, tat| *tat > now);
            if tats.len() >= MAX_KEYS {
                return false;
            }
        }
        let tat = tats.get(key).copied().unwrap_or(now).max(now);
        let new_tat = tat + self.interval;
        if new_tat.duration_since(now) > self.tolerance {
            return false;
        }
        tats.insert(key.to_owned(), new_tat);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_per_second_with_burst_two_like_bitnami() {
        let l = RateLimiter::new(2, 2);
        let t0 = Instant::now();
        let allowed = (0..10).filter(|_| l.allow_at("/v1/verify", t0)).count();
        assert_eq!(allowed, 3, "burst + 1 at once");
        assert!(!l.allow_at("/v1/verify", t0 + Duration::from_millis(100)));
        assert!(l.allow_at("/v1/verify", t0 + Duration::from_millis(600)));
        // Another client (X-Forwarded-For) has its own budget.
        assert!(l.allow_at("/v1/verify10.0.0.1", t0));
        assert!(RateLimiter::new(0, 0).allow("x"));
    }
}
