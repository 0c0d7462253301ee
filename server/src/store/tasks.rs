//! The port for tasks and their change stream: every task write appends its events in
//! its own transaction, one to the stream of each user who sees the task (its owner, or
//! every member of its project). `owner` is the caller: every method sees and changes
//! only what the caller may (personal tasks, and shared ones by role).

use async_trait::async_trait;
use time::OffsetDateTime;
use todo_api::Task;
use uuid::Uuid;

use crate::domain::notes::NoteText;
use crate::domain::tasks::{Owner, TaskDraft, TaskQuery};

use super::{ChangeFeed, EventPage, EventRecord, Expected, StoreResult, TaskReplace, UndoOutcome, Written};

/// A note to add: its id is chosen by the caller, so the answer can name it.
#[derive(Debug, Clone)]
pub struct NewNote {
    pub id: Uuid,
    pub text: NoteText,
}

/// How a note write went, found out in its own transaction.
#[derive(Debug)]
pub enum NoteWrite {
    /// The task after the change, with its notes.
    Done(Box<Task>),
    /// No such task that the caller can see.
    TaskMissing,
    /// The caller sees the task but may not change it.
    Refused,
    /// No such note on the task.
    NoteMissing,
    /// The note is someone else's.
    NotAuthor,
    /// The task holds the most notes it may.
    Full,
}

impl NoteWrite {
    /// When the task is not writable: missing, or the caller's role does not write it.
    pub fn from_access(current: Option<(Task, bool)>) -> Option<NoteWrite> {
        match current {
            None => Some(NoteWrite::TaskMissing),
            Some((_, false)) => Some(NoteWrite::Refused),
            Some((_, true)) => None,
        }
    }
}

#[async_trait]
pub trait TaskStorage: Send + Sync + 'static {
    /// One page of the owner's tasks and the total that match the filter.
    async fn list_tasks(&self, owner: Owner, query: &TaskQuery) -> StoreResult<(Vec<Task>, u64)>;
    async fn get_task(&self, owner: Owner, id: i64) -> StoreResult<Option<Task>>;
    /// Inserts the task (in `project`, or personal; under `parent` when given), or, when
    /// its space has a task with the draft's `source_id` already, inserts nothing and
    /// answers `Conflict` with that task; `Refused` when the caller may not write in
    /// `project`; `Misplaced` when it cannot go under `parent` or wait for what it names.
    async fn insert_task(
        &self,
        owner: Owner,
        project: Option<Uuid>,
        parent: Option<i64>,
        draft: &TaskDraft,
        now: OffsetDateTime,
    ) -> StoreResult<Written<Task>>;
    /// Replaces the editable fields (sets `completed`, moves it, when given) at
    /// `expected`.
    async fn replace_task(
        &self,
        owner: Owner,
        id: i64,
        expected: Expected,
        change: TaskReplace,
        now: OffsetDateTime,
    ) -> StoreResult<Written<Task>>;
    /// Sets `completed` to `target` (flips it when `None`) at `expected`; setting the
    /// value it has changes nothing, not even the version.
    async fn set_completed(
        &self,
        owner: Owner,
        id: i64,
        expected: Expected,
        target: Option<bool>,
        now: OffsetDateTime,
    ) -> StoreResult<Written<Task>>;
    /// Deletes the task at `expected` and every subtask under it, as one change; with
    /// `whole_series`, every other pending instance of its series too (the series ends).
    async fn delete_task(
        &self,
        owner: Owner,
        id: i64,
        expected: Expected,
        whole_series: bool,
        now: OffsetDateTime,
    ) -> StoreResult<Written<()>>;
    /// The pending instance of `series` the caller can see (the one that makes the next).
    async fn pending_instance(&self, owner: Owner, series: Uuid) -> StoreResult<Option<i64>>;

    /// Adds a note by the caller (who must be able to write the task) as a change of the
    /// task: its version moves on and everyone who sees it gets the task with its notes.
    async fn add_note(
        &self,
        owner: Owner,
        task_id: i64,
        note: NewNote,
        now: OffsetDateTime,
    ) -> StoreResult<NoteWrite>;
    /// Deletes one of the caller's own notes, as a change of the task.
    async fn delete_note(
        &self,
        owner: Owner,
        task_id: i64,
        note_id: Uuid,
        now: OffsetDateTime,
    ) -> StoreResult<NoteWrite>;

    /// Sends the reminders and wake-ups due by `now` that no server has claimed yet: each
    /// is claimed in the database in the transaction that appends its events, so it is
    /// sent once whichever servers run this. A reminder more than a day late is claimed
    /// without a word. Returns how many were claimed (at most `batch` of each).
    async fn fire_due(&self, now: OffsetDateTime, batch: u32) -> StoreResult<usize>;

    // The change stream: every task write above appends an event in its own transaction.
    /// Hints that a user has new events (from this server's commits and other servers').
    fn changes(&self) -> &ChangeFeed;
    /// At most `limit` events of the owner after `after`, oldest first.
    async fn events_after(&self, owner: Owner, after: i64, limit: u32) -> StoreResult<EventPage>;
    /// Every kept event of one task, oldest first.
    async fn task_history(&self, owner: Owner, task_id: i64) -> StoreResult<Vec<EventRecord>>;
    /// Reverts the caller's own latest change not yet undone, as a new change.
    async fn undo_latest(&self, owner: Owner, now: OffsetDateTime) -> StoreResult<UndoOutcome>;
    /// Opens a stream lease (until `expires`, renewed while it runs) unless the owner
    /// already holds `cap` live ones; checked and taken in one transaction.
    async fn open_stream(
        &self,
        owner: Owner,
        lease: Uuid,
        now: OffsetDateTime,
        expires: OffsetDateTime,
        cap: u32,
    ) -> StoreResult<bool>;
    async fn renew_stream(&self, lease: Uuid, expires: OffsetDateTime) -> StoreResult<()>;
    async fn close_stream(&self, lease: Uuid) -> StoreResult<()>;
    /// Deletes at most `batch` events older than `before` that are not among the user's
    /// last `keep`, and expired stream leases; returns how many rows went.
    async fn delete_old_events(
        &self,
        before: OffsetDateTime,
        keep: i64,
        now: OffsetDateTime,
        batch: u32,
    ) -> StoreResult<usize>;
}
