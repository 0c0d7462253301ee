//! The storage interface on PostgreSQL. Each method is one statement or one
//! transaction; rows that a decision depends on are locked (`FOR UPDATE`) so that two
//! servers deciding at once decide one after the other. A conditional task write is one
//! statement (`UPDATE ... WHERE version = $n`, which PostgreSQL re-checks on the newest
//! row after any lock wait); only when it matched nothing is the task read again, to
//! tell 404 from 412.

use async_trait::async_trait;
use time::OffsetDateTime;
use todo_api::{Task, User};
use uuid::Uuid;

use super::{PgStore, rows, tasks};
use crate::store::{
    Expected, KeyRecord, NewSession, RefreshOutcome, RefreshRotation, RefreshStep, SignOut, Storage,
    StoreResult, UserRecord, Written, to_micros,
};
use crate::tasks::{Owner, TaskDraft, TaskQuery};

/// Serialises key changes: two servers starting on a new database make one first key.
const KEYS_LOCK: i64 = 0x746f_646f_6b65_7973; // "todokeys"

const FIND_REFRESH: &str = "SELECT r.session_id, s.user_id, r.expires_at, r.used_at IS NOT NULL,
        s.revoked_at IS NOT NULL, s.created_at
     FROM refresh_tokens r JOIN sessions s ON s.id = r.session_id
     WHERE r.token_hash = $1 FOR UPDATE OF r";

const REVOKE: &str =
    "UPDATE sessions SET revoked_at = $3 WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL";

