//! The `task_events` and `stream_leases` tables on PostgreSQL. Every task write takes
//! the user's row lock first (`users.event_seq`), so one user's changes commit one
//! after another in seq order on every server, and a change's event is in its
//! transaction. Other servers learn of it from `NOTIFY todo_events, '<user> <seq>'`,
//! sent after the commit (see `notify.rs`).

use deadpool_postgres::GenericClient;
use time::OffsetDateTime;
use todo_api::{EventType, Task};
use tokio_postgres::Row;
use uuid::Uuid;

use super::rows;
use crate::store::{EventPage, EventRecord, Published, StoreError, StoreResult, TaskChange, to_micros};

pub(super) const CHANNEL: &str = "todo_events";

pub(super) fn kind_to_sql(kind: EventType) -> &'static str {
    crate::store::history::kind_name(kind)
}

fn kind_from_sql(text: &str) -> StoreResult<EventType> {
    crate::store::history::kind_of(text)
        .ok_or_else(|| StoreError::Corrupt(format!("unknown event kind {text:?}")))
}

fn corrupt(e: serde_json::Error) -> StoreError {
    StoreError::Corrupt(format!("a stored event's task: {e}"))
}

const COLUMNS: &str = "seq, kind, task_id, version, task, undoes, at, actor, change_group";

fn record(row: &Row) -> StoreResult<EventRecord> {
    let stored: Option<String> = row.try_get(4)?;
    let kind = kind_from_sql(row.try_get(1)?)?;
    let (task, project) = crate::store::history::decode_event(kind, stored.as_deref()).map_err(corrupt)?;
    Ok(EventRecord {
        seq: row.try_get(0)?,
        kind,
        task_id: row.try_get(2)?,
        version: row.try_get(3)?,
        project,
        task,
        undoes: row.try_get(5)?,
        at: rows::time(row.try_get(6)?)?,
        actor: row.try_get(7)?,
        group: row.try_get(8)?,
    })
}

/// Locks the user's row and takes their next seq. Called first in every task-writing
/// transaction, so locks are always taken user first, then task (no deadlock), and
/// rolled back with the transaction when the write does not happen.
pub(super) async fn next_seq(c: &impl GenericClient, user: Uuid) -> StoreResult<i64> {
    let stmt = c
        .prepare_cached("UPDATE users SET event_seq = event_seq + 1 WHERE id = $1 RETURNING event_seq")
        .await?;
    // No row: the user was deleted while this write ran.
    let row = c.query_opt(&stmt, &[&user]).await?.ok_or(StoreError::OwnerGone)?;
    Ok(row.try_get(0)?)
}

