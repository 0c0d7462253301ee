//! The `sessions` and `refresh_tokens` tables. Refresh tokens are stored only as
//! SHA-256 hashes.

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, params};
use time::OffsetDateTime;
use todo_api::User;
use uuid::Uuid;

use super::{Db, WriteTx, from_micros, parse_uuid, personal_tokens, to_micros, users};
use crate::store::{
    NewSession, RefreshOutcome, RefreshRecord, RefreshRotation, RefreshStep, SessionRecord, SessionStart,
    SessionStorage, SignOut, StoreResult, UserRecord,
};

/// Starts the session with its first refresh token.
pub fn create(tx: &WriteTx<'_>, session: &NewSession) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT INTO sessions (id, user_id, created_at, expires_at, last_used_at, user_agent, client_addr)
         VALUES (?1, ?2, ?3, ?4, ?3, ?5, ?6)",
        params![
            session.session_id.to_string(),
            session.user_id.to_string(),
            to_micros(session.now),
            to_micros(session.expires_at),
            session.user_agent,
            session.client_addr
        ],
    )?;
    insert_refresh_token(tx, &session.refresh_hash, session.session_id, session.expires_at)
}

pub fn insert_refresh_token(
    tx: &WriteTx<'_>,
    token_hash: &[u8],
    session_id: Uuid,
    expires_at: OffsetDateTime,
) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT INTO refresh_tokens (token_hash, session_id, expires_at) VALUES (?1, ?2, ?3)",
        params![token_hash, session_id.to_string(), to_micros(expires_at)],
    )?;
    Ok(())
}

pub fn find_refresh_token(tx: &Connection, token_hash: &[u8]) -> rusqlite::Result<Option<RefreshRecord>> {
    tx.query_row(
        "SELECT r.session_id, s.user_id, r.expires_at, r.used_at IS NOT NULL, s.revoked_at IS NOT NULL,
                s.created_at
         FROM refresh_tokens r JOIN sessions s ON s.id = r.session_id
         WHERE r.token_hash = ?1",
        [token_hash],
        |row| {
            Ok(RefreshRecord {
                session_id: parse_uuid(row.get(0)?)?,
                user_id: parse_uuid(row.get(1)?)?,
                token_expires_at: from_micros(row.get(2)?)?,
                used: row.get(3)?,
                session_revoked: row.get(4)?,
                session_created_at: from_micros(row.get(5)?)?,
            })
        },
    )
    .optional()
}

pub fn mark_refresh_token_used(
    tx: &WriteTx<'_>,
    token_hash: &[u8],
    now: OffsetDateTime,
) -> rusqlite::Result<()> {
    tx.execute(
        "UPDATE refresh_tokens SET used_at = ?2 WHERE token_hash = ?1",
        params![token_hash, to_micros(now)],
    )?;
    Ok(())
}

/// Revokes one session of `user_id`; returns whether it was active.
pub fn revoke(
    tx: &WriteTx<'_>,
    user_id: Uuid,
    session_id: Uuid,
    now: OffsetDateTime,
) -> rusqlite::Result<bool> {
    let n = tx.execute(
        "UPDATE sessions SET revoked_at = ?3 WHERE id = ?1 AND user_id = ?2 AND revoked_at IS NULL",
        params![session_id.to_string(), user_id.to_string(), to_micros(now)],
    )?;
    Ok(n > 0)
}

/// Revokes every active session of the user; returns their ids.
pub fn revoke_all(tx: &WriteTx<'_>, user_id: Uuid, now: OffsetDateTime) -> rusqlite::Result<Vec<Uuid>> {
    let mut stmt = tx.prepare(
        "UPDATE sessions SET revoked_at = ?2 WHERE user_id = ?1 AND revoked_at IS NULL RETURNING id",
    )?;
    stmt.query_map(params![user_id.to_string(), to_micros(now)], |r| {
        parse_uuid(r.get(0)?)
    })?
    .collect()
}

/// Revokes every active session of the user but `keep`; returns their ids.
pub fn revoke_others(
    tx: &WriteTx<'_>,
    user_id: Uuid,
    keep: Uuid,
    now: OffsetDateTime,
) -> rusqlite::Result<Vec<Uuid>> {
    let mut stmt = tx.prepare(
        "UPDATE sessions SET revoked_at = ?3 WHERE user_id = ?1 AND id != ?2 AND revoked_at IS NULL RETURNING id",
    )?;
    stmt.query_map(
        params![user_id.to_string(), keep.to_string(), to_micros(now)],
        |r| parse_uuid(r.get(0)?),
    )?
    .collect()
}

