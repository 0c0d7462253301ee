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

use super::{PgStore, events, rows, sent_together, tasks};
use crate::domain::tasks::{Owner, TaskDraft, TaskQuery};
use crate::store::{
    ChangeFeed, EventPage, EventRecord, Expected, KeyRecord, NewSession, RefreshOutcome, RefreshRotation,
    RefreshStep, SessionRecord, SessionStart, SignOut, Storage, StoreResult, UndoStep, Undone, UserRecord,
    Written, to_micros,
};
use todo_api::EventType;

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
            tx.execute("DELETE FROM users WHERE id = $1", &[&user_id]).await?;
            tx.commit().await?;
            Ok(ids)
        })
        .await
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
                &[&to_micros(key.created_at)],
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

    async fn insert_task(
        &self,
        owner: Owner,
        draft: &TaskDraft,
        now: OffsetDateTime,
    ) -> StoreResult<Written<Task>> {
        let outcome = self
            .observe(async {
                let mut client = self.client().await?;
                let tx = client.transaction().await?;
                // Sent together (one round trip); PostgreSQL runs them in order, so the
                // user's lock is still taken first.
                let (seq, task) = sent_together(tokio::join!(
                    events::next_seq(&tx, owner.id()),
                    tasks::insert(&tx, owner, draft, now)
                ))?;
                let Some(task) = task else {
                    // Imported before: nothing is written (the counter rolls back).
                    let first = match draft.source_id() {
                        Some(source) => tasks::by_source(&tx, owner, source).await?,
                        None => None,
                    };
                    return Ok(Err(first));
                };
                let event = events::append(
                    &tx,
                    owner.id(),
                    seq,
                    EventType::Created,
                    task.id,
                    task.version,
                    Some(&task),
                    None,
                    now,
                )
                .await?;
                tx.commit().await?;
                Ok(Ok((task, event)))
            })
            .await?;
        match outcome {
            Ok((task, event)) => {
                self.published(owner.id(), event);
                Ok(Written::Done(task))
            }
            Err(first) => Ok(Written::from_miss(first)),
        }
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
            let mut client = self.client().await?;
            let tx = client.transaction().await?;
            let (seq, changed) = sent_together(tokio::join!(
                events::next_seq(&tx, owner.id()),
                tasks::replace(&tx, owner, id, expected, draft, completed, now)
            ))?;
            self.finish_task_write(tx, owner, id, seq, now, changed).await
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
            let mut client = self.client().await?;
            let tx = client.transaction().await?;
            let (seq, changed) = sent_together(tokio::join!(
                events::next_seq(&tx, owner.id()),
                tasks::set_completed(&tx, owner, id, expected, target, now)
            ))?;
            self.finish_task_write(tx, owner, id, seq, now, changed).await
        })
        .await
    }

    async fn delete_task(
        &self,
        owner: Owner,
        id: i64,
        expected: Expected,
        now: OffsetDateTime,
    ) -> StoreResult<Written<()>> {
        self.observe(async {
            let mut client = self.client().await?;
            let tx = client.transaction().await?;
            let (seq, deleted) = sent_together(tokio::join!(
                events::next_seq(&tx, owner.id()),
                tasks::delete(&tx, owner, id, expected)
            ))?;
            let Some(version) = deleted else {
                let current = tasks::get(&tx, owner, id).await?;
                tx.rollback().await?;
                return Ok(Written::from_miss(current));
            };
            let event = events::append(
                &tx,
                owner.id(),
                seq,
                EventType::Deleted,
                id,
                version,
                None,
                None,
                now,
            )
            .await?;
            tx.commit().await?;
            self.published(owner.id(), event);
            Ok(Written::Done(()))
        })
        .await
    }

    fn changes(&self) -> &ChangeFeed {
        &self.feed
    }

    async fn events_after(&self, owner: Owner, after: i64, limit: u32) -> StoreResult<EventPage> {
        self.observe(async {
            let mut client = self.client().await?;
            // One snapshot for the counters and the page.
            let tx = client
                .build_transaction()
                .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
                .read_only(true)
                .start()
                .await?;
            let page = events::after(&tx, owner.id(), after, limit).await?;
            tx.commit().await?;
            Ok(page)
        })
        .await
    }

    async fn task_history(&self, owner: Owner, task_id: i64) -> StoreResult<Vec<EventRecord>> {
        self.observe(async {
            let client = self.client().await?;
            events::history(&client, owner.id(), task_id).await
        })
        .await
    }

    async fn undo_latest(&self, owner: Owner, now: OffsetDateTime) -> StoreResult<Option<Undone>> {
        let undone = self
            .observe(async {
                let mut client = self.client().await?;
                let tx = client.transaction().await?;
                let user = owner.id();
                // The user's lock first: no other change of theirs commits meanwhile.
                let seq = events::next_seq(&tx, user).await?;
                for target in events::undoable(&tx, user, UNDO_SEARCH).await? {
                    let before = events::before(&tx, user, target.task_id, target.seq).await?;
                    let current = tasks::get(&tx, owner, target.task_id).await?;
                    let Some(step) = UndoStep::plan(&target, before, current.as_ref()) else {
                        continue;
                    };
                    let (kind, task, version) = match step {
                        UndoStep::Delete { version } => {
                            tasks::delete(&tx, owner, target.task_id, Expected::Version(version)).await?;
                            (EventType::Deleted, None, version)
                        }
                        UndoStep::Reinsert { task, version } => {
                            let task = tasks::reinsert(&tx, owner, &task, version, now).await?;
                            (EventType::Created, Some(task), version)
                        }
                        UndoStep::Restore { task, version } => {
                            let task = tasks::restore(&tx, owner, &task, version, now).await?;
                            (EventType::Updated, task, version)
                        }
                    };
                    let event = events::append(
                        &tx,
                        user,
                        seq,
                        kind,
                        target.task_id,
                        version,
                        task.as_ref(),
                        Some(target.seq),
                        now,
                    )
                    .await?;
                    tx.commit().await?;
                    return Ok(Some((
                        Undone {
                            target_seq: target.seq,
                            target_kind: target.kind,
                            seq,
                            task,
                        },
                        event,
                    )));
                }
                tx.rollback().await?;
                Ok(None)
            })
            .await?;
        Ok(undone.map(|(undone, event)| {
            self.published(owner.id(), event);
            undone
        }))
    }

    async fn open_stream(
        &self,
        owner: Owner,
        lease: Uuid,
        now: i64,
        expires: i64,
        cap: u32,
    ) -> StoreResult<bool> {
        self.observe(async {
            let mut client = self.client().await?;
            let tx = client.transaction().await?;
            // Two streams opening at once on two servers count one after the other.
            tx.execute("SELECT 1 FROM users WHERE id = $1 FOR UPDATE", &[&owner.id()])
                .await?;
            let n = tx
                .execute(
                    "INSERT INTO stream_leases (id, user_id, expires_at)
                     SELECT $1, $2, $3
                     WHERE (SELECT count(*) FROM stream_leases WHERE user_id = $2 AND expires_at > $4) < $5",
                    &[&lease, &owner.id(), &expires, &now, &i64::from(cap)],
                )
                .await?;
            tx.commit().await?;
            Ok(n == 1)
        })
        .await
    }

    async fn renew_stream(&self, lease: Uuid, expires: i64) -> StoreResult<()> {
        self.observe(async {
            let client = self.client().await?;
            client
                .execute(
                    "UPDATE stream_leases SET expires_at = $2 WHERE id = $1",
                    &[&lease, &expires],
                )
                .await?;
            Ok(())
        })
        .await
    }

    async fn close_stream(&self, lease: Uuid) -> StoreResult<()> {
        self.observe(async {
            let client = self.client().await?;
            client
                .execute("DELETE FROM stream_leases WHERE id = $1", &[&lease])
                .await?;
            Ok(())
        })
        .await
    }

    async fn delete_old_events(
        &self,
        before: OffsetDateTime,
        keep: i64,
        now: i64,
        batch: u32,
    ) -> StoreResult<usize> {
        self.observe(async {
            let client = self.client().await?;
            events::prune(&client, before, keep, now, batch).await
        })
        .await
    }
}

