//! The `task_notes` table: notes kept in the order they were added to their task.

use rusqlite::{Connection, OptionalExtension, params};
use todo_api::{Note, Task};
use uuid::Uuid;

use super::{WriteTx, from_micros, to_micros};

fn conversion_error(e: impl std::error::Error + Send + Sync + 'static) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
}

/// The notes of task `task_id`, oldest first.
pub fn of_task(conn: &Connection, task_id: i64) -> rusqlite::Result<Vec<Note>> {
    conn.prepare_cached(
        "SELECT id, text, author_id, created_at FROM task_notes WHERE task_id = ?1 ORDER BY position",
    )?
    .query_map([task_id], |r| {
        Ok(Note {
            id: r.get::<_, String>(0)?.parse().map_err(conversion_error)?,
            text: r.get(1)?,
            author_id: r.get::<_, String>(2)?.parse().map_err(conversion_error)?,
            created_at: from_micros(r.get(3)?)?,
        })
    })?
    .collect()
}

/// `task` with its notes.
pub fn attach(conn: &Connection, mut task: Task) -> rusqlite::Result<Task> {
    let notes = of_task(conn, task.id)?;
    task.note_count = notes.len() as u32;
    task.notes = Some(notes);
    Ok(task)
}

/// Adds a note after the task's last one.
pub fn insert(tx: &WriteTx<'_>, task_id: i64, note: &Note) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT INTO task_notes (id, task_id, position, author_id, text, created_at)
         SELECT ?1, ?2, COALESCE(MAX(position), 0) + 1, ?3, ?4, ?5 FROM task_notes WHERE task_id = ?2",
    )?
    .execute(params![
        note.id.to_string(),
        task_id,
        note.author_id.to_string(),
        note.text,
        to_micros(note.created_at),
    ])?;
    Ok(())
}

pub fn count(conn: &Connection, task_id: i64) -> rusqlite::Result<usize> {
    conn.prepare_cached("SELECT COUNT(*) FROM task_notes WHERE task_id = ?1")?
        .query_row([task_id], |r| r.get::<_, i64>(0))
        .map(|n| n.max(0) as usize)
}

/// Who wrote note `note_id` of task `task_id`, if it is there.
pub fn author_of(conn: &Connection, task_id: i64, note_id: Uuid) -> rusqlite::Result<Option<Uuid>> {
    conn.prepare_cached("SELECT author_id FROM task_notes WHERE id = ?1 AND task_id = ?2")?
        .query_row(params![note_id.to_string(), task_id], |r| {
            r.get::<_, String>(0)?.parse().map_err(conversion_error)
        })
        .optional()
}

pub fn delete(tx: &WriteTx<'_>, note_id: Uuid) -> rusqlite::Result<()> {
    tx.prepare_cached("DELETE FROM task_notes WHERE id = ?1")?
        .execute([note_id.to_string()])?;
    Ok(())
}

/// Gives task `task_id` exactly `notes` (an undo putting a snapshot back).
pub fn replace_all(tx: &WriteTx<'_>, task_id: i64, notes: &[Note]) -> rusqlite::Result<()> {
    tx.prepare_cached("DELETE FROM task_notes WHERE task_id = ?1")?
        .execute([task_id])?;
    for note in notes {
        insert(tx, task_id, note)?;
    }
    Ok(())
}

/// Puts a snapshot's notes back when it holds them (one from before notes were kept in
/// history leaves them as they are), and answers the task with its notes.
pub fn restore(tx: &WriteTx<'_>, task: Task, snapshot: &Task) -> rusqlite::Result<Task> {
    if let Some(notes) = &snapshot.notes {
        replace_all(tx, task.id, notes)?;
    }
    attach(tx, task)
}
