//! Bringing a replica and the server together: queued writes sent in order, each exactly
//! once (its idempotency key) and never over a change made meanwhile (its base version);
//! then the replica caught up from the change stream (a full reload when the server no
//! longer keeps what was missed).

use std::time::Duration;

use time::OffsetDateTime;
use todo_api::{EventType, ListQuery, ProblemCode, StatusFilter, Task, TaskEvent};

use crate::events::{ChangeStream, StreamNews};
use crate::replica::{Conflict, QueuedWrite, Replica, ReplicaError, Write};
use crate::{ClientError, Session};

/// Why a sync stopped.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error(transparent)]
    Replica(#[from] ReplicaError),
    /// The change stream did not finish its replay (the reason it gave).
    #[error("the change stream broke off: {0}")]
    Stream(String),
}

impl SyncError {
    /// The server could not be reached (the writes stay queued).
    pub fn is_offline(&self) -> bool {
        matches!(self, SyncError::Client(ClientError::Unreachable { .. }))
    }
}

/// What sending the queue did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Sent {
    pub applied: usize,
    /// Writes the server refused this time (kept as conflicts).
    pub conflicts: usize,
}

/// Sends every queued write (not conflicts) in order. Stops at the first that gets no
/// answer (offline, a retry still running, a server error): it and the rest stay queued,
/// and sending again later applies each once.
pub async fn send_queue(session: &Session, replica: &Replica) -> Result<Sent, SyncError> {
    let mut sent = Sent::default();
    while let Some(queued) = replica.next_queued()? {
        match session.send_queued(&queued).await {
            Ok(answer) => {
                applied(replica, &queued, answer.as_ref())?;
                sent.applied += 1;
            }
            Err(e) if stops_the_queue(&e) => return Err(e.into()),
            Err(e) if let Some(task) = already_applied(&queued.write, &e) => {
                // Applied by an earlier try whose answer was lost (the server stopped after
                // committing): done, once.
                applied(replica, &queued, Some(&task))?;
                sent.applied += 1;
            }
            Err(e) => match refused(&queued.write, &e) {
                Some(conflict) => {
                    replica.mark_conflict(queued.n, &conflict)?;
                    sent.conflicts += 1;
                }
                None => {
                    replica.dequeue(queued.n)?;
                    sent.applied += 1;
                }
            },
        }
    }
    Ok(sent)
}

/// The server applied `queued`: the replica takes its answer, the queue lets it go.
fn applied(replica: &Replica, queued: &QueuedWrite, answer: Option<&Task>) -> Result<(), ReplicaError> {
    match (answer, queued.write.task_id()) {
        (Some(task), _) => replica.keep(std::slice::from_ref(task))?,
        (None, Some(id)) => replica.forget(id, i64::MAX)?,
        (None, None) => {}
    }
    if let (Some(id), Some(from), Some(task)) = (queued.write.task_id(), queued.base_version, answer) {
        replica.follow(id, from, task.version)?;
    }
    replica.dequeue(queued.n)
}

/// The task as an earlier try of `write` left it, when the refusal says that try was
/// applied: a create's source is taken by the task it made, or the task already holds
/// every field the write sets. (The key's stored answer covers a retry; these cover a
/// server that stopped between committing and storing that answer.)
fn already_applied(write: &Write, e: &ClientError) -> Option<Task> {
    match write {
        Write::Create { input } => e
            .existing_task()
            .filter(|t| t.source_id.is_some() && t.source_id == input.source_id)
            .cloned(),
        Write::Complete { completed, .. } => e.current_task().filter(|t| t.completed == *completed).cloned(),
        Write::Patch { patch, .. } => e.current_task().filter(|t| holds(t, patch)).cloned(),
        Write::Delete { .. } => None,
    }
}

/// Whether `task` already has every field `patch` sets (so applying it changes nothing).
fn holds(task: &Task, patch: &todo_api::TaskPatch) -> bool {
    let (Ok(task), Ok(patch)) = (serde_json::to_value(task), serde_json::to_value(patch)) else {
        return false;
    };
    let Some(fields) = patch.as_object() else {
        return false;
    };
    fields.iter().all(|(name, value)| match name.as_str() {
        // Relative reminders and a scope are not fields of the answer as given.
        "scope" => true,
        _ => task.get(name).unwrap_or(&serde_json::Value::Null) == value,
    })
}

/// No answer to act on: try the same write again later.
fn stops_the_queue(e: &ClientError) -> bool {
    matches!(e, ClientError::Unreachable { .. } | ClientError::Protocol(_))
        || e.needs_sign_in()
        || e.code() == Some(ProblemCode::RequestInProgress)
        || e.http_status().is_none_or(|s| s >= 500 || s == 429)
}

