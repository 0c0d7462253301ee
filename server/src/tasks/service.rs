use todo_api::{HistoryEntry, Note, Task, TaskPatch, UndoResult};

use super::{Owner, PatchedTask, TaskDraft, TaskError, TaskQuery};
use crate::background::Step;
use crate::clock::Clock;
use std::sync::Arc;

use crate::domain::notes::NoteText;
use crate::domain::projects::{NeedsRole, TASK_WRITER, may};
use crate::store::{
    self, Expected, NewNote, NoteWrite, ProjectStorage, TaskReplace, TaskStorage, UndoOutcome, Written,
};
use uuid::Uuid;

/// How much of each user's change history is kept: at least the last `count` events
/// and every event younger than `age`.
#[derive(Debug, Clone, Copy)]
pub struct EventRetention {
    pub count: i64,
    pub age: std::time::Duration,
    /// How often an open stream sends a heartbeat comment (and renews its lease).
    pub heartbeat: std::time::Duration,
}

impl Default for EventRetention {
    fn default() -> Self {
        use todo_api::limits::{EVENTS_KEPT, EVENTS_KEPT_DAYS};
        EventRetention {
            count: EVENTS_KEPT,
            age: std::time::Duration::from_secs(EVENTS_KEPT_DAYS as u64 * 86_400),
            heartbeat: std::time::Duration::from_secs(todo_api::limits::STREAM_HEARTBEAT_SECS),
        }
    }
}

/// How many times a merge patch is read, applied and written before it gives up.
const PATCH_ATTEMPTS: usize = 16;

/// Task operations, each scoped to the caller: their personal tasks and the tasks of
/// the projects they are members of, by role.
#[derive(Clone)]
pub struct TaskService {
    db: Arc<dyn TaskStorage>,
    projects: Arc<dyn ProjectStorage>,
    retention: EventRetention,
    clock: Clock,
}

impl TaskService {
    pub fn new(
        db: Arc<dyn TaskStorage>,
        projects: Arc<dyn ProjectStorage>,
        retention: EventRetention,
        clock: Clock,
    ) -> Self {
        TaskService {
            db,
            projects,
            retention,
            clock,
        }
    }

    /// 404 when the caller is not a member of `project` (as for a missing one), 403 when
    /// their role does not write tasks; nothing for a personal task (`None`).
    async fn check_writer(&self, owner: Owner, project: Option<Uuid>) -> Result<(), TaskError> {
        let Some(project) = project else {
            return Ok(());
        };
        let found = self.projects.project_for(owner.id(), project).await?;
        let role = found.ok_or(TaskError::ProjectNotFound(project))?.role;
        may(role, TASK_WRITER).map_err(|NeedsRole(r)| TaskError::InsufficientRole(r))
    }

    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    pub async fn list(&self, owner: Owner, query: TaskQuery) -> Result<(Vec<Task>, u64), TaskError> {
        let query = query.as_of(self.clock.now());
        Ok(self.db.list_tasks(owner, &query).await?)
    }

    /// Creates the task; one with a `source_id` the owner already has is not made
    /// twice (`AlreadyImported`, with the first).
    pub async fn create(
        &self,
        owner: Owner,
        project: Option<Uuid>,
        parent: Option<i64>,
        draft: TaskDraft,
    ) -> Result<Task, TaskError> {
        // `Missing`: the task holding the source id was deleted between the refused
        // insert and the look-up, so the id is free again: insert once more.
        // `Refused`: the caller's role changed since the check: check again.
        for _ in 0..3 {
            self.check_writer(owner, project).await?;
            match self
                .db
                .insert_task(owner, project, parent, &draft, self.clock.now())
                .await?
            {
                Written::Done(task) => return Ok(task),
                Written::Conflict(first) => return Err(TaskError::AlreadyImported(first)),
                Written::Misplaced(invalid) => return Err(TaskError::Misplaced(invalid)),
                Written::Missing | Written::Refused => continue,
            }
        }
        Err(TaskError::Store(store::StoreError::Busy))
    }

    pub async fn get(&self, owner: Owner, id: i64) -> Result<Task, TaskError> {
        self.db.get_task(owner, id).await?.ok_or(TaskError::NotFound(id))
    }

    pub async fn replace(
        &self,
        owner: Owner,
        id: i64,
        expected: Expected,
        draft: TaskDraft,
    ) -> Result<Task, TaskError> {
        let change = TaskReplace {
            draft,
            completed: None,
            moved_to: None,
            parent: None,
        };
        let written = self
            .db
            .replace_task(owner, id, expected, change, self.clock.now())
            .await?;
        settle(id, written)
    }

