//! Rows to records. A stored value that does not convert is corruption, not a panic.

use time::OffsetDateTime;
use todo_api::{Priority, Task, User};
use tokio_postgres::Row;

use crate::store::{KeyRecord, RefreshRecord, StoreError, StoreResult, UserRecord, from_micros};

pub(super) fn time(us: i64) -> StoreResult<OffsetDateTime> {
    from_micros(us).map_err(|e| StoreError::Corrupt(format!("a stored time is out of range: {e}")))
}

pub(super) fn optional_time(us: Option<i64>) -> StoreResult<Option<OffsetDateTime>> {
    us.map(time).transpose()
}

pub(super) const USER_COLUMNS: &str = "id, email, name, created_at, password_hash, disabled_at";

pub(super) fn user_record(row: &Row) -> StoreResult<UserRecord> {
    Ok(UserRecord {
        user: User {
            id: row.try_get(0)?,
            email: row.try_get(1)?,
            name: row.try_get(2)?,
            created_at: time(row.try_get(3)?)?,
        },
        password_hash: row.try_get(4)?,
        disabled_at: row.try_get::<_, Option<i64>>(5)?.map(time).transpose()?,
    })
}

pub(super) fn key_record(row: &Row) -> StoreResult<KeyRecord> {
    let public: Vec<u8> = row.try_get(2)?;
    Ok(KeyRecord {
        kid: row.try_get(0)?,
        stored_secret: row.try_get(1)?,
        public_key: public
            .try_into()
            .map_err(|_| StoreError::Corrupt("a stored signing key is not 32 bytes".into()))?,
        created_at: time(row.try_get(3)?)?,
        retired_at: optional_time(row.try_get(4)?)?,
    })
}

pub(super) fn refresh_record(row: &Row) -> StoreResult<RefreshRecord> {
    Ok(RefreshRecord {
        session_id: row.try_get(0)?,
        user_id: row.try_get(1)?,
        token_expires_at: time(row.try_get(2)?)?,
        used: row.try_get(3)?,
        session_revoked: row.try_get(4)?,
        session_created_at: time(row.try_get(5)?)?,
    })
}

pub(super) const TASK_COLUMNS: &str = "id, user_id, title, description, completed, priority, due_at, \
                                       tags, created_at, updated_at, completed_at, version, source_id, \
                                       project_id, COALESCE(created_by, user_id), COALESCE(updated_by, user_id), \
                                       recurrence_rule, recurrence_tz, series_id, occurrence, \
                                       (SELECT count(*) FROM task_notes WHERE task_notes.task_id = tasks.id), \
                                       parent_id, \
                                       (SELECT count(*) FROM tasks s WHERE s.parent_id = tasks.id), \
                                       (SELECT count(*) FROM tasks s WHERE s.parent_id = tasks.id AND s.completed), \
                                       wait_until, remind_at, remind_before, \
                                       ARRAY(SELECT depends_on FROM task_dependencies WHERE task_id = tasks.id \
                                             ORDER BY depends_on), \
                                       EXISTS (SELECT 1 FROM task_dependencies d JOIN tasks b ON b.id = d.depends_on \
                                               WHERE d.task_id = tasks.id AND NOT b.completed)";

/// How many columns [`TASK_COLUMNS`] reads (a column after them is at this index).
pub(super) const TASK_FIELDS: usize = 29;

pub(super) fn priority_to_sql(p: Priority) -> i32 {
    match p {
        Priority::Low => 0,
        Priority::Medium => 1,
        Priority::High => 2,
    }
}

fn priority_from_sql(v: i32) -> Priority {
    match v {
        0 => Priority::Low,
        2 => Priority::High,
        _ => Priority::Medium,
    }
}

pub(super) fn task(row: &Row) -> StoreResult<Task> {
    Ok(Task {
        id: row.try_get(0)?,
        user_id: row.try_get(1)?,
        title: row.try_get(2)?,
        description: row.try_get(3)?,
        completed: row.try_get(4)?,
        priority: priority_from_sql(row.try_get(5)?),
        due_at: optional_time(row.try_get(6)?)?,
        tags: row.try_get(7)?,
        created_at: time(row.try_get(8)?)?,
        updated_at: time(row.try_get(9)?)?,
        completed_at: optional_time(row.try_get(10)?)?,
        version: row.try_get(11)?,
        source_id: row.try_get(12)?,
        project_id: row.try_get(13)?,
        created_by: row.try_get(14)?,
        updated_by: row.try_get(15)?,
        recurrence: match (
            row.try_get::<_, Option<String>>(16)?,
            row.try_get::<_, Option<String>>(17)?,
        ) {
            (Some(rule), Some(time_zone)) => Some(todo_api::Recurrence { rule, time_zone }),
            _ => None,
        },
        series_id: row.try_get(18)?,
        occurrence: row
            .try_get::<_, Option<i32>>(19)?
            .map(|n| u32::try_from(n).unwrap_or_default()),
        notes: None,
        note_count: u32::try_from(row.try_get::<_, i64>(20)?).unwrap_or_default(),
        parent_id: row.try_get(21)?,
        subtasks: todo_api::SubtaskCount {
            total: u32::try_from(row.try_get::<_, i64>(22)?).unwrap_or_default(),
            completed: u32::try_from(row.try_get::<_, i64>(23)?).unwrap_or_default(),
        },
        wait_until: optional_time(row.try_get(24)?)?,
        remind_at: optional_time(row.try_get(25)?)?,
        remind_before: row.try_get(26)?,
        depends_on: row.try_get(27)?,
        blocked: row.try_get(28)?,
    })
}

pub(super) const NOTE_COLUMNS: &str = "id, text, author_id, created_at";

pub(super) fn note(row: &Row) -> StoreResult<todo_api::Note> {
    Ok(todo_api::Note {
        id: row.try_get(0)?,
        text: row.try_get(1)?,
        author_id: row.try_get(2)?,
        created_at: time(row.try_get(3)?)?,
    })
}
