//! The change stream, task history and undo: what a client reads to stay in step with
//! changes made elsewhere.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::Task;

/// What happened to a task. On the stream it is also the SSE `event:` name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Enum))]
pub enum EventType {
    #[serde(rename = "task.created")]
    #[cfg_attr(feature = "openapi", oai(rename = "task.created"))]
    Created,
    #[serde(rename = "task.updated")]
    #[cfg_attr(feature = "openapi", oai(rename = "task.updated"))]
    Updated,
    #[serde(rename = "task.deleted")]
    #[cfg_attr(feature = "openapi", oai(rename = "task.deleted"))]
    Deleted,
    /// A project of yours was renamed, handed over, or a member's role changed.
    #[serde(rename = "project.updated")]
    #[cfg_attr(feature = "openapi", oai(rename = "project.updated"))]
    ProjectUpdated,
    /// Someone joined a project of yours.
    #[serde(rename = "project.member_added")]
    #[cfg_attr(feature = "openapi", oai(rename = "project.member_added"))]
    MemberAdded,
    /// Someone left a project of yours or was removed.
    #[serde(rename = "project.member_removed")]
    #[cfg_attr(feature = "openapi", oai(rename = "project.member_removed"))]
    MemberRemoved,
    /// You are no longer in a project (removed, left, or it was deleted): no event of
    /// it follows.
    #[serde(rename = "project.removed")]
    #[cfg_attr(feature = "openapi", oai(rename = "project.removed"))]
    ProjectRemoved,
    /// You were invited to a project.
    #[serde(rename = "invitation.received")]
    #[cfg_attr(feature = "openapi", oai(rename = "invitation.received"))]
    InvitationReceived,
    /// A task's reminder is due (`late: true` when the server fires it late, after it
    /// was down).
    #[serde(rename = "task.reminder")]
    #[cfg_attr(feature = "openapi", oai(rename = "task.reminder"))]
    Reminder,
    /// A waiting task's `wait_until` has come: it is back in lists.
    #[serde(rename = "task.woke")]
    #[cfg_attr(feature = "openapi", oai(rename = "task.woke"))]
    Woke,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Created => "task.created",
            EventType::Updated => "task.updated",
            EventType::Deleted => "task.deleted",
            EventType::ProjectUpdated => "project.updated",
            EventType::MemberAdded => "project.member_added",
            EventType::MemberRemoved => "project.member_removed",
            EventType::ProjectRemoved => "project.removed",
            EventType::InvitationReceived => "invitation.received",
            EventType::Reminder => "task.reminder",
            EventType::Woke => "task.woke",
        }
    }

    pub const ALL: [EventType; 10] = [
        EventType::Created,
        EventType::Updated,
        EventType::Deleted,
        EventType::ProjectUpdated,
        EventType::MemberAdded,
        EventType::MemberRemoved,
        EventType::ProjectRemoved,
        EventType::InvitationReceived,
        EventType::Reminder,
        EventType::Woke,
    ];

    /// Whether the event is about a task (and carries it); the others are about a
    /// project and carry [`ProjectNews`].
    pub fn is_task(self) -> bool {
        matches!(
            self,
            EventType::Created
                | EventType::Updated
                | EventType::Deleted
                | EventType::Reminder
                | EventType::Woke
        )
    }
}

/// The `event:` name of the stream's first message when the `Last-Event-ID` asked for
/// is older than what the server keeps: reload everything, then read on.
pub const RESET_EVENT: &str = "reset";

/// One change to one of the user's tasks: the `data` of a stream message, whose `id` is
/// `seq`. Sequence numbers are per user, in commit order, without gaps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct TaskEvent {
    pub seq: i64,
    #[serde(rename = "type")]
    #[cfg_attr(feature = "openapi", oai(rename = "type"))]
    pub kind: EventType,
    /// The task after the change; for `task.deleted` only its `id` and last `version`;
    /// null for a project's event.
    #[serde(default)]
    pub task: serde_json::Value,
    /// For a project's event (`project.*`, `invitation.received`): which project and
    /// what changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", oai(skip_serializing_if_is_none))]
    pub project: Option<ProjectNews>,
    /// On `task.reminder`: fired more than a minute after its time (the server was
    /// down then).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", oai(skip_serializing_if_is_none))]
    pub late: Option<bool>,
}

/// What a project's event says: the project, and the member, role or invitation it is
/// about, when it is about one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct ProjectNews {
    pub project_id: uuid::Uuid,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", oai(skip_serializing_if_is_none))]
    pub user_id: Option<uuid::Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", oai(skip_serializing_if_is_none))]
    pub role: Option<crate::Role>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", oai(skip_serializing_if_is_none))]
    pub invitation_id: Option<uuid::Uuid>,
}

impl TaskEvent {
    /// The task after a create or update (`None` for a delete).
    pub fn task(&self) -> Option<Task> {
        match self.kind {
            EventType::Created | EventType::Updated => serde_json::from_value(self.task.clone()).ok(),
            _ => None,
        }
    }

    /// The id of the task the event is about.
    pub fn task_id(&self) -> Option<i64> {
        self.task.get("id").and_then(serde_json::Value::as_i64)
    }
}

/// The `data` of a `reset` message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct StreamReset {
    /// The latest sequence number: reload, then the stream goes on after it.
    pub seq: i64,
}

/// One change in a task's history, with the task before and after it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct HistoryEntry {
    pub seq: i64,
    #[serde(rename = "type")]
    #[cfg_attr(feature = "openapi", oai(rename = "type"))]
    pub kind: EventType,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// Left out for a create (or when the change before is no longer kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", oai(skip_serializing_if_is_none))]
    pub before: Option<Task>,
    /// Left out for a delete.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", oai(skip_serializing_if_is_none))]
    pub after: Option<Task>,
    /// Set when this change was an undo: the `seq` of the change it reverted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", oai(skip_serializing_if_is_none))]
    pub undoes: Option<i64>,
}

/// What `POST /api/{user_id}/undo` reverted and where that left the task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct UndoResult {
    /// The change that was reverted.
    pub undone_seq: i64,
    pub undone_type: EventType,
    /// The undo's own change (it is on the stream like any other).
    pub seq: i64,
    /// The task now; left out when the undo deleted it (it reverted a create).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", oai(skip_serializing_if_is_none))]
    pub task: Option<Task>,
}
