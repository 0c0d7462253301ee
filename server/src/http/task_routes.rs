//! `/api/{user_id}/tasks`: the six task routes and a task's notes. Each declares [`BearerAuth`] first, so the
//! token is checked before anything else, then scopes every call to the path's owner.

use poem_openapi::param::{Header, Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi};
use todo_api::{
    CompleteRequest, ListQuery, Note, NoteInput, Priority, SortField, SortOrder, StatusFilter, Task,
    TaskInput, TaskPatch,
};
use uuid::Uuid;

use super::ApiTag;
use super::bearer::BearerAuth;
use super::conditional;
use super::json::SerdeJson;
use super::optional_body::OptionalJson;
use super::problem::ProblemResponse;
use super::strict::Strict;
use crate::domain::notes::NoteText;
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
    /// The task was created; `Location` is its URL, `ETag` its version.
    #[oai(status = 201)]
    Created(
        SerdeJson<Task>,
        #[oai(header = "Location")] String,
        #[oai(header = "ETag")] String,
    ),
}

#[derive(ApiResponse)]
pub enum OneTask {
    /// The task; `ETag` is `"<version>"`, for `If-Match` on a later write.
    #[oai(status = 200)]
    Ok(SerdeJson<Task>, #[oai(header = "ETag")] String),
}

impl OneTask {
    fn of(task: &Task) -> Result<Self, ProblemResponse> {
        Ok(OneTask::Ok(SerdeJson::new(task)?, conditional::etag(task)))
    }
}

/// A moment given as a query parameter (RFC 3339), or the 400 that names it.
fn moment(field: &str, given: Option<String>) -> Result<Option<time::OffsetDateTime>, ProblemResponse> {
    given
        .map(|text| {
            time::OffsetDateTime::parse(text.trim(), &time::format_description::well_known::Rfc3339).map_err(
                |_| {
                    crate::tasks::InvalidTask {
                        field: field.into(),
                        reason: format!("{field} is an RFC 3339 moment, such as 2030-01-31T17:00:00Z"),
                    }
                    .into()
                },
            )
        })
        .transpose()
}

#[derive(ApiResponse)]
pub enum NoteAdded {
    /// The note was added (the task moved to a new version, with an event).
    #[oai(status = 201)]
    Created(SerdeJson<Note>),
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
    /// Every task you can see: your personal tasks and those of every project you are a
    /// member of. Filters combine with AND. `q` searches title, description and tags (substring, case
    /// insensitive for ASCII). `limit` is 1 to 500 (default 100).
    #[allow(clippy::too_many_arguments)]
    #[oai(path = "/api/:user_id/tasks", method = "get")]
    async fn list(
        &self,
        auth: BearerAuth,
        #[oai(name = "user_id")] _user_id: Path<Uuid>,
        status: Query<Option<StatusFilter>>,
        q: Query<Option<String>>,
        /// Repeat for several: tasks with every one (without regard to case; `#work`
        /// finds `work`).
        tag: Query<Vec<String>>,
        /// Repeat for several: tasks with none of them.
        not_tag: Query<Vec<String>>,
        priority: Query<Option<Priority>>,
        /// RFC 3339: tasks due before this moment (tasks without a due date never match).
        due_before: Query<Option<String>>,
        /// RFC 3339: tasks due after this moment.
        due_after: Query<Option<String>>,
        sort: Query<Option<SortField>>,
        order: Query<Option<SortOrder>>,
        limit: Query<Option<u32>>,
        offset: Query<Option<u32>>,
        /// A project's id, or `none` for personal tasks only; every task you can see
        /// (yours and your projects') when left out.
        project: Query<Option<String>>,
        /// A task's id: its subtasks (one level down); `none`: tasks that are no one's
        /// subtask.
        parent: Query<Option<String>>,
    ) -> Result<TaskList, ProblemResponse> {
        let owner = auth.owner()?;
        let query = TaskQuery::parse(ListQuery {
            status: status.0,
            search: q.0,
            tags: tag.0,
            not_tags: not_tag.0,
            priority: priority.0,
            due_before: moment("due_before", due_before.0)?,
            due_after: moment("due_after", due_after.0)?,
            sort: sort.0,
            order: order.0,
            limit: limit.0,
            offset: offset.0,
            project: project.0,
            parent: parent.0,
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
        let input = body.0.0;
        let (project, parent) = (input.project_id, input.parent_id);
        let task = self
            .tasks
            .create(owner, project, parent, TaskDraft::parse(input)?)
            .await?;
        let location = format!("/api/{}/tasks/{}", owner.id(), task.id);
        let etag = conditional::etag(&task);
        Ok(TaskCreated::Created(SerdeJson::new(&task)?, location, etag))
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
        OneTask::of(&self.tasks.get(owner, id.0).await?)
    }

    /// Replace a task's editable fields
    ///
    /// A full replace: fields left out take their defaults, as on create. With
    /// `If-Match: "<version>"` it applies only to that version (412 `version_conflict`
    /// with the current task otherwise, and nothing changes).
    #[oai(path = "/api/:user_id/tasks/:id", method = "put")]
    async fn replace(
        &self,
        auth: BearerAuth,
        #[oai(name = "user_id")] _user_id: Path<Uuid>,
        id: Path<i64>,
        #[oai(name = "If-Match")] if_match: Header<Option<String>>,
        body: Json<Strict<TaskInput>>,
    ) -> Result<OneTask, ProblemResponse> {
        let owner = auth.owner()?;
        let expected = conditional::expected(if_match.0.as_deref())?;
        let draft = TaskDraft::parse(body.0.0)?;
        OneTask::of(&self.tasks.replace(owner, id.0, expected, draft).await?)
    }

    /// Change some fields of a task
    ///
    /// A JSON Merge Patch (RFC 7396), sent as `application/merge-patch+json` or
    /// `application/json`: only the fields given change; `due_at: null` clears the due
    /// date; `tags` replaces the set; `completed` sets it. Same rules as on create (422
    /// naming the field). With `If-Match: "<version>"` it applies only to that version.
    #[oai(path = "/api/:user_id/tasks/:id", method = "patch")]
    async fn patch(
        &self,
        auth: BearerAuth,
        #[oai(name = "user_id")] _user_id: Path<Uuid>,
        id: Path<i64>,
        #[oai(name = "If-Match")] if_match: Header<Option<String>>,
        body: Json<Strict<TaskPatch>>,
    ) -> Result<OneTask, ProblemResponse> {
        let owner = auth.owner()?;
        let expected = conditional::expected(if_match.0.as_deref())?;
        OneTask::of(&self.tasks.patch(owner, id.0, expected, body.0.0).await?)
    }

    /// Delete a task
    ///
    /// Its subtasks go with it, in the same change: one undo brings them all back. With
    /// `series=true` on an instance of a repeating task, its series ends: every pending
    /// instance goes (completed ones stay). With `If-Match: "<version>"` only that
    /// version is deleted (412 otherwise).
    #[oai(path = "/api/:user_id/tasks/:id", method = "delete")]
    async fn delete(
        &self,
        auth: BearerAuth,
        #[oai(name = "user_id")] _user_id: Path<Uuid>,
        id: Path<i64>,
        #[oai(name = "If-Match")] if_match: Header<Option<String>>,
        series: Query<Option<bool>>,
    ) -> Result<TaskDeleted, ProblemResponse> {
        let owner = auth.owner()?;
        let expected = conditional::expected(if_match.0.as_deref())?;
        self.tasks
            .delete(owner, id.0, expected, series.0.unwrap_or(false))
            .await?;
        Ok(TaskDeleted::NoContent)
    }

    /// Add a note to a task
    ///
    /// A note (1 to 10,000 characters) by you, kept after the task's others (at most
    /// 100). It changes the task like any write: a new version, an event, history and
    /// undo. You need to be able to write the task (an editor or more in a project).
    #[oai(path = "/api/:user_id/tasks/:id/notes", method = "post")]
    async fn add_note(
        &self,
        auth: BearerAuth,
        #[oai(name = "user_id")] _user_id: Path<Uuid>,
        id: Path<i64>,
        body: Json<Strict<NoteInput>>,
    ) -> Result<NoteAdded, ProblemResponse> {
        let owner = auth.owner()?;
        let text = NoteText::parse(body.0.0.text)?;
        let note = self.tasks.add_note(owner, id.0, text).await?;
        Ok(NoteAdded::Created(SerdeJson::new(&note)?))
    }

    /// Delete a note
    ///
    /// Only its author deletes a note (403 `not_note_author`), and only while they may
    /// write the task.
    #[oai(path = "/api/:user_id/tasks/:id/notes/:note_id", method = "delete")]
    async fn delete_note(
        &self,
        auth: BearerAuth,
        #[oai(name = "user_id")] _user_id: Path<Uuid>,
        id: Path<i64>,
        note_id: Path<Uuid>,
    ) -> Result<TaskDeleted, ProblemResponse> {
        let owner = auth.owner()?;
        self.tasks.delete_note(owner, id.0, note_id.0).await?;
        Ok(TaskDeleted::NoContent)
    }

    /// Complete a task, reopen it, or toggle it
    ///
    /// With `{"completed": true|false}` it sets the value, so repeating the call changes
    /// nothing; without a body it toggles. With `If-Match: "<version>"` it applies only
    /// to that version (412 otherwise).
    #[oai(path = "/api/:user_id/tasks/:id/complete", method = "patch")]
    async fn complete(
        &self,
        auth: BearerAuth,
        #[oai(name = "user_id")] _user_id: Path<Uuid>,
        id: Path<i64>,
        #[oai(name = "If-Match")] if_match: Header<Option<String>>,
        body: OptionalJson<Strict<CompleteRequest>>,
    ) -> Result<OneTask, ProblemResponse> {
        let owner = auth.owner()?;
        let expected = conditional::expected(if_match.0.as_deref())?;
        let target = body.0.map(|b| b.0.completed);
        OneTask::of(&self.tasks.set_completed(owner, id.0, expected, target).await?)
    }
}
