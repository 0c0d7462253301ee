//! The pure update function: state in, message, state out, plus the network commands to
//! run. No I/O happens here, so every screen and key is unit-tested without a terminal.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEventKind};
use todo_api::{Priority, SignInRequest, SignUpRequest, SortField, StatusFilter, Task, TaskInput};
use todo_client::ClientError;
use todo_client::events::StreamNews;

use crate::app::{
    App, Cmd, FormField, LiveState, Mouse, Msg, Popup, Screen, SignInForm, SignUpForm, StatusMessage,
    TaskForm,
};
use crate::keymap::Action;
use crate::text_field::TextField;

use todo_api::limits::{DESCRIPTION_MAX, TAG_MAX, TAGS_MAX, TITLE_MAX};

pub fn update(app: &mut App, msg: Msg) -> Vec<Cmd> {
    match msg {
        Msg::Key(key) => on_key(app, key),
        Msg::Mouse(mouse) => on_mouse(app, mouse),
        Msg::Paste(text) => on_paste(app, &text),
        Msg::Tick(now) => {
            app.now = now;
            if app.busy > 0 {
                app.spinner = app.spinner.wrapping_add(1);
            }
            vec![]
        }
        // Stream news is not the answer to a launched command.
        Msg::Stream(generation, news) if generation == app.stream_generation => on_stream(app, news),
        Msg::Stream(..) => vec![],
        reply => {
            app.busy = app.busy.saturating_sub(1);
            on_reply(app, reply)
        }
    }
}

fn info(app: &mut App, text: impl Into<String>) {
    app.message = Some(StatusMessage {
        text: text.into(),
        is_error: false,
    });
}

fn error(app: &mut App, text: impl Into<String>) {
    app.message = Some(StatusMessage {
        text: text.into(),
        is_error: true,
    });
}

/// Starts a network command, counting it for the spinner.
fn launch(app: &mut App, cmd: Cmd) -> Vec<Cmd> {
    app.busy += 1;
    vec![cmd]
}

fn load_tasks(app: &mut App) -> Vec<Cmd> {
    let query = app.list.query();
    app.loading = true;
    launch(app, Cmd::LoadTasks(query))
}

const RELOADING: &str = "Reloading…";

/// A reload because something changed elsewhere: one at a time, and one more if changes
/// came in while it ran.
fn reload(app: &mut App) -> Vec<Cmd> {
    if app.screen != Screen::Tasks {
        return vec![];
    }
    if app.loading {
        app.reload_queued = true;
        return vec![];
    }
    load_tasks(app)
}

