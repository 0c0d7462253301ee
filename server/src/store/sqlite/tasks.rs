//! The task port on SQLite: tasks and their change stream; every task write appends its
//! event in the same write (the SQL is in `task_statements.rs` and `events.rs`).

use async_trait::async_trait;
use time::OffsetDateTime;
use todo_api::Task;
use uuid::Uuid;

use super::{Db, dependencies, events, notes, task_statements as tasks};
use crate::domain::dependencies::Misplaced;
use crate::domain::recurrence::next_instance;
use crate::domain::tasks::{Owner, TaskDraft, TaskQuery};
use crate::domain::timers::{Firing, firing};
use crate::store::{
    ChangeFeed, EventPage, EventRecord, Expected, NewNote, NoteWrite, Published, StoreResult, TaskChange,
    TaskReplace, TaskStorage, UndoOutcome, UndoPart, UndoStep, UndoneChange, Written, to_micros,
};
use todo_api::EventType;

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
        parent: Option<i64>,
        draft: &TaskDraft,
        now: OffsetDateTime,
    ) -> StoreResult<Written<Task>> {
        let draft = draft.clone();
        let (written, published) = self
            .write(move |tx| {
                if let Some(parent) = parent
                    && let Err(invalid) = tasks::check_parent(tx, owner, None, project, parent)?
                {
                    return Ok((Written::Misplaced(invalid.into()), Vec::new()));
                }
                if let Some(set) = draft.depends_on()
                    && let Err(invalid) = dependencies::check_set(tx, owner, None, project, set)?
                {
                    return Ok((Written::Misplaced(invalid.into()), Vec::new()));
                }
                let Some(mut task) = tasks::insert(tx, owner, project, parent, &draft, now)? else {
                    let first = match draft.source_id() {
                        Some(source) => tasks::by_source(tx, owner, project, source)?,
                        None => None,
                    };
                    return Ok((Written::from_refused_insert(project, first), Vec::new()));
                };
                if let Some(set) = draft.depends_on().filter(|s| !s.ids().is_empty()) {
                    dependencies::replace(tx, task.id, set.ids())?;
                    task = tasks::get(tx, owner, task.id)?.unwrap_or(task);
                }
                task.notes = Some(Vec::new());
                let after = events::audience(tx, task.project_id, task.user_id)?;
                let change = TaskChange::of(&task, owner.id(), now);
                let published = events::fan_out(tx, &[], &after, &change)?;
                Ok((Written::Done(task), published))
            })
            .await?;
        self.publish(published);
        Ok(written)
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
            if let Some((current, true)) = tasks::get_with_access(tx, owner, id)?
                && let Err(misplaced) = placement(tx, owner, &current, &change)?
            {
                return Ok(Err(misplaced));
            }
            let Some(task) = tasks::replace(tx, owner, id, expected, &change, now)? else {
                return Ok(Ok(None));
            };
            match change.draft.depends_on() {
                Some(set) => {
                    dependencies::replace(tx, id, set.ids())?;
                    Ok(Ok(tasks::get(tx, owner, id)?.or(Some(task))))
                }
                None => Ok(Ok(Some(task))),
            }
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
            tasks::set_completed(tx, owner, id, expected, target, now).map(Ok)
        })
        .await
    }

    async fn pending_instance(&self, owner: Owner, series: Uuid) -> StoreResult<Option<i64>> {
        self.read(move |c| Ok(tasks::pending_instances(c, owner, series)?.first().copied()))
            .await
    }

    async fn delete_task(
        &self,
        owner: Owner,
        id: i64,
        expected: Expected,
        whole_series: bool,
        now: OffsetDateTime,
    ) -> StoreResult<Written<()>> {
        let (written, published) = self
            .write(move |tx| {
                let before = events::audience_of_task(tx, id)?;
                // Read before the delete: the walk down goes through `id`.
                let mut tree = tasks::subtree(tx, id)?;
                if whole_series && let Some(series) = tasks::get(tx, owner, id)?.and_then(|t| t.series_id) {
                    for other in tasks::pending_instances(tx, owner, series)? {
                        if other != id {
                            tree.extend(tasks::subtree(tx, other)?);
                        }
                    }
                }
                let gone: Vec<i64> = tree.iter().map(|(t, _)| *t).collect();
                let waiting = dependencies::dependents(tx, &gone)?;
                let Some(version) = tasks::delete(tx, owner, id, expected)? else {
                    let current = tasks::get_with_access(tx, owner, id)?;
                    return Ok((Written::from_miss(current), Vec::new()));
                };
                // Its subtasks go with it, and the tasks that waited for any of them wait
                // no more: parts of one change that one undo takes back.
                let group = (tree.len() > 1 || !waiting.is_empty()).then(Uuid::new_v4);
                let change = TaskChange {
                    group,
                    ..TaskChange::deleted(id, version, owner.id(), now)
                };
                let mut published = events::fan_out(tx, &before, &[], &change)?;
                for (sub, _) in tree.into_iter().skip(1) {
                    if let Some(version) = tasks::delete(tx, owner, sub, Expected::Any)? {
                        let change = TaskChange {
                            group,
                            ..TaskChange::deleted(sub, version, owner.id(), now)
                        };
                        published.extend(events::fan_out(tx, &before, &[], &change)?);
                    }
                }
                for other in waiting {
                    if let Some(task) = tasks::touch(tx, owner, other, now)? {
                        let task = notes::attach(tx, task)?;
                        let change = TaskChange {
                            group,
                            ..TaskChange::of(&task, owner.id(), now)
                        };
                        published.extend(events::fan_out(tx, &before, &before, &change)?);
                    }
                }
                Ok((Written::Done(()), published))
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

    async fn fire_due(&self, now: OffsetDateTime, batch: u32) -> StoreResult<usize> {
        if !self.read(move |c| tasks::anything_due(c, now)).await? {
            return Ok(0);
        }
        let (claimed, published) = self
            .write(move |tx| {
                let reminders = tasks::claim_reminders(tx, now, batch)?;
                let wakeups = tasks::claim_wakeups(tx, now, batch)?;
                let claimed = reminders.len() + wakeups.len();
                let mut published = Vec::new();
                let sent = reminders
                    .into_iter()
                    .filter(|t| matches!(t.remind_at.map(|at| firing(at, now)), Some(Firing::Send { .. })))
                    .map(|t| (t, EventType::Reminder))
                    .chain(wakeups.into_iter().map(|t| (t, EventType::Woke)));
                for (task, kind) in sent {
                    let task = notes::attach(tx, task)?;
                    let audience = events::audience(tx, task.project_id, task.user_id)?;
                    let change = TaskChange::moment(&task, kind, now);
                    published.extend(events::fan_out(tx, &audience, &audience, &change)?);
                }
                Ok((claimed, published))
            })
            .await?;
        self.publish(published);
        Ok(claimed)
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
                    // A change of several tasks (a task deleted with its subtasks) is
                    // undone whole, in the order it was made (a parent before its
                    // subtasks), or not at all.
                    let parts = match target.group {
                        Some(group) => events::of_group(tx, user, group)?,
                        None => vec![target],
                    };
                    tx.execute_batch("SAVEPOINT undo_change")?;
                    let mut undone = UndoneChange::default();
                    for part in parts {
                        match undo_one(tx, owner, &part, now)? {
                            UndoPart::Skipped => continue,
                            UndoPart::NotAllowed => {
                                tx.execute_batch("ROLLBACK TO undo_change; RELEASE undo_change")?;
                                return Ok((UndoOutcome::NotAllowed, Vec::new()));
                            }
                            UndoPart::Done(task, events) => undone.add(user, &part, task, events),
                        }
                    }
                    tx.execute_batch("RELEASE undo_change")?;
                    if let Some(answer) = undone.finish() {
                        return Ok(answer);
                    }
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

/// Whether `change` keeps `current` where it may sit among other tasks (the rule is
/// `domain::dependencies::check_placement`; the facts are read here).
fn placement(
    tx: &super::WriteTx<'_>,
    owner: Owner,
    current: &Task,
    change: &TaskReplace,
) -> rusqlite::Result<Result<(), Misplaced>> {
    use crate::domain::dependencies::{check_placement, set_to_check};
    let project = change.moved_to.unwrap_or(current.project_id);
    let parent = match change.parent {
        Some(Some(parent)) => Some(tasks::check_parent(tx, owner, Some(current.id), project, parent)?),
        _ => None,
    };
    let set = set_to_check(current, change.draft.depends_on(), change.moved_to.is_some());
    let set_check = match set {
        Some(set) => Some(dependencies::check_set(
            tx,
            owner,
            Some(current.id),
            project,
            &set,
        )?),
        None => None,
    };
    let waited_for = change.moved_to.is_some() && !dependencies::dependents(tx, &[current.id])?.is_empty();
    Ok(check_placement(
        current,
        change.moved_to,
        change.parent,
        parent,
        set_check,
        waited_for,
    ))
}

/// Reverts `target` (one of the caller's own events) as a new change.
fn undo_one(
    tx: &super::WriteTx<'_>,
    owner: Owner,
    target: &EventRecord,
    now: OffsetDateTime,
) -> rusqlite::Result<UndoPart> {
    let user = owner.id();
    let before = events::before(tx, user, target.task_id, target.seq)?;
    let current = tasks::get_with_access(tx, owner, target.task_id)?;
    if current.as_ref().is_some_and(|(_, writable)| !writable) {
        return Ok(UndoPart::NotAllowed);
    }
    let current = current.map(|(task, _)| task);
    let Some(step) = UndoStep::plan(target, before, current.as_ref()) else {
        return Ok(UndoPart::Skipped);
    };
    let seen_before = events::audience_of_task(tx, target.task_id)?;
    let mut published = Vec::new();
    let (task, version) = match step {
        UndoStep::Delete { version } => {
            // Subtasks added since stay, as tasks of their own.
            published.extend(detach_subtasks(tx, owner, target.task_id, now)?);
            tasks::delete(tx, owner, target.task_id, Expected::Version(version))?;
            (None, version)
        }
        UndoStep::Reinsert { task, version } => {
            let parent = tasks::parent_to_restore(tx, owner, &task)?;
            match tasks::reinsert(tx, owner, &task, parent, version, now)? {
                Some(back) => (Some(put_back(tx, owner, back, &task)?), version),
                None => return Ok(UndoPart::NotAllowed),
            }
        }
        UndoStep::Restore { task, version } => {
            let parent = tasks::parent_to_restore(tx, owner, &task)?;
            match tasks::restore(tx, owner, &task, parent, version, now)? {
                Some(back) => (Some(put_back(tx, owner, back, &task)?), version),
                None => return Ok(UndoPart::NotAllowed),
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
        group: None,
        moment: None,
    };
    published.extend(events::fan_out(tx, &seen_before, &seen_after, &change)?);
    // An undone completion takes back the instance it created.
    if let (Some(before), Some(after)) = (current.as_ref(), task.as_ref())
        && before.completed
        && !after.completed
    {
        published.extend(successor_gone(tx, before, now)?);
    }
    Ok(UndoPart::Done(task.map(Box::new), published))
}

/// What an undo puts back besides the task's row: what it waited for (where that is
/// still possible) and its notes; the task as it is then.
fn put_back(tx: &super::WriteTx<'_>, owner: Owner, back: Task, snapshot: &Task) -> rusqlite::Result<Task> {
    let back = match dependencies::to_restore(tx, owner, snapshot)? {
        Some(ids) => {
            dependencies::replace(tx, back.id, &ids)?;
            tasks::get(tx, owner, back.id)?.unwrap_or(back)
        }
        None => back,
    };
    notes::restore(tx, back, snapshot)
}

/// Makes every subtask of `id` a task of its own (its parent is going), each a change
/// with its event.
fn detach_subtasks(
    tx: &super::WriteTx<'_>,
    owner: Owner,
    id: i64,
    now: OffsetDateTime,
) -> rusqlite::Result<Published> {
    let mut published = Vec::new();
    for child in tasks::detach_subtasks(tx, owner, id, now)? {
        let child = notes::attach(tx, child)?;
        let audience = events::audience(tx, child.project_id, child.user_id)?;
        let change = TaskChange::of(&child, owner.id(), now);
        published.extend(events::fan_out(tx, &audience, &audience, &change)?);
    }
    Ok(published)
}

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
    // Its steps come with it, pending again (copied only by the insert that made it, so
    // once). Their count goes in its answer.
    let mut made = Vec::new();
    let mut copies = std::collections::HashMap::from([(task.id, next.id)]);
    for (id, parent) in tasks::subtasks_under(tx, task.id)? {
        let Some(&under) = copies.get(&parent) else {
            continue;
        };
        if let Some(copy) = tasks::copy_subtask(tx, id, under, owner.id(), now)? {
            copies.insert(id, copy.id);
            made.push(copy);
        }
    }
    if !made.is_empty() {
        next = tasks::get(tx, owner, next.id)?.unwrap_or(next);
    }
    let audience = events::audience(tx, next.project_id, next.user_id)?;
    let mut published = Vec::new();
    for mut task in std::iter::once(next).chain(made) {
        task.notes = Some(Vec::new());
        let change = TaskChange::of(&task, Uuid::nil(), now);
        published.extend(events::fan_out(tx, &[], &audience, &change)?);
    }
    Ok(published)
}

/// Deletes the instance completing `completed` created, if no one has touched it since
/// (an undo of the completion), with an event for everyone who saw it.
fn successor_gone(
    tx: &super::WriteTx<'_>,
    completed: &Task,
    now: OffsetDateTime,
) -> rusqlite::Result<Published> {
    let tree = tasks::successor_tree(tx, completed)?;
    let Some(ids) = crate::domain::recurrence::untouched_successor(&tree) else {
        return Ok(Vec::new());
    };
    let mut published = Vec::new();
    for id in ids {
        let Some(gone) = tasks::delete_made(tx, id)? else {
            continue;
        };
        let audience = events::audience(tx, gone.project, gone.space)?;
        let change = TaskChange::deleted(gone.id, gone.version, Uuid::nil(), now);
        published.extend(events::fan_out(tx, &audience, &[], &change)?);
    }
    Ok(published)
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
        F: FnOnce(&super::WriteTx<'_>) -> rusqlite::Result<Result<Option<Task>, Misplaced>> + Send + 'static,
    {
        let (written, published) = self
            .write(move |tx| {
                let before = events::audience_of_task(tx, id)?;
                let written = match write(tx)? {
                    Ok(written) => written.map(|t| notes::attach(tx, t)).transpose()?,
                    Err(invalid) => return Ok((Written::Misplaced(invalid), Vec::new())),
                };
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
