//! The `task_notes` table on PostgreSQL: notes kept in the order they were added to their
//! task (the same rules as on SQLite; a note write runs with its task's row locked).

use deadpool_postgres::GenericClient;
use todo_api::{Note, Task};
use uuid::Uuid;

use super::rows::{self, NOTE_COLUMNS};
use crate::store::{StoreResult, to_micros};

/// The notes of task `task_id`, oldest first.
pub(super) async fn of_task(c: &impl GenericClient, task_id: i64) -> StoreResult<Vec<Note>> {
    let stmt = c
        .prepare_cached(&format!(
            "SELECT {NOTE_COLUMNS} FROM task_notes WHERE task_id = $1 ORDER BY position"
        ))
        .await?;
    c.query(&stmt, &[&task_id])
        .await?
        .iter()
        .map(rows::note)
        .collect()
}

/// `task` with its notes.
pub(super) async fn attach(c: &impl GenericClient, mut task: Task) -> StoreResult<Task> {
    let notes = of_task(c, task.id).await?;
    task.note_count = notes.len() as u32;
    task.notes = Some(notes);
    Ok(task)
}

/// Adds a note after the task's last one.
pub(super) async fn insert(c: &impl GenericClient, task_id: i64, note: &Note) -> StoreResult<()> {
    let stmt = c
        .prepare_cached(
            "INSERT INTO task_notes (id, task_id, position, author_id, text, created_at)
             SELECT $1, $2, COALESCE(MAX(position), 0) + 1, $3, $4, $5 FROM task_notes WHERE task_id = $2",
        )
        .await?;
    c.execute(
        &stmt,
        &[
            &note.id,
            &task_id,
            &note.author_id,
            &note.text,
            &to_micros(note.created_at),
        ],
    )
    .await?;
    Ok(())
}

pub(super) async fn count(c: &impl GenericClient, task_id: i64) -> StoreResult<usize> {
    let stmt = c
        .prepare_cached("SELECT count(*) FROM task_notes WHERE task_id = $1")
        .await?;
    let n: i64 = c.query_one(&stmt, &[&task_id]).await?.try_get(0)?;
    Ok(n.max(0) as usize)
}

/// Who wrote note `note_id` of task `task_id`, if it is there.
pub(super) async fn author_of(
    c: &impl GenericClient,
    task_id: i64,
    note_id: Uuid,
) -> StoreResult<Option<Uuid>> {
    let stmt = c
        .prepare_cached("SELECT author_id FROM task_notes WHERE id = $1 AND task_id = $2")
        .await?;
    Ok(match c.query_opt(&stmt, &[&note_id, &task_id]).await? {
        Some(row) => Some(row.try_get(0)?),
        None => None,
    })
}

pub(super) async fn delete(c: &impl GenericClient, note_id: Uuid) -> StoreResult<()> {
    let stmt = c.prepare_cached("DELETE FROM task_notes WHERE id = $1").await?;
    c.execute(&stmt, &[&note_id]).await?;
    Ok(())
}

/// Puts a snapshot's notes back when it holds them (one from before notes were kept in
/// history leaves them as they are), and answers the task with its notes.
pub(super) async fn restore(c: &impl GenericClient, task: Task, snapshot: &Task) -> StoreResult<Task> {
    if let Some(notes) = &snapshot.notes {
        c.execute("DELETE FROM task_notes WHERE task_id = $1", &[&task.id])
            .await?;
        for note in notes {
            insert(c, task.id, note).await?;
        }
    }
    attach(c, task).await
}
