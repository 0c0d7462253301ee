//! The `tasks` table on PostgreSQL. Every statement is scoped to the caller ([`Owner`]) by
//! [`readable`] or [`writable`], as on SQLite: their personal tasks, and the tasks of
//! the projects they are a member of (to write: an editor or more).

use deadpool_postgres::GenericClient;
use time::OffsetDateTime;
use todo_api::{SortField, SortOrder, StatusFilter, Task};
use tokio_postgres::types::ToSql;

use super::rows::{self, TASK_COLUMNS, TASK_FIELDS, priority_to_sql};
use crate::domain::tasks::{Owner, ParentFilter, ProjectFilter, TaskDraft, TaskQuery};
use crate::store::{Expected, StoreResult, to_micros};
use uuid::Uuid;

/// A rule's text and zone as stored, and a new series' id for a task that starts one.
fn recurrence_params(
    rule: Option<&crate::domain::recurrence::Rule>,
) -> (Option<String>, Option<String>, Option<Uuid>) {
    match rule.map(crate::domain::recurrence::Rule::to_api) {
        Some(r) => (Some(r.rule), Some(r.time_zone), Some(Uuid::new_v4())),
        None => (None, None, None),
    }
}

/// The caller (`${n}`) may see the task: theirs, or in a project they are a member of.
fn readable(n: usize) -> String {
    format!(
        "((tasks.project_id IS NULL AND tasks.user_id = ${n}) OR tasks.project_id IN
           (SELECT project_id FROM project_members WHERE user_id = ${n}))"
    )
}

/// The caller (`${n}`) may change the task: theirs, or in a project where they are an
/// editor or more.
fn writable(n: usize) -> String {
    format!(
        "((tasks.project_id IS NULL AND tasks.user_id = ${n}) OR tasks.project_id IN
           (SELECT project_id FROM project_members WHERE user_id = ${n} AND role >= {WRITER}))"
    )
}

/// The rank of the least role that writes tasks.
const WRITER: i16 = 2;

/// The caller (`${n}`) may put tasks in the project `${p}` (NULL: a personal task).
fn may_write_in(n: usize, p: usize) -> String {
    format!(
        "(${p}::uuid IS NULL OR EXISTS (SELECT 1 FROM project_members
                                        WHERE project_id = ${p} AND user_id = ${n} AND role >= {WRITER}))"
    )
}

/// Whose space a task in project `${p}` lives in: the project's owner, or the caller
/// (`${n}`) for a personal task.
fn space_of(n: usize, p: usize) -> String {
    format!("COALESCE((SELECT owner_id FROM projects WHERE id = ${p}::uuid), ${n})")
}

fn first_task(row: Option<tokio_postgres::Row>) -> StoreResult<Option<Task>> {
    row.as_ref().map(rows::task).transpose()
}

pub(super) async fn get(c: &impl GenericClient, owner: Owner, id: i64) -> StoreResult<Option<Task>> {
    let sql = format!(
        "SELECT {TASK_COLUMNS} FROM tasks WHERE id = $1 AND {}",
        readable(2)
    );
    let stmt = c.prepare_cached(&sql).await?;
    first_task(c.query_opt(&stmt, &[&id, &owner.id()]).await?)
}

/// Moves task `id` to a new version changed by the caller now, when they may write it
/// (a note added or deleted: the task's own fields stay).
pub(super) async fn touch(
    c: &impl GenericClient,
    owner: Owner,
    id: i64,
    now: OffsetDateTime,
) -> StoreResult<Option<Task>> {
    let sql = format!(
        "UPDATE tasks SET version = version + 1, updated_at = $3, updated_by = $2
         WHERE id = $1 AND {} RETURNING {TASK_COLUMNS}",
        writable(2)
    );
    let stmt = c.prepare_cached(&sql).await?;
    first_task(c.query_opt(&stmt, &[&id, &owner.id(), &to_micros(now)]).await?)
}

/// Task `parent` as a parent the caller may put a task under: its project and the ids
/// above it (nearest first); `None` when they cannot write it. The walk up is bounded, so
/// a damaged chain cannot loop.
pub(super) async fn parent_facts(
    c: &impl GenericClient,
    owner: Owner,
    parent: i64,
) -> StoreResult<Option<crate::domain::subtasks::Parent>> {
    let sql = format!("SELECT project_id FROM tasks WHERE id = $1 AND {}", writable(2));
    let Some(row) = c.query_opt(&sql, &[&parent, &owner.id()]).await? else {
        return Ok(None);
    };
    let ancestors = c
        .query(
            "WITH RECURSIVE up(id, parent_id, n) AS (
                 SELECT id, parent_id, 0 FROM tasks WHERE id = $1
                 UNION ALL
                 SELECT t.id, t.parent_id, up.n + 1 FROM tasks t JOIN up ON t.id = up.parent_id WHERE up.n < 64)
             SELECT id FROM up WHERE n > 0 ORDER BY n",
            &[&parent],
        )
        .await?
        .iter()
        .map(|r| r.try_get(0))
        .collect::<Result<Vec<i64>, _>>()?;
    Ok(Some(crate::domain::subtasks::Parent {
        id: parent,
        project: row.try_get(0)?,
        ancestors,
    }))
}

