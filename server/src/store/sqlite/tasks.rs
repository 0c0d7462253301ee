//! The task port on SQLite: tasks and their change stream; every task write appends its
//! event in the same write (the SQL is in `task_statements.rs` and `events.rs`).

use async_trait::async_trait;
use time::OffsetDateTime;
use todo_api::Task;
use uuid::Uuid;

use super::{Db, events, task_statements as tasks};
use crate::domain::tasks::{Owner, TaskDraft, TaskQuery};
use crate::store::{
    ChangeFeed, EventPage, EventRecord, Expected, StoreResult, TaskStorage, UndoStep, Undone, Written,
    to_micros,
};
use todo_api::EventType;

#[async_trait]
impl TaskStorage for Db {
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
        now: OffsetDateTime,
        expires: OffsetDateTime,
        cap: u32,
    ) -> StoreResult<bool> {
        let (now, expires) = (to_micros(now), to_micros(expires));
        self.write(move |tx| events::open_lease(tx, owner.id(), lease, now, expires, cap))
            .await
    }

    async fn renew_stream(&self, lease: Uuid, expires: OffsetDateTime) -> StoreResult<()> {
        let expires = to_micros(expires);
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
        now: OffsetDateTime,
        batch: u32,
    ) -> StoreResult<usize> {
        let now = to_micros(now);
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
