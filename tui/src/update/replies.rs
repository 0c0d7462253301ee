//! Answers from the network and news from the change stream.

use super::*;

/// The change stream's news: the list follows every change made elsewhere.
pub(super) fn on_stream(app: &mut App, news: StreamNews) -> Vec<Cmd> {
    match news {
        StreamNews::Connected => {
            app.live = LiveState::Connecting;
            vec![]
        }
        // Caught up after a (re)connection: reload once for anything missed.
        StreamNews::Live => {
            app.live = LiveState::Live;
            if app.shows_passing_error() {
                app.message = None;
            }
            // Back (or just connected): what was queued offline goes first.
            let mut cmds = launch(app, Cmd::SendQueue);
            if app.projects.0.is_empty() {
                cmds.extend(launch(app, Cmd::LoadProjects));
            }
            cmds.extend(reload(app));
            cmds
        }
        StreamNews::Change(event) if event.project.is_some() => {
            // A project's news: its list of projects (and roles) is out of date.
            if event.kind == todo_api::EventType::InvitationReceived {
                info(app, todo_client::events::describe(&event));
            }
            let mut cmds = launch(app, Cmd::LoadProjects);
            cmds.extend(reload(app));
            cmds
        }
        StreamNews::Change(event) if event.kind == todo_api::EventType::Reminder => {
            // A reminder is a notice, not a change: the list stays as it is.
            info(
                app,
                format!("Reminder: {}", todo_client::events::describe(&event)),
            );
            vec![]
        }
        StreamNews::Change(event) => {
            note_change_under_form(app, &event);
            reload(app)
        }
        StreamNews::Reset { .. } => reload(app),
        StreamNews::Reconnecting(reason) => {
            app.live = LiveState::Reconnecting(reason);
            vec![]
        }
        StreamNews::Stopped(e) => {
            app.live = LiveState::Off;
            if e.needs_sign_in() && app.user.is_some() {
                to_sign_in(app, "Your session has ended; sign in again.");
            }
            vec![]
        }
    }
}

/// The task open in the form changed or went elsewhere: say so now, before a save.
/// The form keeps its version, so saving still asks before overwriting.
pub(super) fn note_change_under_form(app: &mut App, event: &todo_api::TaskEvent) {
    let Some(Popup::Form(form)) = &mut app.popup else {
        return;
    };
    let newer = event
        .task
        .get("version")
        .and_then(|v| v.as_i64())
        .is_some_and(|v| Some(v) > form.base_version);
    if form.saving || form.editing != event.task_id() || !newer {
        return;
    }
    form.error = Some(match event.kind {
        todo_api::EventType::Deleted => {
            "Deleted elsewhere. Your text is kept: Esc to drop it (u on the list undoes the delete).".into()
        }
        _ => {
            "Changed elsewhere while you edit. Your text is kept; saving will ask before overwriting.".into()
        }
    });
}

/// The account panel, if it is open.
pub(super) fn account_panel(app: &mut App) -> Option<&mut crate::account::AccountPanel> {
    match app.popup.as_mut() {
        Some(Popup::Account(panel)) => Some(panel),
        _ => None,
    }
}

/// The answers to the account panel's requests.
pub(super) fn on_account_reply(app: &mut App, msg: Msg) -> Vec<Cmd> {
    match msg {
        Msg::SessionsLoaded(Err(e)) | Msg::SessionEnded(_, Err(e)) | Msg::PasswordChanged(Err(e))
            if e.needs_sign_in() && e.field().is_none() =>
        {
            to_sign_in(app, "Your session has ended; sign in again.");
        }
        Msg::SessionsLoaded(result) => {
            if let Some(panel) = account_panel(app) {
                match result {
                    Ok(sessions) => panel.loaded(sessions),
                    Err(e) => panel.note = Some((e.to_string(), true)),
                }
            }
        }
        Msg::SessionEnded(id, Ok(())) => {
            let current = account_panel(app)
                .and_then(|p| p.sessions.as_ref())
                .is_some_and(|list| list.iter().any(|s| s.id == id && s.current));
            if current {
                to_sign_in(app, "You ended this session; sign in again.");
                return vec![];
            }
            if let Some(panel) = account_panel(app) {
                panel.note = Some(("Session ended; its tokens are refused from now on.".into(), false));
            }
            return launch(app, Cmd::LoadSessions);
        }
        Msg::SessionEnded(_, Err(e)) => {
            if let Some(panel) = account_panel(app) {
                panel.note = Some((e.to_string(), true));
            }
        }
        Msg::InvitationsLoaded(result) => match (account_panel(app), result) {
            (Some(panel), Ok(open)) => panel.invitations = open,
            (_, Err(e)) => task_error(app, e),
            (None, Ok(_)) => {}
        },
        Msg::InvitationAnswered(accepted, result) => {
            let note = match &result {
                Ok(i) if accepted => (
                    format!(
                        "You joined {} as {}.",
                        todo_api::text::printable(&i.project_name, false),
                        i.role
                    ),
                    false,
                ),
                Ok(i) => (
                    format!("Declined {}.", todo_api::text::printable(&i.project_name, false)),
                    false,
                ),
                Err(e) => (e.to_string(), true),
            };
            if let Some(panel) = account_panel(app) {
                panel.note = Some(note);
            }
            let mut cmds = launch(app, Cmd::LoadInvitations);
            if result.is_ok() && accepted {
                cmds.extend(launch(app, Cmd::LoadProjects));
                cmds.extend(load_tasks(app));
            }
            return cmds;
        }
        Msg::PasswordChanged(result) => {
            if let Some(panel) = account_panel(app) {
                let field = result.as_ref().err().and_then(|e| e.field().map(str::to_string));
                panel.password_changed(result.map_err(|e| e.to_string()), field.as_deref());
            }
            return launch(app, Cmd::LoadSessions);
        }
        _ => {}
    }
    vec![]
}