/// Task `id` and every task under it, each with its level below `id` (0 for `id`),
/// top-down (a parent before its subtasks); bounded as [`parent_facts`] is.
pub(super) async fn subtree(c: &impl GenericClient, id: i64) -> StoreResult<Vec<(i64, usize)>> {
    c.query(
        "WITH RECURSIVE down(id, n) AS (
             SELECT $1::bigint, 0
             UNION ALL
             SELECT t.id, down.n + 1 FROM tasks t JOIN down ON t.parent_id = down.id WHERE down.n < 64)
         SELECT id, n FROM down ORDER BY n, id",
        &[&id],
    )
    .await?
    .iter()
    .map(|r| Ok((r.try_get(0)?, r.try_get::<_, i32>(1)?.max(0) as usize)))
    .collect()
}

/// Whether a task (`placed`: `None` for a new one) in `project` may go under `parent`,
/// as the caller: the facts read here, the rule in `domain::subtasks`.
pub(super) async fn check_parent(
    c: &impl GenericClient,
    owner: Owner,
    placed: Option<i64>,
    project: Option<Uuid>,
    parent: i64,
) -> StoreResult<Result<(), crate::domain::subtasks::InvalidParent>> {
    let levels = match placed {
        Some(id) => subtree(c, id)
            .await?
            .iter()
            .map(|(_, n)| n + 1)
            .max()
            .unwrap_or(1),
        None => 1,
    };
    let facts = parent_facts(c, owner, parent).await?;
    let placed = crate::domain::subtasks::Placed {
        id: placed,
        project,
        levels,
    };
    Ok(crate::domain::subtasks::check(placed, parent, facts.as_ref()))
}

/// The parent an undo may give `snapshot` back: its own, while that is still a valid
/// place for it; else none.
pub(super) async fn parent_to_restore(
    c: &impl GenericClient,
    owner: Owner,
    snapshot: &Task,
) -> StoreResult<Option<i64>> {
    let Some(parent) = snapshot.parent_id else {
        return Ok(None);
    };
    let valid = check_parent(c, owner, Some(snapshot.id), snapshot.project_id, parent).await?;
    Ok(valid.is_ok().then_some(parent))
}

/// Makes every subtask of `id` that the caller may write a task of its own, each a new
/// version changed now.
pub(super) async fn detach_subtasks(
    c: &impl GenericClient,
    owner: Owner,
    id: i64,
    now: OffsetDateTime,
) -> StoreResult<Vec<Task>> {
    let sql = format!(
        "UPDATE tasks SET parent_id = NULL, version = version + 1, updated_at = $3, updated_by = $2
         WHERE parent_id = $1 AND {} RETURNING {TASK_COLUMNS}",
        writable(2)
    );
    c.query(&sql, &[&id, &owner.id(), &to_micros(now)])
        .await?
        .iter()
        .map(rows::task)
        .collect()
}

/// The pending instances of `series` the caller can write, newest first.
pub(super) async fn pending_instances(
    c: &impl GenericClient,
    owner: Owner,
    series: Uuid,
) -> StoreResult<Vec<i64>> {
    let sql = format!(
        "SELECT id FROM tasks WHERE series_id = $1 AND NOT completed AND {} ORDER BY occurrence DESC, id DESC",
        writable(2)
    );
    c.query(&sql, &[&series, &owner.id()])
        .await?
        .iter()
        .map(|r| Ok(r.try_get(0)?))
        .collect()
}

/// Which moment of a task a background claim is for.
#[derive(Debug, Clone, Copy)]
pub(super) enum Moment {
    Reminder,
    Wakeup,
}

impl Moment {
    /// Its due-by and claimed-at columns, and what else must hold.
    fn columns(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Moment::Reminder => ("remind_at", "reminded_at", "AND NOT completed"),
            Moment::Wakeup => ("wait_until", "woke_at", ""),
        }
    }
}

/// Up to `batch` tasks with `moment` due by `now` and not claimed yet, whoever's (read
/// without a lock: [`claim`] decides).
pub(super) async fn due(
    c: &impl GenericClient,
    moment: Moment,
    now: OffsetDateTime,
    batch: u32,
) -> StoreResult<Vec<(i64, Option<Uuid>, Uuid)>> {
    let (at, claimed, also) = moment.columns();
    let sql = format!(
        "SELECT id, project_id, user_id FROM tasks WHERE {at} <= $1 AND {claimed} IS NULL {also}
         ORDER BY {at} LIMIT $2"
    );
    c.query(&sql, &[&to_micros(now), &i64::from(batch)])
        .await?
        .iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
        .collect()
}