    /// Applies a merge patch to the task as it is: read it, apply, and write only if it
    /// is still at the version read. When another write came between, start again from
    /// the new version (unless the caller named a version), so two patches of different
    /// fields never undo each other. Bounded: a task rewritten faster than a patch can
    /// land answers 503 (retry) after [`PATCH_ATTEMPTS`] tries rather than spin.
    pub async fn patch(
        &self,
        owner: Owner,
        id: i64,
        expected: Expected,
        patch: TaskPatch,
    ) -> Result<Task, TaskError> {
        PatchedTask::check(&patch)?;
        let id = self.patch_target(owner, id, patch.scope).await?;
        for _ in 0..PATCH_ATTEMPTS {
            let current = self.get(owner, id).await?;
            if matches!(expected, Expected::Version(v) if v != current.version) {
                return Err(TaskError::VersionConflict(Box::new(current)));
            }
            let patched = PatchedTask::apply(&current, &patch)?;
            if let Some(to) = patched.moved_to {
                // The project it leaves is checked by the write itself.
                self.check_writer(owner, to).await?;
            }
            let read_at = Expected::Version(current.version);
            let change = TaskReplace {
                draft: patched.draft,
                completed: patched.completed,
                moved_to: patched.moved_to,
                parent: patched.parent,
            };
            let written = self
                .db
                .replace_task(owner, id, read_at, change, self.clock.now())
                .await?;
            match written {
                Written::Conflict(_) if expected == Expected::Any => continue,
                other => return settle(id, other),
            }
        }
        Err(TaskError::Store(store::StoreError::Busy))
    }

    /// Deletes the task with its subtasks; `whole_series` ends its series too (every
    /// pending instance goes, completed ones stay as history).
    pub async fn delete(
        &self,
        owner: Owner,
        id: i64,
        expected: Expected,
        whole_series: bool,
    ) -> Result<(), TaskError> {
        let written = self
            .db
            .delete_task(owner, id, expected, whole_series, self.clock.now())
            .await?;
        settle(id, written)
    }

    /// The task a patch with `scope` changes: the one named, or for `future` the pending
    /// instance of its series (404 when the series has ended).
    async fn patch_target(
        &self,
        owner: Owner,
        id: i64,
        scope: Option<todo_api::PatchScope>,
    ) -> Result<i64, TaskError> {
        if scope != Some(todo_api::PatchScope::Future) {
            return Ok(id);
        }
        let task = self.get(owner, id).await?;
        match task.series_id {
            Some(series) if task.completed => self
                .db
                .pending_instance(owner, series)
                .await?
                .ok_or(TaskError::NotFound(id)),
            _ => Ok(id),
        }
    }

    /// Sets completion to `target`, or flips it when `None`.
    pub async fn set_completed(
        &self,
        owner: Owner,
        id: i64,
        expected: Expected,
        target: Option<bool>,
    ) -> Result<Task, TaskError> {
        let written = self
            .db
            .set_completed(owner, id, expected, target, self.clock.now())
            .await?;
        settle(id, written)
    }
}

impl TaskService {
    /// Adds a note by the caller to a task they may write; the note as kept.
    pub async fn add_note(&self, owner: Owner, id: i64, text: NoteText) -> Result<Note, TaskError> {
        let note = NewNote {
            id: Uuid::new_v4(),
            text,
        };
        let note_id = note.id;
        let task = settle_note(
            id,
            note_id,
            self.db.add_note(owner, id, note, self.clock.now()).await?,
        )?;
        task.notes
            .into_iter()
            .flatten()
            .find(|n| n.id == note_id)
            .ok_or(TaskError::NoteNotFound {
                task: id,
                note: note_id,
            })
    }

    /// Deletes one of the caller's own notes.
    pub async fn delete_note(&self, owner: Owner, id: i64, note_id: Uuid) -> Result<(), TaskError> {
        let written = self.db.delete_note(owner, id, note_id, self.clock.now()).await?;
        settle_note(id, note_id, written).map(|_| ())
    }

    /// The kept changes of one task, each with the task before and after it.
    pub async fn history(&self, owner: Owner, id: i64) -> Result<Vec<HistoryEntry>, TaskError> {
        let records = self.db.task_history(owner, id).await?;
        if records.is_empty() {
            // A task from before the history was kept has none; a missing task is 404.
            self.get(owner, id).await?;
        }
        let mut before = None;
        Ok(records
            .into_iter()
            .map(|record| {
                let after = record.task.clone();
                HistoryEntry {
                    seq: record.seq,
                    kind: record.kind,
                    at: record.at,
                    before: std::mem::replace(&mut before, after.clone()),
                    after,
                    undoes: record.undoes,
                }
            })
            .collect())
    }

