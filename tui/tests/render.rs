//! Every screen drawn on a `TestBackend`, at 80x24 and at a wide size, with error and
//! empty states. Snapshots live in `tests/snapshots/`.

mod common;

use common::*;
use crossterm::event::KeyCode;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::style::Color;
use todo_client::{ClientError, TaskPage};
use todo_tui::app::{App, Msg};
use todo_tui::driver::render;
use todo_tui::update::{start, update};

fn both_sizes(name: &str, app: &App) {
    insta::assert_snapshot!(format!("{name}_80x24"), render(app, 80, 24));
    insta::assert_snapshot!(format!("{name}_160x40"), render(app, 160, 40));
}

#[test]
fn connecting_and_unreachable() {
    let mut app = app();
    let _ = start(&mut app);
    app.busy = 0; // no spinner frame in the snapshot
    both_sizes("connecting", &app);
    let url = app.server.clone();
    let _ = update(
        &mut app,
        Msg::SessionChecked(Err(ClientError::Unreachable {
            url,
            why: todo_client::Unreachable::Refused,
        })),
    );
    both_sizes("unreachable", &app);
}

#[test]
fn sign_in_empty_and_with_an_error() {
    let mut app = app();
    let _ = update(&mut app, Msg::SessionChecked(Ok(None)));
    both_sizes("sign_in_empty", &app);
    type_text(&mut app, "ann@example.com");
    key(&mut app, KeyCode::Tab);
    type_text(&mut app, "hunter22");
    let _ = key(&mut app, KeyCode::Enter);
    let _ = update(
        &mut app,
        Msg::SignedIn(Err(problem(
            401,
            ProblemCode::InvalidCredentials,
            "the email or password is wrong",
            None,
        ))),
    );
    both_sizes("sign_in_error", &app);
    assert!(
        !render(&app, 80, 24).contains("hunter22"),
        "the password never shows"
    );
}

#[test]
fn sign_up_with_checks_and_the_servers_reason() {
    let mut app = app();
    let _ = update(&mut app, Msg::SessionChecked(Ok(None)));
    ctrl(&mut app, 'n');
    type_text(&mut app, "Ann");
    key(&mut app, KeyCode::Tab);
    type_text(&mut app, "ann@example.com");
    key(&mut app, KeyCode::Tab);
    type_text(&mut app, "password1");
    both_sizes("sign_up_typing", &app);
    key(&mut app, KeyCode::Tab);
    type_text(&mut app, "password1");
    let _ = key(&mut app, KeyCode::Enter);
    let weak = problem(
        422,
        ProblemCode::WeakPassword,
        "password is too easy to guess: This is a very common password.",
        Some("password"),
    );
    let _ = update(&mut app, Msg::SignedUp(Err(weak)));
    both_sizes("sign_up_weak", &app);
}

#[test]
fn task_screen_empty_full_and_with_popups() {
    let mut app = app();
    let _ = update(&mut app, Msg::SessionChecked(Ok(Some(user()))));
    app.busy = 0;
    let _ = update(
        &mut app,
        Msg::TasksLoaded(Ok(TaskPage {
            tasks: vec![],
            total: 0,
        })),
    );
    both_sizes("tasks_empty", &app);

    let mut app = app_with_tasks();
    app.busy = 0;
    both_sizes("tasks", &app);
    key(&mut app, KeyCode::Char('?'));
    both_sizes("help", &app);
    key(&mut app, KeyCode::Char('x'));
    key(&mut app, KeyCode::Char('d'));
    both_sizes("confirm_delete", &app);
    key(&mut app, KeyCode::Esc);
    key(&mut app, KeyCode::Char('a'));
    let _ = key(&mut app, KeyCode::Enter);
    both_sizes("form_errors", &app);
}

