//! The pure update function: state in, message, state out, plus the network commands to
//! run. No I/O happens here, so every screen and key is unit-tested without a terminal.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEventKind};
use todo_api::{Priority, SignInRequest, SignUpRequest, SortField, StatusFilter, Task, TaskInput};
use todo_client::events::StreamNews;
use todo_client::{ClientError, TaskPage};

use crate::app::{
    App, Cmd, FormField, LiveState, Mouse, Msg, Popup, Screen, SignInField, SignInForm, SignUpField,
    SignUpForm, StatusMessage, TaskForm,
};
use crate::keymap::Action;
use crate::text_field::TextField;

use todo_api::limits::{DESCRIPTION_MAX, TAG_MAX, TAGS_MAX, TITLE_MAX};

mod auth_screens;
mod prompts;
mod replies;
mod task_form;
mod task_list;

use auth_screens::*;
use prompts::*;
use replies::*;
use task_form::on_form_key;
pub use task_form::{Untouched, changed_fields, opened_texts, repeat_preview, validate};
use task_list::*;

pub fn update(app: &mut App, msg: Msg) -> Vec<Cmd> {
    let mut cmds = update_for(app, msg);
    cmds.extend(follow_detail(app));
    cmds
}

/// The selected task has notes the list does not carry: fetch its whole answer once
/// per version (a change elsewhere bumps the version and so fetches again).
fn follow_detail(app: &mut App) -> Vec<Cmd> {
    if app.screen != Screen::Tasks {
        return vec![];
    }
    let Some(task) = app.list.selected_task() else {
        return vec![];
    };
    let wanted = (task.id, task.version);
    if task.note_count == 0 || app.selected_notes().is_some() || app.detail_asked == Some(wanted) {
        return vec![];
    }
    app.detail_asked = Some(wanted);
    launch(app, Cmd::LoadDetail(wanted.0))
}

fn update_for(app: &mut App, msg: Msg) -> Vec<Cmd> {
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

/// The session is gone: back to sign-in with the email kept and a message.
fn to_sign_in(app: &mut App, message: &str) {
    let email = app.user.as_ref().map(|u| u.email.clone()).unwrap_or_default();
    app.user = None;
    app.popup = None;
    app.screen = Screen::SignIn(SignInForm {
        email: TextField::new(&email),
        focus: if email.is_empty() {
            SignInField::Email
        } else {
            SignInField::Password
        },
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
    cmds.extend(launch(app, Cmd::LoadProjects));
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

/// What the app does first: check the stored session.
pub fn start(app: &mut App) -> Vec<Cmd> {
    app.screen = Screen::Connecting;
    launch(app, Cmd::CheckSession)
}
