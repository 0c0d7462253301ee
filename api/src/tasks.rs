use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::Patch;

/// How urgent a task is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Enum))]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "openapi", oai(rename_all = "lowercase"))]
pub enum Priority {
    #[cfg_attr(feature = "clap", value(alias = "l"))]
    Low,
    #[default]
    #[cfg_attr(feature = "clap", value(alias = "m", alias = "med"))]
    Medium,
    #[cfg_attr(feature = "clap", value(alias = "h"))]
    High,
}

impl Priority {
    pub const ALL: [Priority; 3] = [Priority::Low, Priority::Medium, Priority::High];

    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Low => "low",
            Priority::Medium => "medium",
            Priority::High => "high",
        }
    }
}

/// Which tasks a list returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Enum))]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "openapi", oai(rename_all = "lowercase"))]
pub enum StatusFilter {
    /// Every task, those waiting included.
    #[default]
    All,
    /// Pending tasks, but those waiting (`wait_until` still ahead).
    Pending,
    Completed,
    /// Only tasks hidden until their `wait_until`.
    Waiting,
    /// Pending tasks with a pending dependency.
    Blocked,
    /// Pending tasks free to start: no pending dependency (and not waiting).
    Unblocked,
}

/// The field a list is sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Enum))]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "openapi", oai(rename_all = "lowercase"))]
pub enum SortField {
    #[default]
    Created,
    Updated,
    Due,
    Priority,
    Title,
    /// Overdue first, then due soonest, then undated; within each, higher priority
    /// first, then newest.
    Urgency,
}

impl SortField {
    /// The natural direction of each sort, used when a list names none: newest first
    /// (created, updated), soonest first (due), most urgent first (priority, urgency),
    /// A to Z (title).
    pub fn default_order(self) -> SortOrder {
        match self {
            SortField::Created | SortField::Updated | SortField::Priority => SortOrder::Desc,
            SortField::Due | SortField::Title | SortField::Urgency => SortOrder::Asc,
        }
    }
}

/// Sort direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Enum))]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "openapi", oai(rename_all = "lowercase"))]
pub enum SortOrder {
    Asc,
    Desc,
}

/// The query of `GET /api/{user_id}/tasks`: what the clients send and what the server
/// parses. `None` leaves each to its default (all tasks, newest first, the sort's own
/// direction, 100 at a time).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListQuery {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<StatusFilter>,
    /// Words searched in title, description, tags and notes: a task holds every one.
    #[serde(default, rename = "q", skip_serializing_if = "Option::is_none")]
    pub search: Option<String>,
    /// Tasks with every one of these tags (compared without regard to case). On the
    /// wire, one `tag=` pair each: [`ListQuery::tag_pairs`] makes them, as a form
    /// encoder cannot.
    #[serde(default, skip_serializing)]
    pub tags: Vec<String>,
    /// Tasks with none of these tags; on the wire one `not_tag=` pair each.
    #[serde(default, skip_serializing)]
    pub not_tags: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<Priority>,
    /// Tasks due before this moment (RFC 3339).
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub due_before: Option<OffsetDateTime>,
    /// Tasks due after this moment (RFC 3339).
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub due_after: Option<OffsetDateTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sort: Option<SortField>,
    /// The sort's own direction ([`SortField::default_order`]) when left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<SortOrder>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<u32>,
    /// A project's id, or `none` for personal tasks only; every visible task when left
    /// out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    /// A task's id: its subtasks only (one level down); `none`: tasks that are no
    /// one's subtask.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
}

impl ListQuery {
    /// The `tag` query pairs, one per tag, to add to the encoded query.
    pub fn tag_pairs(&self) -> Vec<(&'static str, &str)> {
        let tags = self.tags.iter().map(|t| ("tag", t.as_str()));
        tags.chain(self.not_tags.iter().map(|t| ("not_tag", t.as_str())))
            .collect()
    }
}

