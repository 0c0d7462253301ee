//! How a task is kept in its change history (`task_events.task`): a type of the store's
//! own, versioned, so a change to the wire type (`todo_api::Task`) is never a change to
//! stored history. Version 1 holds the fields the wire type had when history began, in
//! the same JSON, so rows written before the version field existed read as version 1.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use todo_api::{Priority, Task};
use uuid::Uuid;

const CURRENT: u32 = 1;

fn version_one() -> u32 {
    1
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum StoredPriority {
    Low,
    Medium,
    High,
}

impl From<Priority> for StoredPriority {
    fn from(p: Priority) -> Self {
        match p {
            Priority::Low => StoredPriority::Low,
            Priority::Medium => StoredPriority::Medium,
            Priority::High => StoredPriority::High,
        }
    }
}

impl From<StoredPriority> for Priority {
    fn from(p: StoredPriority) -> Self {
        match p {
            StoredPriority::Low => Priority::Low,
            StoredPriority::Medium => Priority::Medium,
            StoredPriority::High => Priority::High,
        }
    }
}

/// A task as its history keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct StoredTask {
    /// The layout of this snapshot; absent (1) in rows written before it was recorded.
    #[serde(default = "version_one")]
    v: u32,
    id: i64,
    user_id: Uuid,
    #[serde(default)]
    version: i64,
    title: String,
    description: String,
    completed: bool,
    priority: StoredPriority,
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    due_at: Option<OffsetDateTime>,
    tags: Vec<String>,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    updated_at: OffsetDateTime,
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    completed_at: Option<OffsetDateTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    source_id: Option<String>,
    /// Added with projects: absent (personal, by the owner) in older rows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    project_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    created_by: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    updated_by: Option<Uuid>,
    /// Added with recurrence: absent in older rows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    recurrence: Option<StoredRecurrence>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    series_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    occurrence: Option<u32>,
    /// Added with notes: absent in older rows (an undo to such a row leaves the notes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    notes: Option<Vec<StoredNote>>,
    /// Added with subtasks: absent (a task of its own) in older rows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    parent_id: Option<i64>,
    /// Added with waiting and reminders: absent (none) in older rows.
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    wait_until: Option<OffsetDateTime>,
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    remind_at: Option<OffsetDateTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    remind_before: Option<String>,
    /// Added with dependencies: absent (none) in older rows.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    depends_on: Vec<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct StoredNote {
    id: Uuid,
    text: String,
    author_id: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct StoredRecurrence {
    rule: String,
    time_zone: String,
}

/// The text stored for `task`.
pub(crate) fn encode(task: &Task) -> serde_json::Result<String> {
    serde_json::to_string(&StoredTask {
        v: CURRENT,
        id: task.id,
        user_id: task.user_id,
        version: task.version,
        title: task.title.clone(),
        description: task.description.clone(),
        completed: task.completed,
        priority: task.priority.into(),
        due_at: task.due_at,
        tags: task.tags.clone(),
        created_at: task.created_at,
        updated_at: task.updated_at,
        completed_at: task.completed_at,
        source_id: task.source_id.clone(),
        project_id: task.project_id,
        created_by: Some(task.created_by),
        updated_by: Some(task.updated_by),
        recurrence: task.recurrence.as_ref().map(|r| StoredRecurrence {
            rule: r.rule.clone(),
            time_zone: r.time_zone.clone(),
        }),
        series_id: task.series_id,
        occurrence: task.occurrence,
        parent_id: task.parent_id,
        wait_until: task.wait_until,
        remind_at: task.remind_at,
        remind_before: task.remind_before.clone(),
        depends_on: task.depends_on.clone(),
        notes: task.notes.as_ref().map(|notes| {
            notes
                .iter()
                .map(|n| StoredNote {
                    id: n.id,
                    text: n.text.clone(),
                    author_id: n.author_id,
                    created_at: n.created_at,
                })
                .collect()
        }),
    })
}

/// How an event's kind is stored: task kinds by their old short names (rows written
/// before projects read the same), the others by their wire names.
pub(crate) fn kind_name(kind: todo_api::EventType) -> &'static str {
    use todo_api::EventType as E;
    match kind {
        E::Created => "created",
        E::Updated => "updated",
        E::Deleted => "deleted",
        other => other.as_str(),
    }
}

pub(crate) fn kind_of(stored: &str) -> Option<todo_api::EventType> {
    todo_api::EventType::ALL
        .into_iter()
        .find(|k| kind_name(*k) == stored)
}

/// What a stored event holds: the task (task kinds) or the project's news (the others).
pub(crate) fn decode_event(
    kind: todo_api::EventType,
    stored: Option<&str>,
) -> serde_json::Result<(Option<Task>, Option<todo_api::ProjectNews>)> {
    match (kind.is_task(), stored) {
        (_, None) => Ok((None, None)),
        (true, Some(text)) => Ok((Some(decode(text)?), None)),
        (false, Some(text)) => Ok((None, Some(serde_json::from_str(text)?))),
    }
}

/// The task a stored text holds, whichever version wrote it.
pub(crate) fn decode(text: &str) -> serde_json::Result<Task> {
    let stored: StoredTask = serde_json::from_str(text)?;
    Ok(Task {
        id: stored.id,
        user_id: stored.user_id,
        version: stored.version,
        title: stored.title,
        description: stored.description,
        completed: stored.completed,
        priority: stored.priority.into(),
        due_at: stored.due_at,
        tags: stored.tags,
        created_at: stored.created_at,
        updated_at: stored.updated_at,
        completed_at: stored.completed_at,
        source_id: stored.source_id,
        project_id: stored.project_id,
        created_by: stored.created_by.unwrap_or(stored.user_id),
        updated_by: stored.updated_by.unwrap_or(stored.user_id),
        recurrence: stored.recurrence.map(|r| todo_api::Recurrence {
            rule: r.rule,
            time_zone: r.time_zone,
        }),
        series_id: stored.series_id,
        occurrence: stored.occurrence,
        note_count: stored.notes.as_ref().map_or(0, |n| n.len() as u32),
        parent_id: stored.parent_id,
        wait_until: stored.wait_until,
        remind_at: stored.remind_at,
        remind_before: stored.remind_before,
        depends_on: stored.depends_on,
        // Told from the live table, never stored.
        blocked: false,
        // Counted from the live table, never stored.
        subtasks: todo_api::SubtaskCount::default(),
        notes: stored.notes.map(|notes| {
            notes
                .into_iter()
                .map(|n| todo_api::Note {
                    id: n.id,
                    text: n.text,
                    author_id: n.author_id,
                    created_at: n.created_at,
                })
                .collect()
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A row as the server wrote it before history had its own type (the wire type's
    /// JSON, no `v`): it still reads, field for field.
    #[test]
    fn rows_written_before_the_version_field_still_read() {
        let old = r#"{"id":7,"user_id":"6b306486-3ff0-40b2-923f-e4b9aab4ebd7","version":3,"title":"t","description":"d","completed":true,"priority":"high","due_at":"2030-01-31T23:59:59Z","tags":["home"],"created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-02T00:00:00Z","completed_at":"2026-01-02T00:00:00Z","source_id":"tw:1"}"#;
        let task = decode(old).expect("reads");
        assert_eq!((task.id, task.version, task.priority), (7, 3, Priority::High));
        assert_eq!(task.source_id.as_deref(), Some("tw:1"));
        let again = decode(&encode(&task).expect("encode")).expect("decode");
        assert_eq!(again, task);
        assert!(encode(&task).expect("encode").contains(r#""v":1"#));
    }
}