/// Deletes at most `batch` rows of `table` whose `column` is before `before`, found by
/// their `key` (a batch at a time, so no request waits behind a long delete).
async fn delete_batch(
    c: &deadpool_postgres::Object,
    table: &str,
    key: &str,
    column: &str,
    before: i64,
    batch: i64,
) -> Result<u64, tokio_postgres::Error> {
    let sql = format!(
        "DELETE FROM {table} WHERE {key} IN (SELECT {key} FROM {table} WHERE {column} < $1 LIMIT $2)"
    );
    c.execute(&sql, &[&before, &batch]).await
}

/// How many of the latest changes undo looks through for one it can revert.
const UNDO_SEARCH: u32 = 200;

impl PgStore {
    /// Ends a conditional task write begun with the user's seq taken: with an `updated`
    /// event when it changed the task (a write that set what was already there leaves
    /// `updated_at` as it was), else rolled back, telling 404 from 412 on a miss.
    async fn finish_task_write(
        &self,
        tx: deadpool_postgres::Transaction<'_>,
        owner: Owner,
        id: i64,
        seq: i64,
        now: OffsetDateTime,
        changed: Option<Task>,
    ) -> StoreResult<Written<Task>> {
        match changed {
            Some(task) if task.updated_at == now => {
                let event = events::append(
                    &tx,
                    owner.id(),
                    seq,
                    EventType::Updated,
                    id,
                    task.version,
                    Some(&task),
                    None,
                    now,
                )
                .await?;
                tx.commit().await?;
                self.published(owner.id(), event);
                Ok(Written::Done(task))
            }
            Some(task) => {
                tx.rollback().await?;
                Ok(Written::Done(task))
            }
            None => {
                let current = tasks::get(&tx, owner, id).await?;
                tx.rollback().await?;
                Ok(Written::from_miss(current))
            }
        }
    }
}