/// Claims `moment` of task `id` at `now` if it is still due and unclaimed: the row lock
/// makes a second server wait, then find it claimed (`None`).
pub(super) async fn claim(
    c: &impl GenericClient,
    moment: Moment,
    id: i64,
    now: OffsetDateTime,
) -> StoreResult<Option<Task>> {
    let (at, claimed, also) = moment.columns();
    let sql = format!(
        "UPDATE tasks SET {claimed} = $2 WHERE id = $1 AND {at} <= $2 AND {claimed} IS NULL {also}
         RETURNING {TASK_COLUMNS}"
    );
    first_task(c.query_opt(&sql, &[&id, &to_micros(now)]).await?)
}

/// The task as the caller sees it, and whether they may change it.
pub(super) async fn get_with_access(
    c: &impl GenericClient,
    owner: Owner,
    id: i64,
) -> StoreResult<Option<(Task, bool)>> {
    let sql = format!(
        "SELECT {TASK_COLUMNS}, {} FROM tasks WHERE id = $1 AND {}",
        writable(2),
        readable(2)
    );
    let stmt = c.prepare_cached(&sql).await?;
    match c.query_opt(&stmt, &[&id, &owner.id()]).await? {
        Some(row) => Ok(Some((rows::task(&row)?, row.try_get(TASK_FIELDS)?))),
        None => Ok(None),
    }
}

/// The project a task is in and whose space it is in, whoever asks.
pub(super) async fn placement(c: &impl GenericClient, id: i64) -> StoreResult<Option<(Option<Uuid>, Uuid)>> {
    let stmt = c
        .prepare_cached("SELECT project_id, user_id FROM tasks WHERE id = $1")
        .await?;
    match c.query_opt(&stmt, &[&id]).await? {
        Some(row) => Ok(Some((row.try_get(0)?, row.try_get(1)?))),
        None => Ok(None),
    }
}

/// The next instance of `task`'s series, due at `due`: created once. A second
/// completion of the same instance (another client, a retry, another server) finds the
/// place taken and creates nothing (`None`).
pub(super) async fn insert_successor(
    c: &impl GenericClient,
    task: &Task,
    due: OffsetDateTime,
    actor: Uuid,
    now: OffsetDateTime,
) -> StoreResult<Option<Task>> {
    let sql = format!(
        "INSERT INTO tasks (user_id, title, description, priority, due_at, tags, created_at, updated_at,
                           project_id, created_by, updated_by, recurrence_rule, recurrence_tz, series_id,
                           occurrence, parent_id, remind_at, remind_before)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8, $9, $9, $10, $11, $12, $13, $14, $15, $16)
         ON CONFLICT (series_id, occurrence) WHERE series_id IS NOT NULL DO NOTHING RETURNING {TASK_COLUMNS}"
    );
    let next = task.occurrence.unwrap_or(1) as i32 + 1;
    let row = c
        .query_opt(
            &sql,
            &[
                &task.user_id,
                &task.title,
                &task.description,
                &priority_to_sql(task.priority),
                &to_micros(due),
                &task.tags,
                &to_micros(now),
                &task.project_id,
                &actor,
                &task.recurrence.as_ref().map(|r| r.rule.clone()),
                &task.recurrence.as_ref().map(|r| r.time_zone.clone()),
                &task.series_id,
                &next,
                &task.parent_id,
                &crate::domain::timers::follow(task.remind_before.as_deref(), due).map(to_micros),
                &task.remind_before,
            ],
        )
        .await?;
    first_task(row)
}

/// The subtasks under task `id` at any depth, each with its parent, top-down.
pub(super) async fn subtasks_under(c: &impl GenericClient, id: i64) -> StoreResult<Vec<(i64, i64)>> {
    let stmt = c
        .prepare_cached(
            "WITH RECURSIVE down(id, parent_id, n) AS (
                 SELECT id, parent_id, 1 FROM tasks WHERE parent_id = $1 AND id != $1
                 UNION ALL
                 SELECT t.id, t.parent_id, down.n + 1 FROM tasks t JOIN down ON t.parent_id = down.id
                  WHERE down.n < 64)
             SELECT id, parent_id FROM down ORDER BY n, id",
        )
        .await?;
    c.query(&stmt, &[&id])
        .await?
        .iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect()
}

