//! The update function, screen by screen and key by key: state in, message, state out.

mod common;

use common::*;
use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEventKind};
use todo_api::{Priority, SortField, StatusFilter};
use todo_client::events::StreamNews;
use todo_client::{ClientError, TaskPage};
use todo_tui::app::{App, Cmd, FormField, LiveState, Mouse, Msg, Popup, Screen, SignInField, SignInForm};
use todo_tui::update::{start, update};

fn sign_in_form(app: &todo_tui::app::App) -> &SignInForm {
    match &app.screen {
        Screen::SignIn(form) => form,
        other => panic!("not on sign-in: {other:?}"),
    }
}

#[test]
fn start_checks_the_session_and_routes_by_the_answer() {
    let mut app = app();
    let cmds = start(&mut app);
    assert!(matches!(cmds.as_slice(), [Cmd::CheckSession]));
    assert_eq!((app.screen.clone(), app.busy), (Screen::Connecting, 1));

    let mut signed_in = app.clone();
    let cmds = update(&mut signed_in, Msg::SessionChecked(Ok(Some(user()))));
    assert_eq!(signed_in.screen, Screen::Tasks);
    assert!(matches!(
        cmds.as_slice(),
        [Cmd::LoadTasks(_), Cmd::LoadProjects, Cmd::WatchChanges(_)]
    ));

    let mut signed_out = app.clone();
    assert!(update(&mut signed_out, Msg::SessionChecked(Ok(None))).is_empty());
    assert!(matches!(signed_out.screen, Screen::SignIn(_)));
    assert_eq!(signed_out.busy, 0);

    let mut offline = app.clone();
    let unreachable = ClientError::Unreachable {
        url: "http://127.0.0.1:8000".into(),
        why: todo_client::Unreachable::Refused,
    };
    let _ = update(&mut offline, Msg::SessionChecked(Err(unreachable)));
    assert_eq!(offline.screen, Screen::Unreachable);
    assert!(
        offline
            .message
            .as_ref()
            .is_some_and(|m| m.is_error && m.text.contains("127.0.0.1:8000"))
    );
    let cmds = key(&mut offline, KeyCode::Char('r'));
    assert!(matches!(cmds.as_slice(), [Cmd::CheckSession]), "r retries");
    assert_eq!(offline.screen, Screen::Connecting);
}

#[test]
fn sign_in_moves_between_fields_submits_and_keeps_the_email_on_error() {
    let mut app = app();
    let _ = update(&mut app, Msg::SessionChecked(Ok(None)));
    let cmds = key(&mut app, KeyCode::Enter);
    assert!(cmds.is_empty(), "no email yet");
    assert!(
        sign_in_form(&app)
            .error
            .as_deref()
            .is_some_and(|e| e.contains("email"))
    );
    type_text(&mut app, "ann@example.com");
    key(&mut app, KeyCode::Tab);
    assert_eq!(sign_in_form(&app).focus, SignInField::Password);
    key(&mut app, KeyCode::BackTab);
    assert_eq!(sign_in_form(&app).focus, SignInField::Email);
    key(&mut app, KeyCode::Enter);
    assert_eq!(
        sign_in_form(&app).focus,
        SignInField::Password,
        "Enter in the email moves on"
    );
    type_text(&mut app, "wrong password");
    let cmds = key(&mut app, KeyCode::Enter);
    let Some(Cmd::SignIn(request)) = cmds.first() else {
        panic!("no sign-in: {cmds:?}")
    };
    assert_eq!(
        (request.email.as_str(), request.password.expose()),
        ("ann@example.com", "wrong password")
    );
    for printed in [format!("{app:?}"), format!("{cmds:?}")] {
        assert!(
            !printed.contains("wrong password"),
            "a debug print shows the password: {printed}"
        );
    }
    assert_eq!(app.busy, 1);

    let refused = problem(
        401,
        ProblemCode::InvalidCredentials,
        "the email or password is wrong",
        None,
    );
    let _ = update(&mut app, Msg::SignedIn(Err(refused)));
    let form = sign_in_form(&app);
    assert_eq!(form.email.text(), "ann@example.com", "the typed email stays");
    assert_eq!(form.password.text(), "");
    assert_eq!(form.error.as_deref(), Some("the email or password is wrong"));
    assert_eq!(app.busy, 0);

    let cmds = update(&mut app, Msg::SignedIn(Ok(user())));
    assert_eq!(app.screen, Screen::Tasks);
    assert!(matches!(
        cmds.as_slice(),
        [Cmd::LoadTasks(_), Cmd::LoadProjects, Cmd::WatchChanges(_)]
    ));
}

#[test]
fn sign_up_checks_as_you_type_and_shows_the_servers_reason() {
    let mut app = app();
    let _ = update(&mut app, Msg::SessionChecked(Ok(None)));
    type_text(&mut app, "ann@");
    ctrl(&mut app, 'n');
    let Screen::SignUp(form) = &app.screen else {
        panic!("not on sign-up")
    };
    assert_eq!(form.email.text(), "ann@", "the email carries over");
    let checks = form.checks();
    assert!(!checks.email_ok && !checks.length_ok && !checks.match_ok);

    key(&mut app, KeyCode::Tab); // name -> email
    type_text(&mut app, "example.com");
    key(&mut app, KeyCode::Tab);
    type_text(&mut app, "password1");
    key(&mut app, KeyCode::Tab);
    type_text(&mut app, "password2");
    let Screen::SignUp(form) = &app.screen else {
        panic!("not on sign-up")
    };
    let checks = form.checks();
    assert!(checks.email_ok && checks.length_ok && !checks.match_ok);
    assert!(
        key(&mut app, KeyCode::Enter).is_empty(),
        "mismatch blocks the submit"
    );

    key(&mut app, KeyCode::Backspace);
    type_text(&mut app, "1");
    let Screen::SignUp(form) = &app.screen else {
        panic!("not on sign-up")
    };
    assert!(
        form.checks()
            .strength_problem
            .is_some_and(|r| r.contains("too easy")),
        "the server's strength rule, checked as you type"
    );
    assert!(
        key(&mut app, KeyCode::Enter).is_empty(),
        "a weak password blocks the submit"
    );

    ctrl(&mut app, 'u');
    type_text(&mut app, "correct horse battery staple");
    key(&mut app, KeyCode::BackTab);
    ctrl(&mut app, 'u');
    type_text(&mut app, "correct horse battery staple");
    key(&mut app, KeyCode::Tab);
    let cmds = key(&mut app, KeyCode::Enter);
    assert!(matches!(cmds.as_slice(), [Cmd::SignUp(r)] if r.email == "ann@example.com" && r.name.is_none()));
    let weak = problem(
        422,
        ProblemCode::WeakPassword,
        "password is too easy to guess: a common password",
        Some("password"),
    );
    let _ = update(&mut app, Msg::SignedUp(Err(weak)));
    let Screen::SignUp(form) = &app.screen else {
        panic!("not on sign-up")
    };
    assert!(
        form.password_reason
            .as_deref()
            .is_some_and(|r| r.contains("too easy"))
    );
    assert_eq!(
        form.focus,
        todo_tui::app::SignUpField::Password,
        "focus goes to the password"
    );
    assert_eq!(form.email.text(), "ann@example.com");
    ctrl(&mut app, 'n');
    assert!(matches!(app.screen, Screen::SignIn(_)), "Ctrl-N goes back");
}

