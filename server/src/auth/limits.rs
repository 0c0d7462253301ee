//! Fixed-window rate limits for sign-up and sign-in, kept in the database so that every
//! server on it counts the same attempts (`store/limits.rs`). A counter per key (a client
//! address or an account) resets when its window ends; the time to that end is the
//! `Retry-After`. Hand-written rather than GCRA (governor) because the contract is "at
//! most N per window", which a fixed window states exactly, and because the count must
//! be shared.

use std::time::Duration;

use time::OffsetDateTime;

use super::AuthError;
use crate::clock::Clock;
use std::sync::Arc;

use crate::store::LimitStorage;

pub struct RateLimiter {
    db: Arc<dyn LimitStorage>,
    clock: Clock,
    /// Keeps each limiter's keys apart in the one table.
    name: &'static str,
    limit: u32,
    period: Duration,
}

/// The outcome of a check: go ahead, or wait this long.
pub type Verdict<T> = Result<T, Duration>;

impl RateLimiter {
    /// `limit` 0 switches the limiter off.
    pub fn new(
        db: Arc<dyn LimitStorage>,
        clock: Clock,
        name: &'static str,
        limit: u32,
        period: Duration,
    ) -> Self {
        RateLimiter {
            db,
            clock,
            name,
            limit,
            period,
        }
    }

    pub fn period(&self) -> Duration {
        self.period
    }

    /// Counts one attempt; `Err(retry_after)` when the limit is already reached. The
    /// check and the count are one statement.
    pub async fn hit(&self, key: &str) -> Result<Verdict<()>, AuthError> {
        Ok(self.count(key).await?.map(drop))
    }

    /// Reserves one attempt before it is tried, counted at once in the same statement as
    /// the check, so that however many requests arrive together (on however many
    /// servers), at most `limit` are ever tried per window. Counting after the attempt
    /// instead would let a burst through whole. Dropping the reservation gives it back
    /// (the attempt succeeded); [`Reservation::spend`] keeps it (the attempt failed).
    pub async fn reserve(&self, key: &str) -> Result<Verdict<Reservation>, AuthError> {
        Ok(self.count(key).await?.map(|window_start| Reservation {
            held: window_start.map(|start| (self.db.clone(), self.key(key), start)),
        }))
    }

    fn key(&self, key: &str) -> String {
        format!("{}:{key}", self.name)
    }

    /// `Ok(Some(window start))` when counted, `Ok(None)` when the limiter is off.
    async fn count(&self, key: &str) -> Result<Verdict<Option<OffsetDateTime>>, AuthError> {
        if self.limit == 0 {
            return Ok(Ok(None));
        }
        let now = self.clock.now();
        let outcome = self
            .db
            .count_attempt(&self.key(key), now, self.period, self.limit)
            .await?;
        Ok(match outcome {
            Ok(start) => Ok(Some(start)),
            Err(start) => Err((start + self.period - now).try_into().unwrap_or_default()),
        })
    }

    /// Deletes windows that ended before `now - older_than`.
    pub async fn sweep(
        db: &dyn LimitStorage,
        now: OffsetDateTime,
        older_than: Duration,
    ) -> Result<(), AuthError> {
        const BATCH: u32 = 500;
        loop {
            let before = now - older_than;
            let deleted = db.delete_ended_windows(before, BATCH).await?;
            if deleted < BATCH as usize {
                return Ok(());
            }
        }
    }
}

/// One attempt counted against a limit until it is known to have failed.
pub struct Reservation {
    held: Option<(Arc<dyn LimitStorage>, String, OffsetDateTime)>,
}

impl Reservation {
    /// The attempt failed: it stays counted.
    pub fn spend(mut self) {
        self.held = None;
    }
}