pub(super) fn on_reply(app: &mut App, msg: Msg) -> Vec<Cmd> {
    match msg {
        Msg::SessionsLoaded(_)
        | Msg::SessionEnded(..)
        | Msg::PasswordChanged(_)
        | Msg::InvitationsLoaded(_)
        | Msg::InvitationAnswered(..) => on_account_reply(app, msg),
        Msg::SessionChecked(Ok(Some(user))) => signed_in(app, user),
        Msg::SessionChecked(Ok(None)) => {
            app.screen = Screen::SignIn(SignInForm::default());
            vec![]
        }
        // Drawn from the local copy and the server is away: stay, offline, and follow the
        // stream, which says when it is back.
        Msg::SessionChecked(Err(e)) if app.screen == Screen::Tasks && !e.needs_sign_in() => {
            let why = e.to_string();
            error(app, OFFLINE);
            if let Some(local) = &mut app.local {
                local.why = why;
            }
            app.stream_generation += 1;
            app.live = LiveState::Connecting;
            vec![Cmd::WatchChanges(app.stream_generation)]
        }
        Msg::SessionChecked(Err(e)) => {
            if e.needs_sign_in() {
                to_sign_in(app, "Your session has ended; sign in again.");
            } else {
                app.screen = Screen::Unreachable;
                error(app, e.to_string());
            }
            vec![]
        }
        Msg::CodeNeeded(token) => {
            if let Screen::SignIn(form) = &mut app.screen {
                form.challenge = Some(token);
                form.code.clear();
                form.focus = SignInField::Code;
                form.error = Some("Type the code from your authenticator app (or a recovery code)".into());
            }
            vec![]
        }
        Msg::SignedIn(result) | Msg::SignedUp(result) => match result {
            Ok(user) => signed_in(app, user),
            Err(e) => {
                match &mut app.screen {
                    // A wrong code keeps the password: only the code is typed again.
                    Screen::SignIn(form) if form.challenge.is_some() => {
                        if e.code() == Some(todo_api::ProblemCode::InvalidMfaToken) {
                            form.challenge = None;
                            form.focus = SignInField::Password;
                        } else {
                            form.focus = SignInField::Code;
                        }
                        form.code.clear();
                        form.error = Some(e.to_string());
                    }
                    Screen::SignIn(form) => {
                        form.password.clear();
                        form.focus = SignInField::Password;
                        form.error = Some(e.to_string());
                    }
                    Screen::SignUp(form) if e.field() == Some("password") => {
                        form.password_reason = Some(e.to_string());
                        form.focus = SignUpField::Password;
                    }
                    Screen::SignUp(form) => form.error = Some(e.to_string()),
                    _ => error(app, e.to_string()),
                }
                vec![]
            }
        },
        Msg::TasksLoaded(Ok(page)) => {
            app.loading = false;
            if std::mem::take(&mut app.reload_queued) {
                return load_tasks(app);
            }
            // An explicit reload (or a recovery after an error) says it is done.
            if app.shows_passing_error()
                || app.local.is_some()
                || app.message.as_ref().is_some_and(|m| m.text == RELOADING)
            {
                info(app, format!("Up to date: {} tasks", page.total));
            }
            app.local = None;
            show_page(app, page);
            vec![]
        }
        Msg::LocalStart(user, tasks, state) => {
            // Only while the server has not answered yet: its answer wins.
            if app.screen != Screen::Connecting {
                return vec![];
            }
            app.user = Some(user);
            app.screen = Screen::Tasks;
            info(app, "From the local copy; asking the server…");
            show_local(app, tasks, state);
            vec![]
        }
        Msg::LocalTasks(tasks, state) => {
            app.loading = false;
            if std::mem::take(&mut app.reload_queued) {
                return load_tasks(app);
            }
            if app.local.as_ref().is_none_or(|l| l.why.is_empty()) {
                error(app, OFFLINE);
            }
            show_local(app, tasks, state);
            vec![]
        }
        Msg::Queued(Ok(change)) => {
            if matches!(&app.popup, Some(Popup::Form(form)) if form.saving) {
                app.popup = None;
            }
            // Short: the status line's offline mark (with the queue's length) must fit.
            info(app, format!("Queued: {change}"));
            reload(app)
        }
        Msg::Queued(Err(reason)) => {
            if let Some(Popup::Form(form)) = &mut app.popup {
                form.saving = false;
                form.error = Some(format!("Not saved: {reason}"));
            } else {
                error(app, format!("Not queued: {reason}"));
            }
            vec![]
        }
        Msg::QueueSent(Ok(report)) => {
            if report.applied > 0 {
                info(app, format!("Sent {} change(s) made offline", report.applied));
            }
            if report.refused > 0 && app.popup.is_none() {
                error(
                    app,
                    format!(
                        "{} change(s) made offline conflict: decide in the view",
                        report.refused
                    ),
                );
                app.popup = Some(Popup::Conflicts(crate::app::ConflictPanel::new(report.conflicts)));
            } else if let Some(Popup::Conflicts(panel)) = &mut app.popup {
                let at = panel.selected;
                panel.items = report.conflicts;
                panel.select(at);
                if panel.items.is_empty() {
                    app.popup = None;
                }
            }
            reload(app)
        }
        Msg::QueueSent(Err(reason)) => {
            error(app, format!("Changes made offline not sent yet: {reason}"));
            vec![]
        }
        Msg::ConflictsLoaded(items) => {
            if items.is_empty() {
                info(
                    app,
                    "No conflicts: every change made offline is on the server or queued",
                );
            } else {
                app.popup = Some(Popup::Conflicts(crate::app::ConflictPanel::new(items)));
            }
            vec![]
        }
        Msg::ProjectsLoaded(Ok(shared)) => {
            app.projects = crate::projects::Projects(shared);
            // A project the user left (or that went) is no longer a filter.
            if let crate::projects::ProjectFilter::Only(id) = app.list.project
                && app.projects.role(id).is_none()
            {
                app.list.project = crate::projects::ProjectFilter::All;
                return load_tasks(app);
            }
            vec![]
        }
        Msg::ProjectsLoaded(Err(e)) => {
            task_error(app, e);
            vec![]
        }
        Msg::TasksLoaded(Err(e)) => {
            app.loading = false;
            app.reload_queued = false;
            task_error(app, e);
            vec![]
        }
        Msg::TaskSaved(Ok(task)) => {
            info(app, format!("Saved task {}: {}", task.id, task.title));
            app.popup = None;
            select_after_reload(app, &task);
            load_tasks(app)
        }
        Msg::TaskSaved(Err(e)) => {
            let Some(Popup::Form(form)) = &mut app.popup else {
                task_error(app, e);
                return vec![];
            };
            form.saving = false;
            if e.needs_sign_in() {
                app.kept_form = Some(form.clone());
                to_sign_in(
                    app,
                    "Your session has ended; sign in again. Your unsaved task is kept.",
                );
            } else if let Some(current) = e.current_task() {
                // Changed elsewhere since the form opened: keep what was typed, say so,
                // and let a second save overwrite knowingly.
                form.error = Some(format!(
                    "Changed elsewhere since you opened it (now \"{}\"). Your text is kept: save again to overwrite, Esc to drop it.",
                    todo_api::text::printable(&current.title, false)
                ));
                form.base_version = Some(current.version);
            } else if let Some(field) = e
                .field()
                .and_then(|f| FormField::ORDER.into_iter().find(|ff| ff.api_name() == f))
            {
                form.errors.insert(field, e.to_string());
                form.focus = field;
            } else {
                form.error = Some(e.to_string());
            }
            vec![]
        }
        Msg::TaskToggled(Ok(task)) => {
            let verb = if task.completed { "Completed" } else { "Reopened" };
            info(app, format!("{verb} task {}: {}", task.id, task.title));
            if let Some(slot) = app.list.tasks.iter_mut().find(|t| t.id == task.id) {
                *slot = task;
            }
            load_tasks(app)
        }
        Msg::TaskDeleted(id, Ok(())) => {
            info(app, format!("Deleted task {id} · u to undo"));
            app.list.tasks.retain(|t| t.id != id);
            app.list.selected = app.list.selected.min(app.list.tasks.len().saturating_sub(1));
            load_tasks(app)
        }
        Msg::TaskToggled(Err(e)) | Msg::TaskDeleted(_, Err(e)) => {
            let changed = e.current_task().is_some();
            task_error(app, e);
            // A task changed elsewhere: show it as it is now, so the next key acts on that.
            if changed { load_tasks(app) } else { vec![] }
        }
        Msg::SignedOut(result) => {
            app.list = Default::default();
            app.live = LiveState::Off;
            app.stream_generation += 1;
            match result {
                Ok(None) => to_sign_in(app, "Signed out."),
                Ok(Some(next)) => to_sign_in(
                    app,
                    &format!(
                        "Signed out. {} is signed in here too: restart to use it.",
                        todo_api::text::printable(&next.email, false)
                    ),
                ),
                Err(e) => {
                    to_sign_in(app, "Signed out.");
                    error(app, format!("Signed out here; the server said: {e}"));
                }
            }
            vec![]
        }
        Msg::Undone(Ok(undone)) => {
            let what = match (&undone.task, undone.undone_type) {
                (Some(task), todo_api::EventType::Deleted) => {
                    format!("Undid the delete: task {} is back", task.id)
                }
                (Some(task), _) => format!("Undid the change to task {}", task.id),
                (None, _) => "Undid the add: the task is deleted".to_string(),
            };
            info(app, what);
            if let Some(task) = &undone.task {
                select_after_reload(app, task);
            }
            load_tasks(app)
        }
        Msg::Undone(Err(e)) => {
            task_error(app, e);
            vec![]
        }
        Msg::NoteAdded(id, _, Ok(_)) => {
            info(app, format!("Added a note to task {id}"));
            load_tasks(app)
        }
        Msg::NoteAdded(_, _, Err(e)) if e.needs_sign_in() => {
            task_error(app, e);
            vec![]
        }
        Msg::NoteAdded(task, text, Err(e)) => {
            // The prompt comes back with the text, and the server's reason.
            app.popup = Some(Popup::Note {
                task,
                text: TextField::new(&text),
                error: Some(e.to_string()),
            });
            vec![]
        }
        Msg::DetailLoaded(_, Ok(task)) => {
            app.detail = Some(task);
            vec![]
        }
        // A failed fetch leaves the count in the pane; the next version asks again.
        Msg::DetailLoaded(_, Err(e)) if e.needs_sign_in() => {
            task_error(app, e);
            vec![]
        }
        Msg::DetailLoaded(..) => vec![],
        Msg::Stream(..) | Msg::Key(_) | Msg::Mouse(_) | Msg::Paste(_) | Msg::Tick(_) => vec![],
    }
}

