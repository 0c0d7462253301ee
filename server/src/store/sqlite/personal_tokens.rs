//! The `personal_tokens` table on SQLite.

use async_trait::async_trait;
use rusqlite::{OptionalExtension, Row, params};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{Db, WriteTx, from_micros, parse_uuid, to_micros};
use crate::store::personal_tokens::{scopes_from_text, scopes_to_text};
use crate::store::{PersonalTokenRecord, PersonalTokenStorage, StoreResult, TokenInsert};

const COLUMNS: &str =
    "id, user_id, name, scopes, created_at, expires_at, last_used_at, revoked_at IS NOT NULL";

fn record(row: &Row<'_>) -> rusqlite::Result<PersonalTokenRecord> {
    let scopes: String = row.get(3)?;
    Ok(PersonalTokenRecord {
        id: parse_uuid(row.get(0)?)?,
        user_id: parse_uuid(row.get(1)?)?,
        name: row.get(2)?,
        scopes: scopes_from_text(&scopes),
        created_at: from_micros(row.get(4)?)?,
        expires_at: row.get::<_, Option<i64>>(5)?.map(from_micros).transpose()?,
        last_used_at: row.get::<_, Option<i64>>(6)?.map(from_micros).transpose()?,
        revoked: row.get(7)?,
    })
}

/// Revokes every unrevoked token of the user; returns their ids.
pub(super) fn revoke_all(
    tx: &WriteTx<'_>,
    user_id: Uuid,
    now: OffsetDateTime,
) -> rusqlite::Result<Vec<Uuid>> {
    tx.prepare(
        "UPDATE personal_tokens SET revoked_at = ?2 WHERE user_id = ?1 AND revoked_at IS NULL RETURNING id",
    )?
    .query_map(params![user_id.to_string(), to_micros(now)], |r| {
        parse_uuid(r.get(0)?)
    })?
    .collect()
}

/// Deletes at most `batch` tokens revoked before `before` and as many that expired
/// before it (refused as unknown from then on); returns how many.
pub(super) fn delete_ended(tx: &WriteTx<'_>, before: OffsetDateTime, batch: u32) -> rusqlite::Result<usize> {
    let mut deleted = 0;
    for column in ["revoked_at", "expires_at"] {
        deleted += tx.execute(
            &format!(
                "DELETE FROM personal_tokens WHERE id IN
                   (SELECT id FROM personal_tokens WHERE {column} < ?1 LIMIT ?2)"
            ),
            params![to_micros(before), batch],
        )?;
    }
    Ok(deleted)
}

fn insert(
    tx: &WriteTx<'_>,
    t: &PersonalTokenRecord,
    hash: &[u8],
    cap: usize,
    session_id: Uuid,
) -> rusqlite::Result<TokenInsert> {
    // In the writer's transaction, so no disable, deletion or sign-out lands between
    // this check and the insert.
    let live: bool = tx.query_row(
        "SELECT EXISTS (SELECT 1 FROM users u JOIN sessions s ON s.user_id = u.id
           WHERE u.id = ?1 AND u.disabled_at IS NULL AND s.id = ?2 AND s.revoked_at IS NULL)",
        params![t.user_id.to_string(), session_id.to_string()],
        |r| r.get(0),
    )?;
    if !live {
        return Ok(TokenInsert::CredentialEnded);
    }
    let held: i64 = tx.query_row(
        "SELECT count(*) FROM personal_tokens WHERE user_id = ?1 AND revoked_at IS NULL",
        [t.user_id.to_string()],
        |r| r.get(0),
    )?;
    if held as usize >= cap {
        return Ok(TokenInsert::CapReached);
    }
    tx.execute(
        "INSERT INTO personal_tokens (id, user_id, name, token_hash, scopes, created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            t.id.to_string(),
            t.user_id.to_string(),
            t.name,
            hash,
            scopes_to_text(&t.scopes),
            to_micros(t.created_at),
            t.expires_at.map(to_micros)
        ],
    )?;
    Ok(TokenInsert::Inserted)
}

#[async_trait]
impl PersonalTokenStorage for Db {
    async fn insert_personal_token(
        &self,
        token: PersonalTokenRecord,
        token_hash: Vec<u8>,
        cap: usize,
        session_id: Uuid,
    ) -> StoreResult<TokenInsert> {
        self.write(move |tx| insert(tx, &token, &token_hash, cap, session_id))
            .await
    }

    async fn personal_tokens(&self, user_id: Uuid) -> StoreResult<Vec<PersonalTokenRecord>> {
        self.read(move |c| {
            c.prepare(&format!(
                "SELECT {COLUMNS} FROM personal_tokens WHERE user_id = ?1 AND revoked_at IS NULL
                 ORDER BY created_at DESC, id"
            ))?
            .query_map([user_id.to_string()], record)?
            .collect()
        })
        .await
    }

    async fn personal_token_by_hash(&self, token_hash: Vec<u8>) -> StoreResult<Option<PersonalTokenRecord>> {
        self.read(move |c| {
            c.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM personal_tokens WHERE token_hash = ?1"
            ))?
            .query_row([token_hash], record)
            .optional()
        })
        .await
    }

    async fn revoke_personal_token(&self, user_id: Uuid, id: Uuid, now: OffsetDateTime) -> StoreResult<bool> {
        self.write(move |tx| {
            let n = tx.execute(
                "UPDATE personal_tokens SET revoked_at = ?3 WHERE id = ?1 AND user_id = ?2 AND revoked_at IS NULL",
                params![id.to_string(), user_id.to_string(), to_micros(now)],
            )?;
            Ok(n == 1)
        })
        .await
    }

    async fn touch_personal_token(&self, id: Uuid, now: OffsetDateTime) -> StoreResult<()> {
        self.write(move |tx| {
            tx.execute(
                "UPDATE personal_tokens SET last_used_at = ?2
                 WHERE id = ?1 AND (last_used_at IS NULL OR last_used_at < ?2 - 60000000)",
                params![id.to_string(), to_micros(now)],
            )
            .map(drop)
        })
        .await
    }
}