impl Drop for Reservation {
    /// Gives the attempt back. Drop cannot wait, so the write runs on its own task; until
    /// it commits the slot stays taken, which only ever errs on the side of the limit.
    fn drop(&mut self) {
        if let Some((db, key, start)) = self.held.take()
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            runtime.spawn(async move {
                if let Err(e) = db.uncount_attempt(&key, start).await {
                    tracing::warn!(error = %e, "could not give back a rate-limit reservation");
                }
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> (tempfile::TempDir, Arc<dyn LimitStorage>) {
        let dir = tempfile::tempdir().expect("dir");
        let db = crate::store::sqlite::Db::open(&dir.path().join("limits.db")).expect("db");
        (dir, std::sync::Arc::new(db))
    }

    /// A clock the test moves, and the clock itself.
    fn manual_clock() -> (crate::clock::ManualTime, Clock) {
        let time = crate::clock::ManualTime::starting_at(OffsetDateTime::now_utc());
        (time.clone(), Clock::from_source(time))
    }

    #[tokio::test]
    async fn allows_the_limit_then_refuses_with_a_retry_after() {
        let (_dir, db) = db();
        let limiter = RateLimiter::new(db, Clock::system(), "test", 3, Duration::from_secs(60));
        for _ in 0..3 {
            assert!(limiter.hit("a").await.expect("db").is_ok());
        }
        let wait = limiter
            .hit("a")
            .await
            .expect("db")
            .expect_err("fourth is refused");
        assert!(wait > Duration::from_secs(58) && wait <= Duration::from_secs(60));
        assert!(
            limiter.hit("b").await.expect("db").is_ok(),
            "keys are independent"
        );
    }

    #[tokio::test]
    async fn window_resets_after_its_period() {
        let (_dir, db) = db();
        // Time moves only when the test says, so no loaded machine can race it.
        let (time, clock) = manual_clock();
        let limiter = RateLimiter::new(db, clock, "test", 1, Duration::from_secs(60));
        assert!(limiter.hit("a").await.expect("db").is_ok());
        time.advance(time::Duration::seconds(59));
        assert!(
            limiter.hit("a").await.expect("db").is_err(),
            "still the same window"
        );
        time.advance(time::Duration::seconds(1));
        assert!(limiter.hit("a").await.expect("db").is_ok(), "a new window");
    }

    #[tokio::test]
    async fn reservations_count_at_once_and_only_spent_ones_stay() {
        let (_dir, db) = db();
        let limiter = RateLimiter::new(db, Clock::system(), "test", 2, Duration::from_secs(60));
        let first = limiter.reserve("a").await.expect("db").expect("first");
        let second = limiter.reserve("a").await.expect("db").expect("second");
        assert!(
            limiter.reserve("a").await.expect("db").is_err(),
            "two in flight fill the limit"
        );
        drop(first);
        // The give-back is its own write; wait for it.
        let mut third = None;
        for _ in 0..100 {
            if let Ok(r) = limiter.reserve("a").await.expect("db") {
                third = Some(r);
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let third = third.expect("a success gave its slot back");
        second.spend();
        third.spend();
        assert!(
            limiter.reserve("a").await.expect("db").is_err(),
            "two failures fill the limit"
        );
    }

    #[tokio::test]
    async fn a_concurrent_burst_gets_exactly_the_limit() {
        let (_dir, db) = db();
        let limiter = std::sync::Arc::new(RateLimiter::new(
            db,
            Clock::system(),
            "test",
            5,
            Duration::from_secs(60),
        ));
        let tasks: Vec<_> = (0..32)
            .map(|_| {
                let limiter = limiter.clone();
                tokio::spawn(async move {
                    match limiter.reserve("a").await.expect("db") {
                        Ok(reservation) => {
                            reservation.spend();
                            true
                        }
                        Err(_) => false,
                    }
                })
            })
            .collect();
        let mut admitted = 0;
        for task in tasks {
            admitted += usize::from(task.await.unwrap_or(false));
        }
        assert_eq!(admitted, 5);
    }

    #[tokio::test]
    async fn ended_windows_are_swept_and_zero_disables() {
        let (_dir, db) = db();
        let (time, clock) = manual_clock();
        let limiter = RateLimiter::new(db.clone(), clock.clone(), "test", 3, Duration::from_secs(60));
        for n in 0..50 {
            let _ = limiter.hit(&n.to_string()).await.expect("db");
        }
        time.advance(time::Duration::seconds(61));
        RateLimiter::sweep(db.as_ref(), clock.now(), Duration::from_secs(60))
            .await
            .expect("sweep");
        let left = db
            .delete_ended_windows(clock.now() + time::Duration::days(365), 1_000)
            .await
            .expect("count");
        assert_eq!(left, 0, "the sweep left windows behind");
        let off = RateLimiter::new(db, Clock::system(), "off", 0, Duration::from_secs(60));
        for _ in 0..20 {
            assert!(off.hit("a").await.expect("db").is_ok());
        }
    }
}
