//! `todo` without the server: reads answer from the account's local copy (saying how
//! old it is), writes go to a queue, and the next command that reaches the server (or
//! `todo sync`) sends them first, in order and each exactly once. `--online` refuses all
//! of it. `todo sync` and `todo conflicts` manage the queue.

use time::OffsetDateTime;
use todo_api::{ListQuery, SortField, StatusFilter, Task, TaskPatch};
use todo_client::replica::{QueuedWrite, Replica, Write};
use todo_client::sync::SyncError;
use todo_client::{ClientError, Session};

use crate::args::{ConflictCommand, Keep, TaskCommand};
use crate::exit::CliError;
use crate::io::Io;
use crate::output::shown;

impl From<SyncError> for CliError {
    fn from(e: SyncError) -> CliError {
        match e {
            SyncError::Client(e) => CliError::Client(e),
            other => CliError::Failed(other.to_string()),
        }
    }
}

impl From<todo_client::replica::ReplicaError> for CliError {
    fn from(e: todo_client::replica::ReplicaError) -> CliError {
        CliError::Failed(e.to_string())
    }
}

/// The account's replica, when the account is known without the network (stored
/// credentials, or `TODO_TOKEN` holding an access token). A replica that cannot be
/// opened is said once and left out: the command goes on online.
pub async fn open(session: &Session, io: &mut Io) -> Option<Replica> {
    let user = session.user_id().await.ok()?;
    match Replica::for_account(session.server(), user) {
        Ok(replica) => Some(replica),
        Err(e) => {
            io.warn(&format!("todo: without a local copy: {e}"));
            None
        }
    }
}

/// Sends what was queued before this command, so nothing made now overtakes it. The
/// error is the one that stopped it (the server away: this command goes offline too).
pub async fn send_queued(session: &Session, replica: &Replica, io: &mut Io) -> Result<(), CliError> {
    if replica.freshness()?.queued == 0 {
        return Ok(());
    }
    let sent = todo_client::sync::send_queue(session, replica).await?;
    if sent.applied > 0 && !io.quiet() {
        io.warn(&format!("Sent {} change(s) queued while offline.", sent.applied));
    }
    if sent.conflicts > 0 {
        io.warn(&format!(
            "todo: {} queued change(s) conflict with changes on the server: see todo conflicts",
            sent.conflicts
        ));
    }
    Ok(())
}

/// The command answered without the server: a read from the replica, a write queued.
/// `why` is the error that said the server is away (returned when the replica cannot
/// answer).
pub fn answer(
    command: TaskCommand,
    replica: &Replica,
    config: &todo_client::config::Config,
    io: &mut Io,
    why: ClientError,
) -> Result<(), CliError> {
    let now = OffsetDateTime::now_utc();
    let fresh = replica.freshness()?;
    let read = |io: &mut Io| -> Result<(), CliError> {
        let Some(synced) = fresh.synced_at else {
            io.warn("todo: no local copy yet: run todo sync while the server can be reached");
            return Err(CliError::Client(why.clone()));
        };
        io.warn(&format!(
            "todo: offline ({}): showing the local copy from {} ago{}",
            why,
            todo_client::due::age(now - synced),
            queued_note(fresh.queued)
        ));
        Ok(())
    };
    match command {
        TaskCommand::List(l) => {
            let filter = super::tasks::parse_filter(&l.filter)?;
            let project = local_project(filter.project.as_deref().or(l.project.as_deref()), &why)?;
            let query = super::tasks::list_query(l, config, project, &filter);
            read(io)?;
            list(replica, io, &query, now)
        }
        TaskCommand::Count { filter } => {
            let filter = super::tasks::parse_filter(&filter)?;
            let mut query = ListQuery {
                status: Some(config.status.unwrap_or(StatusFilter::Pending)),
                project: local_project(filter.project.as_deref(), &why)?,
                ..ListQuery::default()
            };
            filter.apply(&mut query);
            read(io)?;
            let n = todo_client::replica::matching(replica.tasks()?, &query, now).len();
            crate::outln!(io, "{n}");
            Ok(())
        }
        TaskCommand::Next { count, project } => {
            let query = ListQuery {
                status: Some(StatusFilter::Unblocked),
                sort: Some(SortField::Urgency),
                limit: Some(count.clamp(1, todo_api::limits::LIST_LIMIT_MAX)),
                project: local_project(project.as_deref(), &why)?,
                ..ListQuery::default()
            };
            read(io)?;
            list(replica, io, &query, now)
        }
        TaskCommand::Show(a) => {
            read(io)?;
            let task = known(replica, a.id)?;
            crate::output::print_task(io, &task);
            Ok(())
        }
        TaskCommand::Add(a) => {
            let (input, project) = super::tasks::add_input(a)?;
            if project.is_some() {
                io.warn("todo: a project is found by name on the server: add it to the project once online");
                return Err(CliError::Client(why));
            }
            queue(replica, io, &Write::Create { input }, None)
        }
        TaskCommand::Edit(e) => {
            let current = known(replica, e.id)?;
            let patch = edit_patch(&e, &current)?;
            queue(
                replica,
                io,
                &Write::Patch { id: e.id, patch },
                Some(current.version),
            )
        }
        TaskCommand::Done(ids) | TaskCommand::Undone(ids) if ids.ids().is_empty() => {
            Err(CliError::Usage("give the ids of the tasks".into()))
        }
        TaskCommand::Done(ids) => complete(replica, io, &ids.ids(), true),
        TaskCommand::Undone(ids) => complete(replica, io, &ids.ids(), false),
        TaskCommand::Rm(r) => {
            if !r.yes && io.stdin_is_terminal() {
                io.warn("todo: offline, a delete is queued only with --yes (nothing was asked)");
                return Err(CliError::Client(why));
            }
            for id in r.ids.ids() {
                let current = known(replica, id)?;
                queue(replica, io, &Write::Delete { id }, Some(current.version))?;
            }
            Ok(())
        }
        // Notes are not queued: say the server is away.
        TaskCommand::Note(_) => Err(CliError::Client(why)),
    }
}

