//! The task port on SQLite: tasks and their change stream; every task write appends its
//! event in the same write (the SQL is in `task_statements.rs` and `events.rs`).

use async_trait::async_trait;
use time::OffsetDateTime;
use todo_api::Task;
use uuid::Uuid;

use super::{Db, events, notes, task_statements as tasks};
use crate::domain::recurrence::next_instance;
use crate::domain::tasks::{Owner, TaskDraft, TaskQuery};
use crate::store::{
    ChangeFeed, EventPage, EventRecord, Expected, NewNote, NoteWrite, Published, StoreResult, TaskChange,
    TaskReplace, TaskStorage, UndoOutcome, UndoStep, Undone, Written, to_micros,
};

#[async_trait]
impl TaskStorage for Db {
    async fn list_tasks(&self, owner: Owner, query: &TaskQuery) -> StoreResult<(Vec<Task>, u64)> {
        let query = query.clone();
        self.read(move |c| tasks::list(c, owner, &query)).await
    }

    async fn get_task(&self, owner: Owner, id: i64) -> StoreResult<Option<Task>> {
        self.read(move |c| tasks::get(c, owner, id)?.map(|t| notes::attach(c, t)).transpose())
            .await
    }

    async fn insert_task(
        &self,
        owner: Owner,
        project: Option<Uuid>,
        draft: &TaskDraft,
        now: OffsetDateTime,
    ) -> StoreResult<Written<Task>> {
        let draft = draft.clone();
        let outcome = self
            .write(move |tx| {
                let Some(mut task) = tasks::insert(tx, owner, project, &draft, now)? else {
                    let first = match draft.source_id() {
                        Some(source) => tasks::by_source(tx, owner, project, source)?,
                        None => None,
                    };
                    return Ok(Err(first));
                };
                task.notes = Some(Vec::new());
                let after = events::audience(tx, task.project_id, task.user_id)?;
                let change = TaskChange::of(&task, owner.id(), now);
                let published = events::fan_out(tx, &[], &after, &change)?;
                Ok(Ok((task, published)))
            })
            .await?;
        match outcome {
            Ok((task, published)) => {
                self.publish(published);
                Ok(Written::Done(task))
            }
            Err(first) => Ok(Written::from_refused_insert(project, first)),
        }
    }

