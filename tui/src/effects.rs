//! Runs [`Cmd`]s on tokio tasks with the shared client session; each answer comes back
//! to the event loop as a [`Msg`], so drawing and typing never wait for the network.

use todo_client::events::{ChangeStream, StreamNews};
use todo_client::{ClientError, ListQuery, Session, TaskPage};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};

use crate::app::{App, Cmd, Msg, QueueReport, Resolution};
use todo_client::replica::{Replica, Write};

/// Pages fetched per list (500 each): up to 10,000 tasks on screen.
const MAX_PAGES: u32 = 20;
const PAGE: u32 = 500;

/// The loop's plumbing, one for the terminal (`main.rs`) and the test driver: a message
/// goes through `update`, and the commands it returns run on tokio tasks whose answers
/// come back as messages.
pub struct Runner {
    session: Session,
    tx: UnboundedSender<Msg>,
    rx: UnboundedReceiver<Msg>,
}

impl Runner {
    /// Runs what the app does first (check the stored session).
    pub fn start(app: &mut App, session: Session) -> Runner {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let runner = Runner { session, tx, rx };
        for cmd in crate::update::start(app) {
            spawn(cmd, &runner.session, &runner.tx);
        }
        runner
    }

    /// Applies `msg` and starts the commands it asks for.
    pub fn send(&self, app: &mut App, msg: Msg) {
        for cmd in crate::update::update(app, msg) {
            spawn(cmd, &self.session, &self.tx);
        }
    }

    /// The next answer from the network or the change stream.
    pub async fn next_reply(&mut self) -> Option<Msg> {
        self.rx.recv().await
    }
}

fn spawn(cmd: Cmd, session: &Session, tx: &UnboundedSender<Msg>) {
    let session = session.clone();
    let tx = tx.clone();
    if let Cmd::WatchChanges(generation) = cmd {
        tokio::spawn(forward_changes(session, generation, tx));
        return;
    }
    if let Cmd::CheckSession = cmd {
        // The local copy first, so the list draws before the server answers.
        tokio::spawn(async move {
            if let Some(start) = local_start(&session).await {
                let _ = tx.send(start);
            }
            let _ = tx.send(Msg::SessionChecked(check_session(&session).await));
        });
        return;
    }
    tokio::spawn(async move {
        let msg = run(cmd, &session).await;
        // The loop has ended when nobody receives: nothing left to tell.
        let _ = tx.send(msg);
    });
}

async fn run(cmd: Cmd, session: &Session) -> Msg {
    match cmd {
        Cmd::CheckSession => Msg::SessionChecked(check_session(session).await),
        Cmd::SignIn(request) => match session.sign_in(&request).await {
            Ok(todo_client::SignIn::Done(user)) => Msg::SignedIn(Ok(user)),
            Ok(todo_client::SignIn::NeedsCode(challenge)) => Msg::CodeNeeded(challenge.mfa_token),
            Err(e) => Msg::SignedIn(Err(e)),
        },
        Cmd::SignInCode(token, code) => Msg::SignedIn(session.sign_in_with_code(&token, code).await),
        Cmd::SignUp(request) => Msg::SignedUp(session.sign_up(&request).await),
        Cmd::LoadTasks(query) => load_tasks(session, query).await,
        Cmd::LoadProjects => Msg::ProjectsLoaded(load_projects(session).await),
        Cmd::CreateTask(input) => {
            let answer = session.create_task(&input).await;
            or_queue(
                session,
                answer,
                Some((Write::Create { input }, None)),
                Msg::TaskSaved,
            )
            .await
        }
        Cmd::PatchTask(id, patch, version) => {
            let answer = session.patch_task(id, &patch, version).await;
            or_queue(
                session,
                answer,
                Some((Write::Patch { id, patch }, version)),
                Msg::TaskSaved,
            )
            .await
        }
        Cmd::ToggleTask(id, version) => {
            let answer = session.toggle_task(id, version).await;
            let write = toggled(session, id)
                .await
                .map(|completed| (Write::Complete { id, completed }, version));
            or_queue(session, answer, write, Msg::TaskToggled).await
        }
        Cmd::DeleteTask(id, version) => {
            let answer = session.delete_task(id, version).await;
            or_queue(session, answer, Some((Write::Delete { id }, version)), |r| {
                Msg::TaskDeleted(id, r)
            })
            .await
        }
        Cmd::SendQueue => Msg::QueueSent(send_queue(session).await),
        Cmd::ResolveConflict(n, resolution) => Msg::QueueSent(resolve(session, n, resolution).await),
        Cmd::LoadConflicts => Msg::ConflictsLoaded(match local(session).await {
            Some(replica) => crate::offline::conflicts(&replica),
            None => Vec::new(),
        }),
        Cmd::SignOut => Msg::SignedOut(session.sign_out(false).await),
        Cmd::Undo => Msg::Undone(session.undo().await),
        Cmd::LoadSessions => Msg::SessionsLoaded(session.sessions().await),
        Cmd::LoadInvitations => Msg::InvitationsLoaded(session.invitations().await),
        Cmd::AnswerInvitation(id, accept) => {
            Msg::InvitationAnswered(accept, session.answer_invitation(id, accept).await)
        }
        Cmd::EndSession(id) => Msg::SessionEnded(id, session.end_session(id).await),
        Cmd::AddNote(id, text) => {
            let result = session.add_note(id, &text).await;
            Msg::NoteAdded(id, text, result)
        }
        Cmd::LoadDetail(id) => Msg::DetailLoaded(id, session.get_task(id).await),
        Cmd::ChangePassword(current, new) => Msg::PasswordChanged(
            session
                .change_password(current.expose().to_string(), new.expose().to_string())
                .await,
        ),
        Cmd::WatchChanges(_) => Msg::Stream(
            0,
            StreamNews::Reconnecting("internal: not a one-shot command".into()),
        ),
    }
}