/// A pending copy of subtask `id` under `parent` (a step of the next instance): its
/// title, description, priority and tags, in the same space and project.
pub(super) async fn copy_subtask(
    c: &impl GenericClient,
    id: i64,
    parent: i64,
    actor: Uuid,
    now: OffsetDateTime,
) -> StoreResult<Option<Task>> {
    let sql = format!(
        "INSERT INTO tasks (user_id, title, description, priority, tags, created_at, updated_at,
                           project_id, created_by, updated_by, parent_id)
         SELECT user_id, title, description, priority, tags, $2, $2, project_id, $3, $3, $4
           FROM tasks WHERE id = $1
         RETURNING {TASK_COLUMNS}"
    );
    let stmt = c.prepare_cached(&sql).await?;
    first_task(
        c.query_opt(&stmt, &[&id, &to_micros(now), &actor, &parent])
            .await?,
    )
}

/// The instance after `completed` in its series and every task under it, top-down, as
/// undo judges them ([`crate::domain::recurrence::untouched_successor`]).
pub(super) async fn successor_tree(
    c: &impl GenericClient,
    completed: &Task,
) -> StoreResult<Vec<crate::domain::recurrence::MadeTask>> {
    let Some(series) = completed.series_id else {
        return Ok(Vec::new());
    };
    let next = completed.occurrence.unwrap_or(1) as i32 + 1;
    let stmt = c
        .prepare_cached(
            "WITH RECURSIVE down(id, n) AS (
                 SELECT id, 0 FROM tasks WHERE series_id = $1 AND occurrence = $2
                 UNION ALL
                 SELECT t.id, down.n + 1 FROM tasks t JOIN down ON t.parent_id = down.id WHERE down.n < 64)
             SELECT t.id, t.version, t.completed, t.created_at FROM down JOIN tasks t ON t.id = down.id
              ORDER BY down.n, t.id",
        )
        .await?;
    c.query(&stmt, &[&series, &next])
        .await?
        .iter()
        .map(|r| {
            Ok(crate::domain::recurrence::MadeTask {
                id: r.try_get(0)?,
                version: r.try_get(1)?,
                completed: r.try_get(2)?,
                created_at: crate::store::stored_time(r.try_get(3)?)?,
            })
        })
        .collect()
}

/// Deletes task `id` (one of a tree undo takes back): its id, version, project and
/// space, for the events of its going.
pub(super) async fn delete_made(
    c: &impl GenericClient,
    id: i64,
) -> StoreResult<Option<crate::store::GoneTask>> {
    let stmt = c
        .prepare_cached("DELETE FROM tasks WHERE id = $1 RETURNING id, version, project_id, user_id")
        .await?;
    match c.query_opt(&stmt, &[&id]).await? {
        Some(r) => Ok(Some(crate::store::GoneTask {
            id: r.try_get(0)?,
            version: r.try_get(1)?,
            project: r.try_get(2)?,
            space: r.try_get(3)?,
        })),
        None => Ok(None),
    }
}

/// Every task of `project`, whoever asks (for the events of a membership change).
pub(super) async fn in_project(c: &impl GenericClient, project: Uuid) -> StoreResult<Vec<Task>> {
    let sql = format!("SELECT {TASK_COLUMNS} FROM tasks WHERE project_id = $1 ORDER BY id");
    c.query(&sql, &[&project]).await?.iter().map(rows::task).collect()
}

/// Puts every task of `project` in `owner`'s space (a transfer); a source id the new
/// owner has already is dropped from the moved task, as on a move.
pub(super) async fn move_space(c: &impl GenericClient, project: Uuid, owner: Uuid) -> StoreResult<()> {
    c.execute(
        "UPDATE tasks SET user_id = $2,
             source_id = CASE WHEN EXISTS (SELECT 1 FROM tasks t WHERE t.user_id = $2
                                           AND t.source_id = tasks.source_id) THEN NULL ELSE source_id END
         WHERE project_id = $1",
        &[&project, &owner],
    )
    .await?;
    Ok(())
}

/// Inserts the task (in `project`, or personal); `None` when its space has a task with
/// its `source_id` already, or the caller may not write in `project`.
pub(super) async fn insert(
    c: &impl GenericClient,
    owner: Owner,
    project: Option<Uuid>,
    parent: Option<i64>,
    draft: &TaskDraft,
    now: OffsetDateTime,
) -> StoreResult<Option<Task>> {
    let (rule, zone, series) = recurrence_params(draft.recurrence());
    let sql = format!(
        "INSERT INTO tasks (user_id, title, description, priority, due_at, tags, created_at, updated_at,
                           source_id, project_id, created_by, updated_by,
                           recurrence_rule, recurrence_tz, series_id, occurrence, parent_id,
                           wait_until, remind_at, remind_before)
         SELECT {space}, $2, $3, $4, $5, $6, $7, $7, $8, $9, $1, $1,
                $10::text, $11::text, $12::uuid, CASE WHEN $10::text IS NULL THEN NULL ELSE 1 END, $13::bigint,
                $14::bigint, $15::bigint, $16::text
         WHERE {allowed}
         ON CONFLICT (user_id, source_id) WHERE source_id IS NOT NULL DO NOTHING RETURNING {TASK_COLUMNS}",
        space = space_of(1, 9),
        allowed = may_write_in(1, 9),
    );
    let stmt = c.prepare_cached(&sql).await?;
    let row = c
        .query_opt(
            &stmt,
            &[
                &owner.id(),
                &draft.title(),
                &draft.description(),
                &priority_to_sql(draft.priority()),
                &draft.due_at().map(to_micros),
                &draft.tags(),
                &to_micros(now),
                &draft.source_id(),
                &project,
                &rule,
                &zone,
                &series,
                &parent,
                &draft.wait_until().map(to_micros),
                &draft.remind_at().map(to_micros),
                &draft.remind_before(),
            ],
        )
        .await?;
    row.as_ref().map(rows::task).transpose()
}

