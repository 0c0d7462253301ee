//! The `task_dependencies` table: which tasks a task waits for. The facts a check needs
//! are read here; the rule is `domain::dependencies::check`.

use std::collections::HashMap;

use rusqlite::{Connection, params};
use uuid::Uuid;

use super::WriteTx;
use crate::domain::dependencies::{DependencySet, InvalidDependency, check};
use crate::domain::tasks::Owner;

fn conversion_error(e: impl std::error::Error + Send + Sync + 'static) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
}

fn ids_json(ids: &[i64]) -> String {
    serde_json::to_string(ids).unwrap_or_else(|_| "[]".into())
}

/// Whether task `task` (`None`: a new one) in `project` may wait for `set`, as the
/// caller sees the tasks.
pub fn check_set(
    conn: &Connection,
    owner: Owner,
    task: Option<i64>,
    project: Option<Uuid>,
    set: &DependencySet,
) -> rusqlite::Result<Result<(), InvalidDependency>> {
    if set.ids().is_empty() {
        return Ok(Ok(()));
    }
    let found: HashMap<i64, Option<Uuid>> = conn
        .prepare_cached(
            "SELECT id, project_id FROM tasks
             WHERE id IN (SELECT value FROM json_each(?1))
               AND ((project_id IS NULL AND user_id = ?2) OR project_id IN
                    (SELECT project_id FROM project_members WHERE user_id = ?2))",
        )?
        .query_map(params![ids_json(set.ids()), owner.id().to_string()], |r| {
            let project: Option<String> = r.get(1)?;
            Ok((
                r.get(0)?,
                project.map(|p| p.parse().map_err(conversion_error)).transpose()?,
            ))
        })?
        .collect::<rusqlite::Result<_>>()?;
    let edges = reachable(conn, set.ids())?;
    Ok(check(task, project, set, &found, &edges))
}

/// Every dependency reachable from `ids` (task, what it waits for); the walk is bounded,
/// so a damaged graph cannot loop.
fn reachable(conn: &Connection, ids: &[i64]) -> rusqlite::Result<Vec<(i64, i64)>> {
    conn.prepare_cached(
        "WITH RECURSIVE reach(task_id, depends_on, n) AS (
             SELECT task_id, depends_on, 0 FROM task_dependencies
             WHERE task_id IN (SELECT value FROM json_each(?1))
             UNION
             SELECT d.task_id, d.depends_on, r.n + 1 FROM task_dependencies d
             JOIN reach r ON d.task_id = r.depends_on WHERE r.n < 64)
         SELECT DISTINCT task_id, depends_on FROM reach",
    )?
    .query_map([ids_json(ids)], |r| Ok((r.get(0)?, r.get(1)?)))?
    .collect()
}

/// Makes task `task_id` wait for exactly `ids`.
pub fn replace(tx: &WriteTx<'_>, task_id: i64, ids: &[i64]) -> rusqlite::Result<()> {
    tx.prepare_cached("DELETE FROM task_dependencies WHERE task_id = ?1")?
        .execute([task_id])?;
    let mut insert =
        tx.prepare_cached("INSERT OR IGNORE INTO task_dependencies (task_id, depends_on) VALUES (?1, ?2)")?;
    for id in ids {
        insert.execute(params![task_id, id])?;
    }
    Ok(())
}

/// The tasks outside `ids` that wait for one of them (what a delete of `ids` changes).
pub fn dependents(conn: &Connection, ids: &[i64]) -> rusqlite::Result<Vec<i64>> {
    conn.prepare_cached(
        "SELECT DISTINCT task_id FROM task_dependencies
         WHERE depends_on IN (SELECT value FROM json_each(?1))
           AND task_id NOT IN (SELECT value FROM json_each(?1))
         ORDER BY task_id",
    )?
    .query_map([ids_json(ids)], |r| r.get(0))?
    .collect()
}

/// What an undo may give `snapshot` back of what it waited for: those of its tasks that
/// are still there, unless that would now close a loop (then it keeps what it has).
pub fn to_restore(
    conn: &Connection,
    owner: Owner,
    snapshot: &todo_api::Task,
) -> rusqlite::Result<Option<Vec<i64>>> {
    let Ok(wanted) = DependencySet::parse(snapshot.depends_on.clone()) else {
        return Ok(None);
    };
    let there: Vec<i64> = conn
        .prepare_cached("SELECT id FROM tasks WHERE id IN (SELECT value FROM json_each(?1)) ORDER BY id")?
        .query_map([ids_json(wanted.ids())], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let Ok(set) = DependencySet::parse(there) else {
        return Ok(None);
    };
    let valid = check_set(conn, owner, Some(snapshot.id), snapshot.project_id, &set)?;
    Ok(valid.is_ok().then(|| set.ids().to_vec()))
}