/// Sessions revoked since `since`, with when: their access tokens may still be in
/// circulation.
pub fn revoked_since(
    conn: &Connection,
    since: OffsetDateTime,
) -> rusqlite::Result<Vec<(Uuid, OffsetDateTime)>> {
    let mut stmt = conn.prepare(
        "SELECT id, revoked_at FROM sessions WHERE revoked_at > ?1
         UNION ALL SELECT id, ended_at FROM ended_sessions WHERE ended_at > ?1
         UNION ALL SELECT id, revoked_at FROM personal_tokens WHERE revoked_at > ?1",
    )?;
    stmt.query_map([to_micros(since)], |r| {
        Ok((parse_uuid(r.get(0)?)?, from_micros(r.get(1)?)?))
    })?
    .collect()
}

/// Deletes at most `batch` sessions that ended before `ended_before` (their refresh
/// tokens go with them), and as many records of deleted accounts' sessions; returns how
/// many.
pub fn delete_ended(tx: &WriteTx<'_>, ended_before: OffsetDateTime, batch: u32) -> rusqlite::Result<usize> {
    let sessions = tx.execute(
        "DELETE FROM sessions WHERE id IN
           (SELECT id FROM sessions WHERE expires_at < ?1 LIMIT ?2)",
        params![to_micros(ended_before), batch],
    )?;
    let records = tx.execute(
        "DELETE FROM ended_sessions WHERE id IN
           (SELECT id FROM ended_sessions WHERE ended_at < ?1 LIMIT ?2)",
        params![to_micros(ended_before), batch],
    )?;
    Ok(sessions + records)
}

/// Deletes the user (everything of theirs cascades), recording their sessions as ended.
pub fn delete_user(tx: &WriteTx<'_>, user_id: Uuid, now: OffsetDateTime) -> rusqlite::Result<Vec<Uuid>> {
    // Sessions and unrevoked personal tokens alike: this server refuses each at once.
    let ids = tx
        .prepare(
            "INSERT OR REPLACE INTO ended_sessions (id, ended_at)
               SELECT id, ?2 FROM sessions WHERE user_id = ?1
               UNION ALL SELECT id, ?2 FROM personal_tokens WHERE user_id = ?1 AND revoked_at IS NULL
             RETURNING id",
        )?
        .query_map(params![user_id.to_string(), to_micros(now)], |r| {
            parse_uuid(r.get(0)?)
        })?
        .collect::<rusqlite::Result<Vec<Uuid>>>()?;
    tx.execute("DELETE FROM users WHERE id = ?1", [user_id.to_string()])?;
    Ok(ids)
}

/// Deletes at most `batch` refresh tokens that expired before `now` (a used one past
/// its expiry can no longer be replayed usefully); returns how many.
pub fn delete_expired_refresh_tokens(
    tx: &WriteTx<'_>,
    now: OffsetDateTime,
    batch: u32,
) -> rusqlite::Result<usize> {
    tx.execute(
        "DELETE FROM refresh_tokens WHERE token_hash IN
           (SELECT token_hash FROM refresh_tokens WHERE expires_at < ?1 LIMIT ?2)",
        params![to_micros(now), batch],
    )
}

/// Slides the session's end forward on each refresh (the refresh TTL is an idle
/// timeout) and notes the use, to the minute.
pub fn extend(
    tx: &WriteTx<'_>,
    session_id: Uuid,
    expires_at: OffsetDateTime,
    now: OffsetDateTime,
) -> rusqlite::Result<()> {
    tx.execute(
        "UPDATE sessions SET expires_at = ?2,
             last_used_at = CASE WHEN last_used_at IS NULL OR last_used_at < ?3 - 60000000 THEN ?3
                                 ELSE last_used_at END
         WHERE id = ?1",
        params![session_id.to_string(), to_micros(expires_at), to_micros(now)],
    )?;
    Ok(())
}

/// The user's active sessions, newest first.
pub fn active(conn: &Connection, user_id: Uuid, now: OffsetDateTime) -> rusqlite::Result<Vec<SessionRecord>> {
    conn.prepare_cached(
        "SELECT id, created_at, COALESCE(last_used_at, created_at), user_agent, client_addr FROM sessions
         WHERE user_id = ?1 AND revoked_at IS NULL AND expires_at > ?2 ORDER BY created_at DESC",
    )?
    .query_map(params![user_id.to_string(), to_micros(now)], |r| {
        Ok(SessionRecord {
            id: parse_uuid(r.get(0)?)?,
            created_at: from_micros(r.get(1)?)?,
            last_used_at: from_micros(r.get(2)?)?,
            user_agent: r.get(3)?,
            client_addr: r.get(4)?,
        })
    })?
    .collect()
}

#[async_trait]
impl SessionStorage for Db {
    async fn user_by_email(&self, email: &str) -> StoreResult<Option<UserRecord>> {
        let email = email.to_string();
        self.read(move |c| users::find_by_email(c, &email)).await
    }

    async fn user_by_id(&self, id: Uuid) -> StoreResult<Option<User>> {
        self.read(move |c| users::find_by_id(c, id)).await
    }

