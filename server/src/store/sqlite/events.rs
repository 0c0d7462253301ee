//! The `task_events` and `stream_leases` tables on SQLite.

use rusqlite::{Connection, OptionalExtension, Row, params};
use time::OffsetDateTime;
use todo_api::{EventType, Task};
use uuid::Uuid;

use super::{WriteTx, from_micros, to_micros};
use crate::store::{EventPage, EventRecord, Published, TaskChange};

fn conversion(e: impl std::error::Error + Send + Sync + 'static) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
}

pub(super) fn kind_to_sql(kind: EventType) -> &'static str {
    crate::store::history::kind_name(kind)
}

fn kind_from_sql(text: &str) -> rusqlite::Result<EventType> {
    crate::store::history::kind_of(text)
        .ok_or_else(|| conversion(std::io::Error::other(format!("unknown event kind {text:?}"))))
}

const COLUMNS: &str = "seq, kind, task_id, version, task, undoes, at, actor, change_group";

fn record(row: &Row<'_>) -> rusqlite::Result<EventRecord> {
    let stored: Option<String> = row.get(4)?;
    let kind = kind_from_sql(&row.get::<_, String>(1)?)?;
    let (task, project) = crate::store::history::decode_event(kind, stored.as_deref()).map_err(conversion)?;
    Ok(EventRecord {
        seq: row.get(0)?,
        kind,
        task_id: row.get(2)?,
        version: row.get(3)?,
        project,
        task,
        undoes: row.get(5)?,
        at: from_micros(row.get(6)?)?,
        actor: row
            .get::<_, Option<String>>(7)?
            .map(super::parse_uuid)
            .transpose()?,
        group: row
            .get::<_, Option<String>>(8)?
            .map(super::parse_uuid)
            .transpose()?,
    })
}

/// Appends a project's event to `user`'s stream with the user's next seq.
pub(super) fn append_news(
    tx: &WriteTx<'_>,
    user: Uuid,
    kind: EventType,
    news: &todo_api::ProjectNews,
    at: OffsetDateTime,
) -> rusqlite::Result<EventRecord> {
    let seq: i64 = tx
        .prepare_cached("UPDATE users SET event_seq = event_seq + 1 WHERE id = ?1 RETURNING event_seq")?
        .query_row([user.to_string()], |r| r.get(0))?;
    let json = serde_json::to_string(news).map_err(conversion)?;
    tx.prepare_cached(
        "INSERT INTO task_events (user_id, seq, kind, task_id, version, task, at, actor)
         VALUES (?1, ?2, ?3, 0, 0, ?4, ?5, ?6)",
    )?
    .execute(params![
        user.to_string(),
        seq,
        kind_to_sql(kind),
        json,
        to_micros(at),
        Uuid::nil().to_string(),
    ])?;
    Ok(EventRecord::news(seq, kind, news.clone(), at))
}

/// Who sees a task: every member of its project, or the user of a personal task.
pub(super) fn audience(conn: &Connection, project: Option<Uuid>, user: Uuid) -> rusqlite::Result<Vec<Uuid>> {
    let Some(project) = project else {
        return Ok(vec![user]);
    };
    conn.prepare_cached("SELECT user_id FROM project_members WHERE project_id = ?1")?
        .query_map([project.to_string()], |r| super::parse_uuid(r.get(0)?))?
        .collect()
}

/// Who sees task `id` now (nobody when there is no such task).
pub(super) fn audience_of_task(conn: &Connection, id: i64) -> rusqlite::Result<Vec<Uuid>> {
    match super::task_statements::placement(conn, id)? {
        Some((project, user)) => audience(conn, project, user),
        None => Ok(Vec::new()),
    }
}

/// Appends `change` to the stream of everyone who saw the task before it (`before`) or
/// sees it after (`after`), each with the kind [`TaskChange::kind_for`] gives them.
/// Returns each user's event, to publish once the write commits.
pub(super) fn fan_out(
    tx: &WriteTx<'_>,
    before: &[Uuid],
    after: &[Uuid],
    change: &TaskChange<'_>,
) -> rusqlite::Result<Published> {
    crate::store::audience_union(before, after)
        .map(|user| {
            let kind = change.kind_for(user, before, after);
            Ok((user, append(tx, user, kind, change)?))
        })
        .collect()
}

