//! The task port on PostgreSQL: tasks and their change stream (the SQL is in
//! `task_statements.rs` and `events.rs`). Each method is one statement or one
//! transaction; rows that a decision depends on are locked (`FOR UPDATE`) so that two
//! servers deciding at once decide one after the other. A conditional task write is one
//! statement (`UPDATE ... WHERE version = $n`, which PostgreSQL re-checks on the newest
//! row after any lock wait); only when it matched nothing is the task read again, to
//! tell 404 from 412.

use async_trait::async_trait;
use time::OffsetDateTime;
use uuid::Uuid;

use super::{PgStore, dependencies, events, notes, task_statements as tasks};
use crate::domain::dependencies::Misplaced;
use crate::domain::recurrence::next_instance;
use crate::domain::tasks::{Owner, TaskDraft, TaskQuery};
use crate::domain::timers::{Firing, firing};
use crate::store::{
    ChangeFeed, EventPage, EventRecord, Expected, NewNote, NoteWrite, Published, StoreResult, TaskChange,
    TaskReplace, TaskStorage, UndoOutcome, UndoPart, UndoStep, UndoneChange, Written, to_micros,
};
use todo_api::EventType;
use todo_api::Task;

#[async_trait]
impl TaskStorage for PgStore {
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
            match tasks::get(&client, owner, id).await? {
                Some(task) => Ok(Some(notes::attach(&client, task).await?)),
                None => Ok(None),
            }
        })
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
        let (written, published) = self
            .observe(async {
                let mut client = self.client().await?;
                let tx = client.transaction().await?;
                // A personal task's audience is its owner, whose row the event's seq
                // locks after the insert: a new row waits on no one, so no lock first.
                // A subtask is checked against its tree with the tree's audience
                // locked, so a parent deleted or moved meanwhile is seen.
                let audiences = match (project, parent) {
                    (None, None) => vec![vec![owner.id()]],
                    _ => events::lock_audiences(&tx, &[(project, owner.id())]).await?,
                };
                if let Some(parent) = parent
                    && let Err(invalid) = tasks::check_parent(&tx, owner, None, project, parent).await?
                {
                    tx.rollback().await?;
                    return Ok((Written::Misplaced(invalid.into()), Vec::new()));
                }
                if let Some(set) = draft.depends_on()
                    && let Err(invalid) = dependencies::check_set(&tx, owner, None, project, set).await?
                {
                    tx.rollback().await?;
                    return Ok((Written::Misplaced(invalid.into()), Vec::new()));
                }
                let Some(mut task) = tasks::insert(&tx, owner, project, parent, draft, now).await? else {
                    // Imported before, or not the caller's to write: nothing is written.
                    let first = match draft.source_id() {
                        Some(source) => tasks::by_source(&tx, owner, project, source).await?,
                        None => None,
                    };
                    tx.rollback().await?;
                    return Ok((Written::from_refused_insert(project, first), Vec::new()));
                };
                if let Some(set) = draft.depends_on().filter(|s| !s.ids().is_empty()) {
                    dependencies::replace(&tx, task.id, set.ids()).await?;
                    task = tasks::get(&tx, owner, task.id).await?.unwrap_or(task);
                }
                task.notes = Some(Vec::new());
                let change = TaskChange::of(&task, owner.id(), now);
                let published = events::fan_out(&tx, &[], &audiences[0], &change).await?;
                tx.commit().await?;
                Ok((Written::Done(task), published))
            })
            .await?;
        self.publish_all(published);
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
        let change = Box::new(change);
        self.write_task(owner, id, now, TaskWrite::Replace { expected, change })
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
        self.write_task(owner, id, now, TaskWrite::Complete { expected, target })
            .await
    }

    async fn pending_instance(&self, owner: Owner, series: Uuid) -> StoreResult<Option<i64>> {
        self.observe(async {
            let client = self.client().await?;
            Ok(tasks::pending_instances(&client, owner, series)
                .await?
                .first()
                .copied())
        })
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
            .observe(async {
                let mut client = self.client().await?;
                let tx = client.transaction().await?;
                let Some(place) = tasks::placement(&tx, id).await? else {
                    tx.rollback().await?;
                    return Ok((Written::Missing, Vec::new()));
                };
                let audiences = events::lock_audiences(&tx, &[place]).await?;
                // Read before the delete: the walk down goes through `id`.
                let mut tree = tasks::subtree(&tx, id).await?;
                if whole_series
                    && let Some(series) = tasks::get(&tx, owner, id).await?.and_then(|t| t.series_id)
                {
                    for other in tasks::pending_instances(&tx, owner, series).await? {
                        if other != id {
                            tree.extend(tasks::subtree(&tx, other).await?);
                        }
                    }
                }
                let gone: Vec<i64> = tree.iter().map(|(t, _)| *t).collect();
                let waiting = dependencies::dependents(&tx, &gone).await?;
                let Some(version) = tasks::delete(&tx, owner, id, expected).await? else {
                    let current = tasks::get_with_access(&tx, owner, id).await?;
                    tx.rollback().await?;
                    return Ok((Written::from_miss(current), Vec::new()));
                };
                // Its subtasks go with it, and the tasks that waited for any of them wait
                // no more: parts of one change that one undo takes back.
                let group = (tree.len() > 1 || !waiting.is_empty()).then(Uuid::new_v4);
                let change = TaskChange {
                    group,
                    ..TaskChange::deleted(id, version, owner.id(), now)
                };
                let mut published = events::fan_out(&tx, &audiences[0], &[], &change).await?;
                for (sub, _) in tree.into_iter().skip(1) {
                    if let Some(version) = tasks::delete(&tx, owner, sub, Expected::Any).await? {
                        let change = TaskChange {
                            group,
                            ..TaskChange::deleted(sub, version, owner.id(), now)
                        };
                        published.extend(events::fan_out(&tx, &audiences[0], &[], &change).await?);
                    }
                }
                for other in waiting {
                    if let Some(task) = tasks::touch(&tx, owner, other, now).await? {
                        let task = notes::attach(&tx, task).await?;
                        let change = TaskChange {
                            group,
                            ..TaskChange::of(&task, owner.id(), now)
                        };
                        published.extend(events::fan_out(&tx, &audiences[0], &audiences[0], &change).await?);
                    }
                }
                tx.commit().await?;
                Ok((Written::Done(()), published))
            })
            .await?;
        self.publish_all(published);
        Ok(written)
    }

    async fn add_note(
        &self,
        owner: Owner,
        task_id: i64,
        note: NewNote,
        now: OffsetDateTime,
    ) -> StoreResult<NoteWrite> {
        self.write_note(owner, task_id, now, NoteChange::Add(note)).await
    }

    async fn delete_note(
        &self,
        owner: Owner,
        task_id: i64,
        note_id: Uuid,
        now: OffsetDateTime,
    ) -> StoreResult<NoteWrite> {
        self.write_note(owner, task_id, now, NoteChange::Delete(note_id))
            .await
    }

    async fn fire_due(&self, now: OffsetDateTime, batch: u32) -> StoreResult<usize> {
        let mut claimed = 0;
        for moment in [tasks::Moment::Reminder, tasks::Moment::Wakeup] {
            let due = self
                .observe(async {
                    let client = self.client().await?;
                    tasks::due(&client, moment, now, batch).await
                })
                .await?;
            for (id, project, space) in due {
                if self.fire_one(moment, id, (project, space), now).await? {
                    claimed += 1;
                }
            }
        }
        Ok(claimed)
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

    async fn undo_latest(&self, owner: Owner, now: OffsetDateTime) -> StoreResult<UndoOutcome> {
        let (outcome, published) = self
            .observe(async {
                let mut client = self.client().await?;
                let tx = client.transaction().await?;
                let user = owner.id();
                // The user's lock first: two undos of theirs run one after the other.
                tx.execute("SELECT 1 FROM users WHERE id = $1 FOR UPDATE", &[&user])
                    .await?;
                for target in events::undoable(&tx, user, UNDO_SEARCH).await? {
                    // A change of several tasks (a task deleted with its subtasks) is
                    // undone whole, in the order it was made (a parent before its
                    // subtasks), or not at all.
                    let parts = match target.group {
                        Some(group) => events::of_group(&tx, user, group).await?,
                        None => vec![target],
                    };
                    let mut undone = UndoneChange::default();
                    for part in parts {
                        match undo_one(&tx, owner, &part, now).await? {
                            UndoPart::Skipped => continue,
                            UndoPart::NotAllowed => {
                                tx.rollback().await?;
                                return Ok((UndoOutcome::NotAllowed, Vec::new()));
                            }
                            UndoPart::Done(task, events) => undone.add(user, &part, task, events),
                        }
                    }
                    if let Some(answer) = undone.finish() {
                        tx.commit().await?;
                        return Ok(answer);
                    }
                }
                tx.rollback().await?;
                Ok((UndoOutcome::Nothing, Vec::new()))
            })
            .await?;
        self.publish_all(published);
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

    async fn renew_stream(&self, lease: Uuid, expires: OffsetDateTime) -> StoreResult<()> {
        let expires = to_micros(expires);
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
        now: OffsetDateTime,
        batch: u32,
    ) -> StoreResult<usize> {
        let now = to_micros(now);
        self.observe(async {
            let client = self.client().await?;
            events::prune(&client, before, keep, now, batch).await
        })
        .await
    }
}

/// How many of the latest changes undo looks through for one it can revert.
const UNDO_SEARCH: u32 = 200;

/// Reverts `target` (one of the caller's own events) as a new change; the task's
/// audiences (where it is and where it goes back to) locked first.
async fn undo_one(
    tx: &deadpool_postgres::Transaction<'_>,
    owner: Owner,
    target: &crate::store::EventRecord,
    now: OffsetDateTime,
) -> StoreResult<UndoPart> {
    let user = owner.id();
    let before = events::before(tx, user, target.task_id, target.seq).await?;
    let place = tasks::placement(tx, target.task_id).await?;
    let back_to = before.as_ref().map(|t| (t.project_id, user));
    let places: Vec<_> = place.into_iter().chain(back_to).collect();
    events::lock_audiences(tx, &places).await?;
    let current = tasks::get_with_access(tx, owner, target.task_id).await?;
    if current.as_ref().is_some_and(|(_, writable)| !writable) {
        return Ok(UndoPart::NotAllowed);
    }
    let current = current.map(|(task, _)| task);
    let Some(step) = UndoStep::plan(target, before, current.as_ref()) else {
        return Ok(UndoPart::Skipped);
    };
    let seen_before = match place {
        Some((project, space)) => events::audience(tx, project, space).await?,
        None => Vec::new(),
    };
    let mut published = Vec::new();
    let (task, version) = match step {
        UndoStep::Delete { version } => {
            // Subtasks added since stay, as tasks of their own.
            published.extend(detach_subtasks(tx, owner, target.task_id, now).await?);
            tasks::delete(tx, owner, target.task_id, Expected::Version(version)).await?;
            (None, version)
        }
        UndoStep::Reinsert { task, version } => {
            let parent = tasks::parent_to_restore(tx, owner, &task).await?;
            let Some(back) = tasks::reinsert(tx, owner, &task, parent, version, now).await? else {
                return Ok(UndoPart::NotAllowed);
            };
            (Some(put_back(tx, owner, back, &task).await?), version)
        }
        UndoStep::Restore { task, version } => {
            let parent = tasks::parent_to_restore(tx, owner, &task).await?;
            let Some(back) = tasks::restore(tx, owner, &task, parent, version, now).await? else {
                return Ok(UndoPart::NotAllowed);
            };
            (Some(put_back(tx, owner, back, &task).await?), version)
        }
    };
    let seen_after = match &task {
        Some(t) => events::audience(tx, t.project_id, t.user_id).await?,
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
    published.extend(events::fan_out(tx, &seen_before, &seen_after, &change).await?);
    // An undone completion takes back the instance it created.
    if let (Some(before), Some(after)) = (current.as_ref(), task.as_ref())
        && before.completed
        && !after.completed
    {
        published.extend(successor_gone(tx, before, now).await?);
    }
    Ok(UndoPart::Done(task.map(Box::new), published))
}

/// What an undo puts back besides the task's row: what it waited for (where that is
/// still possible) and its notes; the task as it is then.
async fn put_back(
    tx: &deadpool_postgres::Transaction<'_>,
    owner: Owner,
    back: Task,
    snapshot: &Task,
) -> StoreResult<Task> {
    let back = match dependencies::to_restore(tx, owner, snapshot).await? {
        Some(ids) => {
            dependencies::replace(tx, back.id, &ids).await?;
            tasks::get(tx, owner, back.id).await?.unwrap_or(back)
        }
        None => back,
    };
    notes::restore(tx, back, snapshot).await
}

/// Makes every subtask of `id` a task of its own (its parent is going), each a change
/// with its event (their audience is locked by the caller: a tree is in one place).
async fn detach_subtasks(
    tx: &deadpool_postgres::Transaction<'_>,
    owner: Owner,
    id: i64,
    now: OffsetDateTime,
) -> StoreResult<Published> {
    let mut published = Vec::new();
    for child in tasks::detach_subtasks(tx, owner, id, now).await? {
        let child = notes::attach(tx, child).await?;
        let audience = events::audience(tx, child.project_id, child.user_id).await?;
        let change = TaskChange::of(&child, owner.id(), now);
        published.extend(events::fan_out(tx, &audience, &audience, &change).await?);
    }
    Ok(published)
}

/// Completing an instance of a series creates the next one in the same transaction
/// (once: see [`tasks::insert_successor`]), with an event for everyone who sees it. Its
/// event has no actor: undoing the completion takes it away.
async fn successor(
    tx: &deadpool_postgres::Transaction<'_>,
    task: &Task,
    owner: Owner,
    now: OffsetDateTime,
) -> StoreResult<Published> {
    let completed_now = task.completed && task.completed_at == Some(now);
    let Some(due) = completed_now.then(|| next_instance(task)).flatten() else {
        return Ok(Vec::new());
    };
    let Some(mut next) = tasks::insert_successor(tx, task, due, owner.id(), now).await? else {
        return Ok(Vec::new());
    };
    // Its steps come with it, pending again (copied only by the insert that made it, so
    // once). Their count goes in its answer.
    let mut made = Vec::new();
    let mut copies = std::collections::HashMap::from([(task.id, next.id)]);
    for (id, parent) in tasks::subtasks_under(tx, task.id).await? {
        let Some(&under) = copies.get(&parent) else {
            continue;
        };
        if let Some(copy) = tasks::copy_subtask(tx, id, under, owner.id(), now).await? {
            copies.insert(id, copy.id);
            made.push(copy);
        }
    }
    if !made.is_empty() {
        next = tasks::get(tx, owner, next.id).await?.unwrap_or(next);
    }
    let audience = events::audience(tx, next.project_id, next.user_id).await?;
    let mut published = Vec::new();
    for mut task in std::iter::once(next).chain(made) {
        task.notes = Some(Vec::new());
        let change = TaskChange::of(&task, Uuid::nil(), now);
        published.extend(events::fan_out(tx, &[], &audience, &change).await?);
    }
    Ok(published)
}

/// Deletes the instance completing `completed` created, if no one has touched it since
/// (an undo of the completion), with an event for everyone who saw it.
async fn successor_gone(
    tx: &deadpool_postgres::Transaction<'_>,
    completed: &Task,
    now: OffsetDateTime,
) -> StoreResult<Published> {
    let tree = tasks::successor_tree(tx, completed).await?;
    let Some(ids) = crate::domain::recurrence::untouched_successor(&tree) else {
        return Ok(Vec::new());
    };
    let mut published = Vec::new();
    for id in ids {
        let Some(gone) = tasks::delete_made(tx, id).await? else {
            continue;
        };
        let audience = events::audience(tx, gone.project, gone.space).await?;
        let change = TaskChange::deleted(gone.id, gone.version, Uuid::nil(), now);
        published.extend(events::fan_out(tx, &audience, &[], &change).await?);
    }
    Ok(published)
}

/// Whether `change` keeps task `id` where it may sit among other tasks (the rule is
/// `domain::dependencies::check_placement`), read with its audience locked.
async fn placement(
    tx: &deadpool_postgres::Transaction<'_>,
    owner: Owner,
    id: i64,
    change: &TaskReplace,
) -> StoreResult<Result<(), Misplaced>> {
    use crate::domain::dependencies::{check_placement, set_to_check};
    let Some((current, true)) = tasks::get_with_access(tx, owner, id).await? else {
        // The write itself answers 404 or 403.
        return Ok(Ok(()));
    };
    let project = change.moved_to.unwrap_or(current.project_id);
    let parent = match change.parent {
        Some(Some(parent)) => Some(tasks::check_parent(tx, owner, Some(id), project, parent).await?),
        _ => None,
    };
    let set = set_to_check(&current, change.draft.depends_on(), change.moved_to.is_some());
    let set_check = match set {
        Some(set) => Some(dependencies::check_set(tx, owner, Some(id), project, &set).await?),
        None => None,
    };
    let waited_for = change.moved_to.is_some() && !dependencies::dependents(tx, &[id]).await?.is_empty();
    Ok(check_placement(
        &current,
        change.moved_to,
        change.parent,
        parent,
        set_check,
        waited_for,
    ))
}

/// The change of a task's notes that [`PgStore::write_note`] runs.
enum NoteChange {
    Add(NewNote),
    Delete(Uuid),
}

impl NoteChange {
    /// Runs it on the task `task_id` (locked), or says why not.
    async fn run(
        self,
        tx: &deadpool_postgres::Transaction<'_>,
        owner: Owner,
        task_id: i64,
        now: OffsetDateTime,
    ) -> StoreResult<Option<NoteWrite>> {
        match self {
            NoteChange::Add(note) => {
                if notes::count(tx, task_id).await? >= todo_api::limits::NOTES_PER_TASK {
                    return Ok(Some(NoteWrite::Full));
                }
                let note = todo_api::Note {
                    id: note.id,
                    text: note.text.as_str().to_string(),
                    author_id: owner.id(),
                    created_at: now,
                };
                notes::insert(tx, task_id, &note).await?;
            }
            NoteChange::Delete(note_id) => match notes::author_of(tx, task_id, note_id).await? {
                None => return Ok(Some(NoteWrite::NoteMissing)),
                Some(author) if author != owner.id() => return Ok(Some(NoteWrite::NotAuthor)),
                Some(_) => notes::delete(tx, note_id).await?,
            },
        }
        Ok(None)
    }
}

/// The two conditional writes of a task that [`PgStore::write_task`] runs.
enum TaskWrite {
    Replace {
        expected: Expected,
        change: Box<TaskReplace>,
    },
    Complete {
        expected: Expected,
        target: Option<bool>,
    },
}

impl PgStore {
    /// Claims one task's reminder or wake-up and sends its event, in one transaction
    /// with the task's audience locked first (the order every write takes); whether it
    /// was this call that claimed it.
    async fn fire_one(
        &self,
        moment: tasks::Moment,
        id: i64,
        place: (Option<Uuid>, Uuid),
        now: OffsetDateTime,
    ) -> StoreResult<bool> {
        let (claimed, published) = self
            .observe(async {
                let mut client = self.client().await?;
                let tx = client.transaction().await?;
                let audiences = events::lock_audiences(&tx, &[place]).await?;
                let Some(task) = tasks::claim(&tx, moment, id, now).await? else {
                    tx.rollback().await?;
                    return Ok((false, Vec::new()));
                };
                // Moved since it was found: the locks taken are not its audience's; the
                // next round finds it where it is now.
                if (task.project_id, task.user_id) != place {
                    tx.rollback().await?;
                    return Ok((false, Vec::new()));
                }
                let kind = match moment {
                    tasks::Moment::Reminder => match task.remind_at.map(|at| firing(at, now)) {
                        Some(Firing::Send { .. }) => Some(EventType::Reminder),
                        _ => None,
                    },
                    tasks::Moment::Wakeup => Some(EventType::Woke),
                };
                let mut published = Vec::new();
                if let Some(kind) = kind {
                    let task = notes::attach(&tx, task).await?;
                    let change = TaskChange::moment(&task, kind, now);
                    published = events::fan_out(&tx, &audiences[0], &audiences[0], &change).await?;
                }
                tx.commit().await?;
                Ok((true, published))
            })
            .await?;
        self.publish_all(published);
        Ok(claimed)
    }

    /// A change of a task's notes: the task's audience locked, then the task itself (by
    /// moving it to a new version, which only a caller who may write it can), so two
    /// changes of one task's notes on two servers run one after the other; then the
    /// change, and an event for everyone who sees the task.
    async fn write_note(
        &self,
        owner: Owner,
        task_id: i64,
        now: OffsetDateTime,
        change: NoteChange,
    ) -> StoreResult<NoteWrite> {
        let (written, published) = self
            .observe(async {
                let mut client = self.client().await?;
                let tx = client.transaction().await?;
                let Some(place) = tasks::placement(&tx, task_id).await? else {
                    tx.rollback().await?;
                    return Ok((NoteWrite::TaskMissing, Vec::new()));
                };
                let audiences = events::lock_audiences(&tx, &[place]).await?;
                let Some(task) = tasks::touch(&tx, owner, task_id, now).await? else {
                    let current = tasks::get_with_access(&tx, owner, task_id).await?;
                    tx.rollback().await?;
                    let refused = NoteWrite::from_access(current).unwrap_or(NoteWrite::TaskMissing);
                    return Ok((refused, Vec::new()));
                };
                if let Some(refused) = change.run(&tx, owner, task_id, now).await? {
                    tx.rollback().await?;
                    return Ok((refused, Vec::new()));
                }
                let task = notes::attach(&tx, task).await?;
                let change = TaskChange::of(&task, owner.id(), now);
                let published = events::fan_out(&tx, &audiences[0], &audiences[0], &change).await?;
                tx.commit().await?;
                Ok((NoteWrite::Done(Box::new(task)), published))
            })
            .await?;
        self.publish_all(published);
        Ok(written)
    }

    /// Hands each committed event to the streams of its user, here and on other servers.
    pub(super) fn publish_all(&self, events: Published) {
        for (user, event) in events {
            self.published(user, event);
        }
    }

    /// A conditional task write: the task's project (and the one it moves to) and its
    /// audience locked first, then the write, then an event for everyone who saw the task
    /// before or sees it now, when it changed it (a write that set what was already there
    /// leaves `updated_at` as it was); on a miss, 404, 403 or 412 as the task is now.
    async fn write_task(
        &self,
        owner: Owner,
        id: i64,
        now: OffsetDateTime,
        write: TaskWrite,
    ) -> StoreResult<Written<Task>> {
        let moved_to = match &write {
            TaskWrite::Replace { change, .. } => change.moved_to,
            TaskWrite::Complete { .. } => None,
        };
        let (written, published) = self
            .observe(async {
                let mut client = self.client().await?;
                let tx = client.transaction().await?;
                let Some(place) = tasks::placement(&tx, id).await? else {
                    tx.rollback().await?;
                    return Ok((Written::Missing, Vec::new()));
                };
                let places: Vec<_> = std::iter::once(place)
                    .chain(moved_to.map(|to| (to, owner.id())))
                    .collect();
                let audiences = events::lock_audiences(&tx, &places).await?;
                let changed = match &write {
                    TaskWrite::Replace { expected, change } => {
                        if let Err(misplaced) = placement(&tx, owner, id, change).await? {
                            tx.rollback().await?;
                            return Ok((Written::Misplaced(misplaced), Vec::new()));
                        }
                        match tasks::replace(&tx, owner, id, *expected, change, now).await? {
                            Some(task) => match change.draft.depends_on() {
                                Some(set) => {
                                    dependencies::replace(&tx, id, set.ids()).await?;
                                    tasks::get(&tx, owner, id).await?.or(Some(task))
                                }
                                None => Some(task),
                            },
                            None => None,
                        }
                    }
                    TaskWrite::Complete { expected, target } => {
                        tasks::set_completed(&tx, owner, id, *expected, *target, now).await?
                    }
                };
                let changed = match changed {
                    Some(task) => Some(notes::attach(&tx, task).await?),
                    None => None,
                };
                match changed {
                    Some(task) if task.updated_at == now => {
                        let after = events::audience(&tx, task.project_id, task.user_id).await?;
                        let change = TaskChange::of(&task, owner.id(), now);
                        let mut published = events::fan_out(&tx, &audiences[0], &after, &change).await?;
                        published.extend(successor(&tx, &task, owner, now).await?);
                        tx.commit().await?;
                        Ok((Written::Done(task), published))
                    }
                    Some(task) => {
                        tx.rollback().await?;
                        Ok((Written::Done(task), Vec::new()))
                    }
                    None => {
                        let current = tasks::get_with_access(&tx, owner, id).await?;
                        tx.rollback().await?;
                        Ok((Written::from_miss(current), Vec::new()))
                    }
                }
            })
            .await?;
        self.publish_all(published);
        Ok(written)
    }
}
