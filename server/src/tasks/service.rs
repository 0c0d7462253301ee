use todo_api::Task;

use super::{Owner, TaskDraft, TaskError, TaskQuery};
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

    pub async fn replace(&self, owner: Owner, id: i64, draft: TaskDraft) -> Result<Task, TaskError> {
        let now = crate::store::now();
        self.db
            .write(move |tx| store::tasks::replace(tx, owner, id, &draft, now))
            .await?
            .ok_or(TaskError::NotFound(id))
    }

    pub async fn delete(&self, owner: Owner, id: i64) -> Result<(), TaskError> {
        let deleted = self
            .db
            .write(move |tx| store::tasks::delete(tx, owner, id))
            .await?;
        if deleted {
            Ok(())
        } else {
            Err(TaskError::NotFound(id))
        }
    }

    pub async fn toggle_completed(&self, owner: Owner, id: i64) -> Result<Task, TaskError> {
        let now = crate::store::now();
        self.db
            .write(move |tx| store::tasks::toggle_completed(tx, owner, id, now))
            .await?
            .ok_or(TaskError::NotFound(id))
    }
}