#[test]
fn navigation_keys_move_the_selection_within_bounds() {
    let mut app = app_with_tasks();
    assert_eq!(app.list.selected, 0);
    key(&mut app, KeyCode::Char('j'));
    key(&mut app, KeyCode::Down);
    key(&mut app, KeyCode::Down);
    assert_eq!(app.list.selected, 2, "clamped at the last task");
    key(&mut app, KeyCode::Char('k'));
    assert_eq!(app.list.selected, 1);
    key(&mut app, KeyCode::Char('g'));
    assert_eq!(app.list.selected, 0);
    key(&mut app, KeyCode::Char('G'));
    assert_eq!(app.list.selected, 2);
    key(&mut app, KeyCode::PageUp);
    assert_eq!(app.list.selected, 0);
    key(&mut app, KeyCode::PageDown);
    assert_eq!(app.list.selected, 2);

    // Vim's half pages; any other chord is not its bare letter (Ctrl-D never deletes).
    let mut long = app_with_tasks();
    long.list.tasks = (1..=20).map(|i| task(i, &format!("t{i}"))).collect();
    long.list.selected = 0;
    ctrl(&mut long, 'd');
    assert_eq!(long.list.selected, 5);
    ctrl(&mut long, 'u');
    assert_eq!(long.list.selected, 0);
    assert!(
        ctrl(&mut long, 'a').is_empty() && long.popup.is_none(),
        "Ctrl-A adds nothing"
    );
}

#[test]
fn filter_sort_search_tag_and_refresh_reload_with_the_right_query() {
    let mut app = app_with_tasks();
    let query = |cmds: Vec<Cmd>| match cmds.into_iter().next() {
        Some(Cmd::LoadTasks(q)) => q,
        other => panic!("expected a reload, got {other:?}"),
    };
    // Pending first, as `todo list`.
    assert_eq!(app.list.status, StatusFilter::Pending);
    assert_eq!(app.list.sort, SortField::Urgency);
    for next in [
        StatusFilter::Completed,
        StatusFilter::Waiting,
        StatusFilter::Blocked,
        StatusFilter::Unblocked,
        StatusFilter::All,
    ] {
        assert_eq!(query(key(&mut app, KeyCode::Char('f'))).status, Some(next));
    }
    assert_eq!(
        query(key(&mut app, KeyCode::Char('f'))).status,
        Some(StatusFilter::Pending)
    );
    app.list.sort = SortField::Created;
    let q = query(key(&mut app, KeyCode::Char('s')));
    assert_eq!(
        (q.sort, q.order),
        (Some(SortField::Due), Some(todo_api::SortOrder::Asc))
    );
    assert_eq!(
        query(key(&mut app, KeyCode::Char('r'))).sort,
        Some(SortField::Due)
    );

    // The prompts filter as you type: the first key loads, keys while a load runs
    // queue one more, Enter keeps what is shown.
    key(&mut app, KeyCode::Char('/'));
    assert!(matches!(app.popup, Some(Popup::Search(_))));
    app.loading = false;
    assert_eq!(
        query(key(&mut app, KeyCode::Char('m'))).search.as_deref(),
        Some("m")
    );
    type_text(&mut app, "ilk");
    assert_eq!(app.list.search, "milk");
    assert!(app.reload_queued, "a load with the latest text follows");
    assert!(key(&mut app, KeyCode::Enter).is_empty());
    assert!(app.popup.is_none());

    key(&mut app, KeyCode::Char('t'));
    app.loading = false;
    assert_eq!(query(key(&mut app, KeyCode::Char('h'))).tags, ["h".to_string()]);
    type_text(&mut app, "ome");
    assert!(key(&mut app, KeyCode::Enter).is_empty());
    let q = app.list.query();
    assert_eq!(
        (q.tags.as_slice(), q.search.as_deref()),
        (&["home".to_string()][..], Some("milk"))
    );

    app.loading = false;
    let q = query(key(&mut app, KeyCode::Esc));
    assert_eq!((q.tags, q.search), (vec![], None), "Esc clears search and tag");

    key(&mut app, KeyCode::Char('/'));
    type_text(&mut app, "abandoned");
    assert!(
        key(&mut app, KeyCode::Esc).is_empty(),
        "a load is running: queued"
    );
    assert!(
        app.list.search.is_empty(),
        "Esc in the popup puts the old search back"
    );

    // Tab in the tag prompt completes from the tags shown.
    app.list.tasks[0].tags = vec!["Work".into(), "weekend".into()];
    app.list.tasks[1].tags = vec!["work".into()];
    key(&mut app, KeyCode::Char('t'));
    type_text(&mut app, "w");
    key(&mut app, KeyCode::Tab);
    assert!(
        matches!(&app.popup, Some(Popup::Tag(f)) if f.text() == "w"),
        "two tags start with w"
    );
    type_text(&mut app, "o");
    key(&mut app, KeyCode::Tab);
    assert!(
        matches!(&app.popup, Some(Popup::Tag(f)) if f.text() == "Work"),
        "{:?}",
        app.popup
    );
}

