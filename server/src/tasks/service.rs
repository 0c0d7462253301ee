use todo_api::{Task, TaskPatch};

use super::{Owner, PatchedTask, TaskDraft, TaskError, TaskQuery};
use crate::store::{self, Expected, Store, Written};

/// Task operations, each scoped to one owner.
#[derive(Clone)]
pub struct TaskService {
    db: Store,
}

impl TaskService {
    pub fn new(db: Store) -> Self {
        TaskService { db }
    }

    pub async fn list(&self, owner: Owner, query: TaskQuery) -> Result<(Vec<Task>, u64), TaskError> {
        Ok(self.db.list_tasks(owner, &query).await?)
    }

    pub async fn create(&self, owner: Owner, draft: TaskDraft) -> Result<Task, TaskError> {
        Ok(self.db.insert_task(owner, &draft, store::now()).await?)
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
        let written = self
            .db
            .replace_task(owner, id, expected, &draft, None, store::now())
            .await?;
        settle(id, written)
    }

    /// Applies a merge patch to the task as it is: read it, apply, and write only if it
    /// is still at the version read. When another write came between, start again from
    /// the new version (unless the caller named a version), so two patches of different
    /// fields never undo each other.
    pub async fn patch(
        &self,
        owner: Owner,
        id: i64,
        expected: Expected,
        patch: TaskPatch,
    ) -> Result<Task, TaskError> {
        PatchedTask::check(&patch)?;
        loop {
            let current = self.get(owner, id).await?;
            if matches!(expected, Expected::Version(v) if v != current.version) {
                return Err(TaskError::VersionConflict(Box::new(current)));
            }
            let patched = PatchedTask::apply(&current, &patch)?;
            let read_at = Expected::Version(current.version);
            let written = self
                .db
                .replace_task(
                    owner,
                    id,
                    read_at,
                    &patched.draft,
                    patched.completed,
                    store::now(),
                )
                .await?;
            match written {
                Written::Conflict(_) if expected == Expected::Any => continue,
                other => return settle(id, other),
            }
        }
    }

    pub async fn delete(&self, owner: Owner, id: i64, expected: Expected) -> Result<(), TaskError> {
        settle(id, self.db.delete_task(owner, id, expected).await?)
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
            .set_completed(owner, id, expected, target, store::now())
            .await?;
        settle(id, written)
    }
}

/// A conditional write's outcome as the domain answers it: done, 412 with the task as it
/// is, or 404.
fn settle<T>(id: i64, written: Written<T>) -> Result<T, TaskError> {
    match written {
        Written::Done(value) => Ok(value),
        Written::Conflict(current) => Err(TaskError::VersionConflict(current)),
        Written::Missing => Err(TaskError::NotFound(id)),
    }
}
