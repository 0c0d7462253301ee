//! The storage interface on SQLite: each method is one read on a reader thread or one
//! write (a savepoint in the writer's group commit).

use async_trait::async_trait;
use time::OffsetDateTime;
use todo_api::{Task, User};
use uuid::Uuid;

use super::{Db, events, keys, limits, personal_tokens, sessions, tasks, users};
use crate::domain::tasks::{Owner, TaskDraft, TaskQuery};
use crate::store::{
    ChangeFeed, EventPage, EventRecord, Expected, KeyRecord, NewSession, RefreshOutcome, RefreshRotation,
    RefreshStep, SessionRecord, SessionStart, SignOut, Storage, StoreResult, UndoStep, Undone, UserRecord,
    Written,
};
use todo_api::EventType;

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
            sessions::create(tx, &session)?;
            Ok(SessionStart::Started)
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
                    Ok(RefreshOutcome::Reused {
                        session_id: found.session_id,
                        user_id: found.user_id,
                    })
                }
                RefreshStep::Rotate { expires_at } => {
                    sessions::mark_refresh_token_used(tx, &rotation.presented, rotation.now)?;
                    sessions::insert_refresh_token(tx, &rotation.next, found.session_id, expires_at)?;
                    sessions::extend(tx, found.session_id, expires_at, rotation.now)?;
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

    async fn list_sessions(&self, user_id: Uuid, now: OffsetDateTime) -> StoreResult<Vec<SessionRecord>> {
        self.read(move |c| sessions::active(c, user_id, now)).await
    }

    async fn end_other_sessions(
        &self,
        user_id: Uuid,
        keep: Uuid,
        now: OffsetDateTime,
    ) -> StoreResult<Vec<Uuid>> {
        self.write(move |tx| sessions::revoke_others(tx, user_id, keep, now))
            .await
    }

    async fn delete_account(&self, user_id: Uuid, now: OffsetDateTime) -> StoreResult<Vec<Uuid>> {
        self.write(move |tx| sessions::delete_user(tx, user_id, now))
            .await
    }

    async fn end_session(&self, user_id: Uuid, session_id: Uuid, now: OffsetDateTime) -> StoreResult<bool> {
        self.write(move |tx| sessions::revoke(tx, user_id, session_id, now))
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
                + sessions::delete_expired_refresh_tokens(tx, tokens_before, batch)?
                + personal_tokens::delete_ended(tx, sessions_before, batch)?)
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
            keys::rotate(tx, &key, key.created_at)
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

    async fn insert_task(
        &self,
        owner: Owner,
        draft: &TaskDraft,
        now: OffsetDateTime,
    ) -> StoreResult<Written<Task>> {
        let draft = draft.clone();
        let outcome = self
            .write(move |tx| {
                let Some(task) = tasks::insert(tx, owner, &draft, now)? else {
                    let first = draft
                        .source_id()
                        .map(|s| tasks::by_source(tx, owner, s))
                        .transpose()?
                        .flatten();
                    return Ok(Err(first));
                };
                let event = events::append(
                    tx,
                    owner.id(),
                    EventType::Created,
                    task.id,
                    task.version,
                    Some(&task),
                    None,
                    now,
                )?;
                Ok(Ok((task, event)))
            })
            .await?;
        match outcome {
            Ok((task, event)) => {
                self.inner.feed.publish_event(owner.id(), event);
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
        let draft = draft.clone();
        self.write_task(owner, id, now, move |tx| {
            tasks::replace(tx, owner, id, expected, &draft, completed, now)
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
        self.write_task(owner, id, now, move |tx| {
            tasks::set_completed(tx, owner, id, expected, target, now)
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
        let (written, event) = self
            .write(move |tx| {
                Ok(match tasks::delete(tx, owner, id, expected)? {
                    Some(version) => {
                        let event =
                            events::append(tx, owner.id(), EventType::Deleted, id, version, None, None, now)?;
                        (Written::Done(()), Some(event))
                    }
                    None => (Written::from_miss(tasks::get(tx, owner, id)?), None),
                })
            })
            .await?;
        if let Some(event) = event {
            self.inner.feed.publish_event(owner.id(), event);
        }
        Ok(written)
    }

    fn changes(&self) -> &ChangeFeed {
        &self.inner.feed
    }

    async fn events_after(&self, owner: Owner, after: i64, limit: u32) -> StoreResult<EventPage> {
        self.read(move |c| events::after(c, owner.id(), after, limit))
            .await
    }

    async fn task_history(&self, owner: Owner, task_id: i64) -> StoreResult<Vec<EventRecord>> {
        self.read(move |c| events::history(c, owner.id(), task_id)).await
    }

    async fn undo_latest(&self, owner: Owner, now: OffsetDateTime) -> StoreResult<Option<Undone>> {
        let undone = self
            .write(move |tx| {
                let user = owner.id();
                for target in events::undoable(tx, user, UNDO_SEARCH)? {
                    let before = events::before(tx, user, target.task_id, target.seq)?;
                    let current = tasks::get(tx, owner, target.task_id)?;
                    let Some(step) = UndoStep::plan(&target, before, current.as_ref()) else {
                        continue;
                    };
                    let (kind, task, version) = match step {
                        UndoStep::Delete { version } => {
                            tasks::delete(tx, owner, target.task_id, Expected::Version(version))?;
                            (EventType::Deleted, None, version)
                        }
                        UndoStep::Reinsert { task, version } => {
                            let task = tasks::reinsert(tx, owner, &task, version, now)?;
                            (EventType::Created, Some(task), version)
                        }
                        UndoStep::Restore { task, version } => {
                            let task = tasks::restore(tx, owner, &task, version, now)?;
                            (EventType::Updated, task, version)
                        }
                    };
                    let event = events::append(
                        tx,
                        user,
                        kind,
                        target.task_id,
                        version,
                        task.as_ref(),
                        Some(target.seq),
                        now,
                    )?;
                    return Ok(Some((
                        Undone {
                            target_seq: target.seq,
                            target_kind: target.kind,
                            seq: event.seq,
                            task,
                        },
                        event,
                    )));
                }
                Ok(None)
            })
            .await?;
        Ok(undone.map(|(undone, event)| {
            self.inner.feed.publish_event(owner.id(), event);
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
        self.write(move |tx| events::open_lease(tx, owner.id(), lease, now, expires, cap))
            .await
    }

    async fn renew_stream(&self, lease: Uuid, expires: i64) -> StoreResult<()> {
        self.write(move |tx| events::renew_lease(tx, lease, expires))
            .await
    }

    async fn close_stream(&self, lease: Uuid) -> StoreResult<()> {
        self.write(move |tx| events::close_lease(tx, lease)).await
    }

    async fn delete_old_events(
        &self,
        before: OffsetDateTime,
        keep: i64,
        now: i64,
        batch: u32,
    ) -> StoreResult<usize> {
        self.write(move |tx| events::prune(tx, before, keep, now, batch))
            .await
    }
}

/// How many of the latest changes undo looks through for one it can revert.
const UNDO_SEARCH: u32 = 200;

impl Db {
    /// A conditional task write with its event: `Done` (and an `updated` event) when it
    /// changed the task, which a write that set what was already there does not (its
    /// `updated_at` is not `now`).
    async fn write_task<F>(
        &self,
        owner: Owner,
        id: i64,
        now: OffsetDateTime,
        write: F,
    ) -> StoreResult<Written<Task>>
    where
        F: FnOnce(&super::WriteTx<'_>) -> rusqlite::Result<Option<Task>> + Send + 'static,
    {
        let (written, event) = self
            .write(move |tx| {
                Ok(match write(tx)? {
                    Some(task) if task.updated_at == now => {
                        let event = events::append(
                            tx,
                            owner.id(),
                            EventType::Updated,
                            id,
                            task.version,
                            Some(&task),
                            None,
                            now,
                        )?;
                        (Written::Done(task), Some(event))
                    }
                    Some(task) => (Written::Done(task), None),
                    None => (Written::from_miss(tasks::get(tx, owner, id)?), None),
                })
            })
            .await?;
        if let Some(event) = event {
            self.inner.feed.publish_event(owner.id(), event);
        }
        Ok(written)
    }
}