#[test]
fn toggle_delete_help_sign_out_and_quit() {
    let mut app = app_with_tasks();
    let cmds = key(&mut app, KeyCode::Char(' '));
    assert!(matches!(cmds.as_slice(), [Cmd::ToggleTask(3, Some(1))]));
    let mut toggled = sample_tasks()[0].clone();
    toggled.completed = true;
    let cmds = update(&mut app, Msg::TaskToggled(Ok(toggled)));
    assert!(app.list.tasks[0].completed);
    assert!(matches!(cmds.as_slice(), [Cmd::LoadTasks(_)]));
    assert!(
        app.message
            .as_ref()
            .is_some_and(|m| m.text.starts_with("Completed task 3"))
    );

    key(&mut app, KeyCode::Char('d'));
    assert!(matches!(app.popup, Some(Popup::ConfirmDelete { id: 3, .. })));
    assert!(key(&mut app, KeyCode::Char('n')).is_empty());
    assert!(app.popup.is_none(), "anything but y keeps the task");
    key(&mut app, KeyCode::Char('d'));
    assert!(matches!(
        key(&mut app, KeyCode::Char('y')).as_slice(),
        [Cmd::DeleteTask(3, Some(1))]
    ));
    let _ = update(&mut app, Msg::TaskDeleted(3, Ok(())));
    assert_eq!(app.list.tasks.len(), 2);

    key(&mut app, KeyCode::Char('?'));
    assert_eq!(app.popup, Some(Popup::Help));
    assert!(key(&mut app, KeyCode::Char('q')).is_empty());
    assert!(
        app.popup.is_none() && !app.quit,
        "a key closes help without acting"
    );

    // Sign-out asks first: any key but y stays signed in.
    assert!(key(&mut app, KeyCode::Char('S')).is_empty());
    assert_eq!(app.popup, Some(Popup::ConfirmSignOut));
    assert!(key(&mut app, KeyCode::Char('n')).is_empty());
    assert!(app.popup.is_none() && app.screen == Screen::Tasks);
    key(&mut app, KeyCode::Char('S'));
    assert!(matches!(
        key(&mut app, KeyCode::Char('y')).as_slice(),
        [Cmd::SignOut]
    ));
    let _ = update(&mut app, Msg::SignedOut(Ok(None)));
    assert!(matches!(app.screen, Screen::SignIn(_)));
    assert!(app.list.tasks.is_empty(), "no tasks linger after sign-out");

    let mut quitting = app_with_tasks();
    key(&mut quitting, KeyCode::Char('q'));
    assert!(quitting.quit);
    let mut interrupted = app_with_tasks();
    key(&mut interrupted, KeyCode::Char('a'));
    ctrl(&mut interrupted, 'c');
    assert!(interrupted.quit, "Ctrl-C quits even from a popup");
}

#[test]
fn the_add_form_validates_inline_and_sends_a_full_task() {
    let mut app = app_with_tasks();
    key(&mut app, KeyCode::Char('a'));
    assert!(
        key(&mut app, KeyCode::Enter).is_empty(),
        "empty title is refused here"
    );
    let Some(Popup::Form(form)) = &app.popup else {
        panic!("no form")
    };
    assert_eq!(
        form.errors.get(&FormField::Title).map(String::as_str),
        Some("A title is required")
    );

    type_text(&mut app, "Water plants");
    key(&mut app, KeyCode::Tab);
    type_text(&mut app, "balcony");
    key(&mut app, KeyCode::Enter);
    type_text(&mut app, "and kitchen");
    key(&mut app, KeyCode::Tab);
    key(&mut app, KeyCode::Char('h'));
    key(&mut app, KeyCode::Tab);
    type_text(&mut app, "someday");
    key(&mut app, KeyCode::Tab);
    type_text(&mut app, "every 2 weeks");
    key(&mut app, KeyCode::Tab);
    type_text(&mut app, "1h");
    key(&mut app, KeyCode::Tab);
    type_text(&mut app, "home, green");
    assert!(ctrl(&mut app, 's').is_empty(), "a bad due date is refused");
    let Some(Popup::Form(form)) = &app.popup else {
        panic!("no form")
    };
    assert_eq!(form.focus, FormField::Due, "focus lands on the bad field");
    assert!(form.errors[&FormField::Due].contains("not a due date"));

    for _ in 0.."someday".len() {
        key(&mut app, KeyCode::Backspace);
    }
    type_text(&mut app, "tomorrow");
    let cmds = ctrl(&mut app, 's');
    let Some(Cmd::CreateTask(input)) = cmds.first() else {
        panic!("no create: {cmds:?}")
    };
    assert_eq!(input.title, "Water plants");
    assert_eq!(input.description.as_deref(), Some("balcony\nand kitchen"));
    assert_eq!(input.priority, Some(Priority::High));
    assert_eq!(
        input.due_at,
        Some(time::macros::datetime!(2030-06-16 23:59:59 UTC))
    );
    assert_eq!(input.tags, Some(vec!["home".to_string(), "green".to_string()]));
    let recurrence = input.recurrence.as_ref().expect("a rule");
    assert_eq!(recurrence.rule, "FREQ=WEEKLY;INTERVAL=2");
    assert_eq!(input.remind_before.as_deref(), Some("PT1H"));
    assert_eq!(input.remind_at, None);
    assert!(ctrl(&mut app, 's').is_empty(), "no double submit while saving");

    let mut saved = common::task(9, "Water plants");
    saved.priority = Priority::High;
    let cmds = update(&mut app, Msg::TaskSaved(Ok(saved)));
    assert!(app.popup.is_none());
    assert!(matches!(cmds.as_slice(), [Cmd::LoadTasks(_)]));
}

/// Moves the form's focus to `field`.
fn focus(app: &mut App, field: FormField) {
    for _ in 0..FormField::ORDER.len() {
        if matches!(&app.popup, Some(Popup::Form(f)) if f.focus == field) {
            return;
        }
        key(app, KeyCode::Tab);
    }
    panic!("no {field:?} in the form");
}

fn form(app: &App) -> &todo_tui::app::TaskForm {
    match &app.popup {
        Some(Popup::Form(form)) => form,
        other => panic!("no form: {other:?}"),
    }
}

