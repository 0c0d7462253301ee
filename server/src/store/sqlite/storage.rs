//! The storage interface on SQLite: each method is one read on a reader thread or one
//! write (a savepoint in the writer's group commit).

use async_trait::async_trait;
use time::OffsetDateTime;
use todo_api::{Task, User};
use uuid::Uuid;

use super::{Db, keys, limits, sessions, tasks, users};
use crate::store::{
    Expected, KeyRecord, NewSession, RefreshOutcome, RefreshRotation, RefreshStep, SignOut, Storage,
    StoreResult, UserRecord, Written,
};
use crate::tasks::{Owner, TaskDraft, TaskQuery};

#[async_trait]
impl Storage for Db {
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

    async fn start_session(&self, new_user: Option<UserRecord>, session: NewSession) -> StoreResult<bool> {
        self.write(move |tx| {
            if let Some(record) = &new_user
                && !users::insert(tx, record)?
            {
                return Ok(false);
            }
            sessions::create(tx, &session)?;
            Ok(true)
        })
        .await
    }

    async fn rotate_refresh_token(&self, rotation: RefreshRotation) -> StoreResult<RefreshOutcome> {
        self.write(move |tx| {
            let Some(found) = sessions::find_refresh_token(tx, &rotation.presented)? else {
                return Ok(RefreshOutcome::Rejected);
            };
            match rotation.step(&found) {
                RefreshStep::Reject => Ok(RefreshOutcome::Rejected),
                RefreshStep::RevokeSession => {
                    sessions::revoke(tx, found.user_id, found.session_id, rotation.now)?;
                    Ok(RefreshOutcome::Reused(found.session_id))
                }
                RefreshStep::Rotate { expires_at } => {
                    sessions::mark_refresh_token_used(tx, &rotation.presented, rotation.now)?;
                    sessions::insert_refresh_token(tx, &rotation.next, found.session_id, expires_at)?;
                    sessions::extend(tx, found.session_id, expires_at)?;
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
                return sessions::revoke_all(tx, request.user_id, request.now);
            }
            let mut ids = vec![request.session_id];
            if let Some(hash) = &request.refresh_hash
                && let Some(found) = sessions::find_refresh_token(tx, hash)?
                && found.user_id == request.user_id
            {
                ids.push(found.session_id);
            }
            for id in &ids {
                sessions::revoke(tx, request.user_id, *id, request.now)?;
            }
            Ok(ids)
        })
        .await
    }

    async fn revoked_since(&self, since: OffsetDateTime) -> StoreResult<Vec<(Uuid, OffsetDateTime)>> {
        self.read(move |c| sessions::revoked_since(c, since)).await
    }

    async fn delete_ended_sessions(
        &self,
        sessions_before: OffsetDateTime,
        tokens_before: OffsetDateTime,
        batch: u32,
    ) -> StoreResult<usize> {
        self.write(move |tx| {
            Ok(sessions::delete_ended(tx, sessions_before, batch)?
                + sessions::delete_expired_refresh_tokens(tx, tokens_before, batch)?)
        })
        .await
    }

    async fn signing_keys(&self) -> StoreResult<Vec<KeyRecord>> {
        self.read(keys::all).await
    }

    async fn add_signing_key(&self, key: KeyRecord, only_if_none: bool) -> StoreResult<()> {
        self.write(move |tx| {
            if only_if_none && keys::has_active(tx)? {
                return Ok(());
            }
            keys::rotate(tx, &key, OffsetDateTime::now_utc())
        })
        .await
    }

    async fn set_stored_secrets(&self, secrets: Vec<(String, Vec<u8>)>) -> StoreResult<()> {
        self.write(move |tx| {
            for (kid, stored) in &secrets {
                keys::set_stored_secret(tx, kid, stored)?;
            }
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
        let key = key.to_string();
        self.write(move |tx| limits::try_count(tx, &key, now, period, limit))
            .await
    }

    async fn uncount_attempt(&self, key: &str, window_start: i64) -> StoreResult<()> {
        let key = key.to_string();
        self.write(move |tx| limits::uncount(tx, &key, window_start))
            .await
    }

    async fn delete_ended_windows(&self, before: i64, batch: u32) -> StoreResult<usize> {
        self.write(move |tx| limits::delete_ended(tx, before, batch))
            .await
    }

    async fn list_tasks(&self, owner: Owner, query: &TaskQuery) -> StoreResult<(Vec<Task>, u64)> {
        let query = query.clone();
        self.read(move |c| tasks::list(c, owner, &query)).await
    }

    async fn get_task(&self, owner: Owner, id: i64) -> StoreResult<Option<Task>> {
        self.read(move |c| tasks::get(c, owner, id)).await
    }

    async fn insert_task(&self, owner: Owner, draft: &TaskDraft, now: OffsetDateTime) -> StoreResult<Task> {
        let draft = draft.clone();
        self.write(move |tx| tasks::insert(tx, owner, &draft, now)).await
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
        let draft = draft.clone();
        self.write(move |tx| {
            Ok(
                match tasks::replace(tx, owner, id, expected, &draft, completed, now)? {
                    Some(task) => Written::Done(task),
                    None => Written::from_miss(tasks::get(tx, owner, id)?),
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
        self.write(move |tx| {
            Ok(
                match tasks::set_completed(tx, owner, id, expected, target, now)? {
                    Some(task) => Written::Done(task),
                    None => Written::from_miss(tasks::get(tx, owner, id)?),
                },
            )
        })
        .await
    }

    async fn delete_task(&self, owner: Owner, id: i64, expected: Expected) -> StoreResult<Written<()>> {
        self.write(move |tx| {
            Ok(if tasks::delete(tx, owner, id, expected)? {
                Written::Done(())
            } else {
                Written::from_miss(tasks::get(tx, owner, id)?)
            })
        })
        .await
    }
}