/// Appends the event of `change` to `user`'s stream with the user's next seq.
pub(super) fn append(
    tx: &WriteTx<'_>,
    user: Uuid,
    kind: EventType,
    change: &TaskChange<'_>,
) -> rusqlite::Result<EventRecord> {
    let seq: i64 = tx
        .prepare_cached("UPDATE users SET event_seq = event_seq + 1 WHERE id = ?1 RETURNING event_seq")?
        .query_row([user.to_string()], |r| r.get(0))?;
    let task = change.task.filter(|_| kind != EventType::Deleted);
    let json = task
        .map(crate::store::history::encode)
        .transpose()
        .map_err(conversion)?;
    // The undo mark belongs to the actor's stream: a seq means nothing in another's.
    let undoes = change.undoes.filter(|_| user == change.actor);
    tx.prepare_cached(
        "INSERT INTO task_events (user_id, seq, kind, task_id, version, task, undoes, at, actor, change_group)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?
    .execute(params![
        user.to_string(),
        seq,
        kind_to_sql(kind),
        change.task_id,
        change.version,
        json,
        undoes,
        to_micros(change.at),
        change.actor.to_string(),
        change.group.map(|g| g.to_string()),
    ])?;
    let record = EventRecord::new(
        seq,
        kind,
        change.task_id,
        change.version,
        task,
        undoes,
        change.at,
        change.actor,
    );
    Ok(EventRecord {
        group: change.group,
        ..record
    })
}

pub(super) fn after(conn: &Connection, user: Uuid, after: i64, limit: u32) -> rusqlite::Result<EventPage> {
    let id = user.to_string();
    let (latest, oldest): (i64, Option<i64>) = conn
        .prepare_cached(
            "SELECT u.event_seq, (SELECT min(seq) FROM task_events WHERE user_id = u.id)
             FROM users u WHERE u.id = ?1",
        )?
        .query_row([&id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?
        .unwrap_or((0, None));
    let events = conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM task_events WHERE user_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3"
        ))?
        .query_map(params![id, after, limit], record)?
        .collect::<rusqlite::Result<_>>()?;
    Ok(EventPage {
        events,
        latest,
        oldest,
    })
}

/// Every kept event of every user (for `migrate-to`).
pub(super) fn all(conn: &Connection) -> rusqlite::Result<Published> {
    conn.prepare(&format!("SELECT {COLUMNS}, user_id FROM task_events ORDER BY id"))?
        .query_map([], |row| Ok((super::parse_uuid(row.get(9)?)?, record(row)?)))?
        .collect()
}

pub(super) fn history(conn: &Connection, user: Uuid, task_id: i64) -> rusqlite::Result<Vec<EventRecord>> {
    conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM task_events WHERE user_id = ?1 AND task_id = ?2 ORDER BY seq"
    ))?
    .query_map(params![user.to_string(), task_id], record)?
    .collect()
}

/// The user's own latest changes (not those of others to shared tasks) that are not undos
/// and not undone yet, newest first.
pub(super) fn undoable(conn: &Connection, user: Uuid, limit: u32) -> rusqlite::Result<Vec<EventRecord>> {
    conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM task_events e WHERE e.user_id = ?1 AND e.undoes IS NULL
           AND COALESCE(e.actor, e.user_id) = ?1
           AND NOT EXISTS (SELECT 1 FROM task_events u WHERE u.user_id = ?1 AND u.undoes = e.seq)
         ORDER BY e.seq DESC LIMIT ?2"
    ))?
    .query_map(params![user.to_string(), limit], record)?
    .collect()
}