#[test]
fn the_form_sets_a_rule_and_a_reminder_previews_the_next_dates_and_checks_both() {
    let mut app = app_with_tasks();
    key(&mut app, KeyCode::Char('e'));
    focus(&mut app, FormField::Repeat);
    type_text(&mut app, "FREQ=HOURLY");
    assert!(
        key(&mut app, KeyCode::Enter).is_empty(),
        "a rule the server refuses"
    );
    assert!(form(&app).errors[&FormField::Repeat].contains("HOURLY"));
    assert_eq!(
        form(&app).focus,
        FormField::Repeat,
        "the text is kept, focus on it"
    );
    for _ in 0.."FREQ=HOURLY".len() {
        key(&mut app, KeyCode::Backspace);
    }
    type_text(&mut app, "weekly");
    // Due 2030-06-16 (the end of that day): the next three Sundays.
    assert_eq!(
        todo_tui::update::repeat_preview(&app, form(&app)),
        "next 2030-06-23 · 2030-06-30 · 2030-07-07"
    );
    focus(&mut app, FormField::Remind);
    type_text(&mut app, "30m");
    let cmds = key(&mut app, KeyCode::Enter);
    let [Cmd::PatchTask(3, patch, Some(1))] = cmds.as_slice() else {
        panic!("a patch of task 3 at version 1: {cmds:?}")
    };
    let expected = todo_api::TaskPatch {
        recurrence: todo_api::Patch::Value(todo_api::Recurrence {
            rule: "FREQ=WEEKLY".into(),
            time_zone: "UTC".into(),
        }),
        remind_before: todo_api::Patch::Value("PT30M".into()),
        ..Default::default()
    };
    assert_eq!(*patch, expected, "the rule and the reminder, nothing else");

    // Without a due date, neither a rule nor a reminder before it is taken.
    let mut app = app_with_tasks();
    key(&mut app, KeyCode::Char('a'));
    type_text(&mut app, "Stretch");
    focus(&mut app, FormField::Repeat);
    type_text(&mut app, "daily");
    assert_eq!(
        todo_tui::update::repeat_preview(&app, form(&app)),
        "next dates: give a due date to count from"
    );
    focus(&mut app, FormField::Remind);
    type_text(&mut app, "10m");
    assert!(ctrl(&mut app, 's').is_empty());
    assert!(form(&app).errors[&FormField::Repeat].contains("needs a due date"));
    assert!(form(&app).errors[&FormField::Remind].contains("needs a due date"));
}

#[test]
fn the_servers_422_lands_on_its_field_and_edit_sends_only_what_changed() {
    let mut app = app_with_tasks();
    key(&mut app, KeyCode::Char('e'));
    let Some(Popup::Form(form)) = &app.popup else {
        panic!("no form")
    };
    assert_eq!(form.editing, Some(3));
    assert_eq!(form.title.text(), "Buy milk");
    assert_eq!(form.tags.text(), "home, shop");
    assert_eq!(form.due.text(), "2030-06-16", "as the list shows it");
    type_text(&mut app, " now");
    let cmds = key(&mut app, KeyCode::Enter);
    let [Cmd::PatchTask(3, patch, Some(1))] = cmds.as_slice() else {
        panic!("a patch of task 3 at version 1: {cmds:?}")
    };
    let expected = todo_api::TaskPatch {
        title: todo_api::Patch::Value("Buy milk now".into()),
        ..Default::default()
    };
    assert_eq!(*patch, expected, "only the field that changed");
    let refused = problem(
        422,
        ProblemCode::InvalidField,
        "each tag must be 1 to 32 characters",
        Some("tags"),
    );
    let _ = update(&mut app, Msg::TaskSaved(Err(refused)));
    let Some(Popup::Form(form)) = &app.popup else {
        panic!("the form stays open")
    };
    assert_eq!(form.focus, FormField::Tags);
    assert_eq!(
        form.errors[&FormField::Tags],
        "each tag must be 1 to 32 characters"
    );
    assert!(!form.saving);
}

#[test]
fn an_ended_session_returns_to_sign_in_and_keeps_the_unsaved_form() {
    let mut app = app_with_tasks();
    key(&mut app, KeyCode::Char('a'));
    type_text(&mut app, "Unsaved idea");
    let _ = key(&mut app, KeyCode::Enter);
    let ended = ClientError::SessionEnded {
        server: app.server.clone(),
    };
    let _ = update(&mut app, Msg::TaskSaved(Err(ended)));
    let form = sign_in_form(&app);
    assert_eq!(form.email.text(), "ann@example.com");
    assert!(form.error.as_deref().is_some_and(|e| e.contains("kept")));
    assert!(app.kept_form.is_some());

    let cmds = update(&mut app, Msg::SignedIn(Ok(user())));
    assert!(matches!(
        cmds.as_slice(),
        [Cmd::LoadTasks(_), Cmd::LoadProjects, Cmd::WatchChanges(_)]
    ));
    let Some(Popup::Form(form)) = &app.popup else {
        panic!("the form is back")
    };
    assert_eq!(form.title.text(), "Unsaved idea");
    assert!(app.kept_form.is_none());
}

#[test]
fn network_errors_on_the_task_screen_show_in_the_status_line() {
    let mut app = app_with_tasks();
    key(&mut app, KeyCode::Char('r'));
    let offline = ClientError::Unreachable {
        url: app.server.clone(),
        why: todo_client::Unreachable::Refused,
    };
    let _ = update(&mut app, Msg::TasksLoaded(Err(offline)));
    assert_eq!(app.screen, Screen::Tasks, "stays put");
    assert!(
        app.message
            .as_ref()
            .is_some_and(|m| m.is_error && m.text.contains("cannot reach"))
    );
    assert_eq!(app.list.tasks.len(), 3, "what was shown stays");

    let _ = key(&mut app, KeyCode::Char(' '));
    let refused = problem(
        401,
        ProblemCode::InvalidToken,
        "the access token is missing or invalid (expired)",
        None,
    );
    let _ = update(&mut app, Msg::TaskToggled(Err(refused)));
    assert!(matches!(app.screen, Screen::SignIn(_)));
}

#[test]
fn reload_keeps_the_selected_task_and_ticks_turn_the_spinner() {
    let mut app = app_with_tasks();
    key(&mut app, KeyCode::Down);
    assert_eq!(app.list.selected_task().map(|t| t.id), Some(2));
    let mut reordered = sample_tasks();
    reordered.reverse();
    let _ = update(
        &mut app,
        Msg::TasksLoaded(Ok(TaskPage {
            tasks: reordered,
            total: 3,
        })),
    );
    assert_eq!(
        app.list.selected_task().map(|t| t.id),
        Some(2),
        "the same task stays selected"
    );

    key(&mut app, KeyCode::Char('r'));
    let before = app.spinner;
    let _ = update(&mut app, Msg::Tick(NOW));
    assert_eq!(app.spinner, before + 1);
}

