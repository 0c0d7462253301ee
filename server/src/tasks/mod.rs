//! The task domain: validated types and the service the HTTP routes call.

pub mod model;
mod service;

pub use crate::store::Expected;
pub use model::{Owner, PatchedTask, TaskDraft, TaskQuery};
pub use service::TaskService;

use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum TaskError {
    #[error("{reason}")]
    Invalid { field: String, reason: String },
    #[error("task {0} not found")]
    NotFound(i64),
    /// The write named another version; the task as it is now.
    #[error("task {} has changed: it is at version {}", .0.id, .0.version)]
    VersionConflict(Box<todo_api::Task>),
    #[error(transparent)]
    Store(#[from] StoreError),
}
