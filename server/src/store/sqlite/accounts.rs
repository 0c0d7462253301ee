//! Account administration and the activity log on SQLite (`activity`,
//! `password_resets`, `users.disabled_at`).

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, Row, params};
use time::OffsetDateTime;
use todo_api::{ActivityEntry, ActivityKind};
use uuid::Uuid;

use super::{Db, WriteTx, from_micros, parse_uuid, sessions, to_micros, users};
use crate::store::{AccountStorage, AccountSummary, NewActivity, ResetOutcome, SingleUseToken, StoreResult};

fn activity_from_row(row: &Row<'_>) -> rusqlite::Result<ActivityEntry> {
    let kind: String = row.get(2)?;
    Ok(ActivityEntry {
        id: row.get(0)?,
        at: from_micros(row.get(1)?)?,
        kind: ActivityKind::parse(&kind).ok_or_else(|| {
            rusqlite::Error::FromSqlConversionFailure(2, rusqlite::types::Type::Text, kind.into())
        })?,
        address: row.get(3)?,
        user_agent: row.get(4)?,
        session_id: row.get::<_, Option<String>>(5)?.map(parse_uuid).transpose()?,
    })
}

fn activity_page(
    conn: &Connection,
    user_id: Uuid,
    before: Option<i64>,
    limit: u32,
) -> rusqlite::Result<Vec<ActivityEntry>> {
    conn.prepare_cached(
        "SELECT id, at, kind, address, user_agent, session_id FROM activity
         WHERE user_id = ?1 AND id < ?2 ORDER BY id DESC LIMIT ?3",
    )?
    .query_map(
        params![user_id.to_string(), before.unwrap_or(i64::MAX), limit],
        activity_from_row,
    )?
    .collect()
}

/// Every user's log, oldest first (for `migrate-to`).
pub(super) fn all_activity(conn: &Connection) -> rusqlite::Result<Vec<(Uuid, ActivityEntry)>> {
    conn.prepare("SELECT id, at, kind, address, user_agent, session_id, user_id FROM activity ORDER BY id")?
        .query_map([], |row| Ok((parse_uuid(row.get(6)?)?, activity_from_row(row)?)))?
        .collect()
}

fn summaries(conn: &Connection, email: Option<&str>, now: i64) -> rusqlite::Result<Vec<AccountSummary>> {
    let sql = format!(
        "SELECT {},
            (SELECT count(*) FROM sessions s WHERE s.user_id = users.id AND s.revoked_at IS NULL AND s.expires_at > ?2),
            (SELECT count(*) FROM tasks t WHERE t.user_id = users.id)
         FROM users WHERE ?1 IS NULL OR email = ?1 ORDER BY created_at, id",
        users::COLUMNS
    );
    conn.prepare(&sql)?
        .query_map(params![email, now], |row| {
            let record = users::record_from_row(row)?;
            Ok(AccountSummary {
                user: record.user,
                disabled_at: record.disabled_at,
                active_sessions: row.get(6)?,
                tasks: row.get(7)?,
            })
        })?
        .collect()
}

fn set_disabled(
    tx: &WriteTx<'_>,
    user_id: Uuid,
    disabled_at: Option<OffsetDateTime>,
    now: OffsetDateTime,
) -> rusqlite::Result<Option<Vec<Uuid>>> {
    let n = tx.execute(
        "UPDATE users SET disabled_at = ?2 WHERE id = ?1",
        params![user_id.to_string(), disabled_at.map(to_micros)],
    )?;
    if n == 0 {
        return Ok(None);
    }
    let Some(_) = disabled_at else {
        return Ok(Some(Vec::new()));
    };
    let mut ended = sessions::revoke_all(tx, user_id, now)?;
    ended.extend(super::personal_tokens::revoke_all(tx, user_id, now)?);
    Ok(Some(ended))
}

