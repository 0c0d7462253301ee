//! Rate-limit windows on PostgreSQL: the limit port.

use async_trait::async_trait;

use super::{PgStore, delete_batch};
use std::time::Duration;

use time::OffsetDateTime;

use crate::store::{LimitStorage, StoreResult, micros_of, to_micros, window_starts};

#[async_trait]
impl LimitStorage for PgStore {
    async fn count_attempt(
        &self,
        key: &str,
        now: OffsetDateTime,
        period: Duration,
        limit: u32,
    ) -> StoreResult<Result<OffsetDateTime, OffsetDateTime>> {
        let (now, period) = (to_micros(now), micros_of(period));
        let counted = self
            .observe(async {
                let client = self.client().await?;
                // One statement: the conflicting row is locked, so concurrent attempts on
                // any number of servers are counted one after another.
                let stmt = client
                    .prepare_cached(
                        "INSERT INTO rate_limits AS l (key, window_start, count) VALUES ($1, $2, 1)
                     ON CONFLICT (key) DO UPDATE SET
                       window_start = CASE WHEN l.window_start <= $3 THEN $2 ELSE l.window_start END,
                       count = CASE WHEN l.window_start <= $3 THEN 1 ELSE l.count + 1 END
                     WHERE l.window_start <= $3 OR l.count < $4
                     RETURNING window_start",
                    )
                    .await?;
                let limit = i32::try_from(limit).unwrap_or(i32::MAX);
                if let Some(row) = client
                    .query_opt(&stmt, &[&key, &now, &(now - period), &limit])
                    .await?
                {
                    return Ok(Ok(row.try_get(0)?));
                }
                let row = client
                    .query_one("SELECT window_start FROM rate_limits WHERE key = $1", &[&key])
                    .await?;
                Ok(Err(row.try_get(0)?))
            })
            .await?;
        window_starts(counted)
    }

    async fn uncount_attempt(&self, key: &str, window_start: OffsetDateTime) -> StoreResult<()> {
        let window_start = to_micros(window_start);
        self.observe(async {
            let client = self.client().await?;
            client
                .execute(
                    "UPDATE rate_limits SET count = count - 1
                     WHERE key = $1 AND window_start = $2 AND count > 0",
                    &[&key, &window_start],
                )
                .await?;
            Ok(())
        })
        .await
    }

    async fn delete_ended_windows(&self, before: OffsetDateTime, batch: u32) -> StoreResult<usize> {
        let before = to_micros(before);
        self.observe(async {
            let client = self.client().await?;
            let n = delete_batch(
                &client,
                "rate_limits",
                "key",
                "window_start",
                before,
                i64::from(batch),
            )
            .await?;
            Ok(n as usize)
        })
        .await
    }
}