    /// Reverts the owner's latest change not yet undone.
    pub async fn undo(&self, owner: Owner) -> Result<UndoResult, TaskError> {
        let undone = match self.db.undo_latest(owner, self.clock.now()).await? {
            UndoOutcome::Undone(undone) => *undone,
            UndoOutcome::NotAllowed => return Err(TaskError::InsufficientRole(TASK_WRITER)),
            UndoOutcome::Nothing => return Err(TaskError::NothingToUndo),
        };
        Ok(UndoResult {
            undone_seq: undone.target_seq,
            undone_type: undone.target_kind,
            seq: undone.seq,
            task: undone.task,
        })
    }

    /// Every task with a due date the owner can see, as an iCalendar (see
    /// [`super::calendar`]), waiting ones included.
    pub async fn calendar(&self, owner: Owner) -> Result<String, TaskError> {
        let mut tasks = Vec::new();
        loop {
            let query = TaskQuery::parse(todo_api::ListQuery {
                status: Some(todo_api::StatusFilter::All),
                sort: Some(todo_api::SortField::Created),
                order: Some(todo_api::SortOrder::Asc),
                limit: Some(todo_api::limits::LIST_LIMIT_MAX),
                offset: Some(tasks.len() as u32),
                ..Default::default()
            })?;
            let (page, total) = self.db.list_tasks(owner, &query).await?;
            let last = page.is_empty() || tasks.len() as u64 + page.len() as u64 >= total;
            tasks.extend(page);
            if last {
                return Ok(super::calendar::render(&tasks));
            }
        }
    }

    /// The change stream (see [`super::stream`]).
    pub async fn stream(
        &self,
        start: super::stream::StreamStart,
        signed_in: impl Fn() -> bool + Send + 'static,
    ) -> Result<tokio::sync::mpsc::Receiver<super::stream::StreamItem>, TaskError> {
        super::stream::open(
            self.db.clone(),
            self.clock.clone(),
            start,
            self.retention.heartbeat,
            signed_in,
        )
        .await
    }

    /// Deletes events past what is kept (by default the last 10,000 per user, and every
    /// one of the last 7 days) and expired stream leases, a batch per write.
    pub async fn maintain(&self) -> Result<(), TaskError> {
        const BATCH: u32 = 1_000;
        loop {
            let now = self.clock.now();
            let before = now - self.retention.age;
            let deleted = self
                .db
                .delete_old_events(before, self.retention.count, now, BATCH)
                .await?;
            if deleted < BATCH as usize {
                return Ok(());
            }
        }
    }
}

impl TaskService {
    /// Sends every reminder and wake-up due by now that no server has sent (a batch per
    /// transaction); at start it catches up with what came due while the server was
    /// down (reminders up to a day late, marked late).
    pub async fn fire_timers(&self) -> Result<(), TaskError> {
        const BATCH: u32 = 100;
        loop {
            let claimed = self.db.fire_due(self.clock.now(), BATCH).await?;
            if claimed < BATCH as usize {
                return Ok(());
            }
        }
    }
}

/// The background step of [`TaskService::fire_timers`].
pub struct TaskTimers(pub TaskService);

impl Step for TaskTimers {
    type Error = TaskError;

    async fn run(&mut self) -> Result<(), TaskError> {
        self.0.fire_timers().await
    }
}

/// The background step of [`TaskService::maintain`].
pub struct TaskMaintenance(pub TaskService);

impl Step for TaskMaintenance {
    type Error = TaskError;

    async fn run(&mut self) -> Result<(), TaskError> {
        self.0.maintain().await
    }
}

/// A note write's outcome as the domain answers it.
fn settle_note(id: i64, note: Uuid, written: NoteWrite) -> Result<Task, TaskError> {
    match written {
        NoteWrite::Done(task) => Ok(*task),
        NoteWrite::TaskMissing => Err(TaskError::NotFound(id)),
        NoteWrite::Refused => Err(TaskError::InsufficientRole(TASK_WRITER)),
        NoteWrite::NoteMissing => Err(TaskError::NoteNotFound { task: id, note }),
        NoteWrite::NotAuthor => Err(TaskError::NotNoteAuthor),
        NoteWrite::Full => Err(TaskError::TooManyNotes(id)),
    }
}

/// A conditional write's outcome as the domain answers it: done, 412 with the task as it
/// is, or 404.
fn settle<T>(id: i64, written: Written<T>) -> Result<T, TaskError> {
    match written {
        Written::Done(value) => Ok(value),
        Written::Conflict(current) => Err(TaskError::VersionConflict(current)),
        Written::Missing => Err(TaskError::NotFound(id)),
        Written::Refused => Err(TaskError::InsufficientRole(TASK_WRITER)),
        Written::Misplaced(invalid) => Err(TaskError::Misplaced(invalid)),
    }
}