#[test]
fn thousands_of_tasks_render_only_the_visible_window() {
    let mut app = app();
    let _ = update(&mut app, Msg::SessionChecked(Ok(Some(user()))));
    let tasks: Vec<_> = (1..=5000)
        .rev()
        .map(|i| task(i, &format!("task number {i}")))
        .collect();
    let _ = update(&mut app, Msg::TasksLoaded(Ok(TaskPage { tasks, total: 5000 })));
    key(&mut app, KeyCode::Char('G'));
    let screen = render(&app, 80, 24);
    assert!(
        screen.contains("task number 1\n") || screen.contains("task number 1 "),
        "{screen}"
    );
    assert!(!screen.contains("task number 5000"), "the top is scrolled away");
    assert!(screen.contains("5000 in all"));
}

fn cell_colors(app: &App) -> Vec<Color> {
    let mut terminal = Terminal::new(TestBackend::new(100, 30)).expect("terminal");
    terminal.draw(|f| todo_tui::view::view(app, f)).expect("draw");
    terminal
        .backend()
        .buffer()
        .content()
        .iter()
        .map(|c| c.fg)
        .collect()
}

#[test]
fn overdue_is_red_and_no_color_means_no_colour() {
    let mut colored = app_with_tasks();
    colored.color = true;
    assert!(
        cell_colors(&colored).contains(&Color::Red),
        "overdue due date in the warning colour"
    );
    let plain = app_with_tasks();
    assert!(
        cell_colors(&plain).iter().all(|c| *c == Color::Reset),
        "NO_COLOR: no colours at all"
    );
}

/// Whatever a server sends, a control character is drawn as text (`\u{1b}`), never
/// passed to the terminal, in the list, the detail pane and the delete question.
#[test]
fn control_characters_from_the_server_are_shown_not_obeyed() {
    let mut app = app();
    let _ = update(&mut app, Msg::SessionChecked(Ok(Some(user()))));
    app.busy = 0;
    let mut evil = task(7, "evil\u{1b}]0;pwned\u{7}");
    evil.tags = vec!["\u{9b}2J".into()];
    evil.description = "line\u{1b}[2J\nnext".into();
    let _ = update(
        &mut app,
        Msg::TasksLoaded(Ok(TaskPage {
            tasks: vec![evil],
            total: 1,
        })),
    );
    key(&mut app, KeyCode::Char('d'));
    for (w, h) in [(80, 24), (160, 40)] {
        let screen = render(&app, w, h);
        assert!(
            !screen.contains(['\u{1b}', '\u{7}', '\u{9b}']),
            "a raw control reached the screen: {screen:?}"
        );
        assert!(screen.contains("\\u{1b}"), "{screen}");
    }
}

/// At 80 columns the message wins the status line (lesser parts give way), and one too
/// long for the line is cut with `…`, keeping `? help`.
#[test]
fn the_status_message_is_whole_at_80_columns() {
    let mut app = app_with_tasks();
    app.message = Some(todo_tui::app::StatusMessage {
        text: "Saved task 3: Buy milk and bread on the way home".into(),
        is_error: false,
    });
    let screen = render(&app, 80, 24);
    let status = screen.lines().last().unwrap_or_default().to_string();
    assert!(
        status.contains("Saved task 3: Buy milk and bread on the way home"),
        "{status}"
    );
    assert!(status.contains("? help"), "{status}");
    app.message = Some(todo_tui::app::StatusMessage {
        text: "x".repeat(120),
        is_error: true,
    });
    let screen = render(&app, 80, 24);
    let status = screen.lines().last().unwrap_or_default().to_string();
    assert!(status.contains('…') && status.contains("? help"), "{status}");
}

/// A description longer than the detail pane scrolls with J and K; another task starts
/// at its top.
#[test]
fn a_long_description_scrolls_in_the_detail_pane() {
    let mut app = app_with_tasks();
    app.list.selected = 0;
    app.list.tasks[0].description = (1..=30)
        .map(|i| format!("line {i}"))
        .collect::<Vec<_>>()
        .join("\n");
    let screen = render(&app, 80, 24);
    assert!(
        screen.contains("line 1") && !screen.contains("line 12"),
        "{screen}"
    );
    for _ in 0..10 {
        key(&mut app, KeyCode::Char('J'));
    }
    let screen = render(&app, 80, 24);
    assert!(
        screen.contains("line 12") && !screen.contains("line 1\n"),
        "{screen}"
    );
    assert!(screen.contains("↓10"), "{screen}");
    key(&mut app, KeyCode::Char('j'));
    assert_eq!(app.detail_offset(), 0, "another task starts at the top");
    key(&mut app, KeyCode::Char('k'));
    assert_eq!(app.detail_offset(), 10, "and coming back keeps the place");
}