    async fn user_emails(&self) -> StoreResult<Vec<(Uuid, String)>> {
        self.read(users::all_emails).await
    }

    async fn replace_email(&self, id: Uuid, old: &str, new: &str) -> StoreResult<bool> {
        let (old, new) = (old.to_string(), new.to_string());
        self.write(move |tx| users::replace_email(tx, id, &old, &new))
            .await
    }

    async fn replace_password_hash(&self, id: Uuid, old: &str, new: &str) -> StoreResult<bool> {
        let (old, new) = (old.to_string(), new.to_string());
        self.write(move |tx| users::replace_password_hash(tx, id, &old, &new))
            .await
    }

    async fn start_session(
        &self,
        new_user: Option<UserRecord>,
        session: NewSession,
    ) -> StoreResult<SessionStart> {
        self.write(move |tx| {
            match &new_user {
                Some(record) if !users::insert(tx, record)? => return Ok(SessionStart::EmailTaken),
                Some(_) => {}
                // No such user: the session's foreign key refuses it below.
                None => {
                    if let Some((disabled, hash)) = users::sign_in_state(tx, session.user_id)?
                        && let Some(refused) = session.refused_by(disabled, &hash)
                    {
                        return Ok(refused);
                    }
                }
            }
            create(tx, &session)?;
            Ok(SessionStart::Started)
        })
        .await
    }

    async fn rotate_refresh_token(&self, rotation: RefreshRotation) -> StoreResult<RefreshOutcome> {
        self.write(move |tx| {
            let Some(found) = find_refresh_token(tx, &rotation.presented)? else {
                return Ok(RefreshOutcome::Rejected);
            };
            match rotation.step(&found) {
                RefreshStep::Reject => Ok(RefreshOutcome::Rejected),
                RefreshStep::RevokeSession => {
                    revoke(tx, found.user_id, found.session_id, rotation.now)?;
                    Ok(RefreshOutcome::Reused {
                        session_id: found.session_id,
                        user_id: found.user_id,
                    })
                }
                RefreshStep::Rotate { expires_at } => {
                    mark_refresh_token_used(tx, &rotation.presented, rotation.now)?;
                    insert_refresh_token(tx, &rotation.next, found.session_id, expires_at)?;
                    extend(tx, found.session_id, expires_at, rotation.now)?;
                    Ok(RefreshOutcome::Rotated {
                        user: users::find_by_id(tx, found.user_id)?,
                        session_id: found.session_id,
                    })
                }
            }
        })
        .await
    }

    async fn sign_out(&self, request: SignOut) -> StoreResult<Vec<Uuid>> {
        self.write(move |tx| {
            if request.all {
                return revoke_all(tx, request.user_id, request.now);
            }
            let mut ids = vec![request.session_id];
            if let Some(hash) = &request.refresh_hash
                && let Some(found) = find_refresh_token(tx, hash)?
                && found.user_id == request.user_id
            {
                ids.push(found.session_id);
            }
            for id in &ids {
                revoke(tx, request.user_id, *id, request.now)?;
            }
            Ok(ids)
        })
        .await
    }

    async fn list_sessions(&self, user_id: Uuid, now: OffsetDateTime) -> StoreResult<Vec<SessionRecord>> {
        self.read(move |c| active(c, user_id, now)).await
    }

    async fn end_other_sessions(
        &self,
        user_id: Uuid,
        keep: Uuid,
        now: OffsetDateTime,
    ) -> StoreResult<Vec<Uuid>> {
        self.write(move |tx| revoke_others(tx, user_id, keep, now)).await
    }

    async fn delete_account(&self, user_id: Uuid, now: OffsetDateTime) -> StoreResult<Vec<Uuid>> {
        let (ended, published) = self
            .write(move |tx| {
                // The projects it owns go with it: their other members see each task go.
                let published = super::projects::owned_projects_go(tx, user_id, now)?;
                Ok((delete_user(tx, user_id, now)?, published))
            })
            .await?;
        self.publish(published);
        Ok(ended)
    }

    async fn end_session(&self, user_id: Uuid, session_id: Uuid, now: OffsetDateTime) -> StoreResult<bool> {
        self.write(move |tx| revoke(tx, user_id, session_id, now)).await
    }

    async fn revoked_since(&self, since: OffsetDateTime) -> StoreResult<Vec<(Uuid, OffsetDateTime)>> {
        self.read(move |c| revoked_since(c, since)).await
    }

    async fn delete_ended_sessions(
        &self,
        sessions_before: OffsetDateTime,
        tokens_before: OffsetDateTime,
        batch: u32,
    ) -> StoreResult<usize> {
        self.write(move |tx| {
            Ok(delete_ended(tx, sessions_before, batch)?
                + delete_expired_refresh_tokens(tx, tokens_before, batch)?
                + personal_tokens::delete_ended(tx, sessions_before, batch)?)
        })
        .await
    }
}
