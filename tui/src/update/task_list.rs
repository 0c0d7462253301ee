//! The task list: its actions (from the key map), the mouse and pastes.

use super::*;

pub(super) fn next_status(s: StatusFilter) -> StatusFilter {
    match s {
        StatusFilter::All => StatusFilter::Pending,
        StatusFilter::Pending => StatusFilter::Completed,
        StatusFilter::Completed => StatusFilter::Waiting,
        StatusFilter::Waiting => StatusFilter::Blocked,
        StatusFilter::Blocked => StatusFilter::Unblocked,
        StatusFilter::Unblocked => StatusFilter::All,
    }
}

pub(super) fn next_sort(s: SortField) -> SortField {
    match s {
        SortField::Created => SortField::Due,
        SortField::Due => SortField::Priority,
        SortField::Priority => SortField::Title,
        SortField::Title => SortField::Urgency,
        SortField::Urgency => SortField::Updated,
        SortField::Updated => SortField::Created,
    }
}

/// Half a page of the list, as Ctrl-D and Ctrl-U move.
pub(super) const HALF_PAGE: usize = 5;

pub(super) fn on_tasks_key(app: &mut App, key: KeyEvent) -> Vec<Cmd> {
    match app.keys.action(&key) {
        Some(action) => on_action(app, action),
        None => vec![],
    }
}

pub(super) fn on_action(app: &mut App, action: Action) -> Vec<Cmd> {
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
        Action::Add => {
            let shown = match app.list.project {
                crate::projects::ProjectFilter::Only(id) => Some(id),
                _ => None,
            };
            match app.projects.read_only(shown) {
                Some(why) => error(app, why),
                None => app.popup = Some(Popup::Form(TaskForm::new_task())),
            }
        }
        Action::Edit | Action::Toggle | Action::Delete if selected_read_only(app).is_some() => {
            let why = selected_read_only(app).unwrap_or_default();
            error(app, why);
        }
        Action::Edit => {
            if let Some(task) = app.list.selected_task() {
                let form = TaskForm::edit(task, opened_texts(app, task));
                app.popup = Some(Popup::Form(form));
            }
        }
        Action::Toggle => {
            if let Some(task) = app.list.selected_task() {
                let cmd = Cmd::ToggleTask(task.id, Some(task.version));
                return launch(app, cmd);
            }
        }
        Action::Project => {
            app.list.project = app.projects.next(app.list.project);
            let shown = app
                .projects
                .describe(app.list.project)
                .unwrap_or_else(|| "every task you can see".into());
            info(app, format!("Showing {shown}"));
            return load_tasks(app);
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
            let mut cmds = load_tasks(app);
            cmds.extend(launch(app, Cmd::LoadProjects));
            return cmds;
        }
        Action::Undo => return launch(app, Cmd::Undo),
        Action::Note => {
            if let Some(task) = app.list.selected_task() {
                app.popup = Some(Popup::Note {
                    task: task.id,
                    text: TextField::default(),
                    error: None,
                });
            }
        }
        Action::Conflicts => return launch(app, Cmd::LoadConflicts),
        Action::Fold => {
            if !app.list.toggle_fold() {
                info(app, "No subtasks to fold here");
            }
        }
        Action::Help => app.popup = Some(Popup::Help),
        Action::SignOut => app.popup = Some(Popup::ConfirmSignOut),
        Action::Account => {
            app.popup = Some(Popup::Account(crate::account::AccountPanel::default()));
            let mut cmds = launch(app, Cmd::LoadSessions);
            cmds.extend(launch(app, Cmd::LoadInvitations));
            return cmds;
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

/// Why the selected task cannot be changed by this user (a viewer in its project), if
/// it cannot: said instead of opening a form or sending a write that would be refused.
fn selected_read_only(app: &App) -> Option<String> {
    let task = app.list.selected_task()?;
    app.projects.read_only(task.project_id)
}

/// A paste goes into the focused text field as if typed, and only there: on the task
/// list it would run a key per character. Line breaks become spaces except in the
/// description, where they stay; other control characters are dropped.
pub(super) fn on_paste(app: &mut App, text: &str) -> Vec<Cmd> {
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
pub(super) const WHEEL_ROWS: usize = 3;

/// Two clicks on one task within this are a double click.
pub(super) const DOUBLE_CLICK: std::time::Duration = std::time::Duration::from_millis(400);

/// The mouse on the task screen: a click selects, a double click edits, the wheel
/// scrolls. Popups and forms stay keyboard-only, so a stray click never loses typing.
pub(super) fn on_mouse(app: &mut App, mouse: Mouse) -> Vec<Cmd> {
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
pub(super) fn next_match(app: &mut App, forward: bool) {
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

pub(super) fn scroll_detail(app: &mut App, down: bool) {
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
