//! The `Idempotency-Key` port on SQLite: the `idempotency_keys` table, each claim one
//! write in the single writer.

use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{Db, to_micros};
use crate::store::idempotency::{headers_from_text, headers_to_text};
use crate::store::{IdempotencyStorage, KeyClaim, StoreResult, StoredAnswer};

/// How long a claimed key stays claimed before its answer is kept (a day).
const DAY_MICROS: i64 = 86_400_000_000;

#[async_trait]
impl IdempotencyStorage for Db {
    async fn claim_key(
        &self,
        user: Uuid,
        key: &str,
        request: Vec<u8>,
        now: OffsetDateTime,
        stale_before: OffsetDateTime,
    ) -> StoreResult<KeyClaim> {
        let key = key.to_string();
        self.write(move |tx| {
            let (user, now, stale) = (user.to_string(), to_micros(now), to_micros(stale_before));
            // An answer past its day, or a claim whose request died: the key is free.
            tx.prepare_cached(
                "DELETE FROM idempotency_keys WHERE user_id = ?1 AND key = ?2
                   AND ((answered = 1 AND expires_at <= ?3) OR (answered = 0 AND claimed_at < ?4))",
            )?
            .execute(params![user, key, now, stale])?;
            let claimed = tx
                .prepare_cached(
                    "INSERT INTO idempotency_keys (user_id, key, request, claimed_at, answered, expires_at)
                     VALUES (?1, ?2, ?3, ?4, 0, ?5) ON CONFLICT (user_id, key) DO NOTHING",
                )?
                .execute(params![user, key, request, now, now + DAY_MICROS])?;
            if claimed == 1 {
                return Ok(KeyClaim::Claimed);
            }
            let found: Option<(Vec<u8>, bool, Option<u16>, Option<String>, Option<Vec<u8>>)> = tx
                .prepare_cached(
                    "SELECT request, answered, status, headers, body FROM idempotency_keys
                     WHERE user_id = ?1 AND key = ?2",
                )?
                .query_row(params![user, key], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
                })
                .optional()?;
            // Gone between the insert and this read (answered and expired): a retry runs.
            let Some((claimed_for, answered, status, headers, body)) = found else {
                return Ok(KeyClaim::InProgress);
            };
            let answer = answered.then(|| StoredAnswer {
                status: status.unwrap_or(200),
                headers: headers.as_deref().map(headers_from_text).unwrap_or_default(),
                body: body.unwrap_or_default(),
            });
            Ok(KeyClaim::of_existing(&request, &claimed_for, answer))
        })
        .await
    }

    async fn answer_key(
        &self,
        user: Uuid,
        key: &str,
        answer: StoredAnswer,
        expires: OffsetDateTime,
    ) -> StoreResult<()> {
        let key = key.to_string();
        self.write(move |tx| {
            tx.prepare_cached(
                "UPDATE idempotency_keys SET answered = 1, status = ?3, headers = ?4, body = ?5, expires_at = ?6
                 WHERE user_id = ?1 AND key = ?2",
            )?
            .execute(params![
                user.to_string(),
                key,
                answer.status,
                headers_to_text(&answer.headers),
                answer.body,
                to_micros(expires)
            ])?;
            Ok(())
        })
        .await
    }

    async fn release_key(&self, user: Uuid, key: &str) -> StoreResult<()> {
        let key = key.to_string();
        self.write(move |tx| {
            tx.prepare_cached(
                "DELETE FROM idempotency_keys WHERE user_id = ?1 AND key = ?2 AND answered = 0",
            )?
            .execute(params![user.to_string(), key])?;
            Ok(())
        })
        .await
    }

    async fn delete_expired_keys(&self, now: OffsetDateTime, batch: u32) -> StoreResult<usize> {
        let now = to_micros(now);
        self.write(move |tx| {
            tx.prepare_cached(
                "DELETE FROM idempotency_keys WHERE rowid IN
                   (SELECT rowid FROM idempotency_keys WHERE expires_at <= ?1 LIMIT ?2)",
            )?
            .execute(params![now, batch])
        })
        .await
    }
}
