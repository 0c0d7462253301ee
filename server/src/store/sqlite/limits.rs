//! The `rate_limits` table: one fixed window per key, counted in one statement, so that
//! every server on the database counts against the same numbers and no two attempts can
//! both pass a check that only one of them may.

use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};

use super::{Db, WriteTx};
use std::time::Duration;

use time::OffsetDateTime;

use crate::store::{LimitStorage, StoreResult, micros_of, to_micros, window_starts};

/// Counts one attempt in `key`'s window, opening a new window when the last one ended
/// (started at or before `now - period`), unless the window already holds `limit`.
/// `Ok(start)`: counted, in the window that started at `start`; `Err(start)`: refused,
/// the full window started at `start`. Times are microseconds since the epoch.
pub fn try_count(
    tx: &WriteTx<'_>,
    key: &str,
    now: i64,
    period: i64,
    limit: u32,
) -> rusqlite::Result<Result<i64, i64>> {
    let counted: Option<i64> = tx
        .prepare_cached(
            "INSERT INTO rate_limits (key, window_start, count) VALUES (?1, ?2, 1)
             ON CONFLICT(key) DO UPDATE SET
               window_start = CASE WHEN window_start <= ?3 THEN ?2 ELSE window_start END,
               count = CASE WHEN window_start <= ?3 THEN 1 ELSE count + 1 END
             WHERE window_start <= ?3 OR count < ?4
             RETURNING window_start",
        )?
        .query_row(params![key, now, now - period, limit], |r| r.get(0))
        .optional()?;
    if let Some(start) = counted {
        return Ok(Ok(start));
    }
    let start = tx
        .prepare_cached("SELECT window_start FROM rate_limits WHERE key = ?1")?
        .query_row([key], |r| r.get(0))?;
    Ok(Err(start))
}

/// Gives back one attempt counted in the window that started at `window_start` (a later
/// window does not hold it).
pub fn uncount(tx: &WriteTx<'_>, key: &str, window_start: i64) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "UPDATE rate_limits SET count = count - 1
         WHERE key = ?1 AND window_start = ?2 AND count > 0",
    )?
    .execute(params![key, window_start])?;
    Ok(())
}

/// Deletes at most `batch` windows that started before `before`; returns how many.
pub fn delete_ended(tx: &WriteTx<'_>, before: i64, batch: u32) -> rusqlite::Result<usize> {
    tx.execute(
        "DELETE FROM rate_limits WHERE key IN
           (SELECT key FROM rate_limits WHERE window_start < ?1 LIMIT ?2)",
        params![before, batch],
    )
}

#[async_trait]
impl LimitStorage for Db {
    async fn count_attempt(
        &self,
        key: &str,
        now: OffsetDateTime,
        period: Duration,
        limit: u32,
    ) -> StoreResult<Result<OffsetDateTime, OffsetDateTime>> {
        let (now, period) = (to_micros(now), micros_of(period));
        let key = key.to_string();
        let counted = self
            .write(move |tx| try_count(tx, &key, now, period, limit))
            .await?;
        window_starts(counted)
    }

    async fn uncount_attempt(&self, key: &str, window_start: OffsetDateTime) -> StoreResult<()> {
        let window_start = to_micros(window_start);
        let key = key.to_string();
        self.write(move |tx| uncount(tx, &key, window_start)).await
    }

    async fn delete_ended_windows(&self, before: OffsetDateTime, batch: u32) -> StoreResult<usize> {
        let before = to_micros(before);
        self.write(move |tx| delete_ended(tx, before, batch)).await
    }
}
