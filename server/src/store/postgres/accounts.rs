//! Account administration and the activity log on PostgreSQL (`activity`,
//! `password_resets`, `users.disabled_at`).

use async_trait::async_trait;
use time::OffsetDateTime;
use todo_api::{ActivityEntry, ActivityKind};
use tokio_postgres::Row;
use uuid::Uuid;

use super::{PgStore, rows};
use crate::store::{
    AccountStorage, AccountSummary, NewActivity, ResetOutcome, SingleUseToken, StoreError, StoreResult,
    to_micros,
};

fn activity_entry(row: &Row) -> StoreResult<ActivityEntry> {
    let kind: String = row.try_get(2)?;
    Ok(ActivityEntry {
        id: row.try_get(0)?,
        at: rows::time(row.try_get(1)?)?,
        kind: ActivityKind::parse(&kind)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown activity kind {kind:?}")))?,
        address: row.try_get(3)?,
        user_agent: row.try_get(4)?,
        session_id: row.try_get(5)?,
    })
}

fn ids(rows: &[Row]) -> StoreResult<Vec<Uuid>> {
    rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
}

const REVOKE_ALL: &str =
    "UPDATE sessions SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL RETURNING id";

const REVOKE_ALL_TOKENS: &str =
    "UPDATE personal_tokens SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL RETURNING id";