/// The task made from `source_id` in the space a new task in `project` goes to.
pub(super) async fn by_source(
    c: &impl GenericClient,
    owner: Owner,
    project: Option<Uuid>,
    source_id: &str,
) -> StoreResult<Option<Task>> {
    let sql = format!(
        "SELECT {TASK_COLUMNS} FROM tasks WHERE user_id = {} AND source_id = $2 AND {}",
        space_of(1, 3),
        readable(1)
    );
    let row = c.query_opt(&sql, &[&owner.id(), &source_id, &project]).await?;
    row.as_ref().map(rows::task).transpose()
}

/// Replaces the editable fields (sets `completed`, moves it to `moved_to`, when given)
/// when the caller may write it (and in the project it moves to) at `expected`.
pub(super) async fn replace(
    c: &impl GenericClient,
    owner: Owner,
    id: i64,
    expected: Expected,
    change: &crate::store::TaskReplace,
    now: OffsetDateTime,
) -> StoreResult<Option<Task>> {
    let crate::store::TaskReplace {
        draft,
        completed,
        moved_to,
        parent,
    } = change;
    // $11: whether it moves; $12: where to. $16: whether its parent changes; $17: to what.
    let (rule, zone, series) = recurrence_params(draft.recurrence());
    let sql = format!(
        "UPDATE tasks SET title = $3, description = $4, priority = $5, due_at = $6, tags = $7,
                          updated_at = $8, version = version + 1, updated_by = $2,
                          completed_at = CASE WHEN $10::boolean IS NULL OR $10 = completed THEN completed_at
                                              WHEN $10 THEN $8 ELSE NULL END,
                          completed = COALESCE($10, completed),
                          source_id = CASE WHEN $11 AND EXISTS (SELECT 1 FROM tasks t WHERE t.user_id = {space}
                                                AND t.source_id = tasks.source_id AND t.id <> tasks.id)
                                           THEN NULL ELSE source_id END,
                          user_id = CASE WHEN $11 THEN {space} ELSE user_id END,
                          project_id = CASE WHEN $11 THEN $12::uuid ELSE project_id END,
                          recurrence_rule = $13::text, recurrence_tz = $14::text,
                          series_id = CASE WHEN $13::text IS NULL THEN NULL ELSE COALESCE(series_id, $15::uuid) END,
                          occurrence = CASE WHEN $13::text IS NULL THEN NULL ELSE COALESCE(occurrence, 1) END,
                          parent_id = CASE WHEN $16 THEN $17::bigint ELSE parent_id END,
                          -- A new moment is claimed anew.
                          woke_at = CASE WHEN wait_until IS NOT DISTINCT FROM $18::bigint THEN woke_at ELSE NULL END,
                          reminded_at = CASE WHEN remind_at IS NOT DISTINCT FROM $19::bigint THEN reminded_at ELSE NULL END,
                          wait_until = $18::bigint, remind_at = $19::bigint, remind_before = $20::text
         WHERE id = $1 AND {writable} AND ($9::bigint IS NULL OR version = $9) AND (NOT $11 OR {target})
         RETURNING {TASK_COLUMNS}",
        space = space_of(2, 12),
        writable = writable(2),
        target = may_write_in(2, 12),
    );
    let stmt = c.prepare_cached(&sql).await?;
    let row = c
        .query_opt(
            &stmt,
            &[
                &id,
                &owner.id(),
                &draft.title(),
                &draft.description(),
                &priority_to_sql(draft.priority()),
                &draft.due_at().map(to_micros),
                &draft.tags(),
                &to_micros(now),
                &expected.version(),
                &completed,
                &moved_to.is_some(),
                &moved_to.flatten(),
                &rule,
                &zone,
                &series,
                &parent.is_some(),
                &parent.flatten(),
                &draft.wait_until().map(to_micros),
                &draft.remind_at().map(to_micros),
                &draft.remind_before(),
            ],
        )
        .await?;
    first_task(row)
}

