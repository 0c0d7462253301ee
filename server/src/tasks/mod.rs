//! The task domain: validated types and the service the HTTP routes call.

mod service;
pub mod stream;

pub use crate::domain::tasks::{InvalidTask, Owner, PatchedTask, TaskDraft, TaskQuery};
pub use crate::store::Expected;
pub mod calendar;
pub use service::{EventRetention, TaskMaintenance, TaskService, TaskTimers};

use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum TaskError {
    #[error(transparent)]
    Invalid(#[from] InvalidTask),
    #[error("task {0} not found")]
    NotFound(i64),
    /// The write named another version; the task as it is now.
    #[error("task {} has changed: it is at version {}", .0.id, .0.version)]
    VersionConflict(Box<todo_api::Task>),
    /// A task was made from this `source_id` already; that task.
    #[error("task {} was imported from the same source already", .0.id)]
    AlreadyImported(Box<todo_api::Task>),
    #[error("nothing left to undo")]
    NothingToUndo,
    #[error(transparent)]
    Misplaced(#[from] crate::domain::dependencies::Misplaced),
    #[error("task {task} has no note {note}")]
    NoteNotFound { task: i64, note: uuid::Uuid },
    #[error("only the author of a note may delete it")]
    NotNoteAuthor,
    #[error("task {0} has {max} notes, the most it may hold", max = todo_api::limits::NOTES_PER_TASK)]
    TooManyNotes(i64),
    /// Not a member of the project (or no such project: the two are not told apart).
    #[error("no project {0} among yours")]
    ProjectNotFound(uuid::Uuid),
    /// A member whose role is less than the one this needs.
    #[error("your role in this project does not allow this: it needs {0} or more")]
    InsufficientRole(todo_api::Role),
    #[error(
        "too many event streams are open for this user (at most {})",
        todo_api::limits::STREAMS_PER_USER
    )]
    TooManyStreams,
    #[error(transparent)]
    Store(#[from] StoreError),
}