/// A project filter the replica can apply: `none` or an id; a name needs the server.
fn local_project(given: Option<&str>, why: &ClientError) -> Result<Option<String>, CliError> {
    match given.map(str::trim) {
        None => Ok(None),
        Some("none") => Ok(Some("none".into())),
        Some(id) if id.parse::<uuid::Uuid>().is_ok() => Ok(Some(id.to_string())),
        Some(_) => Err(CliError::Failed(format!(
            "{why}; a project is found by name on the server (offline, give its id or none)"
        ))),
    }
}

fn list(replica: &Replica, io: &mut Io, query: &ListQuery, now: OffsetDateTime) -> Result<(), CliError> {
    let tasks = todo_client::replica::matching(replica.tasks()?, query, now);
    crate::output::print_tasks(io, &tasks, tasks.len() as u64, &Default::default());
    if !io.json() && !io.quiet() {
        for queued in replica.queue()? {
            crate::outln!(
                io,
                "  queued: {}{}",
                queued.write.describe(),
                conflict_note(&queued)
            );
        }
    }
    Ok(())
}

fn conflict_note(queued: &QueuedWrite) -> String {
    match &queued.conflict {
        Some(c) => format!(" (conflict: {}; todo conflicts)", c.reason),
        None => String::new(),
    }
}

/// The task as last seen, or "not found" (exit 3) naming where it looked.
fn known(replica: &Replica, id: i64) -> Result<Task, CliError> {
    replica.task(id)?.ok_or_else(|| CliError::Partial {
        message: format!("task {id} is not in your local copy (offline: todo sync when the server is back)"),
        code: crate::exit::NOT_FOUND,
    })
}

fn complete(replica: &Replica, io: &mut Io, ids: &[i64], completed: bool) -> Result<(), CliError> {
    for &id in ids {
        let current = known(replica, id)?;
        queue(
            replica,
            io,
            &Write::Complete { id, completed },
            Some(current.version),
        )?;
    }
    Ok(())
}

/// Queues `write` and says so (stderr: stdout stays for data; `--json` prints the
/// queued write).
fn queue(replica: &Replica, io: &mut Io, write: &Write, base_version: Option<i64>) -> Result<(), CliError> {
    let queued = replica.enqueue(write, base_version, OffsetDateTime::now_utc())?;
    if io.json() {
        io.print_json(&serde_json::json!({
            "queued": queued.n,
            "change": queued.write.describe(),
            "idempotency_key": queued.idempotency_key,
        }));
    } else if !io.quiet() {
        io.warn(&format!(
            "Queued: {} (the server cannot be reached; the next command that reaches it, or todo sync, sends it)",
            write.describe()
        ));
    }
    Ok(())
}

/// `todo edit` as a patch on the task as last seen (+tag/-tag from its tags).
fn edit_patch(e: &crate::args::EditArgs, current: &Task) -> Result<TaskPatch, CliError> {
    super::tasks::edit_patch_on(e, &current.tags)
}

fn queued_note(n: usize) -> String {
    match n {
        0 => String::new(),
        n => format!("; {n} change(s) queued"),
    }
}