pub(super) async fn set_completed(
    c: &impl GenericClient,
    owner: Owner,
    id: i64,
    expected: Expected,
    target: Option<bool>,
    now: OffsetDateTime,
) -> StoreResult<Option<Task>> {
    // $5: the new value; setting the value the task has changes nothing.
    let sql = format!(
        "UPDATE tasks SET
             completed_at = CASE WHEN COALESCE($5::boolean, NOT completed) = completed THEN completed_at
                                 WHEN COALESCE($5, NOT completed) THEN $3 ELSE NULL END,
             updated_at = CASE WHEN COALESCE($5, NOT completed) = completed THEN updated_at ELSE $3 END,
             version = version + CASE WHEN COALESCE($5, NOT completed) = completed THEN 0 ELSE 1 END,
             updated_by = CASE WHEN COALESCE($5, NOT completed) = completed THEN updated_by ELSE $2 END,
             completed = COALESCE($5, NOT completed)
         WHERE id = $1 AND {} AND ($4::bigint IS NULL OR version = $4)
         RETURNING {TASK_COLUMNS}",
        writable(2)
    );
    let stmt = c.prepare_cached(&sql).await?;
    let row = c
        .query_opt(
            &stmt,
            &[&id, &owner.id(), &to_micros(now), &expected.version(), &target],
        )
        .await?;
    first_task(row)
}

/// Deletes the task (which the caller may write) at `expected`; returns the version it
/// had.
pub(super) async fn delete(
    c: &impl GenericClient,
    owner: Owner,
    id: i64,
    expected: Expected,
) -> StoreResult<Option<i64>> {
    let sql = format!(
        "DELETE FROM tasks WHERE id = $1 AND {} AND ($3::bigint IS NULL OR version = $3)
         RETURNING version",
        writable(2)
    );
    let stmt = c.prepare_cached(&sql).await?;
    match c
        .query_opt(&stmt, &[&id, &owner.id(), &expected.version()])
        .await?
    {
        Some(row) => Ok(Some(row.try_get(0)?)),
        None => Ok(None),
    }
}

/// Gives the task every field of `snapshot` back, its project among them (an undo), at
/// `version`, when the caller may write it where it is and where it goes back to.
pub(super) async fn restore(
    c: &impl GenericClient,
    owner: Owner,
    snapshot: &Task,
    parent: Option<i64>,
    version: i64,
    now: OffsetDateTime,
) -> StoreResult<Option<Task>> {
    let sql = format!(
        "UPDATE tasks SET title = $3, description = $4, priority = $5, due_at = $6, tags = $7,
                          completed = $8, completed_at = $9, version = $10, updated_at = $11,
                          updated_by = $2, project_id = $12::uuid,
                          user_id = CASE WHEN project_id IS NOT DISTINCT FROM $12::uuid THEN user_id
                                         ELSE {space} END,
                          recurrence_rule = $13, recurrence_tz = $14, series_id = $15, occurrence = $16,
                          -- Back under its parent, unless that is gone.
                          parent_id = (SELECT p.id FROM tasks p WHERE p.id = $17::bigint),
                          woke_at = CASE WHEN wait_until IS NOT DISTINCT FROM $18::bigint THEN woke_at ELSE NULL END,
                          reminded_at = CASE WHEN remind_at IS NOT DISTINCT FROM $19::bigint THEN reminded_at ELSE NULL END,
                          wait_until = $18::bigint, remind_at = $19::bigint, remind_before = $20::text
         WHERE id = $1 AND {writable} AND {target} RETURNING {TASK_COLUMNS}",
        space = space_of(2, 12),
        writable = writable(2),
        target = may_write_in(2, 12),
    );
    let row = c
        .query_opt(
            &sql,
            &[
                &snapshot.id,
                &owner.id(),
                &snapshot.title,
                &snapshot.description,
                &priority_to_sql(snapshot.priority),
                &snapshot.due_at.map(to_micros),
                &snapshot.tags,
                &snapshot.completed,
                &snapshot.completed_at.map(to_micros),
                &version,
                &to_micros(now),
                &snapshot.project_id,
                &snapshot.recurrence.as_ref().map(|r| r.rule.clone()),
                &snapshot.recurrence.as_ref().map(|r| r.time_zone.clone()),
                &snapshot.series_id,
                &snapshot.occurrence.map(|n| n as i32),
                &parent,
                &snapshot.wait_until.map(to_micros),
                &snapshot.remind_at.map(to_micros),
                &snapshot.remind_before,
            ],
        )
        .await?;
    first_task(row)
}