/// A task as the API returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct Task {
    pub id: i64,
    pub user_id: Uuid,
    /// 1 at creation, +1 at every change; the `ETag` of the task is `"<version>"`, and a
    /// write with `If-Match: "<version>"` applies only to this version.
    #[serde(default)]
    pub version: i64,
    pub title: String,
    pub description: String,
    pub completed: bool,
    pub priority: Priority,
    /// Left out when the task has no due date.
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "openapi", oai(skip_serializing_if_is_none))]
    pub due_at: Option<OffsetDateTime>,
    pub tags: Vec<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    /// Left out while the task is pending.
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "openapi", oai(skip_serializing_if_is_none))]
    pub completed_at: Option<OffsetDateTime>,
    /// The import id it was created with, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", oai(skip_serializing_if_is_none))]
    pub source_id: Option<String>,
    /// The shared project it belongs to; null for a personal task.
    #[serde(default)]
    pub project_id: Option<Uuid>,
    /// Who created it and who changed it last (user ids; the owner on a personal task).
    #[serde(default)]
    pub created_by: Uuid,
    #[serde(default)]
    pub updated_by: Uuid,
    /// How it repeats: completing it creates the next instance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", oai(skip_serializing_if_is_none))]
    pub recurrence: Option<Recurrence>,
    /// The series its instances share, and which instance it is (1, 2, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", oai(skip_serializing_if_is_none))]
    pub series_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", oai(skip_serializing_if_is_none))]
    pub occurrence: Option<u32>,
    /// Its notes, oldest first: in the answer for one task and in its events; left out of
    /// lists (see `note_count`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", oai(skip_serializing_if_is_none))]
    pub notes: Option<Vec<Note>>,
    /// How many notes it has.
    #[serde(default)]
    pub note_count: u32,
    /// The task it is a step of (a subtask); left out for a task of its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", oai(skip_serializing_if_is_none))]
    pub parent_id: Option<i64>,
    /// Its own subtasks (one level down): how many, and how many are completed.
    #[serde(default)]
    pub subtasks: SubtaskCount,
    /// Hidden from the pending views until then (`status=waiting` shows it, `all` too); a
    /// `task.woke` event brings it back into every open client at that moment.
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "openapi", oai(skip_serializing_if_is_none))]
    pub wait_until: Option<OffsetDateTime>,
    /// When its reminder fires (a `task.reminder` event): `remind_at` as given, or
    /// `due_at` less `remind_before`.
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "openapi", oai(skip_serializing_if_is_none))]
    pub remind_at: Option<OffsetDateTime>,
    /// A reminder this long before `due_at` (ISO 8601, such as `PT30M` or `P1D`); it
    /// follows the due date when that moves.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", oai(skip_serializing_if_is_none))]
    pub remind_before: Option<String>,
    /// The tasks it waits for ("can't start until X is done"), by id.
    #[serde(default)]
    pub depends_on: Vec<i64>,
    /// Whether one of them is still pending.
    #[serde(default)]
    pub blocked: bool,
}

/// How many subtasks a task has, and how many of them are completed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct SubtaskCount {
    pub total: u32,
    pub completed: u32,
}

/// A note added to a task over time (a comment, a log line): kept apart from the
/// description, never edited, deleted only by its author.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct Note {
    pub id: Uuid,
    pub text: String,
    pub author_id: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// Body of `POST /api/{user_id}/tasks/{id}/notes`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct NoteInput {
    /// 1 to 10,000 characters, not all blank; line breaks and tabs are kept.
    pub text: String,
}

/// How a task repeats: an RFC 5545 rule run on the wall clock of a time zone, so a task
/// due 09:00 in Berlin stays due 09:00 in Berlin across daylight saving.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct Recurrence {
    /// An RRULE: `FREQ` (DAILY, WEEKLY, MONTHLY or YEARLY) with `INTERVAL`, `BYDAY`
    /// (`MO`, `1MO`, `-1FR`), `BYMONTHDAY`, `BYMONTH`, `COUNT` or `UNTIL` (UTC), such as
    /// `FREQ=WEEKLY;BYDAY=MO,WE`.
    pub rule: String,
    /// An IANA time zone, such as `Europe/Berlin`.
    pub time_zone: String,
}

/// The editable fields of a task: the body of create (`POST`) and of full replace (`PUT`).
/// On `PUT`, a field left out takes its default, as on create.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct TaskInput {
    /// 1 to 200 characters after trimming.
    pub title: String,
    /// At most 1000 characters; empty when left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `medium` when left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<Priority>,
    /// RFC 3339 date-time; no due date when left out or null.
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub due_at: Option<OffsetDateTime>,
    /// Up to 10 tags of 1 to 32 characters each; duplicates are merged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    /// Where an imported task came from (`taskwarrior:<uuid>`, say), at most 200
    /// characters; read at creation only. Unique per user: creating a second task with
    /// it answers 409 `already_imported` with the first in `current`, so importing a
    /// file twice adds nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_id: Option<String>,
    /// A project to create it in (the caller must be an editor or more there); a
    /// personal task when left out. Read at creation only: `PUT` keeps the task's
    /// project, and `PATCH` with `project_id` moves it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_id: Option<Uuid>,
    /// How it repeats (it needs `due_at`); completing it creates the next instance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recurrence: Option<Recurrence>,
    /// Makes it a subtask of this task: one you can write, in the same project (or both
    /// personal), at most 8 levels deep (422 `invalid_parent` otherwise). Read at
    /// creation only: `PUT` keeps the task's parent, and `PATCH` with `parent_id` changes
    /// it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<i64>,
    /// Hide it from lists until then (RFC 3339).
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub wait_until: Option<OffsetDateTime>,
    /// A reminder at this moment (RFC 3339); not with `remind_before`.
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub remind_at: Option<OffsetDateTime>,
    /// A reminder this long before `due_at` (ISO 8601 weeks, days, hours, minutes and
    /// seconds, such as `PT30M`, `PT1H30M`, `P1D`); needs `due_at`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remind_before: Option<String>,
    /// Tasks this one waits for: in the same project (or all personal), at most 50, never
    /// in a loop (422 `dependency_cycle` naming it). Read at creation only: `PUT` keeps
    /// them, and `PATCH` with `depends_on` replaces the set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub depends_on: Option<Vec<i64>>,
}