/// Ctrl and Alt chords never act as their bare letters: Ctrl-D then Ctrl-Y (vim's
/// scroll keys) once opened and confirmed a deletion.
#[test]
fn chords_never_fall_through_to_bare_letters() {
    let mut app = app_with_tasks();
    for c in ['d', 'a', 'e', 'f', 's', 'q', ' ', 'S', 'j'] {
        assert!(ctrl(&mut app, c).is_empty(), "Ctrl-{c} did something");
        assert!(app.popup.is_none(), "Ctrl-{c} opened {:?}", app.popup);
        assert!(!app.quit);
    }
    let selected = app.list.selected;
    let alt =
        |app: &mut App, c: char| update(app, Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::ALT)));
    assert!(alt(&mut app, 'd').is_empty() && app.popup.is_none());
    assert_eq!(app.list.selected, selected);

    key(&mut app, KeyCode::Char('d'));
    assert!(matches!(app.popup, Some(Popup::ConfirmDelete { .. })));
    assert!(ctrl(&mut app, 'y').is_empty(), "Ctrl-Y does not confirm");
    assert!(app.popup.is_none(), "and the question is closed, nothing deleted");

    key(&mut app, KeyCode::Char('a'));
    alt(&mut app, 'x');
    ctrl(&mut app, 'b');
    let Some(Popup::Form(form)) = &app.popup else {
        panic!("the form is open");
    };
    assert_eq!(form.title.text(), "", "chords type nothing");
}

fn change(kind: todo_api::EventType, id: i64, version: i64) -> StreamNews {
    StreamNews::Change(todo_api::TaskEvent {
        seq: 9,
        kind,
        task: serde_json::json!({"id": id, "version": version}),
        project: None,
        late: None,
    })
}

/// Changes made elsewhere reload the list (one load at a time, one more queued), the
/// status bar says live or reconnecting, news of an older stream is ignored, and the
/// task open in the form says it changed without giving up the typed text.
#[test]
fn changes_elsewhere_reload_the_list_and_warn_the_open_form() {
    let mut app = app_with_tasks();
    let generation = app.stream_generation;
    let _ = update(&mut app, Msg::Stream(generation, StreamNews::Live));
    assert_eq!(app.live, LiveState::Live);
    let _ = update(
        &mut app,
        Msg::TasksLoaded(Ok(TaskPage {
            tasks: sample_tasks(),
            total: 3,
        })),
    );
    let cmds = update(
        &mut app,
        Msg::Stream(generation, change(todo_api::EventType::Created, 99, 1)),
    );
    assert!(matches!(cmds.as_slice(), [Cmd::LoadTasks(_)]), "{cmds:?}");
    let cmds = update(
        &mut app,
        Msg::Stream(generation, change(todo_api::EventType::Updated, 99, 2)),
    );
    assert!(cmds.is_empty(), "a load is in flight: queued, {cmds:?}");
    let cmds = update(
        &mut app,
        Msg::TasksLoaded(Ok(TaskPage {
            tasks: sample_tasks(),
            total: 3,
        })),
    );
    assert!(
        matches!(cmds.as_slice(), [Cmd::LoadTasks(_)]),
        "the queued one: {cmds:?}"
    );
    let _ = update(
        &mut app,
        Msg::TasksLoaded(Ok(TaskPage {
            tasks: sample_tasks(),
            total: 3,
        })),
    );

    let stale = update(
        &mut app,
        Msg::Stream(generation + 7, change(todo_api::EventType::Created, 5, 1)),
    );
    assert!(stale.is_empty());

    let open = app.list.tasks[0].clone();
    key(&mut app, KeyCode::Char('e'));
    type_text(&mut app, " mine");
    let _ = update(
        &mut app,
        Msg::Stream(
            generation,
            change(todo_api::EventType::Updated, open.id, open.version + 1),
        ),
    );
    let Some(Popup::Form(form)) = &app.popup else {
        panic!("the form stays open")
    };
    assert!(
        form.error
            .as_deref()
            .is_some_and(|e| e.contains("Changed elsewhere")),
        "{:?}",
        form.error
    );
    assert!(form.title.text().ends_with(" mine"), "typed text kept");
    assert_eq!(form.base_version, Some(open.version), "saving still asks first");
    key(&mut app, KeyCode::Esc);
    let Some(Popup::Form(form)) = &app.popup else {
        panic!("one Esc keeps unsaved text")
    };
    assert!(
        form.error.as_deref().is_some_and(|e| e.contains("Esc again")),
        "{:?}",
        form.error
    );
    key(&mut app, KeyCode::Esc);
    assert!(app.popup.is_none(), "the second Esc drops it");

    let _ = update(
        &mut app,
        Msg::Stream(generation, StreamNews::Reconnecting("gone".into())),
    );
    let screen = todo_tui::driver::render(&app, 140, 40);
    assert!(screen.contains("reconnecting"), "{screen}");
    assert!(matches!(
        key(&mut app, KeyCode::Char('u')).as_slice(),
        [Cmd::Undo]
    ));
}

fn mouse(app: &mut App, kind: MouseEventKind, row: u16, at: std::time::Instant) -> Vec<Cmd> {
    update(
        app,
        Msg::Mouse(Mouse {
            kind,
            column: 10,
            row,
            screen: ratatui::layout::Rect::new(0, 0, 80, 24),
            at,
        }),
    )
}