/// Passes the change stream's news to the loop until the stream stops or the app ends,
/// keeping the local copy current from it: it resumes where the copy stopped, and the
/// replay of what was missed goes to the copy only (the app reloads once live).
async fn forward_changes(session: Session, generation: u64, tx: UnboundedSender<Msg>) {
    let replica = local(&session).await;
    // A copy never caught up starts from the beginning: a replay, or a reset to reload.
    let from = replica
        .as_ref()
        .map(|r| r.freshness().ok().and_then(|f| f.seq).unwrap_or(0));
    let mut stream = ChangeStream::start(session.clone(), from);
    let mut live = false;
    let mut position = from;
    while let Some(news) = stream.next().await {
        if let Some(replica) = &replica {
            keep_current(&session, replica, &news, &mut position, live).await;
        }
        match &news {
            StreamNews::Connected | StreamNews::Reconnecting(_) => live = false,
            StreamNews::Live => live = true,
            // Missed changes: the copy has them; the app reloads once live.
            StreamNews::Change(_) if !live => continue,
            _ => {}
        }
        let stopped = matches!(news, StreamNews::Stopped(_));
        if tx.send(Msg::Stream(generation, news)).is_err() || stopped {
            return;
        }
    }
}

/// One piece of stream news applied to the local copy. The copy is a cache: a failure to
/// write it loses nothing the server has.
async fn keep_current(
    session: &Session,
    replica: &Replica,
    news: &StreamNews,
    position: &mut Option<i64>,
    live: bool,
) {
    let now = time::OffsetDateTime::now_utc();
    match news {
        StreamNews::Change(event) => {
            let _ = todo_client::sync::apply(replica, event);
            *position = Some(event.seq);
            if live {
                let _ = replica.caught_up(event.seq, now);
            }
        }
        StreamNews::Reset { seq } => {
            let _ = todo_client::sync::reload(session, replica, *seq).await;
            *position = Some(*seq);
        }
        StreamNews::Live => {
            if let Some(seq) = *position {
                let _ = replica.caught_up(seq, now);
            }
        }
        _ => {}
    }
}

/// The signed-in account's local copy, when the account is known without the network.
async fn local(session: &Session) -> Option<Replica> {
    let user = session.credentials().await.map(|c| c.user.id)?;
    Replica::for_account(session.server(), user).ok()
}

/// The list from the local copy at start, if there is one that has been caught up.
async fn local_start(session: &Session) -> Option<Msg> {
    let user = session.credentials().await?.user;
    let replica = Replica::for_account(session.server(), user.id).ok()?;
    replica.freshness().ok()?.synced_at?;
    let tasks = replica.tasks().ok()?;
    Some(Msg::LocalStart(
        user,
        tasks,
        crate::offline::state(&replica, String::new()),
    ))
}

/// The list from the server (kept in the local copy too), or from the local copy when
/// the server cannot be reached.
async fn load_tasks(session: &Session, query: ListQuery) -> Msg {
    match load_all(session, query).await {
        Ok(page) => {
            if let Some(replica) = local(session).await {
                let _ = replica.keep(&page.tasks);
            }
            Msg::TasksLoaded(Ok(page))
        }
        Err(why @ ClientError::Unreachable { .. }) => match local(session).await {
            Some(replica) if replica.freshness().is_ok_and(|f| f.synced_at.is_some()) => {
                let tasks = replica.tasks().unwrap_or_default();
                Msg::LocalTasks(tasks, crate::offline::state(&replica, why.to_string()))
            }
            _ => Msg::TasksLoaded(Err(why)),
        },
        Err(e) => Msg::TasksLoaded(Err(e)),
    }
}

