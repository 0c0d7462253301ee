use todo_api::Task;

use todo_api::TaskPatch;

use super::{Owner, PatchedTask, TaskDraft, TaskError, TaskQuery};
use crate::store::tasks::Expected;
use crate::store::{self, Db};

/// Task operations, each scoped to one owner.
#[derive(Clone)]
pub struct TaskService {
    db: Db,
}

impl TaskService {
    pub fn new(db: Db) -> Self {
        TaskService { db }
    }

    pub async fn list(&self, owner: Owner, query: TaskQuery) -> Result<(Vec<Task>, u64), TaskError> {
        Ok(self
            .db
            .read(move |c| store::tasks::list(c, owner, &query))
            .await?)
    }

    pub async fn create(&self, owner: Owner, draft: TaskDraft) -> Result<Task, TaskError> {
        let now = crate::store::now();
        Ok(self
            .db
            .write(move |tx| store::tasks::insert(tx, owner, &draft, now))
            .await?)
    }

    pub async fn get(&self, owner: Owner, id: i64) -> Result<Task, TaskError> {
        self.db
            .read(move |c| store::tasks::get(c, owner, id))
            .await?
            .ok_or(TaskError::NotFound(id))
    }

    pub async fn replace(
        &self,
        owner: Owner,
        id: i64,
        expected: Expected,
        draft: TaskDraft,
    ) -> Result<Task, TaskError> {
        let now = crate::store::now();
        self.conditional(owner, id, move |tx| {
            store::tasks::replace(tx, owner, id, expected, &draft, None, now)
        })
        .await
    }

    /// Applies a merge patch to the task as it is in the same transaction, so two
    /// patches of different fields never undo each other.
    pub async fn patch(
        &self,
        owner: Owner,
        id: i64,
        expected: Expected,
        patch: TaskPatch,
    ) -> Result<Task, TaskError> {
        PatchedTask::check(&patch)?;
        let now = crate::store::now();
        self.db
            .write(move |tx| {
                let Some(current) = store::tasks::get(tx, owner, id)? else {
                    return Ok(Err(TaskError::NotFound(id)));
                };
                if matches!(expected, Expected::Version(v) if v != current.version) {
                    return Ok(Err(TaskError::VersionConflict(Box::new(current))));
                }
                let patched = match PatchedTask::apply(&current, &patch) {
                    Ok(patched) => patched,
                    Err(e) => return Ok(Err(e)),
                };
                let task = store::tasks::replace(
                    tx,
                    owner,
                    id,
                    Expected::Version(current.version),
                    &patched.draft,
                    patched.completed,
                    now,
                )?;
                Ok(task.ok_or(TaskError::NotFound(id)))
            })
            .await?
    }

    pub async fn delete(&self, owner: Owner, id: i64, expected: Expected) -> Result<(), TaskError> {
        self.conditional(owner, id, move |tx| {
            Ok(store::tasks::delete(tx, owner, id, expected)?.then_some(()))
        })
        .await
    }

    /// Sets completion to `target`, or flips it when `None`.
    pub async fn set_completed(
        &self,
        owner: Owner,
        id: i64,
        expected: Expected,
        target: Option<bool>,
    ) -> Result<Task, TaskError> {
        let now = crate::store::now();
        self.conditional(owner, id, move |tx| {
            store::tasks::set_completed(tx, owner, id, expected, target, now)
        })
        .await
    }

    /// Runs a conditional write; when it matched nothing, tells in the same transaction
    /// whether the task is missing (404) or at another version (412, with the task as it
    /// is now).
    async fn conditional<T: Send + 'static>(
        &self,
        owner: Owner,
        id: i64,
        write: impl FnOnce(&store::WriteTx<'_>) -> rusqlite::Result<Option<T>> + Send + 'static,
    ) -> Result<T, TaskError> {
        let outcome = self
            .db
            .write(move |tx| {
                Ok(match write(tx)? {
                    Some(done) => Ok(done),
                    None => Err(store::tasks::get(tx, owner, id)?),
                })
            })
            .await?;
        outcome.map_err(|current| match current {
            Some(current) => TaskError::VersionConflict(Box::new(current)),
            None => TaskError::NotFound(id),
        })
    }
}