/// Body of `PATCH /api/{user_id}/tasks/{id}`: a JSON Merge Patch (RFC 7396). Only the
/// fields given change; `due_at: null` clears the due date; `tags` replaces the set;
/// `completed` sets it. Each field has the same rules as on create.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct TaskPatch {
    #[serde(default, skip_serializing_if = "Patch::is_absent")]
    pub title: Patch<String>,
    #[serde(default, skip_serializing_if = "Patch::is_absent")]
    pub description: Patch<String>,
    #[serde(default, skip_serializing_if = "Patch::is_absent")]
    pub priority: Patch<Priority>,
    #[serde(default, skip_serializing_if = "Patch::is_absent", with = "rfc3339_patch")]
    pub due_at: Patch<OffsetDateTime>,
    #[serde(default, skip_serializing_if = "Patch::is_absent")]
    pub tags: Patch<Vec<String>>,
    #[serde(default, skip_serializing_if = "Patch::is_absent")]
    pub completed: Patch<bool>,
    /// Moves the task to this project (`null`: makes it personal); the caller must be an
    /// editor or more in both.
    #[serde(default, skip_serializing_if = "Patch::is_absent")]
    pub project_id: Patch<Uuid>,
    /// A new rule (`null`: it stops repeating).
    #[serde(default, skip_serializing_if = "Patch::is_absent")]
    pub recurrence: Patch<Recurrence>,
    /// Puts it under another task (`null`: a task of its own again); the same rules as
    /// on create, and never under itself or its own subtasks.
    #[serde(default, skip_serializing_if = "Patch::is_absent")]
    pub parent_id: Patch<i64>,
    /// `null`: no longer waiting.
    #[serde(default, skip_serializing_if = "Patch::is_absent", with = "rfc3339_patch")]
    pub wait_until: Patch<OffsetDateTime>,
    /// `null`: no reminder at a moment.
    #[serde(default, skip_serializing_if = "Patch::is_absent", with = "rfc3339_patch")]
    pub remind_at: Patch<OffsetDateTime>,
    /// `null`: no reminder before the due date.
    #[serde(default, skip_serializing_if = "Patch::is_absent")]
    pub remind_before: Patch<String>,
    /// Replaces the set of tasks it waits for (`null` or `[]`: none).
    #[serde(default, skip_serializing_if = "Patch::is_absent")]
    pub depends_on: Patch<Vec<i64>>,
    /// On an instance of a repeating task: `future` changes the series from its pending
    /// instance on (the one that makes the next), whichever instance is named; `this`
    /// (the default) changes the one named.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<PatchScope>,
}

/// Which instances of a series a patch changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Enum))]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "openapi", oai(rename_all = "lowercase"))]
pub enum PatchScope {
    #[default]
    This,
    Future,
}

/// `due_at` in a patch: RFC 3339 like everywhere else.
mod rfc3339_patch {
    use serde::{Deserialize, Deserializer, Serializer};
    use time::OffsetDateTime;

    use crate::Patch;

    pub fn serialize<S: Serializer>(value: &Patch<OffsetDateTime>, serializer: S) -> Result<S::Ok, S::Error> {
        match value {
            Patch::Value(t) => time::serde::rfc3339::serialize(t, serializer),
            _ => serializer.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Patch<OffsetDateTime>, D::Error> {
        #[derive(Deserialize)]
        struct Rfc3339(#[serde(with = "time::serde::rfc3339")] OffsetDateTime);
        Ok(match Option::<Rfc3339>::deserialize(deserializer)? {
            Some(Rfc3339(t)) => Patch::Value(t),
            None => Patch::Null,
        })
    }
}

/// Optional body of `PATCH /api/{user_id}/tasks/{id}/complete`: sets completion to this
/// value (repeating it changes nothing). Without a body the call toggles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct CompleteRequest {
    pub completed: bool,
}