/// `todo sync [--status]`.
pub async fn sync(session: &Session, status: bool, io: &mut Io) -> Result<(), CliError> {
    let user = session.user_id().await?;
    let replica = Replica::for_account(session.server(), user)?;
    if !status {
        let synced = todo_client::sync::sync(session, &replica).await?;
        if !io.quiet() && !io.json() {
            io.warn(&format!(
                "Synced: {} queued change(s) sent{}, up to date at change {}.",
                synced.sent.applied,
                match synced.sent.conflicts {
                    0 => String::new(),
                    n => format!(", {n} refused as conflicts"),
                },
                synced.position
            ));
        }
    }
    let fresh = replica.freshness()?;
    let now = OffsetDateTime::now_utc();
    if io.json() {
        io.print_json(&serde_json::json!({
            "tasks": fresh.tasks,
            "queued": fresh.queued,
            "conflicts": fresh.conflicts,
            "seq": fresh.seq,
            "synced_at": fresh.synced_at.map(|t| t.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()),
            "path": replica.path().display().to_string(),
        }));
    } else if status {
        crate::outln!(
            io,
            "local copy: {} ({} tasks)",
            replica.path().display(),
            fresh.tasks
        );
        match fresh.synced_at {
            Some(at) => crate::outln!(
                io,
                "synced:     {} ago (change {})",
                todo_client::due::age(now - at),
                fresh.seq.unwrap_or(0)
            ),
            None => crate::outln!(io, "synced:     never (todo sync)"),
        }
        crate::outln!(io, "queued:     {}", fresh.queued);
        crate::outln!(io, "conflicts:  {}", fresh.conflicts);
    }
    open_conflicts(fresh.conflicts)
}

/// Exit 6 while a conflict waits for the person.
fn open_conflicts(n: usize) -> Result<(), CliError> {
    match n {
        0 => Ok(()),
        n => Err(CliError::Partial {
            message: format!("{n} queued change(s) conflict with the server: todo conflicts"),
            code: crate::exit::CONFLICT,
        }),
    }
}

/// `todo conflicts [resolve N --keep mine|theirs]`.
pub async fn conflicts(
    session: &Session,
    command: Option<ConflictCommand>,
    io: &mut Io,
) -> Result<(), CliError> {
    let user = session.user_id().await?;
    let replica = Replica::for_account(session.server(), user)?;
    let Some(ConflictCommand::Resolve { n, keep }) = command else {
        return list_conflicts(&replica, io);
    };
    let queued = replica
        .queue()?
        .into_iter()
        .find(|q| q.n == n && q.conflict.is_some())
        .ok_or_else(|| CliError::Partial {
            message: format!("no conflict {n} (todo conflicts lists them)"),
            code: crate::exit::NOT_FOUND,
        })?;
    let theirs = queued.conflict.as_ref().and_then(|c| c.theirs.clone());
    match keep {
        Keep::Theirs => {
            if let Some(task) = &theirs {
                replica.keep(std::slice::from_ref(task))?;
            }
            replica.dequeue(n)?;
            io.warn(&format!("Dropped your change: {}", queued.write.describe()));
            Ok(())
        }
        Keep::Mine => {
            // Based now on their version: sent again, it applies over theirs knowingly.
            replica.rebase(n, theirs.map(|t| t.version))?;
            let sent = todo_client::sync::send_queue(session, &replica).await?;
            io.warn(&format!("Sent {} change(s).", sent.applied));
            open_conflicts(replica.freshness()?.conflicts)
        }
    }
}

fn list_conflicts(replica: &Replica, io: &mut Io) -> Result<(), CliError> {
    let conflicts: Vec<QueuedWrite> = replica
        .queue()?
        .into_iter()
        .filter(|q| q.conflict.is_some())
        .collect();
    if io.json() {
        let shown: Vec<_> = conflicts
            .iter()
            .map(|q| {
                serde_json::json!({
                    "n": q.n,
                    "change": q.write.describe(),
                    "mine": q.write,
                    "base_version": q.base_version,
                    "reason": q.conflict.as_ref().map(|c| c.reason.clone()),
                    "theirs": q.conflict.as_ref().and_then(|c| c.theirs.clone()),
                })
            })
            .collect();
        io.print_json(&shown);
        return Ok(());
    }
    if conflicts.is_empty() {
        io.warn("No conflicts.");
        return Ok(());
    }
    for q in &conflicts {
        let Some(conflict) = &q.conflict else { continue };
        crate::outln!(io, "{}  {}: {}", q.n, q.write.describe(), conflict.reason);
        if let Some(theirs) = &conflict.theirs {
            crate::outln!(
                io,
                "   theirs (version {}): {}{}",
                theirs.version,
                shown(&theirs.title),
                if theirs.completed { " (completed)" } else { "" }
            );
        }
        crate::outln!(
            io,
            "   yours (on version {}): {}",
            q.base_version.unwrap_or(0),
            mine(&q.write)
        );
    }
    crate::outln!(
        io,
        "Keep yours or theirs: todo conflicts resolve N --keep mine|theirs"
    );
    Ok(())
}

/// What a queued write sets, in words.
fn mine(write: &Write) -> String {
    match write {
        Write::Patch { patch, .. } => serde_json::to_string(patch).unwrap_or_default(),
        other => other.describe(),
    }
}
