//! The task domain: validated types and the service the HTTP routes call.

pub mod model;
mod service;

pub use model::{Owner, TaskDraft, TaskQuery};
pub use service::TaskService;

use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum TaskError {
    #[error("{reason}")]
    Invalid { field: String, reason: String },
    #[error("task {0} not found")]
    NotFound(i64),
    #[error(transparent)]
    Store(#[from] StoreError),
}