/// Records the event `seq` (from [`next_seq`]) of `change` in `user`'s stream; returns it.
pub(super) async fn append(
    c: &impl GenericClient,
    user: Uuid,
    seq: i64,
    kind: EventType,
    change: &TaskChange<'_>,
) -> StoreResult<EventRecord> {
    let task = change.task.filter(|_| kind != EventType::Deleted);
    let json = task
        .map(crate::store::history::encode)
        .transpose()
        .map_err(corrupt)?;
    // The undo mark belongs to the actor's stream: a seq means nothing in another's.
    let undoes = change.undoes.filter(|_| user == change.actor);
    let stmt = c
        .prepare_cached(
            "INSERT INTO task_events (user_id, seq, kind, task_id, version, task, undoes, at, actor, change_group)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .await?;
    c.execute(
        &stmt,
        &[
            &user,
            &seq,
            &kind_to_sql(kind),
            &change.task_id,
            &change.version,
            &json,
            &undoes,
            &to_micros(change.at),
            &change.actor,
            &change.group,
        ],
    )
    .await?;
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

/// Appends a project's event to `user`'s stream (their row locked by the caller).
pub(super) async fn append_news(
    c: &impl GenericClient,
    user: Uuid,
    kind: EventType,
    news: &todo_api::ProjectNews,
    at: OffsetDateTime,
) -> StoreResult<EventRecord> {
    let seq = next_seq(c, user).await?;
    let json = serde_json::to_string(news).map_err(corrupt)?;
    let stmt = c
        .prepare_cached(
            "INSERT INTO task_events (user_id, seq, kind, task_id, version, task, at, actor)
             VALUES ($1, $2, $3, 0, 0, $4, $5, $6)",
        )
        .await?;
    c.execute(
        &stmt,
        &[
            &user,
            &seq,
            &kind_to_sql(kind),
            &json,
            &to_micros(at),
            &Uuid::nil(),
        ],
    )
    .await?;
    Ok(EventRecord::news(seq, kind, news.clone(), at))
}

/// Who sees a task: every member of its project, or the user of a personal task.
pub(super) async fn audience(
    c: &impl GenericClient,
    project: Option<Uuid>,
    user: Uuid,
) -> StoreResult<Vec<Uuid>> {
    let Some(project) = project else {
        return Ok(vec![user]);
    };
    let stmt = c
        .prepare_cached("SELECT user_id FROM project_members WHERE project_id = $1 ORDER BY user_id")
        .await?;
    c.query(&stmt, &[&project])
        .await?
        .iter()
        .map(|r| Ok(r.try_get(0)?))
        .collect()
}

/// Locks what a task change depends on, in one order everywhere (projects, then users,
/// each by id), so two servers' writes wait for each other instead of deadlocking:
/// each project among `places` (shared: a membership change, which locks it
/// exclusively, waits, and the audience stays as read), then the row of everyone who
/// sees a task there (a place is a project, or none and the user of a personal task).
/// Returns each place's audience, in order.
pub(super) async fn lock_audiences(
    c: &impl GenericClient,
    places: &[(Option<Uuid>, Uuid)],
) -> StoreResult<Vec<Vec<Uuid>>> {
    let mut shared: Vec<Uuid> = places.iter().filter_map(|(p, _)| *p).collect();
    shared.sort();
    shared.dedup();
    if !shared.is_empty() {
        c.execute(
            "SELECT 1 FROM projects WHERE id = ANY($1) ORDER BY id FOR SHARE",
            &[&shared],
        )
        .await?;
    }
    let mut audiences = Vec::with_capacity(places.len());
    for (project, user) in places {
        audiences.push(audience(c, *project, *user).await?);
    }
    let mut everyone: Vec<Uuid> = audiences.iter().flatten().copied().collect();
    everyone.sort();
    everyone.dedup();
    let stmt = c
        .prepare_cached("SELECT 1 FROM users WHERE id = ANY($1) ORDER BY id FOR UPDATE")
        .await?;
    c.execute(&stmt, &[&everyone]).await?;
    Ok(audiences)
}

/// Appends `change` to the stream of everyone who saw the task before it or sees it
/// after, each with the kind [`TaskChange::kind_for`] gives them (their rows locked by
/// [`lock_audiences`]). Returns each user's event, to publish after the commit.
pub(super) async fn fan_out(
    c: &impl GenericClient,
    before: &[Uuid],
    after: &[Uuid],
    change: &TaskChange<'_>,
) -> StoreResult<Published> {
    let mut published = Vec::new();
    for user in crate::store::audience_union(before, after) {
        let seq = next_seq(c, user).await?;
        let kind = change.kind_for(user, before, after);
        published.push((user, append(c, user, seq, kind, change).await?));
    }
    Ok(published)
}

pub(super) async fn after(
    c: &impl GenericClient,
    user: Uuid,
    after: i64,
    limit: u32,
) -> StoreResult<EventPage> {
    let stmt = c
        .prepare_cached(
            "SELECT u.event_seq, (SELECT min(seq) FROM task_events WHERE user_id = u.id)
             FROM users u WHERE u.id = $1",
        )
        .await?;
    let (latest, oldest) = match c.query_opt(&stmt, &[&user]).await? {
        Some(row) => (row.try_get(0)?, row.try_get(1)?),
        None => (0, None),
    };
    let stmt = c
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM task_events WHERE user_id = $1 AND seq > $2 ORDER BY seq LIMIT $3"
        ))
        .await?;
    let events = c
        .query(&stmt, &[&user, &after, &i64::from(limit)])
        .await?
        .iter()
        .map(record)
        .collect::<StoreResult<_>>()?;
    Ok(EventPage {
        events,
        latest,
        oldest,
    })
}

