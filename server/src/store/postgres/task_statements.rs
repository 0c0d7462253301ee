//! The `tasks` table on PostgreSQL. Every statement carries `WHERE user_id = $n` through
//! [`Owner`].

use deadpool_postgres::GenericClient;
use time::OffsetDateTime;
use todo_api::{SortField, SortOrder, StatusFilter, Task};
use tokio_postgres::types::ToSql;

use super::rows::{self, TASK_COLUMNS, priority_to_sql};
use crate::domain::tasks::{Owner, TaskDraft, TaskQuery};
use crate::store::{Expected, StoreResult, to_micros};

fn first_task(row: Option<tokio_postgres::Row>) -> StoreResult<Option<Task>> {
    row.as_ref().map(rows::task).transpose()
}

pub(super) async fn get(c: &impl GenericClient, owner: Owner, id: i64) -> StoreResult<Option<Task>> {
    let sql = format!("SELECT {TASK_COLUMNS} FROM tasks WHERE id = $1 AND user_id = $2");
    let stmt = c.prepare_cached(&sql).await?;
    first_task(c.query_opt(&stmt, &[&id, &owner.id()]).await?)
}

pub(super) async fn insert(
    c: &impl GenericClient,
    owner: Owner,
    draft: &TaskDraft,
    now: OffsetDateTime,
) -> StoreResult<Option<Task>> {
    let sql = format!(
        "INSERT INTO tasks (user_id, title, description, priority, due_at, tags, created_at, updated_at, source_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8)
         ON CONFLICT (user_id, source_id) WHERE source_id IS NOT NULL DO NOTHING RETURNING {TASK_COLUMNS}"
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
            ],
        )
        .await?;
    row.as_ref().map(rows::task).transpose()
}

/// The owner's task made from `source_id`.
pub(super) async fn by_source(
    c: &impl GenericClient,
    owner: Owner,
    source_id: &str,
) -> StoreResult<Option<Task>> {
    let sql = format!("SELECT {TASK_COLUMNS} FROM tasks WHERE user_id = $1 AND source_id = $2");
    let row = c.query_opt(&sql, &[&owner.id(), &source_id]).await?;
    row.as_ref().map(rows::task).transpose()
}

#[allow(clippy::too_many_arguments)]
pub(super) async fn replace(
    c: &impl GenericClient,
    owner: Owner,
    id: i64,
    expected: Expected,
    draft: &TaskDraft,
    completed: Option<bool>,
    now: OffsetDateTime,
) -> StoreResult<Option<Task>> {
    let sql = format!(
        "UPDATE tasks SET title = $3, description = $4, priority = $5, due_at = $6, tags = $7,
                          updated_at = $8, version = version + 1,
                          completed_at = CASE WHEN $10::boolean IS NULL OR $10 = completed THEN completed_at
                                              WHEN $10 THEN $8 ELSE NULL END,
                          completed = COALESCE($10, completed)
         WHERE id = $1 AND user_id = $2 AND ($9::bigint IS NULL OR version = $9)
         RETURNING {TASK_COLUMNS}"
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
             completed = COALESCE($5, NOT completed)
         WHERE id = $1 AND user_id = $2 AND ($4::bigint IS NULL OR version = $4)
         RETURNING {TASK_COLUMNS}"
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

/// Deletes the task at `expected`; returns the version it had.
pub(super) async fn delete(
    c: &impl GenericClient,
    owner: Owner,
    id: i64,
    expected: Expected,
) -> StoreResult<Option<i64>> {
    let stmt = c
        .prepare_cached(
            "DELETE FROM tasks WHERE id = $1 AND user_id = $2 AND ($3::bigint IS NULL OR version = $3)
             RETURNING version",
        )
        .await?;
    match c
        .query_opt(&stmt, &[&id, &owner.id(), &expected.version()])
        .await?
    {
        Some(row) => Ok(Some(row.try_get(0)?)),
        None => Ok(None),
    }
}

/// Gives the task every field of `snapshot` back (an undo), at `version`.
pub(super) async fn restore(
    c: &impl GenericClient,
    owner: Owner,
    snapshot: &Task,
    version: i64,
    now: OffsetDateTime,
) -> StoreResult<Option<Task>> {
    let sql = format!(
        "UPDATE tasks SET title = $3, description = $4, priority = $5, due_at = $6, tags = $7,
                          completed = $8, completed_at = $9, version = $10, updated_at = $11
         WHERE id = $1 AND user_id = $2 RETURNING {TASK_COLUMNS}"
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
            ],
        )
        .await?;
    first_task(row)
}

/// Puts a deleted task back with its id and fields (an undo), at `version`.
pub(super) async fn reinsert(
    c: &impl GenericClient,
    owner: Owner,
    snapshot: &Task,
    version: i64,
    now: OffsetDateTime,
) -> StoreResult<Task> {
    let sql = format!(
        "INSERT INTO tasks (id, user_id, title, description, priority, due_at, tags, completed,
                           completed_at, version, created_at, updated_at, source_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12,
                 -- Back with its source, unless a later import took that source.
                 CASE WHEN EXISTS (SELECT 1 FROM tasks WHERE user_id = $2 AND source_id = $13::text)
                      THEN NULL ELSE $13::text END)
         RETURNING {TASK_COLUMNS}"
    );
    let row = c
        .query_one(
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
            ],
        )
        .await?;
    rows::task(&row)
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
    let mut sql = String::from("user_id = $1");
    let mut args: Vec<Param> = vec![Box::new(owner.id())];
    match query.status() {
        StatusFilter::All => {}
        StatusFilter::Pending => sql.push_str(" AND NOT completed"),
        StatusFilter::Completed => sql.push_str(" AND completed"),
    }
    if let Some(search) = query.search() {
        // ILIKE: case-insensitive as SQLite's LIKE is (and beyond ASCII).
        args.push(Box::new(like_pattern(search)));
        let n = args.len();
        sql.push_str(&format!(
            " AND (title ILIKE ${n} OR description ILIKE ${n} OR EXISTS (SELECT 1 FROM unnest(tags) AS t WHERE t ILIKE ${n}))"
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
    if let Some(priority) = query.priority() {
        args.push(Box::new(priority_to_sql(priority)));
        sql.push_str(&format!(" AND priority = ${}", args.len()));
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
        Some(row) => row.try_get::<_, i64>(TASK_COLUMNS.split(',').count())?,
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