/// A refusal as a conflict to keep, or `None` when the write no longer applies (a
/// delete of a task already gone).
fn refused(write: &Write, e: &ClientError) -> Option<Conflict> {
    if e.code() == Some(ProblemCode::VersionConflict) {
        return Some(Conflict {
            reason: "changed on the server since".into(),
            theirs: e.current_task().cloned(),
        });
    }
    match (write, e.http_status()) {
        (Write::Delete { .. }, Some(404)) => None,
        (_, Some(404)) => Some(Conflict {
            reason: "deleted on the server".into(),
            theirs: None,
        }),
        _ => Some(Conflict {
            reason: format!("refused: {e}"),
            theirs: None,
        }),
    }
}

/// How long a catch-up waits for the next piece of news before giving up.
const QUIET_LIMIT: Duration = Duration::from_secs(30);

/// Applies every change since the replica's position (a full reload if the server no
/// longer keeps them), up to the end of the replay. Returns the position reached.
pub async fn catch_up(session: &Session, replica: &Replica) -> Result<i64, SyncError> {
    let mut position = replica.freshness()?.seq.unwrap_or(0);
    let mut stream = ChangeStream::start(session.clone(), Some(position));
    loop {
        let news = tokio::time::timeout(QUIET_LIMIT, stream.next())
            .await
            .map_err(|_| SyncError::Stream("no answer for 30 s".into()))?;
        match news {
            Some(StreamNews::Connected) => {}
            Some(StreamNews::Change(event)) => {
                apply(replica, &event)?;
                position = position.max(event.seq);
            }
            Some(StreamNews::Reset { seq }) => {
                reload(session, replica, seq).await?;
                position = seq;
            }
            Some(StreamNews::Live) => {
                replica.caught_up(position, OffsetDateTime::now_utc())?;
                return Ok(position);
            }
            Some(StreamNews::Stopped(e)) => return Err(e.into()),
            Some(StreamNews::Reconnecting(reason)) => {
                // The first failure to connect is the server being away: say so plainly.
                return Err(match session.api().jwks().await {
                    Err(e @ ClientError::Unreachable { .. }) => e.into(),
                    _ => SyncError::Stream(reason),
                });
            }
            None => return Err(SyncError::Stream("the stream ended".into())),
        }
    }
}

/// One change applied to the replica: a task's new state kept, a deleted one forgotten,
/// a project left taking its tasks along.
pub fn apply(replica: &Replica, event: &TaskEvent) -> Result<(), ReplicaError> {
    match event.kind {
        EventType::Deleted => {
            let version = event
                .task
                .get("version")
                .and_then(|v| v.as_i64())
                .unwrap_or(i64::MAX);
            match event.task_id() {
                Some(id) => replica.forget(id, version),
                None => Ok(()),
            }
        }
        EventType::ProjectRemoved => match &event.project {
            Some(news) => replica.forget_project(news.project_id),
            None => Ok(()),
        },
        _ => match serde_json::from_value::<Task>(event.task.clone()) {
            Ok(task) => replica.keep(&[task]),
            // A project's news or a notice without a whole task: nothing to keep.
            Err(_) => Ok(()),
        },
    }
}

/// Replaces the replica's tasks with every task the server has, at stream position `seq`
/// (after a `reset`: the changes since the last position are no longer kept).
pub async fn reload(session: &Session, replica: &Replica, seq: i64) -> Result<(), SyncError> {
    let tasks = every_task(session).await?;
    replica.reload(&tasks, seq, OffsetDateTime::now_utc())?;
    Ok(())
}

/// Every task the account sees, a page at a time.
async fn every_task(session: &Session) -> Result<Vec<Task>, ClientError> {
    let page = todo_api::limits::LIST_LIMIT_MAX;
    let mut tasks = Vec::new();
    loop {
        let query = ListQuery {
            status: Some(StatusFilter::All),
            sort: Some(todo_api::SortField::Created),
            order: Some(todo_api::SortOrder::Asc),
            limit: Some(page),
            offset: Some(tasks.len() as u32),
            ..ListQuery::default()
        };
        let got = session.list_tasks(&query).await?;
        let done = got.tasks.len() < page as usize;
        tasks.extend(got.tasks);
        if done {
            return Ok(tasks);
        }
    }
}

/// What a whole sync did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Synced {
    pub sent: Sent,
    pub position: i64,
}

/// Sends the queue, then catches up; one sync at a time per replica (a lock beside it),
/// so the TUI and a script never send the same write at once.
pub async fn sync(session: &Session, replica: &Replica) -> Result<Synced, SyncError> {
    let lock_path = replica.path().with_extension("sync.lock");
    let _lock = tokio::task::spawn_blocking(move || crate::credentials::lock_file(&lock_path))
        .await
        .map_err(|_| SyncError::Stream("the lock worker failed".into()))??;
    let sent = send_queue(session, replica).await?;
    let position = catch_up(session, replica).await?;
    Ok(Synced { sent, position })
}
