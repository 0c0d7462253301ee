//! Users, sessions and refresh tokens on PostgreSQL: the session port.

use async_trait::async_trait;
use time::OffsetDateTime;
use todo_api::User;
use uuid::Uuid;

use super::{PgStore, delete_batch, rows};
use crate::store::{
    NewSession, RefreshOutcome, RefreshRotation, RefreshStep, SessionRecord, SessionStart, SessionStorage,
    SignOut, StoreResult, UserRecord, to_micros,
};

const FIND_REFRESH: &str = "SELECT r.session_id, s.user_id, r.expires_at, r.used_at IS NOT NULL,
        s.revoked_at IS NOT NULL, s.created_at
     FROM refresh_tokens r JOIN sessions s ON s.id = r.session_id
     WHERE r.token_hash = $1 FOR UPDATE OF r";

const REVOKE: &str =
    "UPDATE sessions SET revoked_at = $3 WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL";

#[async_trait]
impl SessionStorage for PgStore {
    async fn user_by_email(&self, email: &str) -> StoreResult<Option<UserRecord>> {
        self.observe(async {
            let client = self.client().await?;
            let sql = format!("SELECT {} FROM users WHERE email = $1", rows::USER_COLUMNS);
            let stmt = client.prepare_cached(&sql).await?;
            client
                .query_opt(&stmt, &[&email])
                .await?
                .as_ref()
                .map(rows::user_record)
                .transpose()
        })
        .await
    }

    async fn user_by_id(&self, id: Uuid) -> StoreResult<Option<User>> {
        self.observe(async {
            let client = self.client().await?;
            let sql = format!("SELECT {} FROM users WHERE id = $1", rows::USER_COLUMNS);
            let stmt = client.prepare_cached(&sql).await?;
            let row = client.query_opt(&stmt, &[&id]).await?;
            Ok(row.as_ref().map(rows::user_record).transpose()?.map(|r| r.user))
        })
        .await
    }

    async fn user_emails(&self) -> StoreResult<Vec<(Uuid, String)>> {
        self.observe(async {
            let client = self.client().await?;
            let rows = client.query("SELECT id, email FROM users", &[]).await?;
            rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect()
        })
        .await
    }

    async fn replace_email(&self, id: Uuid, old: &str, new: &str) -> StoreResult<bool> {
        self.observe(async {
            let client = self.client().await?;
            // Taken by another account: leave it (the unique index would refuse it).
            let n = client
                .execute(
                    "UPDATE users SET email = $3 WHERE id = $1 AND email = $2
                       AND NOT EXISTS (SELECT 1 FROM users WHERE email = $3)",
                    &[&id, &old, &new],
                )
                .await?;
            Ok(n == 1)
        })
        .await
    }