#[async_trait]
impl AccountStorage for PgStore {
    async fn record_activity(&self, e: NewActivity) -> StoreResult<()> {
        self.observe(async {
            let client = self.client().await?;
            let stmt = client
                .prepare_cached(
                    "INSERT INTO activity (user_id, at, kind, address, user_agent, session_id)
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .await?;
            client
                .execute(
                    &stmt,
                    &[
                        &e.user_id,
                        &to_micros(e.at),
                        &e.kind.as_str(),
                        &e.address,
                        &e.user_agent,
                        &e.session_id,
                    ],
                )
                .await?;
            Ok(())
        })
        .await
    }

    async fn activity(
        &self,
        user_id: Uuid,
        before: Option<i64>,
        limit: u32,
    ) -> StoreResult<Vec<ActivityEntry>> {
        self.observe(async {
            let client = self.client().await?;
            let rows = client
                .query(
                    "SELECT id, at, kind, address, user_agent, session_id FROM activity
                     WHERE user_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3",
                    &[&user_id, &before.unwrap_or(i64::MAX), &i64::from(limit)],
                )
                .await?;
            rows.iter().map(activity_entry).collect()
        })
        .await
    }

    async fn delete_old_account_records(
        &self,
        activity_before: OffsetDateTime,
        resets_before: OffsetDateTime,
        batch: u32,
    ) -> StoreResult<usize> {
        self.observe(async {
            let client = self.client().await?;
            let batch = i64::from(batch);
            let activity = client
                .execute(
                    "DELETE FROM activity WHERE id IN (SELECT id FROM activity WHERE at < $1 LIMIT $2)",
                    &[&to_micros(activity_before), &batch],
                )
                .await?;
            let resets = client
                .execute(
                    "DELETE FROM password_resets WHERE token_hash IN
                       (SELECT token_hash FROM password_resets WHERE expires_at < $1 LIMIT $2)",
                    &[&to_micros(resets_before), &batch],
                )
                .await?;
            let challenges = client
                .execute(
                    "DELETE FROM mfa_challenges WHERE token_hash IN
                       (SELECT token_hash FROM mfa_challenges WHERE expires_at < $1 LIMIT $2)",
                    &[&to_micros(resets_before), &batch],
                )
                .await?;
            Ok((activity + resets + challenges) as usize)
        })
        .await
    }

    async fn accounts(&self, email: Option<&str>, now: OffsetDateTime) -> StoreResult<Vec<AccountSummary>> {
        self.observe(async {
            let client = self.client().await?;
            let sql = format!(
                "SELECT {},
                    (SELECT count(*) FROM sessions s
                      WHERE s.user_id = users.id AND s.revoked_at IS NULL AND s.expires_at > $2),
                    (SELECT count(*) FROM tasks t WHERE t.user_id = users.id)
                 FROM users WHERE $1::text IS NULL OR email = $1 ORDER BY created_at, id",
                rows::USER_COLUMNS
            );
            let found = client.query(&sql, &[&email, &to_micros(now)]).await?;
            found
                .iter()
                .map(|row| {
                    let record = rows::user_record(row)?;
                    Ok(AccountSummary {
                        user: record.user,
                        disabled_at: record.disabled_at,
                        active_sessions: row.try_get(6)?,
                        tasks: row.try_get(7)?,
                    })
                })
                .collect()
        })
        .await
    }

    async fn set_disabled(
        &self,
        user_id: Uuid,
        disabled_at: Option<OffsetDateTime>,
        now: OffsetDateTime,
    ) -> StoreResult<Option<Vec<Uuid>>> {
        self.observe(async {
            let mut client = self.client().await?;
            let tx = client.transaction().await?;
            // The row lock first: a sign-in starting a session waits for it (FOR SHARE)
            // and then sees the account disabled; one that came first is ended below.
            let n = tx
                .execute(
                    "UPDATE users SET disabled_at = $2 WHERE id = $1",
                    &[&user_id, &disabled_at.map(to_micros)],
                )
                .await?;
            if n == 0 {
                return Ok(None);
            }
            let ended = match disabled_at {
                Some(_) => {
                    let mut ended = ids(&tx.query(REVOKE_ALL, &[&user_id, &to_micros(now)]).await?)?;
                    ended.extend(ids(&tx
                        .query(REVOKE_ALL_TOKENS, &[&user_id, &to_micros(now)])
                        .await?)?);
                    ended
                }
                None => Vec::new(),
            };
            tx.commit().await?;
            Ok(Some(ended))
        })
        .await
    }

    async fn add_reset_token(
        &self,
        user_id: Uuid,
        token_hash: Vec<u8>,
        expires_at: OffsetDateTime,
    ) -> StoreResult<()> {
        self.changed_one(
            "INSERT INTO password_resets (token_hash, user_id, expires_at) VALUES ($1, $2, $3)",
            &[&token_hash, &user_id, &to_micros(expires_at)],
        )
        .await
        .map(drop)
    }

    async fn reset_token_owner(&self, token_hash: Vec<u8>, now: OffsetDateTime) -> StoreResult<Option<Uuid>> {
        self.unspent_token_owner(SingleUseToken::PasswordReset, &token_hash, now)
            .await
    }

    async fn use_reset_token(
        &self,
        token_hash: Vec<u8>,
        password_hash: String,
        now: OffsetDateTime,
    ) -> StoreResult<Option<ResetOutcome>> {
        self.observe(async {
            let mut client = self.client().await?;
            let tx = client.transaction().await?;
            let now = to_micros(now);
            // One UPDATE: of two uses at once, the second waits for the row and then
            // finds it used.
            let Some(row) = tx
                .query_opt(
                    "UPDATE password_resets SET used_at = $2
                     WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2 RETURNING user_id",
                    &[&token_hash, &now],
                )
                .await?
            else {
                return Ok(None);
            };
            let user_id: Uuid = row.try_get(0)?;
            tx.execute(
                "UPDATE users SET password_hash = $2 WHERE id = $1",
                &[&user_id, &password_hash],
            )
            .await?;
            tx.execute(
                "DELETE FROM mfa_challenges WHERE user_id = $1 AND used_at IS NULL",
                &[&user_id],
            )
            .await?;
            let ended_sessions = ids(&tx.query(REVOKE_ALL, &[&user_id, &now]).await?)?;
            tx.commit().await?;
            Ok(Some(ResetOutcome {
                user_id,
                ended_sessions,
            }))
        })
        .await
    }
}