/// Said when the list falls back to the local copy (short: the status line's offline
/// mark must fit beside it).
const OFFLINE: &str = "Offline: showing the local copy; changes are queued";

/// Shows a page of tasks, keeping the selected task selected.
fn show_page(app: &mut App, page: TaskPage) {
    let keep = app
        .select_when_loaded
        .take()
        .or_else(|| app.list.selected_task().map(|t| t.id));
    app.list.show(page.tasks);
    app.list.total = page.total;
    app.list.loaded = true;
    app.list.selected = keep
        .and_then(|id| app.list.tasks.iter().position(|t| t.id == id))
        .unwrap_or(app.list.selected)
        .min(app.list.tasks.len().saturating_sub(1));
}

/// The list from the local copy, filtered as the server would.
fn show_local(app: &mut App, tasks: Vec<Task>, state: crate::app::LocalState) {
    let tasks = todo_client::replica::matching(tasks, &app.list.query(), app.now);
    let total = tasks.len() as u64;
    app.local = Some(state);
    show_page(app, TaskPage { tasks, total });
}

pub(super) fn select_after_reload(app: &mut App, task: &Task) {
    if let Some(i) = app.list.tasks.iter().position(|t| t.id == task.id) {
        app.list.selected = i;
        app.list.tasks[i] = task.clone();
    } else {
        app.list.tasks.insert(0, task.clone());
        app.list.selected = 0;
    }
}