/// The answer of a write, or, when the server cannot be reached, `write` (with the
/// version it is based on) queued in the local copy.
async fn or_queue<T>(
    session: &Session,
    answer: Result<T, ClientError>,
    write: Option<(Write, Option<i64>)>,
    done: impl FnOnce(Result<T, ClientError>) -> Msg,
) -> Msg {
    let (Err(why @ ClientError::Unreachable { .. }), Some((write, base))) = (&answer, write) else {
        return done(answer);
    };
    let Some(replica) = local(session).await else {
        return done(Err(why.clone()));
    };
    let queued = replica.enqueue(&write, base, time::OffsetDateTime::now_utc());
    Msg::Queued(queued.map(|q| q.write.describe()).map_err(|e| e.to_string()))
}

/// What toggling task `id` sets, from the local copy.
async fn toggled(session: &Session, id: i64) -> Option<bool> {
    let replica = local(session).await?;
    replica.task(id).ok().flatten().map(|t| !t.completed)
}

/// Sends the queued writes; the conflicts left come back to be shown.
async fn send_queue(session: &Session) -> Result<QueueReport, String> {
    let Some(replica) = local(session).await else {
        return Ok(QueueReport::default());
    };
    if replica
        .freshness()
        .is_ok_and(|f| f.queued == 0 && f.conflicts == 0)
    {
        return Ok(QueueReport::default());
    }
    let sent = todo_client::sync::send_queue(session, &replica)
        .await
        .map_err(|e| e.to_string())?;
    Ok(QueueReport {
        applied: sent.applied,
        refused: sent.conflicts,
        conflicts: crate::offline::conflicts(&replica),
    })
}

/// Keeps mine (sent again, based on theirs), theirs (mine dropped), or mine for some
/// fields only, for conflict `n`.
async fn resolve(session: &Session, n: i64, resolution: Resolution) -> Result<QueueReport, String> {
    let replica = local(session).await.ok_or("no local copy")?;
    let queued = replica.queue().map_err(|e| e.to_string())?;
    let Some(queued) = queued.into_iter().find(|q| q.n == n) else {
        return Ok(QueueReport::default());
    };
    let theirs = queued.conflict.as_ref().and_then(|c| c.theirs.clone());
    let mine = match resolution {
        Resolution::Mine => true,
        Resolution::Theirs => false,
        Resolution::Merge(fields) => match crate::offline::only_fields(&queued.write, &fields) {
            Some(write) => {
                replica.replace_write(n, &write).map_err(|e| e.to_string())?;
                true
            }
            None => false,
        },
    };
    if mine {
        replica
            .rebase(n, theirs.map(|t| t.version))
            .map_err(|e| e.to_string())?;
        return send_queue(session).await;
    }
    if let Some(task) = theirs {
        let _ = replica.keep(&[task]);
    }
    replica.dequeue(n).map_err(|e| e.to_string())?;
    Ok(QueueReport {
        conflicts: crate::offline::conflicts(&replica),
        ..QueueReport::default()
    })
}

/// The stored credentials, if they still work (after a refresh if needed).
async fn check_session(session: &Session) -> Result<Option<todo_api::User>, ClientError> {
    let has_token = session.credentials().await.is_some()
        || session.token_source() == todo_client::TokenSource::Environment;
    if !has_token {
        // Still ask the server something, so an unreachable server shows as such.
        session.api().jwks().await?;
        return Ok(None);
    }
    match session.session_info().await {
        Ok(info) => Ok(Some(info.user)),
        Err(e) if e.needs_sign_in() => Ok(None),
        Err(e) => Err(e),
    }
}

/// Every project of the user's with its members (one request each: few projects).
async fn load_projects(session: &Session) -> Result<Vec<crate::projects::Shared>, ClientError> {
    let mut shared = Vec::new();
    for project in session.projects().await? {
        let members = session.members(project.id).await?;
        shared.push(crate::projects::Shared { project, members });
    }
    Ok(shared)
}

async fn load_all(session: &Session, query: ListQuery) -> Result<TaskPage, ClientError> {
    let mut all = TaskPage {
        tasks: Vec::new(),
        total: 0,
    };
    for page in 0..MAX_PAGES {
        let mut q = query.clone();
        q.limit = Some(PAGE);
        q.offset = Some(page * PAGE);
        let next = session.list_tasks(&q).await?;
        all.total = next.total;
        let done = next.tasks.len() < PAGE as usize;
        all.tasks.extend(next.tasks);
        if done || all.tasks.len() as u64 >= all.total {
            break;
        }
    }
    Ok(all)
}
