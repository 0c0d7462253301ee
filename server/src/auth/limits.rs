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

    /// Reserves one attempt before it is tried, counted at once in the same step as
    /// the check, so that however many requests arrive together, at most `limit` are
    /// ever tried per window. Counting after the attempt instead would let a burst
    /// through whole: every request would pass the check before any was counted.
    /// Dropping the reservation gives it back (the attempt succeeded);
    /// [`Reservation::spend`] keeps it (the attempt failed).
    pub fn reserve(&self, key: &str) -> Result<Reservation<'_>, Duration> {
        if self.limit == 0 {
            return Ok(Reservation {
                limiter: self,
                held: None,
            });
        }
        let started = self.with_window(key, |w, now| {
            if w.count >= self.limit {
                return Err(self.retry_after(w, now));
            }
            w.count += 1;
            Ok(w.started)
        })?;
        Ok(Reservation {
            limiter: self,
            held: Some((key.to_string(), started)),
        })
    }

    /// Drops the windows that have ended (an ended window counts nothing).
    pub fn sweep(&self) {
        let now = Instant::now();
        self.windows
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|_, w| now.duration_since(w.started) < self.period);
    }

    pub fn tracked_keys(&self) -> usize {
        self.windows.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    fn release(&self, key: &str, window_started: Instant) {
        let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        // A window that has since been replaced no longer holds this reservation.
        if let Some(w) = windows.get_mut(key).filter(|w| w.started == window_started) {
            w.count = w.count.saturating_sub(1);
        }
    }
}

/// One attempt counted against a limit until it is known to have failed.
pub struct Reservation<'a> {
    limiter: &'a RateLimiter,
    held: Option<(String, Instant)>,
}

impl Reservation<'_> {
    /// The attempt failed: it stays counted.
    pub fn spend(mut self) {
        self.held = None;
    }
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        if let Some((key, started)) = self.held.take() {
            self.limiter.release(&key, started);
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
    fn reservations_count_at_once_and_only_spent_ones_stay() {
        let limiter = RateLimiter::new(2, Duration::from_secs(60));
        let first = limiter.reserve("a").expect("first");
        let second = limiter.reserve("a").expect("second");
        assert!(limiter.reserve("a").is_err(), "two in flight fill the limit");
        drop(first);
        let third = limiter.reserve("a").expect("a success gave its slot back");
        second.spend();
        third.spend();
        assert!(limiter.reserve("a").is_err(), "two failures fill the limit");
        assert!(limiter.reserve("b").is_ok(), "keys are independent");
    }

    #[test]
    fn a_burst_of_threads_gets_exactly_the_limit() {
        let limiter = std::sync::Arc::new(RateLimiter::new(5, Duration::from_secs(60)));
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(32));
        let threads: Vec<_> = (0..32)
            .map(|_| {
                let (limiter, barrier) = (limiter.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    limiter.reserve("a").map(Reservation::spend).is_ok()
                })
            })
            .collect();
        let admitted = threads
            .into_iter()
            .map(|t| t.join().unwrap_or(false))
            .filter(|ok| *ok)
            .count();
        assert_eq!(admitted, 5);
    }

    #[test]
    fn ended_windows_are_swept() {
        let limiter = RateLimiter::new(3, Duration::from_millis(20));
        for round in 0..5 {
            for n in 0..200 {
                let _ = limiter.hit(&format!("{round}-{n}"));
            }
            std::thread::sleep(Duration::from_millis(25));
            limiter.sweep();
            assert_eq!(limiter.tracked_keys(), 0);
        }
    }

    #[test]
    fn zero_disables() {
        let off = RateLimiter::new(0, Duration::from_secs(60));
        for _ in 0..100 {
            assert!(off.hit("a").is_ok());
        }
    }
}