    async fn replace_task(
        &self,
        owner: Owner,
        id: i64,
        expected: Expected,
        change: TaskReplace,
        now: OffsetDateTime,
    ) -> StoreResult<Written<Task>> {
        self.write_task(owner, id, now, move |tx| {
            tasks::replace(
                tx,
                owner,
                id,
                expected,
                &change.draft,
                change.completed,
                change.moved_to,
                now,
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
        let (written, published) = self
            .write(move |tx| {
                let before = events::audience_of_task(tx, id)?;
                Ok(match tasks::delete(tx, owner, id, expected)? {
                    Some(version) => {
                        let change = TaskChange::deleted(id, version, owner.id(), now);
                        (Written::Done(()), events::fan_out(tx, &before, &[], &change)?)
                    }
                    None => (
                        Written::from_miss(tasks::get_with_access(tx, owner, id)?),
                        Vec::new(),
                    ),
                })
            })
            .await?;
        self.publish(published);
        Ok(written)
    }

    async fn add_note(
        &self,
        owner: Owner,
        task_id: i64,
        note: NewNote,
        now: OffsetDateTime,
    ) -> StoreResult<NoteWrite> {
        self.write_note(owner, task_id, now, move |tx| {
            if notes::count(tx, task_id)? >= todo_api::limits::NOTES_PER_TASK {
                return Ok(Some(NoteWrite::Full));
            }
            let note = todo_api::Note {
                id: note.id,
                text: note.text.as_str().to_string(),
                author_id: owner.id(),
                created_at: now,
            };
            notes::insert(tx, task_id, &note)?;
            Ok(None)
        })
        .await
    }

    async fn delete_note(
        &self,
        owner: Owner,
        task_id: i64,
        note_id: Uuid,
        now: OffsetDateTime,
    ) -> StoreResult<NoteWrite> {
        self.write_note(owner, task_id, now, move |tx| {
            match notes::author_of(tx, task_id, note_id)? {
                None => return Ok(Some(NoteWrite::NoteMissing)),
                Some(author) if author != owner.id() => return Ok(Some(NoteWrite::NotAuthor)),
                Some(_) => notes::delete(tx, note_id)?,
            }
            Ok(None)
        })
        .await
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

    async fn undo_latest(&self, owner: Owner, now: OffsetDateTime) -> StoreResult<UndoOutcome> {
        let (outcome, published) = self
            .write(move |tx| {
                let user = owner.id();
                for target in events::undoable(tx, user, UNDO_SEARCH)? {
                    let before = events::before(tx, user, target.task_id, target.seq)?;
                    let current = tasks::get_with_access(tx, owner, target.task_id)?;
                    if current.as_ref().is_some_and(|(_, writable)| !writable) {
                        return Ok((UndoOutcome::NotAllowed, Vec::new()));
                    }
                    let current = current.map(|(task, _)| task);
                    let Some(step) = UndoStep::plan(&target, before, current.as_ref()) else {
                        continue;
                    };
                    let seen_before = events::audience_of_task(tx, target.task_id)?;
                    let (task, version) = match step {
                        UndoStep::Delete { version } => {
                            tasks::delete(tx, owner, target.task_id, Expected::Version(version))?;
                            (None, version)
                        }
                        UndoStep::Reinsert { task, version } => {
                            match tasks::reinsert(tx, owner, &task, version, now)? {
                                Some(back) => (Some(notes::restore(tx, back, &task)?), version),
                                None => return Ok((UndoOutcome::NotAllowed, Vec::new())),
                            }
                        }
                        UndoStep::Restore { task, version } => {
                            match tasks::restore(tx, owner, &task, version, now)? {
                                Some(back) => (Some(notes::restore(tx, back, &task)?), version),
                                None => return Ok((UndoOutcome::NotAllowed, Vec::new())),
                            }
                        }
                    };
                    let seen_after = match &task {
                        Some(t) => events::audience(tx, t.project_id, t.user_id)?,
                        None => Vec::new(),
                    };
                    let change = TaskChange {
                        task_id: target.task_id,
                        version,
                        task: task.as_ref(),
                        actor: user,
                        undoes: Some(target.seq),
                        at: now,
                    };
                    let mut published = events::fan_out(tx, &seen_before, &seen_after, &change)?;
                    // An undone completion takes back the instance it created.
                    if let (Some(before), Some(after)) = (current.as_ref(), task.as_ref())
                        && before.completed
                        && !after.completed
                    {
                        published.extend(successor_gone(tx, before, now)?);
                    }
                    let seq = published
                        .iter()
                        .find(|(u, _)| *u == user)
                        .map_or(0, |(_, e)| e.seq);
                    let undone = Undone {
                        target_seq: target.seq,
                        target_kind: target.kind,
                        seq,
                        task,
                    };
                    return Ok((UndoOutcome::Undone(Box::new(undone)), published));
                }
                Ok((UndoOutcome::Nothing, Vec::new()))
            })
            .await?;
        self.publish(published);
        Ok(outcome)
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

/// Completing an instance of a series creates the next one in the same transaction
/// (once: see [`tasks::insert_successor`]), with an event for everyone who sees it. Its
/// event has no actor: undoing the completion takes it away.
fn successor(
    tx: &super::WriteTx<'_>,
    task: &Task,
    owner: Owner,
    now: OffsetDateTime,
) -> rusqlite::Result<Published> {
    let completed_now = task.completed && task.completed_at == Some(now);
    let Some(due) = completed_now.then(|| next_instance(task)).flatten() else {
        return Ok(Vec::new());
    };
    let Some(mut next) = tasks::insert_successor(tx, task, due, owner.id(), now)? else {
        return Ok(Vec::new());
    };
    next.notes = Some(Vec::new());
    let audience = events::audience(tx, next.project_id, next.user_id)?;
    let change = TaskChange::of(&next, Uuid::nil(), now);
    events::fan_out(tx, &[], &audience, &change)
}

/// Deletes the instance completing `completed` created, if no one has touched it since
/// (an undo of the completion), with an event for everyone who saw it.
fn successor_gone(
    tx: &super::WriteTx<'_>,
    completed: &Task,
    now: OffsetDateTime,
) -> rusqlite::Result<Published> {
    let Some(gone) = tasks::delete_untouched_successor(tx, completed)? else {
        return Ok(Vec::new());
    };
    let audience = events::audience(tx, gone.project, gone.space)?;
    let change = TaskChange::deleted(gone.id, gone.version, Uuid::nil(), now);
    events::fan_out(tx, &audience, &[], &change)
}

impl Db {
    /// A change of a task's notes: the caller must be able to write the task; `change`
    /// refuses (`Some`) or changes the notes, and then the task moves to a new version with
    /// an event for everyone who sees it. SQLite's one writer runs it alone, so what
    /// `change` reads still holds when it writes.
    async fn write_note<F>(
        &self,
        owner: Owner,
        task_id: i64,
        now: OffsetDateTime,
        change: F,
    ) -> StoreResult<NoteWrite>
    where
        F: FnOnce(&super::WriteTx<'_>) -> rusqlite::Result<Option<NoteWrite>> + Send + 'static,
    {
        let (written, published) = self
            .write(move |tx| {
                if let Some(refused) = NoteWrite::from_access(tasks::get_with_access(tx, owner, task_id)?) {
                    return Ok((refused, Vec::new()));
                }
                if let Some(refused) = change(tx)? {
                    return Ok((refused, Vec::new()));
                }
                let Some(task) = tasks::touch(tx, owner, task_id, now)? else {
                    return Ok((NoteWrite::TaskMissing, Vec::new()));
                };
                let task = notes::attach(tx, task)?;
                let audience = events::audience(tx, task.project_id, task.user_id)?;
                let change = TaskChange::of(&task, owner.id(), now);
                let published = events::fan_out(tx, &audience, &audience, &change)?;
                Ok((NoteWrite::Done(Box::new(task)), published))
            })
            .await?;
        self.publish(published);
        Ok(written)
    }

    /// Hands each committed event to the streams of its user.
    pub(super) fn publish(&self, events: Published) {
        for (user, event) in events {
            self.inner.feed.publish_event(user, event);
        }
    }

    /// A conditional task write with its events: `Done` (and events for everyone who saw
    /// the task before or sees it now) when it changed the task, which a write that set
    /// what was already there does not (its `updated_at` is not `now`).
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
        let (written, published) = self
            .write(move |tx| {
                let before = events::audience_of_task(tx, id)?;
                let written = write(tx)?.map(|t| notes::attach(tx, t)).transpose()?;
                Ok(match written {
                    Some(task) if task.updated_at == now => {
                        let after = events::audience(tx, task.project_id, task.user_id)?;
                        let mut published =
                            events::fan_out(tx, &before, &after, &TaskChange::of(&task, owner.id(), now))?;
                        published.extend(successor(tx, &task, owner, now)?);
                        (Written::Done(task), published)
                    }
                    Some(task) => (Written::Done(task), Vec::new()),
                    None => (
                        Written::from_miss(tasks::get_with_access(tx, owner, id)?),
                        Vec::new(),
                    ),
                })
            })
            .await?;
        self.publish(published);
        Ok(written)
    }
}