/// At 80x24 the header is row 0, the table's border row 1, its column titles row 2:
/// the first task is on row 3.
#[test]
fn a_click_selects_a_double_click_edits_and_the_wheel_scrolls() {
    let mut app = app_with_tasks();
    let t0 = std::time::Instant::now();
    let left = MouseEventKind::Down(MouseButton::Left);
    mouse(&mut app, left, 5, t0);
    assert_eq!(app.list.selected, 2);
    assert!(app.popup.is_none(), "one click only selects");
    mouse(&mut app, left, 3, t0 + Duration::from_millis(100));
    assert_eq!(app.list.selected, 0, "another task: a new first click");
    assert!(app.popup.is_none());
    mouse(&mut app, left, 3, t0 + Duration::from_millis(300));
    assert!(
        matches!(app.popup, Some(Popup::Form(ref form)) if form.editing == Some(3)),
        "a double click on a task edits it: {:?}",
        app.popup
    );
    // With the form open the mouse does nothing: typing is never lost to a stray click.
    mouse(&mut app, left, 4, t0 + Duration::from_secs(5));
    assert!(matches!(app.popup, Some(Popup::Form(_))));
    app.popup = None;

    mouse(&mut app, left, 20, t0 + Duration::from_secs(6));
    assert_eq!(app.list.selected, 0, "a click below the tasks selects nothing");
    mouse(&mut app, MouseEventKind::ScrollDown, 3, t0);
    assert_eq!(app.list.selected, 2, "the wheel moves, stopping at the last");
    mouse(&mut app, MouseEventKind::ScrollUp, 3, t0);
    assert_eq!(app.list.selected, 0);

    app.mouse = false;
    mouse(&mut app, left, 5, t0 + Duration::from_secs(9));
    assert_eq!(app.list.selected, 0, "tui.mouse = false turns it off");
}

#[test]
fn n_and_shift_n_cycle_through_the_matches_of_a_search() {
    let mut app = app_with_tasks();
    key(&mut app, KeyCode::Char('n'));
    assert_eq!(app.list.selected, 0);
    assert!(
        app.message.as_ref().is_some_and(|m| m.text.contains("No search")),
        "{:?}",
        app.message
    );
    app.list.search = "a".into();
    key(&mut app, KeyCode::Char('N'));
    assert_eq!(app.list.selected, 2, "back from the first wraps to the last");
    key(&mut app, KeyCode::Char('n'));
    assert_eq!(app.list.selected, 0, "on from the last wraps to the first");
    key(&mut app, KeyCode::Char('n'));
    assert_eq!(app.list.selected, 1);
}

#[test]
fn tui_keys_in_the_config_rebind_an_action_and_free_its_old_key() {
    let mut app = app_with_tasks();
    let (keys, problems) = todo_tui::keymap::KeyMap::with_overrides(&[todo_client::config::KeyOverride {
        action: "delete".into(),
        keys: vec!["x".into()],
        place: String::new(),
    }]);
    assert!(problems.is_empty(), "{problems:?}");
    app.keys = keys;
    assert!(key(&mut app, KeyCode::Char('d')).is_empty());
    assert!(app.popup.is_none(), "d no longer deletes");
    key(&mut app, KeyCode::Char('x'));
    assert!(matches!(app.popup, Some(Popup::ConfirmDelete { id: 3, .. })));
    app.popup = None;
    key(&mut app, KeyCode::Char('?'));
    let screen = todo_tui::driver::render(&app, 80, 24);
    assert!(screen.contains(" x "), "the overlay shows the new key:\n{screen}");
}

#[test]
fn a_paste_goes_into_the_focused_field_and_never_runs_list_keys() {
    let mut app = app_with_tasks();
    let cmds = update(&mut app, Msg::Paste("dd q".into()));
    assert!(
        cmds.is_empty() && app.popup.is_none() && !app.quit,
        "the list ignores a paste"
    );

    key(&mut app, KeyCode::Char('a'));
    update(&mut app, Msg::Paste("Buy\r\nmilk\u{1b}[2J".into()));
    let Some(Popup::Form(form)) = &app.popup else {
        panic!("the form stays open: {:?}", app.popup);
    };
    assert_eq!(
        form.title.text(),
        "Buy milk[2J",
        "one line, no controls, not submitted"
    );
    assert!(!form.saving);
    key(&mut app, KeyCode::Tab);
    update(&mut app, Msg::Paste("two\nlines".into()));
    let Some(Popup::Form(form)) = &app.popup else {
        panic!("form");
    };
    assert_eq!(
        form.description.text(),
        "two\nlines",
        "the description keeps its lines"
    );
}

#[test]
fn the_saved_view_reopens_with_its_task_selected_and_a_config_warning_stays() {
    let mut app = app();
    todo_tui::saved_view::SavedView {
        status: Some(StatusFilter::All),
        sort: Some(SortField::Title),
        search: String::new(),
        tag: None,
        selected: Some(1),
    }
    .apply(&mut app);
    app.startup_warning = Some("config.toml: line 3: tui.keys.x: not an action".into());
    let cmds = update(&mut app, Msg::SessionChecked(Ok(Some(user()))));
    let Some(Cmd::LoadTasks(query)) = cmds.first() else {
        panic!("loads: {cmds:?}")
    };
    assert_eq!(
        (query.status, query.sort),
        (Some(StatusFilter::All), Some(SortField::Title))
    );
    let tasks = sample_tasks();
    let total = tasks.len() as u64;
    update(&mut app, Msg::TasksLoaded(Ok(TaskPage { tasks, total })));
    assert_eq!(
        app.list.selected_task().map(|t| t.id),
        Some(1),
        "the task selected last time"
    );
    let warning = app.message.as_ref().map(|m| (m.text.as_str(), m.is_error));
    assert_eq!(
        warning,
        Some(("config.toml: line 3: tui.keys.x: not an action", true)),
        "a load does not clear the config warning"
    );
    let generation = app.stream_generation;
    update(&mut app, Msg::Stream(generation, StreamNews::Live));
    assert!(app.message.is_some(), "nor does going live");
}

#[test]
fn the_account_panel_moves_with_the_rebound_keys_of_the_task_screen() {
    let mut app = app_with_tasks();
    let (keys, problems) = todo_tui::keymap::KeyMap::with_overrides(&[todo_client::config::KeyOverride {
        action: "down".into(),
        keys: vec!["n".into()],
        place: String::new(),
    }]);
    assert!(problems.is_empty(), "{problems:?}");
    app.keys = keys;
    key(&mut app, KeyCode::Char('A'));
    let session = |current| todo_api::SessionSummary {
        id: uuid::Uuid::new_v4(),
        created_at: time::OffsetDateTime::UNIX_EPOCH,
        last_used_at: time::OffsetDateTime::UNIX_EPOCH,
        user_agent: None,
        address: None,
        current,
    };
    update(
        &mut app,
        Msg::SessionsLoaded(Ok(vec![session(true), session(false), session(false)])),
    );
    let selected = |app: &App| match &app.popup {
        Some(Popup::Account(panel)) => panel.selected,
        other => panic!("the account panel is open: {other:?}"),
    };
    key(&mut app, KeyCode::Char('j'));
    assert_eq!(selected(&app), 0, "j no longer moves down");
    key(&mut app, KeyCode::Char('n'));
    assert_eq!(selected(&app), 1, "the rebound key moves down here too");
    key(&mut app, KeyCode::Char('q'));
    assert!(app.popup.is_none(), "quit closes the panel");
}