#[async_trait]
impl Storage for PgStore {
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
            let n = client
                .execute(
                    "UPDATE users SET password_hash = $3 WHERE id = $1 AND password_hash = $2",
                    &[&id, &old, &new],
                )
                .await?;
            Ok(n == 1)
        })
        .await
    }

    async fn start_session(&self, new_user: Option<UserRecord>, session: NewSession) -> StoreResult<bool> {
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
                    return Ok(false);
                }
            }
            let expires = to_micros(session.expires_at);
            tx.execute(
                "INSERT INTO sessions (id, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
                &[
                    &session.session_id,
                    &session.user_id,
                    &to_micros(session.now),
                    &expires,
                ],
            )
            .await?;
            tx.execute(
                "INSERT INTO refresh_tokens (token_hash, session_id, expires_at) VALUES ($1, $2, $3)",
                &[&session.refresh_hash, &session.session_id, &expires],
            )
            .await?;
            tx.commit().await?;
            Ok(true)
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
                    RefreshOutcome::Reused(found.session_id)
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
                        "UPDATE sessions SET expires_at = $2 WHERE id = $1",
                        &[&found.session_id, &expires],
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

    async fn revoked_since(&self, since: OffsetDateTime) -> StoreResult<Vec<(Uuid, OffsetDateTime)>> {
        self.observe(async {
            let client = self.client().await?;
            let stmt = client
                .prepare_cached("SELECT id, revoked_at FROM sessions WHERE revoked_at > $1")
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
            let sessions = client
                .execute(
                    "DELETE FROM sessions WHERE id IN
                       (SELECT id FROM sessions WHERE expires_at < $1 LIMIT $2)",
                    &[&to_micros(sessions_before), &batch],
                )
                .await?;
            let tokens = client
                .execute(
                    "DELETE FROM refresh_tokens WHERE token_hash IN
                       (SELECT token_hash FROM refresh_tokens WHERE expires_at < $1 LIMIT $2)",
                    &[&to_micros(tokens_before), &batch],
                )
                .await?;
            Ok((sessions + tokens) as usize)
        })
        .await
    }

    async fn signing_keys(&self) -> StoreResult<Vec<KeyRecord>> {
        self.observe(async {
            let client = self.client().await?;
            let rows = client
                .query(
                    "SELECT kid, secret_key, public_key, created_at, retired_at FROM signing_keys
                     ORDER BY created_at DESC",
                    &[],
                )
                .await?;
            rows.iter().map(rows::key_record).collect()
        })
        .await
    }

    async fn add_signing_key(&self, key: KeyRecord, only_if_none: bool) -> StoreResult<()> {
        self.observe(async {
            let mut client = self.client().await?;
            let tx = client.transaction().await?;
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&KEYS_LOCK])
                .await?;
            if only_if_none {
                let active: bool = tx
                    .query_one(
                        "SELECT EXISTS (SELECT 1 FROM signing_keys WHERE retired_at IS NULL)",
                        &[],
                    )
                    .await?
                    .try_get(0)?;
                if active {
                    return Ok(());
                }
            }
            tx.execute(
                "UPDATE signing_keys SET retired_at = $1 WHERE retired_at IS NULL",
                &[&to_micros(OffsetDateTime::now_utc())],
            )
            .await?;
            tx.execute(
                "INSERT INTO signing_keys (kid, secret_key, public_key, created_at) VALUES ($1, $2, $3, $4)",
                &[
                    &key.kid,
                    &key.stored_secret,
                    &key.public_key.as_slice(),
                    &to_micros(key.created_at),
                ],
            )
            .await?;
            tx.commit().await?;
            Ok(())
        })
        .await
    }

    async fn set_stored_secrets(&self, secrets: Vec<(String, Vec<u8>)>) -> StoreResult<()> {
        self.observe(async {
            let mut client = self.client().await?;
            let tx = client.transaction().await?;
            for (kid, stored) in &secrets {
                tx.execute(
                    "UPDATE signing_keys SET secret_key = $2 WHERE kid = $1",
                    &[kid, stored],
                )
                .await?;
            }
            tx.commit().await?;
            Ok(())
        })
        .await
    }

    async fn count_attempt(
        &self,
        key: &str,
        now: i64,
        period: i64,
        limit: u32,
    ) -> StoreResult<Result<i64, i64>> {
        self.observe(async {
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
        .await
    }

    async fn uncount_attempt(&self, key: &str, window_start: i64) -> StoreResult<()> {
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

    async fn delete_ended_windows(&self, before: i64, batch: u32) -> StoreResult<usize> {
        self.observe(async {
            let client = self.client().await?;
            let n = client
                .execute(
                    "DELETE FROM rate_limits WHERE key IN
                       (SELECT key FROM rate_limits WHERE window_start < $1 LIMIT $2)",
                    &[&before, &i64::from(batch)],
                )
                .await?;
            Ok(n as usize)
        })
        .await
    }

    async fn list_tasks(&self, owner: Owner, query: &TaskQuery) -> StoreResult<(Vec<Task>, u64)> {
        self.observe(async {
            let client = self.client().await?;
            tasks::list(&client, owner, query).await
        })
        .await
    }

    async fn get_task(&self, owner: Owner, id: i64) -> StoreResult<Option<Task>> {
        self.observe(async {
            let client = self.client().await?;
            tasks::get(&client, owner, id).await
        })
        .await
    }

    async fn insert_task(&self, owner: Owner, draft: &TaskDraft, now: OffsetDateTime) -> StoreResult<Task> {
        self.observe(async {
            let client = self.client().await?;
            tasks::insert(&client, owner, draft, now).await
        })
        .await
    }

    async fn replace_task(
        &self,
        owner: Owner,
        id: i64,
        expected: Expected,
        draft: &TaskDraft,
        completed: Option<bool>,
        now: OffsetDateTime,
    ) -> StoreResult<Written<Task>> {
        self.observe(async {
            let client = self.client().await?;
            Ok(
                match tasks::replace(&client, owner, id, expected, draft, completed, now).await? {
                    Some(task) => Written::Done(task),
                    None => Written::from_miss(tasks::get(&client, owner, id).await?),
                },
            )
        })
        .await
    }

    async fn set_completed(
        &self,
        owner: Owner,
        id: i64,
        expected: Expected,
        target: Option<bool>,
        now: OffsetDateTime,
    ) -> StoreResult<Written<Task>> {
        self.observe(async {
            let client = self.client().await?;
            Ok(
                match tasks::set_completed(&client, owner, id, expected, target, now).await? {
                    Some(task) => Written::Done(task),
                    None => Written::from_miss(tasks::get(&client, owner, id).await?),
                },
            )
        })
        .await
    }

    async fn delete_task(&self, owner: Owner, id: i64, expected: Expected) -> StoreResult<Written<()>> {
        self.observe(async {
            let client = self.client().await?;
            Ok(if tasks::delete(&client, owner, id, expected).await? {
                Written::Done(())
            } else {
                Written::from_miss(tasks::get(&client, owner, id).await?)
            })
        })
        .await
    }
}