    async fn replace_password_hash(&self, id: Uuid, old: &str, new: &str) -> StoreResult<bool> {
        self.observe(async {
            let client = self.client().await?;
            let n: i64 = client
                .query_one(
                    // An mfa challenge was earned with the password as it was: a new one
                    // spends them all, in the same statement.
                    "WITH changed AS (
                       UPDATE users SET password_hash = $3 WHERE id = $1 AND password_hash = $2 RETURNING id
                     ), spent AS (
                       DELETE FROM mfa_challenges WHERE user_id IN (SELECT id FROM changed) AND used_at IS NULL
                     )
                     SELECT count(*) FROM changed",
                    &[&id, &old, &new],
                )
                .await?
                .try_get(0)?;
            Ok(n == 1)
        })
        .await
    }

    async fn start_session(
        &self,
        new_user: Option<UserRecord>,
        session: NewSession,
    ) -> StoreResult<SessionStart> {
        self.observe(async {
            let mut client = self.client().await?;
            let tx = client.transaction().await?;
            if let Some(record) = &new_user {
                let user = &record.user;
                let inserted = tx
                    .execute(
                        "INSERT INTO users (id, email, name, password_hash, created_at)
                         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (email) DO NOTHING",
                        &[
                            &user.id,
                            &user.email,
                            &user.name,
                            &record.password_hash,
                            &to_micros(user.created_at),
                        ],
                    )
                    .await?;
                if inserted == 0 {
                    return Ok(SessionStart::EmailTaken);
                }
            } else {
                // Shared lock: a disable or password change committing meanwhile is seen
                // here, or waits for this session and then ends it.
                let state = tx
                    .query_opt(
                        "SELECT disabled_at IS NOT NULL, password_hash FROM users WHERE id = $1 FOR SHARE",
                        &[&session.user_id],
                    )
                    .await?;
                if let Some(row) = state
                    && let Some(refused) = session.refused_by(row.try_get(0)?, row.try_get(1)?)
                {
                    return Ok(refused);
                }
            }
            let expires = to_micros(session.expires_at);
            tx.execute(
                "INSERT INTO sessions (id, user_id, created_at, expires_at, last_used_at, user_agent, client_addr)
                 VALUES ($1, $2, $3, $4, $3, $5, $6)",
                &[
                    &session.session_id,
                    &session.user_id,
                    &to_micros(session.now),
                    &expires,
                    &session.user_agent,
                    &session.client_addr,
                ],
            )
            .await?;
            tx.execute(
                "INSERT INTO refresh_tokens (token_hash, session_id, expires_at) VALUES ($1, $2, $3)",
                &[&session.refresh_hash, &session.session_id, &expires],
            )
            .await?;
            tx.commit().await?;
            Ok(SessionStart::Started)
        })
        .await
    }

    async fn rotate_refresh_token(&self, rotation: RefreshRotation) -> StoreResult<RefreshOutcome> {
        self.observe(async {
            let mut client = self.client().await?;
            let tx = client.transaction().await?;
            // Locked: a second refresh with the same token waits here, then sees it used.
            let Some(row) = tx.query_opt(FIND_REFRESH, &[&rotation.presented]).await? else {
                return Ok(RefreshOutcome::Rejected);
            };
            let found = rows::refresh_record(&row)?;
            let now = to_micros(rotation.now);
            let outcome = match rotation.step(&found) {
                RefreshStep::Reject => RefreshOutcome::Rejected,
                RefreshStep::RevokeSession => {
                    tx.execute(REVOKE, &[&found.session_id, &found.user_id, &now])
                        .await?;
                    RefreshOutcome::Reused {
                        session_id: found.session_id,
                        user_id: found.user_id,
                    }
                }
                RefreshStep::Rotate { expires_at } => {
                    let expires = to_micros(expires_at);
                    tx.execute(
                        "UPDATE refresh_tokens SET used_at = $2 WHERE token_hash = $1",
                        &[&rotation.presented, &now],
                    )
                    .await?;
                    tx.execute(
                        "INSERT INTO refresh_tokens (token_hash, session_id, expires_at) VALUES ($1, $2, $3)",
                        &[&rotation.next, &found.session_id, &expires],
                    )
                    .await?;
                    tx.execute(
                        "UPDATE sessions SET expires_at = $2,
                             last_used_at = CASE WHEN last_used_at IS NULL OR last_used_at < $3::bigint - 60000000
                                                 THEN $3::bigint ELSE last_used_at END
                         WHERE id = $1",
                        &[&found.session_id, &expires, &now],
                    )
                    .await?;
                    let sql = format!("SELECT {} FROM users WHERE id = $1", rows::USER_COLUMNS);
                    let user = tx.query_opt(&sql, &[&found.user_id]).await?;
                    RefreshOutcome::Rotated {
                        user: user.as_ref().map(rows::user_record).transpose()?.map(|r| r.user),
                        session_id: found.session_id,
                    }
                }
            };
            tx.commit().await?;
            Ok(outcome)
        })
        .await
    }

    async fn sign_out(&self, request: SignOut) -> StoreResult<Vec<Uuid>> {
        self.observe(async {
            let mut client = self.client().await?;
            let tx = client.transaction().await?;
            let now = to_micros(request.now);
            let ids = if request.all {
                let rows = tx
                    .query(
                        "UPDATE sessions SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL
                         RETURNING id",
                        &[&request.user_id, &now],
                    )
                    .await?;
                rows.iter()
                    .map(|r| r.try_get(0))
                    .collect::<Result<Vec<Uuid>, _>>()?
            } else {
                let mut ids = vec![request.session_id];
                if let Some(hash) = &request.refresh_hash
                    && let Some(row) = tx.query_opt(FIND_REFRESH, &[hash]).await?
                {
                    let found = rows::refresh_record(&row)?;
                    if found.user_id == request.user_id {
                        ids.push(found.session_id);
                    }
                }
                for id in &ids {
                    tx.execute(REVOKE, &[id, &request.user_id, &now]).await?;
                }
                ids
            };
            tx.commit().await?;
            Ok(ids)
        })
        .await
    }

    async fn list_sessions(&self, user_id: Uuid, now: OffsetDateTime) -> StoreResult<Vec<SessionRecord>> {
        self.observe(async {
            let client = self.client().await?;
            let rows = client
                .query(
                    "SELECT id, created_at, COALESCE(last_used_at, created_at), user_agent, client_addr
                     FROM sessions WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2
                     ORDER BY created_at DESC",
                    &[&user_id, &to_micros(now)],
                )
                .await?;
            rows.iter()
                .map(|r| {
                    Ok(SessionRecord {
                        id: r.try_get(0)?,
                        created_at: rows::time(r.try_get(1)?)?,
                        last_used_at: rows::time(r.try_get(2)?)?,
                        user_agent: r.try_get(3)?,
                        client_addr: r.try_get(4)?,
                    })
                })
                .collect()
        })
        .await
    }

    async fn end_other_sessions(
        &self,
        user_id: Uuid,
        keep: Uuid,
        now: OffsetDateTime,
    ) -> StoreResult<Vec<Uuid>> {
        self.observe(async {
            let client = self.client().await?;
            let rows = client
                .query(
                    "UPDATE sessions SET revoked_at = $3
                     WHERE user_id = $1 AND id != $2 AND revoked_at IS NULL RETURNING id",
                    &[&user_id, &keep, &to_micros(now)],
                )
                .await?;
            rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
        })
        .await
    }

    async fn delete_account(&self, user_id: Uuid, now: OffsetDateTime) -> StoreResult<Vec<Uuid>> {
        self.observe(async {
            let mut client = self.client().await?;
            let tx = client.transaction().await?;
            // The user's row first: a sign-in committing meanwhile (its session insert
            // takes a key-share lock on it) either comes before, and its session is
            // recorded below, or waits and then fails.
            tx.execute("SELECT 1 FROM users WHERE id = $1 FOR UPDATE", &[&user_id])
                .await?;
            let rows = tx
                .query(
                    "INSERT INTO ended_sessions (id, ended_at)
                       SELECT id, $2::bigint FROM sessions WHERE user_id = $1
                       UNION ALL SELECT id, $2::bigint FROM personal_tokens WHERE user_id = $1 AND revoked_at IS NULL
                     ON CONFLICT (id) DO UPDATE SET ended_at = EXCLUDED.ended_at RETURNING id",
                    &[&user_id, &to_micros(now)],
                )
                .await?;
            let ids = rows
                .iter()
                .map(|r| r.try_get(0))
                .collect::<Result<Vec<Uuid>, _>>()?;
            // The projects it owns go with it: their other members see each task go.
            let published = super::projects::owned_projects_go(&tx, user_id, now).await?;
            tx.execute("DELETE FROM users WHERE id = $1", &[&user_id]).await?;
            tx.commit().await?;
            Ok((ids, published))
        })
        .await
        .map(|(ids, published)| {
            self.publish_all(published);
            ids
        })
    }

    async fn end_session(&self, user_id: Uuid, session_id: Uuid, now: OffsetDateTime) -> StoreResult<bool> {
        self.observe(async {
            let client = self.client().await?;
            Ok(client
                .execute(REVOKE, &[&session_id, &user_id, &to_micros(now)])
                .await?
                > 0)
        })
        .await
    }

    async fn revoked_since(&self, since: OffsetDateTime) -> StoreResult<Vec<(Uuid, OffsetDateTime)>> {
        self.observe(async {
            let client = self.client().await?;
            let stmt = client
                .prepare_cached(
                    "SELECT id, revoked_at FROM sessions WHERE revoked_at > $1
                     UNION ALL SELECT id, ended_at FROM ended_sessions WHERE ended_at > $1
                     UNION ALL SELECT id, revoked_at FROM personal_tokens WHERE revoked_at > $1",
                )
                .await?;
            let rows = client.query(&stmt, &[&to_micros(since)]).await?;
            rows.iter()
                .map(|r| Ok((r.try_get(0)?, rows::time(r.try_get(1)?)?)))
                .collect()
        })
        .await
    }

    async fn delete_ended_sessions(
        &self,
        sessions_before: OffsetDateTime,
        tokens_before: OffsetDateTime,
        batch: u32,
    ) -> StoreResult<usize> {
        self.observe(async {
            let client = self.client().await?;
            let batch = i64::from(batch);
            let sessions_before = to_micros(sessions_before);
            let sessions =
                delete_batch(&client, "sessions", "id", "expires_at", sessions_before, batch).await?;
            let records = delete_batch(
                &client,
                "ended_sessions",
                "id",
                "ended_at",
                sessions_before,
                batch,
            )
            .await?;
            let tokens = delete_batch(
                &client,
                "refresh_tokens",
                "token_hash",
                "expires_at",
                to_micros(tokens_before),
                batch,
            )
            .await?;
            // Personal tokens revoked or expired as long ago are refused as unknown.
            let mut personal = 0;
            for column in ["revoked_at", "expires_at"] {
                personal +=
                    delete_batch(&client, "personal_tokens", "id", column, sessions_before, batch).await?;
            }
            Ok((sessions + records + tokens + personal) as usize)
        })
        .await
    }
}