/// Puts a deleted task back with its id, fields and project (an undo), at `version`,
/// when the caller may write in its project; `None` when not.
pub(super) async fn reinsert(
    c: &impl GenericClient,
    owner: Owner,
    snapshot: &Task,
    parent: Option<i64>,
    version: i64,
    now: OffsetDateTime,
) -> StoreResult<Option<Task>> {
    let sql = format!(
        "INSERT INTO tasks (id, user_id, title, description, priority, due_at, tags, completed,
                           completed_at, version, created_at, updated_at, source_id, project_id,
                           created_by, updated_by, recurrence_rule, recurrence_tz, series_id, occurrence,
                           parent_id, wait_until, remind_at, remind_before)
         SELECT $1, {space}, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12,
                -- Back with its source, unless a later import took that source.
                CASE WHEN EXISTS (SELECT 1 FROM tasks WHERE user_id = {space} AND source_id = $13::text)
                     THEN NULL ELSE $13::text END,
                $14, $15, $2, $16::text, $17::text,
                -- Back in its series, unless its place there was taken meanwhile.
                CASE WHEN EXISTS (SELECT 1 FROM tasks WHERE series_id = $18::uuid AND occurrence = $19::int)
                     THEN NULL ELSE $18::uuid END,
                CASE WHEN EXISTS (SELECT 1 FROM tasks WHERE series_id = $18::uuid AND occurrence = $19::int)
                     THEN NULL ELSE $19::int END,
                -- Back under its parent, unless that is gone.
                (SELECT p.id FROM tasks p WHERE p.id = $20::bigint),
                $21::bigint, $22::bigint, $23::text
         WHERE {allowed}
         RETURNING {TASK_COLUMNS}",
        space = space_of(2, 14),
        allowed = may_write_in(2, 14),
    );
    let row = c
        .query_opt(
            &sql,
            &[
                &snapshot.id,
                &owner.id(),
                &snapshot.title,
                &snapshot.description,
                &priority_to_sql(snapshot.priority),
                &snapshot.due_at.map(to_micros),
                &snapshot.tags,
                &snapshot.completed,
                &snapshot.completed_at.map(to_micros),
                &version,
                &to_micros(snapshot.created_at),
                &to_micros(now),
                &snapshot.source_id,
                &snapshot.project_id,
                &snapshot.created_by,
                &snapshot.recurrence.as_ref().map(|r| r.rule.clone()),
                &snapshot.recurrence.as_ref().map(|r| r.time_zone.clone()),
                &snapshot.series_id,
                &snapshot.occurrence.map(|n| n as i32),
                &parent,
                &snapshot.wait_until.map(to_micros),
                &snapshot.remind_at.map(to_micros),
                &snapshot.remind_before,
            ],
        )
        .await?;
    first_task(row)
}

/// Escapes `%`, `_` and `\` so a search is a plain substring match.
fn like_pattern(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

type Param = Box<dyn ToSql + Sync + Send>;

/// The WHERE clause of a list and its parameters ($1 is the owner).
fn filter(owner: Owner, query: &TaskQuery) -> (String, Vec<Param>) {
    let mut sql = readable(1);
    let mut args: Vec<Param> = vec![Box::new(owner.id())];
    match query.project() {
        ProjectFilter::Any => {}
        ProjectFilter::Personal => sql.push_str(" AND project_id IS NULL"),
        ProjectFilter::Project(p) => {
            args.push(Box::new(p));
            sql.push_str(&format!(" AND project_id = ${}", args.len()));
        }
    }
    match query.parent() {
        ParentFilter::Any => {}
        ParentFilter::TopLevel => sql.push_str(" AND parent_id IS NULL"),
        ParentFilter::Of(p) => {
            args.push(Box::new(p));
            sql.push_str(&format!(" AND parent_id = ${}", args.len()));
        }
    }
    // Waiting tasks (`wait_until` still ahead) are left out of the pending views until
    // then; `all` is everything (an export, a sync), `waiting` only them.
    let now = to_micros(query.now());
    let waiting = |args: &mut Vec<Param>, clause: &str| {
        args.push(Box::new(now));
        clause.replace("$now", &format!("${}", args.len()))
    };
    match query.status() {
        StatusFilter::All => {}
        StatusFilter::Pending => {
            let clause = waiting(
                &mut args,
                " AND NOT completed AND (wait_until IS NULL OR wait_until <= $now)",
            );
            sql.push_str(&clause);
        }
        StatusFilter::Waiting => {
            let clause = waiting(&mut args, " AND wait_until > $now");
            sql.push_str(&clause);
        }
        StatusFilter::Completed => sql.push_str(" AND completed"),
        StatusFilter::Blocked => {
            let clause = waiting(
                &mut args,
                " AND NOT completed AND (wait_until IS NULL OR wait_until <= $now) AND EXISTS
                      (SELECT 1 FROM task_dependencies d JOIN tasks b ON b.id = d.depends_on
                       WHERE d.task_id = tasks.id AND NOT b.completed)",
            );
            sql.push_str(&clause);
        }
        StatusFilter::Unblocked => {
            let clause = waiting(
                &mut args,
                " AND NOT completed AND (wait_until IS NULL OR wait_until <= $now) AND NOT EXISTS
                      (SELECT 1 FROM task_dependencies d JOIN tasks b ON b.id = d.depends_on
                       WHERE d.task_id = tasks.id AND NOT b.completed)",
            );
            sql.push_str(&clause);
        }
    }
    // Every word of the search, each anywhere in the task.
    for search in query.search().into_iter().flat_map(str::split_whitespace) {
        // ILIKE: case-insensitive as SQLite's LIKE is (and beyond ASCII).
        args.push(Box::new(like_pattern(search)));
        let n = args.len();
        sql.push_str(&format!(
            " AND (title ILIKE ${n} OR description ILIKE ${n} OR EXISTS (SELECT 1 FROM unnest(tags) AS t WHERE t ILIKE ${n})
                   OR EXISTS (SELECT 1 FROM task_notes WHERE task_notes.task_id = tasks.id AND task_notes.text ILIKE ${n}))"
        ));
    }
    for tag in query.tags() {
        // lower() follows the database's locale: Unicode in a UTF-8 one, as Rust's
        // lower case of the filter is; ASCII everywhere.
        args.push(Box::new(tag.to_string()));
        sql.push_str(&format!(
            " AND EXISTS (SELECT 1 FROM unnest(tags) AS t WHERE lower(t) = ${})",
            args.len()
        ));
    }
    for tag in query.not_tags() {
        args.push(Box::new(tag.to_string()));
        sql.push_str(&format!(
            " AND NOT EXISTS (SELECT 1 FROM unnest(tags) AS t WHERE lower(t) = ${})",
            args.len()
        ));
    }
    if let Some(priority) = query.priority() {
        args.push(Box::new(priority_to_sql(priority)));
        sql.push_str(&format!(" AND priority = ${}", args.len()));
    }
    if let Some(before) = query.due_before() {
        args.push(Box::new(to_micros(before)));
        sql.push_str(&format!(" AND due_at < ${}", args.len()));
    }
    if let Some(after) = query.due_after() {
        args.push(Box::new(to_micros(after)));
        sql.push_str(&format!(" AND due_at > ${}", args.len()));
    }
    (sql, args)
}