/// A project of the user's with one other member, who changed the first sample task.
fn household(role: todo_api::Role) -> todo_tui::projects::Shared {
    let sam = uuid::Uuid::from_u128(7);
    todo_tui::projects::Shared {
        project: todo_api::Project {
            id: uuid::Uuid::from_u128(42),
            name: "Household".into(),
            owner_id: sam,
            role,
            member_count: 2,
            version: 1,
            created_at: common::NOW,
            updated_at: common::NOW,
        },
        members: vec![todo_api::Member {
            user_id: sam,
            email: "sam@example.com".into(),
            role: todo_api::Role::Owner,
            added_at: common::NOW,
        }],
    }
}

/// An app whose selected task is in Household, where the user has `role`.
fn app_in_household(role: todo_api::Role) -> App {
    let mut app = app_with_tasks();
    let shared = household(role);
    let mut tasks = app.list.tasks.clone();
    tasks[0].project_id = Some(shared.project.id);
    tasks[0].updated_by = shared.members[0].user_id;
    let total = tasks.len() as u64;
    let _ = update(&mut app, Msg::TasksLoaded(Ok(TaskPage { tasks, total })));
    let _ = update(&mut app, Msg::ProjectsLoaded(Ok(vec![shared])));
    app.list.selected = 0;
    app
}

#[test]
fn a_viewer_is_told_a_project_is_read_only_instead_of_a_failing_save() {
    let mut app = app_in_household(todo_api::Role::Viewer);
    for action in [KeyCode::Char('e'), KeyCode::Char(' '), KeyCode::Char('d')] {
        let cmds = key(&mut app, action);
        assert!(cmds.is_empty(), "{action:?} sent {cmds:?}");
        assert!(app.popup.is_none(), "{action:?} opened {:?}", app.popup);
        let message = app.message.clone().expect("a message");
        assert!(
            message.text.contains("read-only") && message.text.contains("viewer"),
            "{message:?}"
        );
    }
    // A personal task of the same user is theirs to change.
    app.list.selected = 1;
    key(&mut app, KeyCode::Char('e'));
    assert!(matches!(app.popup, Some(Popup::Form(_))));
}

#[test]
fn p_cycles_all_personal_and_each_project_and_a_new_task_goes_to_the_project_shown() {
    let mut app = app_in_household(todo_api::Role::Editor);
    let project = |cmds: &[Cmd]| match cmds {
        [Cmd::LoadTasks(query)] => query.project.clone(),
        other => panic!("not a reload: {other:?}"),
    };
    assert_eq!(project(&key(&mut app, KeyCode::Char('p'))), Some("none".into()));
    let id = uuid::Uuid::from_u128(42).to_string();
    assert_eq!(project(&key(&mut app, KeyCode::Char('p'))), Some(id.clone()));
    assert!(
        app.message
            .as_ref()
            .is_some_and(|m| m.text.contains("Household (editor)"))
    );

    key(&mut app, KeyCode::Char('a'));
    type_text(&mut app, "Fix the tap");
    let cmds = ctrl(&mut app, 's');
    match cmds.as_slice() {
        [Cmd::CreateTask(input)] => assert_eq!(input.project_id.map(|p| p.to_string()), Some(id)),
        other => panic!("not a create: {other:?}"),
    }
    let _ = update(
        &mut app,
        Msg::TaskSaved(Err(common::problem(500, ProblemCode::Internal, "x", None))),
    );
    app.popup = None;
    assert_eq!(
        project(&key(&mut app, KeyCode::Char('p'))),
        None,
        "back to every task"
    );

    // Left the project: its filter goes, and the list reloads with every task.
    key(&mut app, KeyCode::Char('p'));
    let cmds = key(&mut app, KeyCode::Char('p'));
    assert_eq!(project(&cmds), Some(uuid::Uuid::from_u128(42).to_string()));
    let cmds = update(&mut app, Msg::ProjectsLoaded(Ok(vec![])));
    assert_eq!(project(&cmds), None);
}

#[test]
fn the_account_panel_shows_an_invitation_and_i_accepts_it() {
    let mut app = app_with_tasks();
    let cmds = key(&mut app, KeyCode::Char('A'));
    assert!(
        matches!(cmds.as_slice(), [Cmd::LoadSessions, Cmd::LoadInvitations]),
        "{cmds:?}"
    );
    let invitation = todo_api::Invitation {
        id: uuid::Uuid::from_u128(9),
        project_id: uuid::Uuid::from_u128(42),
        project_name: "Household".into(),
        email: "ann@example.com".into(),
        role: todo_api::Role::Editor,
        invited_by: uuid::Uuid::from_u128(7),
        created_at: common::NOW,
        expires_at: common::NOW,
    };
    let _ = update(&mut app, Msg::InvitationsLoaded(Ok(vec![invitation.clone()])));
    let cmds = key(&mut app, KeyCode::Char('i'));
    match cmds.as_slice() {
        [Cmd::AnswerInvitation(id, true)] => assert_eq!(*id, invitation.id),
        other => panic!("not an accept: {other:?}"),
    }
    let cmds = update(&mut app, Msg::InvitationAnswered(true, Ok(invitation)));
    assert!(
        matches!(
            cmds.as_slice(),
            [Cmd::LoadInvitations, Cmd::LoadProjects, Cmd::LoadTasks(_)]
        ),
        "the projects and the list reload: {cmds:?}"
    );
    match &app.popup {
        Some(Popup::Account(panel)) => {
            let note = panel.note.clone().expect("a note");
            assert!(note.0.contains("joined Household as editor"), "{note:?}");
        }
        other => panic!("the panel stays open: {other:?}"),
    }
}

