//! Runs [`Cmd`]s on tokio tasks with the shared client session; each answer comes back
//! to the event loop as a [`Msg`], so drawing and typing never wait for the network.

use todo_client::events::{ChangeStream, StreamNews};
use todo_client::{ClientError, ListQuery, Session, TaskPage};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};

use crate::app::{App, Cmd, Msg};

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
        Cmd::LoadTasks(query) => Msg::TasksLoaded(load_all(session, query).await),
        Cmd::LoadProjects => Msg::ProjectsLoaded(load_projects(session).await),
        Cmd::CreateTask(input) => Msg::TaskSaved(session.create_task(&input).await),
        Cmd::PatchTask(id, patch, version) => Msg::TaskSaved(session.patch_task(id, &patch, version).await),
        Cmd::ToggleTask(id, version) => Msg::TaskToggled(session.toggle_task(id, version).await),
        Cmd::DeleteTask(id, version) => Msg::TaskDeleted(id, session.delete_task(id, version).await),
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

/// Passes the change stream's news to the loop until the stream stops or the app ends.
async fn forward_changes(session: Session, generation: u64, tx: UnboundedSender<Msg>) {
    let mut stream = ChangeStream::start(session, None);
    while let Some(news) = stream.next().await {
        let stopped = matches!(news, StreamNews::Stopped(_));
        if tx.send(Msg::Stream(generation, news)).is_err() || stopped {
            return;
        }
    }
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