/// The user's events of change `group` not undone yet, oldest first (a task deleted
/// with its subtasks: the task, then each level below it).
pub(super) fn of_group(conn: &Connection, user: Uuid, group: Uuid) -> rusqlite::Result<Vec<EventRecord>> {
    conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM task_events e WHERE e.user_id = ?1 AND e.change_group = ?2
           AND NOT EXISTS (SELECT 1 FROM task_events u WHERE u.user_id = ?1 AND u.undoes = e.seq)
         ORDER BY e.seq"
    ))?
    .query_map(params![user.to_string(), group.to_string()], record)?
    .collect()
}

/// The task as it was just before change `seq` (`None`: it did not exist, or that is no
/// longer known).
pub(super) fn before(
    conn: &Connection,
    user: Uuid,
    task_id: i64,
    seq: i64,
) -> rusqlite::Result<Option<Task>> {
    let task: Option<Option<String>> = conn
        .prepare_cached(
            "SELECT task FROM task_events WHERE user_id = ?1 AND task_id = ?2 AND seq < ?3
             ORDER BY seq DESC LIMIT 1",
        )?
        .query_row(params![user.to_string(), task_id, seq], |r| r.get(0))
        .optional()?;
    task.flatten()
        .map(|t| crate::store::history::decode(&t).map_err(conversion))
        .transpose()
}

pub(super) fn open_lease(
    tx: &WriteTx<'_>,
    user: Uuid,
    lease: Uuid,
    now: i64,
    expires: i64,
    cap: u32,
) -> rusqlite::Result<bool> {
    let n = tx.execute(
        "INSERT INTO stream_leases (id, user_id, expires_at)
         SELECT ?1, ?2, ?3
         WHERE (SELECT count(*) FROM stream_leases WHERE user_id = ?2 AND expires_at > ?4) < ?5",
        params![lease.to_string(), user.to_string(), expires, now, cap],
    )?;
    Ok(n == 1)
}

pub(super) fn renew_lease(tx: &WriteTx<'_>, lease: Uuid, expires: i64) -> rusqlite::Result<()> {
    tx.execute(
        "UPDATE stream_leases SET expires_at = ?2 WHERE id = ?1",
        params![lease.to_string(), expires],
    )?;
    Ok(())
}

pub(super) fn close_lease(tx: &WriteTx<'_>, lease: Uuid) -> rusqlite::Result<()> {
    tx.execute("DELETE FROM stream_leases WHERE id = ?1", [lease.to_string()])?;
    Ok(())
}

/// Deletes old events beyond each user's last `keep`, and expired leases.
pub(super) fn prune(
    tx: &WriteTx<'_>,
    before: OffsetDateTime,
    keep: i64,
    now: i64,
    batch: u32,
) -> rusqlite::Result<usize> {
    let events = tx.execute(
        "DELETE FROM task_events WHERE id IN
           (SELECT e.id FROM task_events e JOIN users u ON u.id = e.user_id
            WHERE e.at < ?1 AND e.seq <= u.event_seq - ?2 LIMIT ?3)",
        params![to_micros(before), keep, batch],
    )?;
    let leases = tx.execute(
        "DELETE FROM stream_leases WHERE id IN
           (SELECT id FROM stream_leases WHERE expires_at < ?1 LIMIT ?2)",
        params![now, batch],
    )?;
    Ok(events + leases)
}

/// Users with events committed after row `since` (by any process), with their latest
/// seq, and the newest row id: how a server learns of other servers' changes.
pub(super) fn changed_since(conn: &Connection, since: i64) -> rusqlite::Result<(Vec<(Uuid, i64)>, i64)> {
    let rows: Vec<(String, i64, i64)> = conn
        .prepare_cached("SELECT user_id, max(seq), max(id) FROM task_events WHERE id > ?1 GROUP BY user_id")?
        .query_map([since], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let newest = rows.iter().map(|r| r.2).max().unwrap_or(since);
    let users = rows
        .into_iter()
        .filter_map(|(user, seq, _)| user.parse().ok().map(|u| (u, seq)))
        .collect();
    Ok((users, newest))
}

pub(super) fn newest_id(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("SELECT COALESCE(max(id), 0) FROM task_events", [], |r| r.get(0))
}