fn cells(app: &App) -> Vec<ratatui::buffer::Cell> {
    let mut terminal = Terminal::new(TestBackend::new(100, 30)).expect("terminal");
    terminal.draw(|f| todo_tui::view::view(app, f)).expect("draw");
    terminal.backend().buffer().content().to_vec()
}

#[test]
fn high_contrast_uses_bright_colours_and_never_dims() {
    use ratatui::style::Modifier;
    let mut normal = app_with_tasks();
    normal.color = true;
    let mut high = normal.clone();
    high.theme = todo_client::config::Theme::HighContrast;
    let dims = |app: &App| cells(app).iter().any(|c| c.modifier.contains(Modifier::DIM));
    assert!(dims(&normal), "the default theme dims low priority and hints");
    assert!(!dims(&high), "high contrast dims nothing");
    let fg: Vec<Color> = cells(&high).iter().map(|c| c.fg).collect();
    assert!(fg.contains(&Color::LightRed), "overdue in bright red");
    assert!(!fg.contains(&Color::Red), "no dark red left");
    // NO_COLOR still wins: no colour at all, but still no dim text.
    high.color = false;
    assert!(cells(&high).iter().all(|c| c.fg == Color::Reset));
    assert!(!dims(&high));
}

/// Flags, ZWJ families and CJK are two cells wide: drawn in two cells, never leaving a
/// stray cell or pushing the border out of line.
#[test]
fn wide_and_joined_emoji_keep_the_borders_in_line() {
    let mut app = app_with_tasks();
    app.list.tasks[0].title = "👩‍👩‍👧 family 🇫🇷 trip 日本".into();
    app.list.tasks[0].tags = vec!["🇯🇵".into()];
    app.list.tasks[0].description = "👨‍💻 code 🏳️‍🌈 flag".into();
    for (width, height) in [(80, 24), (160, 40)] {
        let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("terminal");
        terminal.draw(|f| todo_tui::view::view(&app, f)).expect("draw");
        let buffer = terminal.backend().buffer();
        let screen = render(&app, width, height);
        assert!(screen.contains("👩‍👩‍👧 family 🇫🇷 trip 日本"), "{screen}");
        let title_row = (0..height)
            .find(|y| (0..width).any(|x| buffer[(x, *y)].symbol().contains("👩")))
            .expect("the title is drawn");
        let plain_row = title_row + 1;
        let right_border = |y: u16| (0..width).rev().find(|x| buffer[(*x, y)].symbol() == "│");
        assert_eq!(
            right_border(title_row),
            right_border(plain_row),
            "the border stays in line at {width}x{height}:\n{screen}"
        );
    }
}

/// README's picture of the app is the app as drawn: this renders it at 80x24 and
/// compares it with the block after `<!-- tui-capture -->` in README.md.
/// `TODO_UPDATE_README=1 cargo test -p todo-tui --test render readme` rewrites it.
#[test]
fn readme_capture_is_the_app_as_drawn() {
    let mut app = app_with_tasks();
    let mut tasks = sample_tasks();
    tasks.retain(|t| !t.completed);
    tasks.reverse(); // most urgent first: the overdue one, then the one due soonest
    let mut book = task(4, "Read a book");
    book.priority = todo_api::Priority::Low;
    book.tags = vec!["leisure".into()];
    tasks.push(book);
    let total = tasks.len() as u64;
    let _ = update(&mut app, Msg::TasksLoaded(Ok(TaskPage { tasks, total })));
    app.busy = 0;
    app.list.selected = 0;
    app.live = todo_tui::app::LiveState::Live;
    let drawn = render(&app, 80, 24);

    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md");
    let readme = std::fs::read_to_string(path).expect("README.md");
    let marker = "<!-- tui-capture -->\n```text\n";
    let start = readme.find(marker).expect("README has the capture marker") + marker.len();
    let end = start + readme[start..].find("```").expect("the capture block ends");
    if std::env::var_os("TODO_UPDATE_README").is_some() {
        let updated = format!("{}{drawn}{}", &readme[..start], &readme[end..]);
        std::fs::write(path, updated).expect("write README.md");
        return;
    }
    assert_eq!(
        &readme[start..end],
        drawn,
        "README's capture is stale: run TODO_UPDATE_README=1 cargo test -p todo-tui --test render readme"
    );
}

