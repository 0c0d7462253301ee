//! `/api/{user_id}/tasks`: the six task routes. Each declares [`BearerAuth`] first, so the
//! token is checked before anything else, then scopes every call to the path's owner.

use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi};
use todo_api::{ListQuery, Priority, SortField, SortOrder, StatusFilter, Task, TaskInput};
use uuid::Uuid;

use super::ApiTag;
use super::bearer::BearerAuth;
use super::json::SerdeJson;
use super::problem::ProblemResponse;
use super::strict::Strict;
use crate::tasks::{TaskDraft, TaskQuery, TaskService};

pub struct TaskApi {
    pub tasks: TaskService,
}

#[derive(ApiResponse)]
pub enum TaskList {
    /// One page of tasks; `X-Total-Count` is how many match the filter in all.
    #[oai(status = 200)]
    Ok(SerdeJson<Vec<Task>>, #[oai(header = "X-Total-Count")] u64),
}

#[derive(ApiResponse)]
pub enum TaskCreated {
    /// The task was created; `Location` is its URL.
    #[oai(status = 201)]
    Created(SerdeJson<Task>, #[oai(header = "Location")] String),
}

#[derive(ApiResponse)]
pub enum OneTask {
    #[oai(status = 200)]
    Ok(SerdeJson<Task>),
}

#[derive(ApiResponse)]
pub enum TaskDeleted {
    #[oai(status = 204)]
    NoContent,
}

#[OpenApi(tag = "ApiTag::Tasks")]
impl TaskApi {
    /// List your tasks
    ///
    /// Filters combine with AND. `q` searches title and description (substring, case
    /// insensitive for ASCII). `limit` is 1 to 500 (default 100).
    #[allow(clippy::too_many_arguments)]
    #[oai(path = "/api/:user_id/tasks", method = "get")]
    async fn list(
        &self,
        auth: BearerAuth,
        #[oai(name = "user_id")] _user_id: Path<Uuid>,
        status: Query<Option<StatusFilter>>,
        q: Query<Option<String>>,
        tag: Query<Option<String>>,
        priority: Query<Option<Priority>>,
        sort: Query<Option<SortField>>,
        order: Query<Option<SortOrder>>,
        limit: Query<Option<u32>>,
        offset: Query<Option<u32>>,
    ) -> Result<TaskList, ProblemResponse> {
        let owner = auth.owner()?;
        let query = TaskQuery::parse(ListQuery {
            status: status.0,
            search: q.0,
            tag: tag.0,
            priority: priority.0,
            sort: sort.0,
            order: order.0,
            limit: limit.0,
            offset: offset.0,
        })?;
        let (tasks, total) = self.tasks.list(owner, query).await?;
        Ok(TaskList::Ok(SerdeJson::new(&tasks)?, total))
    }

    /// Create a task
    #[oai(path = "/api/:user_id/tasks", method = "post")]
    async fn create(
        &self,
        auth: BearerAuth,
        #[oai(name = "user_id")] _user_id: Path<Uuid>,
        body: Json<Strict<TaskInput>>,
    ) -> Result<TaskCreated, ProblemResponse> {
        let owner = auth.owner()?;
        let task = self.tasks.create(owner, TaskDraft::parse(body.0.0)?).await?;
        let location = format!("/api/{}/tasks/{}", owner.id(), task.id);
        Ok(TaskCreated::Created(SerdeJson::new(&task)?, location))
    }

    /// Get one task
    #[oai(path = "/api/:user_id/tasks/:id", method = "get")]
    async fn get(
        &self,
        auth: BearerAuth,
        #[oai(name = "user_id")] _user_id: Path<Uuid>,
        id: Path<i64>,
    ) -> Result<OneTask, ProblemResponse> {
        let owner = auth.owner()?;
        Ok(OneTask::Ok(SerdeJson::new(&self.tasks.get(owner, id.0).await?)?))
    }

    /// Replace a task's editable fields
    ///
    /// A full replace: fields left out take their defaults, as on create.
    #[oai(path = "/api/:user_id/tasks/:id", method = "put")]
    async fn replace(
        &self,
        auth: BearerAuth,
        #[oai(name = "user_id")] _user_id: Path<Uuid>,
        id: Path<i64>,
        body: Json<Strict<TaskInput>>,
    ) -> Result<OneTask, ProblemResponse> {
        let owner = auth.owner()?;
        let task = self
            .tasks
            .replace(owner, id.0, TaskDraft::parse(body.0.0)?)
            .await?;
        Ok(OneTask::Ok(SerdeJson::new(&task)?))
    }

    /// Delete a task
    #[oai(path = "/api/:user_id/tasks/:id", method = "delete")]
    async fn delete(
        &self,
        auth: BearerAuth,
        #[oai(name = "user_id")] _user_id: Path<Uuid>,
        id: Path<i64>,
    ) -> Result<TaskDeleted, ProblemResponse> {
        let owner = auth.owner()?;
        self.tasks.delete(owner, id.0).await?;
        Ok(TaskDeleted::NoContent)
    }

    /// Toggle a task between pending and completed
    #[oai(path = "/api/:user_id/tasks/:id/complete", method = "patch")]
    async fn toggle_complete(
        &self,
        auth: BearerAuth,
        #[oai(name = "user_id")] _user_id: Path<Uuid>,
        id: Path<i64>,
    ) -> Result<OneTask, ProblemResponse> {
        let owner = auth.owner()?;
        Ok(OneTask::Ok(SerdeJson::new(
            &self.tasks.toggle_completed(owner, id.0).await?,
        )?))
    }
}