/// The change stream's news: the list follows every change made elsewhere.
fn on_stream(app: &mut App, news: StreamNews) -> Vec<Cmd> {
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
            reload(app)
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
fn note_change_under_form(app: &mut App, event: &todo_api::TaskEvent) {
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

/// The session is gone: back to sign-in with the email kept and a message.
fn to_sign_in(app: &mut App, message: &str) {
    let email = app.user.as_ref().map(|u| u.email.clone()).unwrap_or_default();
    app.user = None;
    app.popup = None;
    app.screen = Screen::SignIn(SignInForm {
        email: TextField::new(&email),
        focus: if email.is_empty() { 0 } else { 1 },
        error: Some(message.to_string()),
        ..SignInForm::default()
    });
}

fn signed_in(app: &mut App, user: todo_api::User) -> Vec<Cmd> {
    app.stream_generation += 1;
    app.live = LiveState::Connecting;
    let watch = Cmd::WatchChanges(app.stream_generation);
    // A wrong config file is said first: it is why keys or colours may not be as set.
    match app.startup_warning.clone() {
        Some(warning) => error(app, warning),
        None => info(app, format!("Signed in as {}", user.email)),
    }
    app.user = Some(user);
    app.screen = Screen::Tasks;
    // A form whose save failed when the session ended comes back as it was.
    if let Some(mut form) = app.kept_form.take() {
        form.saving = false;
        form.error = Some("Signed in again: press Ctrl-S to save".into());
        app.popup = Some(Popup::Form(form));
    }
    let mut cmds = load_tasks(app);
    cmds.push(watch);
    cmds
}

/// Handles an error from any task call: sign-in again, or a message.
fn task_error(app: &mut App, e: ClientError) {
    if e.needs_sign_in() {
        to_sign_in(app, "Your session has ended; sign in again.");
    } else {
        error(app, e.to_string());
    }
}

/// The account panel, if it is open.
fn account_panel(app: &mut App) -> Option<&mut crate::account::AccountPanel> {
    match app.popup.as_mut() {
        Some(Popup::Account(panel)) => Some(panel),
        _ => None,
    }
}

/// The answers to the account panel's requests.
fn on_account_reply(app: &mut App, msg: Msg) -> Vec<Cmd> {
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

fn on_reply(app: &mut App, msg: Msg) -> Vec<Cmd> {
    match msg {
        Msg::SessionsLoaded(_) | Msg::SessionEnded(..) | Msg::PasswordChanged(_) => {
            on_account_reply(app, msg)
        }
        Msg::SessionChecked(Ok(Some(user))) => signed_in(app, user),
        Msg::SessionChecked(Ok(None)) => {
            app.screen = Screen::SignIn(SignInForm::default());
            vec![]
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
                form.focus = 2;
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
                            form.focus = 1;
                        } else {
                            form.focus = 2;
                        }
                        form.code.clear();
                        form.error = Some(e.to_string());
                    }
                    Screen::SignIn(form) => {
                        form.password.clear();
                        form.focus = 1;
                        form.error = Some(e.to_string());
                    }
                    Screen::SignUp(form) if e.field() == Some("password") => {
                        form.password_reason = Some(e.to_string());
                        form.focus = 2;
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
            if app.shows_passing_error() || app.message.as_ref().is_some_and(|m| m.text == RELOADING) {
                info(app, format!("Up to date: {} tasks", page.total));
            }
            let keep = app
                .select_when_loaded
                .take()
                .or_else(|| app.list.selected_task().map(|t| t.id));
            app.list.tasks = page.tasks;
            app.list.total = page.total;
            app.list.loaded = true;
            app.list.selected = keep
                .and_then(|id| app.list.tasks.iter().position(|t| t.id == id))
                .unwrap_or(app.list.selected)
                .min(app.list.tasks.len().saturating_sub(1));
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
        Msg::Stream(..) | Msg::Key(_) | Msg::Mouse(_) | Msg::Paste(_) | Msg::Tick(_) => vec![],
    }
}

fn select_after_reload(app: &mut App, task: &Task) {
    if let Some(i) = app.list.tasks.iter().position(|t| t.id == task.id) {
        app.list.selected = i;
        app.list.tasks[i] = task.clone();
    } else {
        app.list.tasks.insert(0, task.clone());
        app.list.selected = 0;
    }
}

/// A key pressed with Ctrl, Alt or Super. A chord never falls through to the action of
/// its bare letter: vim users press Ctrl-D and Ctrl-Y to scroll, and those once opened
/// and confirmed a deletion.
pub fn is_chord(key: &KeyEvent) -> bool {
    key.modifiers
        .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT | KeyModifiers::SUPER)
}

fn on_key(app: &mut App, key: KeyEvent) -> Vec<Cmd> {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    if ctrl && key.code == KeyCode::Char('c') {
        app.quit = true;
        return vec![];
    }
    if app.popup.is_some() {
        return on_popup_key(app, key);
    }
    match &app.screen {
        Screen::Connecting | Screen::Unreachable if is_chord(&key) => vec![],
        Screen::Connecting => {
            if matches!(key.code, KeyCode::Char('q') | KeyCode::Esc) {
                app.quit = true;
            }
            vec![]
        }
        Screen::Unreachable => match key.code {
            KeyCode::Char('r') => {
                app.screen = Screen::Connecting;
                app.message = None;
                launch(app, Cmd::CheckSession)
            }
            KeyCode::Char('q') | KeyCode::Esc => {
                app.quit = true;
                vec![]
            }
            _ => vec![],
        },
        Screen::SignIn(_) => on_sign_in_key(app, key),
        Screen::SignUp(_) => on_sign_up_key(app, key),
        Screen::Tasks => on_tasks_key(app, key),
    }
}

fn is_switch(key: &KeyEvent) -> bool {
    key.code == KeyCode::F(2)
        || (key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('n'))
}

fn on_sign_in_key(app: &mut App, key: KeyEvent) -> Vec<Cmd> {
    let Screen::SignIn(form) = &mut app.screen else {
        return vec![];
    };
    if is_switch(&key) {
        let email = form.email.clone();
        app.screen = Screen::SignUp(SignUpForm {
            email,
            ..SignUpForm::default()
        });
        return vec![];
    }
    match key.code {
        KeyCode::Esc => app.quit = true,
        KeyCode::Tab | KeyCode::Down => form.focus = (form.focus + 1) % form.fields(),
        KeyCode::BackTab | KeyCode::Up => form.focus = (form.focus + form.fields() - 1) % form.fields(),
        KeyCode::Enter if form.focus == 2 => {
            let (Some(token), code) = (form.challenge.clone(), form.code.text().trim().to_string()) else {
                return vec![];
            };
            if code.is_empty() {
                form.error = Some("Type the code".into());
                return vec![];
            }
            form.error = None;
            return launch(app, Cmd::SignInCode(token, code));
        }
        KeyCode::Enter => {
            if form.email.text().trim().is_empty() {
                form.error = Some("Type your email".into());
                form.focus = 0;
            } else if form.focus == 0 {
                form.focus = 1;
            } else if form.password.text().is_empty() {
                form.error = Some("Type your password".into());
            } else {
                form.error = None;
                let request = SignInRequest {
                    email: form.email.text().trim().to_string(),
                    password: form.password.secret(),
                };
                return launch(app, Cmd::SignIn(request));
            }
        }
        _ => {
            // A changed email or password is a new sign-in: the code asked for goes.
            if form.focus < 2 && form.challenge.is_some() {
                form.challenge = None;
            }
            let _ = match form.focus {
                0 => form.email.handle_key(key),
                1 => form.password.handle_key(key),
                _ => form.code.handle_key(key),
            };
        }
    }
    vec![]
}

fn on_sign_up_key(app: &mut App, key: KeyEvent) -> Vec<Cmd> {
    let Screen::SignUp(form) = &mut app.screen else {
        return vec![];
    };
    if is_switch(&key) {
        let email = form.email.clone();
        app.screen = Screen::SignIn(SignInForm {
            email,
            ..SignInForm::default()
        });
        return vec![];
    }
    match key.code {
        KeyCode::Esc => app.quit = true,
        KeyCode::Tab | KeyCode::Down => form.focus = (form.focus + 1) % 4,
        KeyCode::BackTab | KeyCode::Up => form.focus = (form.focus + 3) % 4,
        KeyCode::Enter if form.focus < 3 => form.focus += 1,
        KeyCode::Enter => {
            let checks = form.checks();
            if !(checks.email_ok && checks.length_ok && checks.match_ok && checks.strength_problem.is_none())
            {
                form.error = Some("Fix the marked fields first".into());
                return vec![];
            }
            form.error = None;
            form.password_reason = None;
            let name = form.name.text().trim();
            let request = SignUpRequest {
                email: form.email.text().trim().to_string(),
                password: form.password.secret(),
                name: (!name.is_empty()).then(|| name.to_string()),
            };
            return launch(app, Cmd::SignUp(request));
        }
        _ => {
            let field = match form.focus {
                0 => &mut form.name,
                1 => &mut form.email,
                2 => &mut form.password,
                _ => &mut form.confirm,
            };
            if field.handle_key(key) && form.focus >= 2 {
                form.password_reason = None;
            }
        }
    }
    vec![]
}

fn next_status(s: StatusFilter) -> StatusFilter {
    match s {
        StatusFilter::All => StatusFilter::Pending,
        StatusFilter::Pending => StatusFilter::Completed,
        StatusFilter::Completed => StatusFilter::All,
    }
}

fn next_sort(s: SortField) -> SortField {
    match s {
        SortField::Created => SortField::Due,
        SortField::Due => SortField::Priority,
        SortField::Priority => SortField::Title,
        SortField::Title => SortField::Urgency,
        SortField::Urgency => SortField::Updated,
        SortField::Updated => SortField::Created,
    }
}

/// How a due date is shown in a form: as the list shows it, in local time (a bare date
/// for the end of a day), which the form reads back to the same moment.
pub fn due_text(app: &App, task: &Task) -> String {
    task.due_at
        .map(|d| todo_client::due::format_due(d, &app.zone))
        .unwrap_or_default()
}

/// Half a page of the list, as Ctrl-D and Ctrl-U move.
const HALF_PAGE: usize = 5;

fn on_tasks_key(app: &mut App, key: KeyEvent) -> Vec<Cmd> {
    match app.keys.action(&key) {
        Some(action) => on_action(app, action),
        None => vec![],
    }
}

fn on_action(app: &mut App, action: Action) -> Vec<Cmd> {
    let count = app.list.tasks.len();
    let last = count.saturating_sub(1);
    let selected = app.list.selected;
    match action {
        Action::Quit => app.quit = true,
        Action::Down => app.list.selected = (selected + 1).min(last),
        Action::Up => app.list.selected = selected.saturating_sub(1),
        Action::PageDown => app.list.selected = (selected + 10).min(last),
        Action::PageUp => app.list.selected = selected.saturating_sub(10),
        Action::HalfDown => app.list.selected = (selected + HALF_PAGE).min(last),
        Action::HalfUp => app.list.selected = selected.saturating_sub(HALF_PAGE),
        Action::First => app.list.selected = 0,
        Action::Last => app.list.selected = last,
        Action::NextMatch | Action::PrevMatch => next_match(app, action == Action::NextMatch),
        Action::DetailDown | Action::DetailUp => scroll_detail(app, action == Action::DetailDown),
        Action::Add => app.popup = Some(Popup::Form(TaskForm::new_task())),
        Action::Edit => {
            if let Some(task) = app.list.selected_task() {
                let form = TaskForm::edit(task, due_text(app, task));
                app.popup = Some(Popup::Form(form));
            }
        }
        Action::Toggle => {
            if let Some(task) = app.list.selected_task() {
                let cmd = Cmd::ToggleTask(task.id, Some(task.version));
                return launch(app, cmd);
            }
        }
        Action::Delete => {
            if let Some(task) = app.list.selected_task() {
                app.popup = Some(Popup::ConfirmDelete {
                    id: task.id,
                    title: task.title.clone(),
                    version: task.version,
                });
            }
        }
        Action::Search => {
            app.filter_before = (app.list.search.clone(), app.list.tag.clone());
            app.popup = Some(Popup::Search(TextField::new(&app.list.search)));
        }
        Action::Tag => {
            app.filter_before = (app.list.search.clone(), app.list.tag.clone());
            app.popup = Some(Popup::Tag(TextField::new(app.list.tag.as_deref().unwrap_or(""))));
        }
        Action::Filter => {
            app.list.status = next_status(app.list.status);
            return load_tasks(app);
        }
        Action::Sort => {
            app.list.sort = next_sort(app.list.sort);
            return load_tasks(app);
        }
        Action::Reload => {
            info(app, RELOADING);
            return load_tasks(app);
        }
        Action::Undo => return launch(app, Cmd::Undo),
        Action::Help => app.popup = Some(Popup::Help),
        Action::SignOut => app.popup = Some(Popup::ConfirmSignOut),
        Action::Account => {
            app.popup = Some(Popup::Account(crate::account::AccountPanel::default()));
            return launch(app, Cmd::LoadSessions);
        }
        Action::ClearFilter => {
            if !app.list.search.is_empty() || app.list.tag.is_some() {
                app.list.search.clear();
                app.list.tag = None;
                return load_tasks(app);
            }
        }
    }
    vec![]
}

/// A paste goes into the focused text field as if typed, and only there: on the task
/// list it would run a key per character. Line breaks become spaces except in the
/// description, where they stay; other control characters are dropped.
fn on_paste(app: &mut App, text: &str) -> Vec<Cmd> {
    let on_form_screen = matches!(app.screen, Screen::SignIn(_) | Screen::SignUp(_)) && app.popup.is_none();
    let in_text_popup = matches!(app.popup, Some(Popup::Form(_) | Popup::Search(_) | Popup::Tag(_)));
    if !(on_form_screen || in_text_popup) {
        return vec![];
    }
    let multiline = matches!(&app.popup, Some(Popup::Form(f)) if f.focus == FormField::Description);
    let mut cmds = Vec::new();
    for c in text.chars() {
        let code = match c {
            '\r' => continue,
            '\n' if multiline => KeyCode::Enter,
            '\n' | '\t' => KeyCode::Char(' '),
            c if c.is_control() => continue,
            c => KeyCode::Char(c),
        };
        cmds.extend(on_key(app, KeyEvent::new(code, KeyModifiers::NONE)));
    }
    cmds
}

/// Rows the wheel moves the selection by.
const WHEEL_ROWS: usize = 3;
/// Two clicks on one task within this are a double click.
const DOUBLE_CLICK: std::time::Duration = std::time::Duration::from_millis(400);

/// The mouse on the task screen: a click selects, a double click edits, the wheel
/// scrolls. Popups and forms stay keyboard-only, so a stray click never loses typing.
fn on_mouse(app: &mut App, mouse: Mouse) -> Vec<Cmd> {
    if !app.mouse || app.screen != Screen::Tasks || app.popup.is_some() {
        return vec![];
    }
    let last = app.list.tasks.len().saturating_sub(1);
    match mouse.kind {
        MouseEventKind::ScrollDown => app.list.selected = (app.list.selected + WHEEL_ROWS).min(last),
        MouseEventKind::ScrollUp => app.list.selected = app.list.selected.saturating_sub(WHEEL_ROWS),
        MouseEventKind::Down(MouseButton::Left) => {
            let Some(index) = crate::view::task_at(app, mouse.screen, mouse.column, mouse.row) else {
                app.last_click = None;
                return vec![];
            };
            app.list.selected = index;
            let double = app
                .last_click
                .is_some_and(|(was, at)| was == index && mouse.at.duration_since(at) <= DOUBLE_CLICK);
            if double {
                app.last_click = None;
                return on_action(app, Action::Edit);
            }
            app.last_click = Some((index, mouse.at));
        }
        _ => {}
    }
    vec![]
}

/// `n`/`N`: the next or previous task of the searched list, wrapping at either end (the
/// list holds only matches, so this is vim's habit of cycling through them).
fn next_match(app: &mut App, forward: bool) {
    let count = app.list.tasks.len();
    if app.list.search.trim().is_empty() && app.list.tag.is_none() {
        info(
            app,
            "No search: / starts one (n and N then cycle through the matches)",
        );
        return;
    }
    if count == 0 {
        info(app, "No task matches the search");
        return;
    }
    let selected = app.list.selected;
    app.list.selected = if forward {
        (selected + 1) % count
    } else {
        (selected + count - 1) % count
    };
}

fn scroll_detail(app: &mut App, down: bool) {
    let Some(task) = app.list.selected_task() else {
        return;
    };
    let (id, lines) = (task.id, task.description.lines().count() as u16);
    let offset = app.detail_offset();
    let offset = if down {
        (offset + 1).min(lines)
    } else {
        offset.saturating_sub(1)
    };
    app.detail_scroll = (id, offset);
}

fn on_popup_key(app: &mut App, key: KeyEvent) -> Vec<Cmd> {
    let is_search = matches!(app.popup, Some(Popup::Search(_)));
    let Some(popup) = app.popup.as_mut() else {
        return vec![];
    };
    match popup {
        Popup::Help => app.popup = None,
        Popup::Account(panel) => match panel.on_key(key) {
            crate::account::PanelAction::None => {}
            crate::account::PanelAction::Close => app.popup = None,
            crate::account::PanelAction::Run(cmd) => return launch(app, cmd),
        },
        Popup::ConfirmDelete { id, version, .. } => {
            let (id, version) = (*id, *version);
            app.popup = None;
            if !is_chord(&key) && matches!(key.code, KeyCode::Char('y') | KeyCode::Char('Y')) {
                return launch(app, Cmd::DeleteTask(id, Some(version)));
            }
        }
        Popup::ConfirmSignOut => {
            app.popup = None;
            if !is_chord(&key) && matches!(key.code, KeyCode::Char('y') | KeyCode::Char('Y')) {
                return launch(app, Cmd::SignOut);
            }
        }
        Popup::Search(field) | Popup::Tag(field) => {
            match key.code {
                // Back to the filter from before the prompt.
                KeyCode::Esc => {
                    app.popup = None;
                    let (search, tag) = app.filter_before.clone();
                    if (&search, &tag) != (&app.list.search, &app.list.tag) {
                        app.list.search = search;
                        app.list.tag = tag;
                        return reload(app);
                    }
                }
                KeyCode::Enter => app.popup = None,
                // The tag prompt completes from the tags of the tasks shown.
                KeyCode::Tab if !is_search => {
                    let matches = app.list.tags_starting(field.text().trim());
                    if let Some(first) = matches.first() {
                        let common = common_prefix(&matches);
                        *field = TextField::new(if matches.len() == 1 { first } else { &common });
                        return filter_as_typed(app);
                    }
                }
                _ => {
                    if field.handle_key(key) {
                        return filter_as_typed(app);
                    }
                }
            }
        }
        Popup::Form(_) => return on_form_key(app, key),
    }
    vec![]
}

/// The search or tag prompt's text applied to the list at once (a load at a time; the
/// latest text wins).
fn filter_as_typed(app: &mut App) -> Vec<Cmd> {
    let text = match &app.popup {
        Some(Popup::Search(field) | Popup::Tag(field)) => field.text().trim().to_string(),
        _ => return vec![],
    };
    if matches!(app.popup, Some(Popup::Search(_))) {
        app.list.search = text;
    } else {
        app.list.tag = (!text.is_empty()).then_some(text);
    }
    app.list.selected = 0;
    reload(app)
}

/// The longest start the tags share (compared in any case; spelled as the first).
fn common_prefix(tags: &[String]) -> String {
    let Some(first) = tags.first() else {
        return String::new();
    };
    let mut len = first.chars().count();
    for tag in &tags[1..] {
        len = first
            .chars()
            .zip(tag.chars())
            .take(len)
            .take_while(|(a, b)| a.to_lowercase().eq(b.to_lowercase()))
            .count();
    }
    first.chars().take(len).collect()
}

fn on_form_key(app: &mut App, key: KeyEvent) -> Vec<Cmd> {
    let local_now = app.local_now();
    let Some(Popup::Form(form)) = app.popup.as_mut() else {
        return vec![];
    };
    if key.code != KeyCode::Esc {
        form.discard_armed = false;
    }
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    let position = FormField::ORDER
        .iter()
        .position(|f| *f == form.focus)
        .unwrap_or(0);
    let submit = (ctrl && key.code == KeyCode::Char('s'))
        || (key.code == KeyCode::Enter && form.focus != FormField::Description);
    if submit {
        if form.saving {
            return vec![];
        }
        return match validate(form, local_now) {
            Some(input) => {
                let cmd = match (form.editing, form.opened.as_deref()) {
                    (Some(id), Some((opened, due_text))) => {
                        let patch = changed_fields(opened, &input, due_text == form.due.text().trim());
                        if patch == todo_api::TaskPatch::default() {
                            app.popup = None;
                            info(app, "Nothing changed");
                            return vec![];
                        }
                        Cmd::PatchTask(id, patch, form.base_version)
                    }
                    _ => Cmd::CreateTask(input),
                };
                form.saving = true;
                form.error = None;
                launch(app, cmd)
            }
            None => vec![],
        };
    }
    match key.code {
        // Unsaved changes are dropped only at a second Esc.
        KeyCode::Esc if form.has_changes() && !form.discard_armed => {
            form.discard_armed = true;
            form.error = Some("Unsaved changes: Esc again drops them, Enter saves".into());
        }
        KeyCode::Esc => app.popup = None,
        KeyCode::Tab => form.focus = FormField::ORDER[(position + 1) % 5],
        KeyCode::BackTab => form.focus = FormField::ORDER[(position + 4) % 5],
        KeyCode::Enter => form.description.insert('\n'),
        KeyCode::Left | KeyCode::Right | KeyCode::Char(' ') if form.focus == FormField::Priority => {
            let forward = key.code != KeyCode::Left;
            form.priority = match (form.priority, forward) {
                (Priority::Low, true) | (Priority::High, false) => Priority::Medium,
                (Priority::Medium, true) | (Priority::Low, false) => Priority::High,
                (Priority::High, true) | (Priority::Medium, false) => Priority::Low,
            };
        }
        KeyCode::Char('l') if form.focus == FormField::Priority => form.priority = Priority::Low,
        KeyCode::Char('m') if form.focus == FormField::Priority => form.priority = Priority::Medium,
        KeyCode::Char('h') if form.focus == FormField::Priority => form.priority = Priority::High,
        _ => {
            let field = match form.focus {
                FormField::Title => &mut form.title,
                FormField::Description => &mut form.description,
                FormField::Due => &mut form.due,
                FormField::Tags => &mut form.tags,
                FormField::Priority => return vec![],
            };
            if field.handle_key(key) {
                form.errors.remove(&form.focus);
            }
        }
    }
    vec![]
}

/// Checks the form as the server would; errors land on their fields.
pub fn validate(form: &mut TaskForm, local_now: time::OffsetDateTime) -> Option<TaskInput> {
    form.errors.clear();
    let title = form.title.text().trim();
    let title_len = title.chars().count();
    if title_len == 0 {
        form.errors.insert(FormField::Title, "A title is required".into());
    } else if title_len > TITLE_MAX {
        form.errors.insert(
            FormField::Title,
            format!("{title_len} characters; at most {TITLE_MAX}"),
        );
    }
    let description_len = form.description.text().chars().count();
    if description_len > DESCRIPTION_MAX {
        form.errors.insert(
            FormField::Description,
            format!("{description_len} characters; at most {DESCRIPTION_MAX}"),
        );
    }
    let due_text = form.due.text().trim();
    let due = if due_text.is_empty() {
        None
    } else {
        match todo_client::due::parse_due(due_text, local_now) {
            Ok(due) => Some(due),
            Err(reason) => {
                form.errors.insert(FormField::Due, reason);
                None
            }
        }
    };
    // Counted as the server counts them: after duplicates are dropped.
    let tags = todo_api::limits::unique_tags(form.tags.text().split([',', ' ']));
    if tags.len() > TAGS_MAX {
        form.errors.insert(
            FormField::Tags,
            format!("{} tags; at most {TAGS_MAX}", tags.len()),
        );
    } else if tags.iter().any(|t| t.chars().count() > TAG_MAX) {
        form.errors
            .insert(FormField::Tags, format!("a tag has at most {TAG_MAX} characters"));
    }
    if let Some(first) = form.errors.keys().next() {
        form.focus = *first;
        return None;
    }
    Some(TaskInput {
        title: title.to_string(),
        description: Some(form.description.text().to_string()),
        priority: Some(form.priority),
        due_at: due,
        tags: Some(tags),
        source_id: None,
    })
}

/// The fields `now` changes from `opened`, as a merge patch. A due date whose text was
/// not touched is left out (its text may show a rounded form of the stored moment).
pub fn changed_fields(opened: &TaskInput, now: &TaskInput, due_untouched: bool) -> todo_api::TaskPatch {
    use todo_api::Patch;
    fn differs<T: PartialEq + Clone>(old: &T, new: &T) -> Patch<T> {
        if old == new {
            Patch::Absent
        } else {
            Patch::Value(new.clone())
        }
    }
    todo_api::TaskPatch {
        title: differs(&opened.title, &now.title),
        description: differs(
            &opened.description.clone().unwrap_or_default(),
            &now.description.clone().unwrap_or_default(),
        ),
        priority: differs(
            &opened.priority.unwrap_or_default(),
            &now.priority.unwrap_or_default(),
        ),
        due_at: match (due_untouched, now.due_at) {
            (true, _) => Patch::Absent,
            (false, Some(due)) if opened.due_at != Some(due) => Patch::Value(due),
            (false, None) if opened.due_at.is_some() => Patch::Null,
            _ => Patch::Absent,
        },
        tags: differs(
            &opened.tags.clone().unwrap_or_default(),
            &now.tags.clone().unwrap_or_default(),
        ),
        completed: Patch::Absent,
    }
}

/// What the app does first: check the stored session.
pub fn start(app: &mut App) -> Vec<Cmd> {
    app.screen = Screen::Connecting;
    launch(app, Cmd::CheckSession)
}
