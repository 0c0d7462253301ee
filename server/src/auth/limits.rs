//! Fixed-window rate limits for sign-up and sign-in. A counter per key (a client address
//! or an account) that resets when its window ends; the time to that reset is the
//! `Retry-After`. Hand-written rather than GCRA (governor) because the contract is
//! "at most N per window", which a fixed window states exactly.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

struct Window {
    started: Instant,
    count: u32,
}

pub struct RateLimiter {
    limit: u32,
    period: Duration,
    windows: Mutex<HashMap<String, Window>>,
}

/// Entries kept before expired windows are swept.
const SWEEP_AT: usize = 10_000;

impl RateLimiter {
    /// `limit` 0 switches the limiter off.
    pub fn new(limit: u32, period: Duration) -> Self {
        RateLimiter {
            limit,
            period,
            windows: Mutex::new(HashMap::new()),
        }
    }

    fn with_window<T>(&self, key: &str, f: impl FnOnce(&mut Window, Instant) -> T) -> T {
        let now = Instant::now();
        let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        if windows.len() >= SWEEP_AT {
            windows.retain(|_, w| now.duration_since(w.started) < self.period);
        }
        let window = windows.entry(key.to_string()).or_insert(Window {
            started: now,
            count: 0,
        });
        if now.duration_since(window.started) >= self.period {
            *window = Window {
                started: now,
                count: 0,
            };
        }
        f(window, now)
    }

    fn retry_after(&self, window: &Window, now: Instant) -> Duration {
        (window.started + self.period).saturating_duration_since(now)
    }

    /// Counts one attempt; `Err(retry_after)` when the limit is already reached.
    pub fn hit(&self, key: &str) -> Result<(), Duration> {
        if self.limit == 0 {
            return Ok(());
        }
        self.with_window(key, |w, now| {
            if w.count >= self.limit {
                return Err(self.retry_after(w, now));
            }
            w.count += 1;
            Ok(())
        })
    }

    /// Like [`hit`](Self::hit) but counts nothing: for limits on failures only.
    pub fn check(&self, key: &str) -> Result<(), Duration> {
        if self.limit == 0 {
            return Ok(());
        }
        self.with_window(key, |w, now| {
            if w.count >= self.limit {
                Err(self.retry_after(w, now))
            } else {
                Ok(())
            }
        })
    }

    pub fn record(&self, key: &str) {
        if self.limit > 0 {
            self.with_window(key, |w, _| w.count += 1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allows_the_limit_then_refuses_with_a_retry_after() {
        let limiter = RateLimiter::new(3, Duration::from_secs(60));
        for _ in 0..3 {
            assert!(limiter.hit("a").is_ok());
        }
        let wait = limiter.hit("a").expect_err("fourth is refused");
        assert!(wait > Duration::from_secs(58) && wait <= Duration::from_secs(60));
        assert!(limiter.hit("b").is_ok(), "keys are independent");
    }

    #[test]
    fn window_resets_after_its_period() {
        let limiter = RateLimiter::new(1, Duration::from_millis(30));
        assert!(limiter.hit("a").is_ok());
        assert!(limiter.hit("a").is_err());
        std::thread::sleep(Duration::from_millis(40));
        assert!(limiter.hit("a").is_ok());
    }

    #[test]
    fn check_counts_nothing_and_zero_disables() {
        let limiter = RateLimiter::new(1, Duration::from_secs(60));
        assert!(limiter.check("a").is_ok());
        assert!(limiter.check("a").is_ok());
        limiter.record("a");
        assert!(limiter.check("a").is_err());
        let off = RateLimiter::new(0, Duration::from_secs(60));
        for _ in 0..100 {
            assert!(off.hit("a").is_ok());
        }
    }
}