pub(super) async fn history(
    c: &impl GenericClient,
    user: Uuid,
    task_id: i64,
) -> StoreResult<Vec<EventRecord>> {
    let stmt = c
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM task_events WHERE user_id = $1 AND task_id = $2 ORDER BY seq"
        ))
        .await?;
    c.query(&stmt, &[&user, &task_id])
        .await?
        .iter()
        .map(record)
        .collect()
}

/// The user's own latest changes (not others' to shared tasks) that are not undos and
/// not undone yet, newest first.
/// The user's events of change `group` not undone yet, oldest first (a task deleted
/// with its subtasks: the task, then each level below it).
pub(super) async fn of_group(
    c: &impl GenericClient,
    user: Uuid,
    group: Uuid,
) -> StoreResult<Vec<EventRecord>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM task_events e WHERE e.user_id = $1 AND e.change_group = $2
           AND NOT EXISTS (SELECT 1 FROM task_events u WHERE u.user_id = $1 AND u.undoes = e.seq)
         ORDER BY e.seq"
    );
    c.query(&sql, &[&user, &group])
        .await?
        .iter()
        .map(record)
        .collect()
}

pub(super) async fn undoable(
    c: &impl GenericClient,
    user: Uuid,
    limit: u32,
) -> StoreResult<Vec<EventRecord>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM task_events e WHERE e.user_id = $1 AND e.undoes IS NULL
           AND COALESCE(e.actor, e.user_id) = $1
           AND NOT EXISTS (SELECT 1 FROM task_events u WHERE u.user_id = $1 AND u.undoes = e.seq)
         ORDER BY e.seq DESC LIMIT $2"
    );
    c.query(&sql, &[&user, &i64::from(limit)])
        .await?
        .iter()
        .map(record)
        .collect()
}

/// The task as it was just before change `seq`.
pub(super) async fn before(
    c: &impl GenericClient,
    user: Uuid,
    task_id: i64,
    seq: i64,
) -> StoreResult<Option<Task>> {
    let row = c
        .query_opt(
            "SELECT task FROM task_events WHERE user_id = $1 AND task_id = $2 AND seq < $3
             ORDER BY seq DESC LIMIT 1",
            &[&user, &task_id, &seq],
        )
        .await?;
    let task: Option<String> = match row {
        Some(row) => row.try_get(0)?,
        None => None,
    };
    task.map(|t| crate::store::history::decode(&t).map_err(corrupt))
        .transpose()
}

pub(super) async fn prune(
    c: &impl GenericClient,
    before: OffsetDateTime,
    keep: i64,
    now: i64,
    batch: u32,
) -> StoreResult<usize> {
    let batch = i64::from(batch);
    let events = c
        .execute(
            "DELETE FROM task_events WHERE (user_id, seq) IN
               (SELECT e.user_id, e.seq FROM task_events e JOIN users u ON u.id = e.user_id
                WHERE e.at < $1 AND e.seq <= u.event_seq - $2 LIMIT $3)",
            &[&to_micros(before), &keep, &batch],
        )
        .await?;
    let leases = c
        .execute(
            "DELETE FROM stream_leases WHERE id IN
               (SELECT id FROM stream_leases WHERE expires_at < $1 LIMIT $2)",
            &[&now, &batch],
        )
        .await?;
    Ok((events + leases) as usize)
}
