//! The `personal_tokens` table on PostgreSQL.

use async_trait::async_trait;
use time::OffsetDateTime;
use tokio_postgres::Row;
use uuid::Uuid;

use super::{PgStore, rows};
use crate::store::personal_tokens::{scopes_from_text, scopes_to_text};
use crate::store::{PersonalTokenRecord, PersonalTokenStorage, StoreResult, TokenInsert, to_micros};

const COLUMNS: &str =
    "id, user_id, name, scopes, created_at, expires_at, last_used_at, revoked_at IS NOT NULL";

fn record(row: &Row) -> StoreResult<PersonalTokenRecord> {
    let scopes: String = row.try_get(3)?;
    Ok(PersonalTokenRecord {
        id: row.try_get(0)?,
        user_id: row.try_get(1)?,
        name: row.try_get(2)?,
        scopes: scopes_from_text(&scopes),
        created_at: rows::time(row.try_get(4)?)?,
        expires_at: rows::optional_time(row.try_get(5)?)?,
        last_used_at: rows::optional_time(row.try_get(6)?)?,
        revoked: row.try_get(7)?,
    })
}

#[async_trait]
impl PersonalTokenStorage for PgStore {
    async fn insert_personal_token(
        &self,
        t: PersonalTokenRecord,
        token_hash: Vec<u8>,
        cap: usize,
        session_id: Uuid,
    ) -> StoreResult<TokenInsert> {
        self.observe(async {
            let mut client = self.client().await?;
            let tx = client.transaction().await?;
            // The user's row lock orders two creations at once, so the cap holds, and
            // orders this against a disable or deletion (which update the row): one
            // committed first is seen here (the locked row is read again), one after
            // sees this token and revokes it. The session's lock does the same for a
            // sign-out.
            let live = tx
                .query_opt(
                    "SELECT 1 FROM users u JOIN sessions s ON s.user_id = u.id
                     WHERE u.id = $1 AND u.disabled_at IS NULL AND s.id = $2 AND s.revoked_at IS NULL
                     FOR UPDATE OF u FOR SHARE OF s",
                    &[&t.user_id, &session_id],
                )
                .await?;
            if live.is_none() {
                return Ok(TokenInsert::CredentialEnded);
            }
            let held: i64 = tx
                .query_one(
                    "SELECT count(*) FROM personal_tokens WHERE user_id = $1 AND revoked_at IS NULL",
                    &[&t.user_id],
                )
                .await?
                .try_get(0)?;
            if held as usize >= cap {
                return Ok(TokenInsert::CapReached);
            }
            tx.execute(
                "INSERT INTO personal_tokens (id, user_id, name, token_hash, scopes, created_at, expires_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
                &[
                    &t.id,
                    &t.user_id,
                    &t.name,
                    &token_hash,
                    &scopes_to_text(&t.scopes),
                    &to_micros(t.created_at),
                    &t.expires_at.map(to_micros),
                ],
            )
            .await?;
            tx.commit().await?;
            Ok(TokenInsert::Inserted)
        })
        .await
    }

    async fn personal_tokens(&self, user_id: Uuid) -> StoreResult<Vec<PersonalTokenRecord>> {
        self.observe(async {
            let client = self.client().await?;
            let sql = format!(
                "SELECT {COLUMNS} FROM personal_tokens WHERE user_id = $1 AND revoked_at IS NULL
                 ORDER BY created_at DESC, id"
            );
            let found = client.query(&sql, &[&user_id]).await?;
            found.iter().map(record).collect()
        })
        .await
    }

    async fn personal_token_by_hash(&self, token_hash: Vec<u8>) -> StoreResult<Option<PersonalTokenRecord>> {
        self.observe(async {
            let client = self.client().await?;
            let stmt = client
                .prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM personal_tokens WHERE token_hash = $1"
                ))
                .await?;
            let row = client.query_opt(&stmt, &[&token_hash]).await?;
            row.as_ref().map(record).transpose()
        })
        .await
    }

    async fn revoke_personal_token(&self, user_id: Uuid, id: Uuid, now: OffsetDateTime) -> StoreResult<bool> {
        self.changed_one(
            "UPDATE personal_tokens SET revoked_at = $3
             WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL",
            &[&id, &user_id, &to_micros(now)],
        )
        .await
    }

    async fn touch_personal_token(&self, id: Uuid, now: OffsetDateTime) -> StoreResult<()> {
        self.changed_one(
            "UPDATE personal_tokens SET last_used_at = $2
             WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $2::bigint - 60000000)",
            &[&id, &to_micros(now)],
        )
        .await
        .map(drop)
    }
}