/// A reminder is a notice in the status line, not a change: the list is not reloaded;
/// a waiting task that wakes is a change, and reloads it.
#[test]
fn a_reminder_shows_a_notice_and_a_wake_up_reloads() {
    let mut app = app_with_tasks();
    let generation = app.stream_generation;
    let _ = update(&mut app, Msg::Stream(generation, StreamNews::Live));
    let _ = update(
        &mut app,
        Msg::TasksLoaded(Ok(TaskPage {
            tasks: sample_tasks(),
            total: 3,
        })),
    );
    let mut reminder = change(todo_api::EventType::Reminder, 3, 1);
    if let StreamNews::Change(event) = &mut reminder {
        event.task = serde_json::json!({"id": 3, "version": 1, "title": "Buy milk"});
        event.late = Some(true);
    }
    let cmds = update(&mut app, Msg::Stream(generation, reminder));
    assert!(cmds.is_empty(), "{cmds:?}");
    let message = app.message.as_ref().map(|m| m.text.clone()).unwrap_or_default();
    assert!(
        message.contains("Reminder") && message.contains("Buy milk") && message.contains("late"),
        "{message}"
    );
    let cmds = update(
        &mut app,
        Msg::Stream(generation, change(todo_api::EventType::Woke, 5, 1)),
    );
    assert!(matches!(cmds.as_slice(), [Cmd::LoadTasks(_)]), "{cmds:?}");
}

/// `c` writes a note on the selected task: a blank one is refused in place, Enter sends
/// the text, and a note the server refuses comes back with its text and the reason.
#[test]
fn a_note_is_written_in_a_prompt_and_a_refused_one_keeps_its_text() {
    let mut app = app_with_tasks();
    let selected = app.list.selected_task().expect("a task").id;
    assert!(key(&mut app, KeyCode::Char('c')).is_empty());
    let cmds = key(&mut app, KeyCode::Enter);
    assert!(cmds.is_empty(), "{cmds:?}");
    assert!(
        matches!(&app.popup, Some(Popup::Note { error: Some(e), .. }) if e.contains("text")),
        "{:?}",
        app.popup
    );
    type_text(&mut app, "Called the plumber");
    let cmds = key(&mut app, KeyCode::Enter);
    assert!(
        matches!(cmds.as_slice(), [Cmd::AddNote(id, text)] if *id == selected && text == "Called the plumber"),
        "{cmds:?}"
    );
    assert!(app.popup.is_none());
    let refused = ClientError::Api {
        problem: Box::new(todo_api::Problem {
            kind: "urn:todo:problem:limit_reached".into(),
            title: "Unprocessable Entity".into(),
            status: 422,
            detail: "task 3 has 100 notes, the most it may hold".into(),
            code: todo_api::ProblemCode::LimitReached,
            field: None,
            current: None,
        }),
    };
    let _ = update(
        &mut app,
        Msg::NoteAdded(selected, "Called the plumber".into(), Err(refused)),
    );
    match &app.popup {
        Some(Popup::Note { task, text, error }) => {
            assert_eq!((*task, text.text()), (selected, "Called the plumber"));
            assert!(
                error.as_deref().is_some_and(|e| e.contains("100 notes")),
                "{error:?}"
            );
        }
        other => panic!("the prompt comes back: {other:?}"),
    }
    let cmds = update(
        &mut app,
        Msg::NoteAdded(
            selected,
            "Called the plumber".into(),
            Ok(todo_api::Note {
                id: uuid::Uuid::nil(),
                text: "Called the plumber".into(),
                author_id: uuid::Uuid::nil(),
                created_at: time::OffsetDateTime::UNIX_EPOCH,
            }),
        ),
    );
    assert!(matches!(cmds.as_slice(), [Cmd::LoadTasks(_)]), "{cmds:?}");
}

/// Offline: the list opens on the local copy before the server answers, stays when the
/// server is away, sends the queue once the stream is live, and a refused change opens
/// the conflict view where `m` keeps mine.
#[test]
fn the_local_copy_draws_first_the_queue_goes_when_live_and_conflicts_are_decided() {
    use todo_tui::app::{ConflictView, LocalState, QueueReport};
    let mut app = common::app();
    let _ = todo_tui::update::start(&mut app);
    let tasks = vec![common::task(1, "Water plants"), common::task(2, "File taxes")];
    let state = LocalState {
        queued: 1,
        queued_ids: vec![2],
        ..LocalState::default()
    };
    let _ = update(&mut app, Msg::LocalStart(common::user(), tasks, state));
    assert_eq!(app.screen, Screen::Tasks, "drawn before the server answers");
    assert_eq!(app.list.tasks.len(), 2);

    let away = ClientError::Unreachable {
        url: app.server.clone(),
        why: todo_client::Unreachable::Refused,
    };
    let cmds = update(&mut app, Msg::SessionChecked(Err(away)));
    assert_eq!(app.screen, Screen::Tasks, "stays on the local copy");
    assert!(
        matches!(cmds.as_slice(), [Cmd::WatchChanges(_)]),
        "and waits for the server: {cmds:?}"
    );
    assert!(app.local.as_ref().is_some_and(|l| !l.why.is_empty()));

    let generation = app.stream_generation;
    let cmds = update(&mut app, Msg::Stream(generation, StreamNews::Live));
    assert!(
        matches!(cmds.first(), Some(Cmd::SendQueue)),
        "the queue first: {cmds:?}"
    );

    let conflict = ConflictView {
        n: 7,
        change: "edit #2".into(),
        reason: "changed on the server since".into(),
        fields: vec![("title".into(), "Theirs".into(), "Mine".into())],
    };
    let report = QueueReport {
        applied: 1,
        refused: 1,
        conflicts: vec![conflict],
    };
    let _ = update(&mut app, Msg::QueueSent(Ok(report)));
    assert!(
        matches!(app.popup, Some(Popup::Conflicts { .. })),
        "{:?}",
        app.popup
    );
    let cmds = key(&mut app, KeyCode::Char('m'));
    assert!(
        matches!(
            cmds.as_slice(),
            [Cmd::ResolveConflict(7, todo_tui::app::Resolution::Mine)]
        ),
        "{cmds:?}"
    );
    // Space on the field gives it to theirs: with no field left as mine, Enter keeps theirs.
    let _ = key(&mut app, KeyCode::Char(' '));
    let cmds = key(&mut app, KeyCode::Enter);
    assert!(
        matches!(
            cmds.as_slice(),
            [Cmd::ResolveConflict(7, todo_tui::app::Resolution::Theirs)]
        ),
        "{cmds:?}"
    );
}