/// The form after a save refused because the task changed elsewhere, and a list of wide
/// characters, at both sizes.
#[test]
fn a_conflict_and_wide_characters() {
    let mut app = app_with_tasks();
    app.busy = 0;
    key(&mut app, KeyCode::Char('e'));
    type_text(&mut app, " now");
    let mut current = sample_tasks().remove(0);
    current.title = "Buy oat milk".into();
    current.version = 2;
    let conflict = ClientError::Api {
        problem: Box::new(todo_api::Problem {
            kind: "urn:todo:problem:version_conflict".into(),
            title: "Conflict".into(),
            status: 409,
            detail: "the task changed since version 1".into(),
            code: ProblemCode::VersionConflict,
            field: None,
            current: Some(Box::new(current)),
        }),
    };
    let _ = key(&mut app, KeyCode::Enter);
    let _ = update(&mut app, Msg::TaskSaved(Err(conflict)));
    app.busy = 0;
    both_sizes("conflict", &app);
    assert!(render(&app, 80, 24).contains("Changed elsewhere"));

    let mut wide = app_with_tasks();
    wide.busy = 0;
    wide.list.tasks[0].title = "👩‍👩‍👧 family 🇫🇷 trip 日本 東京".into();
    wide.list.tasks[1].title = "Ünïcödé ñame with combining é".into();
    wide.list.tasks[0].tags = vec!["旅行".into()];
    both_sizes("wide_characters", &wide);
}

#[test]
fn a_shared_task_shows_its_project_and_who_changed_it_last() {
    let mut app = app_with_tasks();
    let sam = uuid::Uuid::from_u128(7);
    let project = todo_api::Project {
        id: uuid::Uuid::from_u128(42),
        name: "Household".into(),
        owner_id: sam,
        role: todo_api::Role::Editor,
        member_count: 2,
        version: 1,
        created_at: NOW,
        updated_at: NOW,
    };
    let member = todo_api::Member {
        user_id: sam,
        email: "sam@example.com".into(),
        role: todo_api::Role::Owner,
        added_at: NOW,
    };
    let mut tasks = app.list.tasks.clone();
    tasks[0].project_id = Some(project.id);
    tasks[0].updated_by = sam;
    let total = tasks.len() as u64;
    let _ = update(&mut app, Msg::TasksLoaded(Ok(TaskPage { tasks, total })));
    let shared = todo_tui::projects::Shared {
        project,
        members: vec![member],
    };
    let _ = update(&mut app, Msg::ProjectsLoaded(Ok(vec![shared])));
    app.list.selected = 0;
    let screen = render(&app, 160, 40);
    assert!(screen.contains("[Household]"), "{screen}");
    assert!(
        screen.contains("in Household · changed last by sam@example.com"),
        "{screen}"
    );
}

