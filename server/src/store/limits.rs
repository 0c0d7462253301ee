//! The port for rate limits: one fixed window per key, checked and counted in one
//! statement.

use std::time::Duration;

use async_trait::async_trait;
use time::OffsetDateTime;

use super::StoreResult;

#[async_trait]
pub trait LimitStorage: Send + Sync + 'static {
    /// `Ok(start)`: counted in the window that started at `start`; `Err(start)`: refused,
    /// the full window started at `start`.
    async fn count_attempt(
        &self,
        key: &str,
        now: OffsetDateTime,
        period: Duration,
        limit: u32,
    ) -> StoreResult<Result<OffsetDateTime, OffsetDateTime>>;
    /// Gives back one attempt counted in the window that started at `window_start`.
    async fn uncount_attempt(&self, key: &str, window_start: OffsetDateTime) -> StoreResult<()>;
    /// Deletes at most `batch` windows that started before `before`.
    async fn delete_ended_windows(&self, before: OffsetDateTime, batch: u32) -> StoreResult<usize>;
}