fn order_by(query: &TaskQuery) -> String {
    let direction = match query.order() {
        SortOrder::Asc => "ASC",
        SortOrder::Desc => "DESC",
    };
    // Tasks without a due date sort last either way; the id breaks ties so pages are stable.
    match query.sort() {
        SortField::Created => format!("created_at {direction}, id {direction}"),
        SortField::Updated => format!("updated_at {direction}, id {direction}"),
        SortField::Due => format!("due_at IS NULL, due_at {direction}, id {direction}"),
        SortField::Priority => format!("priority {direction}, id {direction}"),
        SortField::Title => format!("lower(title) {direction}, id {direction}"),
        SortField::Urgency => crate::store::urgency_order(query.order()),
    }
}

/// One page of the owner's tasks and the total that match, in one statement (one
/// snapshot, one round trip, one scan): `count(*) OVER ()` counts every match before
/// LIMIT applies. Only a page past the end (no row to carry the count) needs a second
/// statement.
pub(super) async fn list(
    c: &impl GenericClient,
    owner: Owner,
    query: &TaskQuery,
) -> StoreResult<(Vec<Task>, u64)> {
    let (filter, mut args) = filter(owner, query);
    let filter_args = args.len();
    args.push(Box::new(i64::from(query.limit())));
    args.push(Box::new(i64::from(query.offset())));
    let sql = format!(
        "SELECT {TASK_COLUMNS}, count(*) OVER () FROM tasks WHERE {filter} ORDER BY {}
         LIMIT ${} OFFSET ${}",
        order_by(query),
        filter_args + 1,
        filter_args + 2
    );
    let refs: Vec<&(dyn ToSql + Sync)> = args.iter().map(|a| a.as_ref() as _).collect();
    let stmt = c.prepare_cached(&sql).await?;
    let rows = c.query(&stmt, &refs).await?;
    let total = match rows.first() {
        // The window count comes right after the task's own columns.
        Some(row) => row.try_get::<_, i64>(TASK_FIELDS)?,
        None if query.offset() == 0 => 0,
        None => {
            let stmt = c
                .prepare_cached(&format!("SELECT count(*) FROM tasks WHERE {filter}"))
                .await?;
            c.query_one(&stmt, &refs[..filter_args]).await?.try_get(0)?
        }
    };
    let tasks = rows.iter().map(rows::task).collect::<StoreResult<Vec<_>>>()?;
    Ok((tasks, total.max(0) as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_pattern_escapes_wildcards() {
        assert_eq!(like_pattern("50%_a\\b"), "%50\\%\\_a\\\\b%");
    }
}
