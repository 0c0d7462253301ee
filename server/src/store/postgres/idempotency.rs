//! The `Idempotency-Key` port on PostgreSQL: the `idempotency_keys` table. A claim is one
//! transaction; two servers claiming one key at once meet on its primary key, and the
//! second sees the first's claim.

use async_trait::async_trait;
use time::OffsetDateTime;
use uuid::Uuid;

use super::PgStore;
use crate::store::idempotency::{headers_from_text, headers_to_text};
use crate::store::{IdempotencyStorage, KeyClaim, StoreResult, StoredAnswer, to_micros};

/// How long a claimed key stays claimed before its answer is kept (a day).
const DAY_MICROS: i64 = 86_400_000_000;

#[async_trait]
impl IdempotencyStorage for PgStore {
    async fn claim_key(
        &self,
        user: Uuid,
        key: &str,
        request: Vec<u8>,
        now: OffsetDateTime,
        stale_before: OffsetDateTime,
    ) -> StoreResult<KeyClaim> {
        self.observe(async {
            let mut client = self.client().await?;
            let tx = client.transaction().await?;
            let (now, stale) = (to_micros(now), to_micros(stale_before));
            // An answer past its day, or a claim whose request died: the key is free.
            tx.execute(
                "DELETE FROM idempotency_keys WHERE user_id = $1 AND key = $2
                   AND ((answered AND expires_at <= $3) OR (NOT answered AND claimed_at < $4))",
                &[&user, &key, &now, &stale],
            )
            .await?;
            let claimed = tx
                .execute(
                    "INSERT INTO idempotency_keys (user_id, key, request, claimed_at, answered, expires_at)
                     VALUES ($1, $2, $3, $4, false, $5) ON CONFLICT (user_id, key) DO NOTHING",
                    &[&user, &key, &request, &now, &(now + DAY_MICROS)],
                )
                .await?;
            let claim = if claimed == 1 {
                KeyClaim::Claimed
            } else {
                let row = tx
                    .query_opt(
                        "SELECT request, answered, status, headers, body FROM idempotency_keys
                         WHERE user_id = $1 AND key = $2",
                        &[&user, &key],
                    )
                    .await?;
                match row {
                    None => KeyClaim::InProgress,
                    Some(r) => {
                        let claimed_for: Vec<u8> = r.try_get(0)?;
                        let answered: bool = r.try_get(1)?;
                        let answer = match answered {
                            true => {
                                let status: Option<i32> = r.try_get(2)?;
                                let headers: Option<String> = r.try_get(3)?;
                                let body: Option<Vec<u8>> = r.try_get(4)?;
                                Some(StoredAnswer {
                                    status: status.and_then(|s| u16::try_from(s).ok()).unwrap_or(200),
                                    headers: headers.as_deref().map(headers_from_text).unwrap_or_default(),
                                    body: body.unwrap_or_default(),
                                })
                            }
                            false => None,
                        };
                        KeyClaim::of_existing(&request, &claimed_for, answer)
                    }
                }
            };
            tx.commit().await?;
            Ok(claim)
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
        self.observe(async {
            let client = self.client().await?;
            client
                .execute(
                    "UPDATE idempotency_keys SET answered = true, status = $3, headers = $4, body = $5, expires_at = $6
                     WHERE user_id = $1 AND key = $2",
                    &[
                        &user,
                        &key,
                        &i32::from(answer.status),
                        &headers_to_text(&answer.headers),
                        &answer.body,
                        &to_micros(expires),
                    ],
                )
                .await?;
            Ok(())
        })
        .await
    }

    async fn release_key(&self, user: Uuid, key: &str) -> StoreResult<()> {
        self.observe(async {
            let client = self.client().await?;
            client
                .execute(
                    "DELETE FROM idempotency_keys WHERE user_id = $1 AND key = $2 AND NOT answered",
                    &[&user, &key],
                )
                .await?;
            Ok(())
        })
        .await
    }

    async fn delete_expired_keys(&self, now: OffsetDateTime, batch: u32) -> StoreResult<usize> {
        self.observe(async {
            let client = self.client().await?;
            let n = client
                .execute(
                    "DELETE FROM idempotency_keys WHERE (user_id, key) IN
                       (SELECT user_id, key FROM idempotency_keys WHERE expires_at <= $1 LIMIT $2)",
                    &[&to_micros(now), &i64::from(batch)],
                )
                .await?;
            Ok(n as usize)
        })
        .await
    }
}