fn use_reset_token(
    tx: &WriteTx<'_>,
    token_hash: &[u8],
    password_hash: &str,
    now: OffsetDateTime,
) -> rusqlite::Result<Option<ResetOutcome>> {
    let user: Option<String> = tx
        .query_row(
            "UPDATE password_resets SET used_at = ?2
             WHERE token_hash = ?1 AND used_at IS NULL AND expires_at > ?2 RETURNING user_id",
            params![token_hash, to_micros(now)],
            |r| r.get(0),
        )
        .optional()?;
    let Some(user_id) = user.map(parse_uuid).transpose()? else {
        return Ok(None);
    };
    tx.execute(
        "UPDATE users SET password_hash = ?2 WHERE id = ?1",
        params![user_id.to_string(), password_hash],
    )?;
    users::spend_mfa_challenges(tx, user_id)?;
    let ended_sessions = sessions::revoke_all(tx, user_id, now)?;
    Ok(Some(ResetOutcome {
        user_id,
        ended_sessions,
    }))
}

#[async_trait]
impl AccountStorage for Db {
    async fn record_activity(&self, e: NewActivity) -> StoreResult<()> {
        self.write(move |tx| {
            tx.prepare_cached(
                "INSERT INTO activity (user_id, at, kind, address, user_agent, session_id)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![
                e.user_id.to_string(),
                to_micros(e.at),
                e.kind.as_str(),
                e.address,
                e.user_agent,
                e.session_id.map(|s| s.to_string())
            ])
            .map(drop)
        })
        .await
    }

    async fn activity(
        &self,
        user_id: Uuid,
        before: Option<i64>,
        limit: u32,
    ) -> StoreResult<Vec<ActivityEntry>> {
        self.read(move |c| activity_page(c, user_id, before, limit)).await
    }

    async fn delete_old_account_records(
        &self,
        activity_before: OffsetDateTime,
        resets_before: OffsetDateTime,
        batch: u32,
    ) -> StoreResult<usize> {
        self.write(move |tx| {
            let activity = tx.execute(
                "DELETE FROM activity WHERE id IN (SELECT id FROM activity WHERE at < ?1 LIMIT ?2)",
                params![to_micros(activity_before), batch],
            )?;
            let resets = tx.execute(
                "DELETE FROM password_resets WHERE token_hash IN
                   (SELECT token_hash FROM password_resets WHERE expires_at < ?1 LIMIT ?2)",
                params![to_micros(resets_before), batch],
            )?;
            let challenges = tx.execute(
                "DELETE FROM mfa_challenges WHERE token_hash IN
                   (SELECT token_hash FROM mfa_challenges WHERE expires_at < ?1 LIMIT ?2)",
                params![to_micros(resets_before), batch],
            )?;
            Ok(activity + resets + challenges)
        })
        .await
    }

    async fn accounts(&self, email: Option<&str>, now: OffsetDateTime) -> StoreResult<Vec<AccountSummary>> {
        let email = email.map(str::to_string);
        self.read(move |c| summaries(c, email.as_deref(), to_micros(now)))
            .await
    }

    async fn set_disabled(
        &self,
        user_id: Uuid,
        disabled_at: Option<OffsetDateTime>,
        now: OffsetDateTime,
    ) -> StoreResult<Option<Vec<Uuid>>> {
        self.write(move |tx| set_disabled(tx, user_id, disabled_at, now))
            .await
    }

    async fn add_reset_token(
        &self,
        user_id: Uuid,
        token_hash: Vec<u8>,
        expires_at: OffsetDateTime,
    ) -> StoreResult<()> {
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO password_resets (token_hash, user_id, expires_at) VALUES (?1, ?2, ?3)",
                params![token_hash, user_id.to_string(), to_micros(expires_at)],
            )
            .map(drop)
        })
        .await
    }

    async fn reset_token_owner(&self, token_hash: Vec<u8>, now: OffsetDateTime) -> StoreResult<Option<Uuid>> {
        self.read(move |c| super::unspent_token_owner(c, SingleUseToken::PasswordReset, &token_hash, now))
            .await
    }

    async fn use_reset_token(
        &self,
        token_hash: Vec<u8>,
        password_hash: String,
        now: OffsetDateTime,
    ) -> StoreResult<Option<ResetOutcome>> {
        self.write(move |tx| use_reset_token(tx, &token_hash, &password_hash, now))
            .await
    }
}