/// Subtasks follow their parent, indented by level, whatever order the server sorted
/// them in; a task waiting for a pending one is marked, and a parent shows its
/// subtasks' progress.
#[test]
fn subtasks_sit_under_their_parent_and_blocked_tasks_are_marked() {
    let mut app = app();
    let _ = update(&mut app, Msg::SessionChecked(Ok(Some(user()))));
    app.busy = 0;
    let mut child = task(3, "Buy boxes");
    child.parent_id = Some(1);
    child.blocked = true;
    child.subtasks.total = 1;
    let mut grandchild = task(4, "Measure the car");
    grandchild.parent_id = Some(3);
    let mut parent = task(1, "Move house");
    parent.subtasks.total = 1;
    let _ = update(
        &mut app,
        Msg::TasksLoaded(Ok(TaskPage {
            tasks: vec![child, task(2, "Call mum"), parent, grandchild],
            total: 4,
        })),
    );
    let screen = render(&app, 100, 24);
    let row = |needle: &str| {
        screen
            .lines()
            .position(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("{needle} is not shown:\n{screen}"))
    };
    let (call, house, boxes, car) = (
        row("Call mum"),
        row("Move house [0/1]"),
        row("↳ ⊘ Buy boxes [0/1]"),
        row("  ↳ Measure the car"),
    );
    assert!(call < house && house < boxes && boxes < car, "{screen}");
    let ids: Vec<i64> = app.list.tasks.iter().map(|t| t.id).collect();
    assert_eq!(
        ids,
        [2, 1, 3, 4],
        "the list itself is in tree order, so j/k walk it as drawn"
    );

    // z on "Move house" folds its whole subtree; the selection stays on it; z unfolds.
    app.list.selected = 1;
    let _ = key(&mut app, KeyCode::Char('z'));
    let ids: Vec<i64> = app.list.tasks.iter().map(|t| t.id).collect();
    assert_eq!(ids, [2, 1], "children and grandchildren are hidden");
    assert_eq!(app.list.selected_task().map(|t| t.id), Some(1));
    let folded = render(&app, 100, 24);
    assert!(
        folded.contains("Move house ▸ [0/1]") && !folded.contains("Buy boxes"),
        "{folded}"
    );
    // A reload keeps the fold.
    let page = app.list.page.clone();
    let _ = update(
        &mut app,
        Msg::TasksLoaded(Ok(TaskPage {
            tasks: page,
            total: 4,
        })),
    );
    assert_eq!(app.list.tasks.len(), 2, "still folded after a reload");
    let _ = key(&mut app, KeyCode::Char('z'));
    assert_eq!(app.list.tasks.len(), 4);
    // A task without subtasks says so and changes nothing.
    app.list.selected = 0;
    let _ = key(&mut app, KeyCode::Char('z'));
    assert_eq!(app.list.tasks.len(), 4);
    assert!(
        app.message
            .as_ref()
            .is_some_and(|m| m.text.contains("No subtasks"))
    );
}

#[test]
fn the_detail_pane_fetches_the_notes_once_per_version_and_shows_them() {
    let mut app = app_with_tasks();
    let now = app.now;
    let mut noted = app.list.selected_task().expect("a task").clone();
    noted.note_count = 1;
    app.list.tasks[app.list.selected] = noted.clone();
    let cmds = update(&mut app, Msg::Tick(now));
    assert!(
        matches!(cmds.as_slice(), [todo_tui::app::Cmd::LoadDetail(id)] if *id == noted.id),
        "the whole task is fetched: {cmds:?}"
    );
    assert!(update(&mut app, Msg::Tick(now)).is_empty(), "asked once");
    assert!(render(&app, 160, 40).contains("1 notes (loading…)"));

    let mut whole = noted.clone();
    whole.notes = Some(vec![todo_api::Note {
        id: uuid::Uuid::nil(),
        text: "Called the plumber\nback on Monday".into(),
        author_id: uuid::Uuid::nil(),
        created_at: now,
    }]);
    let _ = update(&mut app, Msg::DetailLoaded(noted.id, Ok(whole)));
    let screen = render(&app, 160, 40);
    assert!(screen.contains("notes (1)"), "{screen}");
    assert!(screen.contains("Called the plumber") && screen.contains("back on Monday"));

    // A newer version (a change elsewhere) fetches again; until then, no stale notes.
    app.list.tasks[app.list.selected].version += 1;
    let cmds = update(&mut app, Msg::Tick(now));
    assert!(matches!(cmds.as_slice(), [todo_tui::app::Cmd::LoadDetail(_)]));
    assert!(!render(&app, 160, 40).contains("Called the plumber"));
}
