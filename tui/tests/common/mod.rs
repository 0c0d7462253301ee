//! Fixtures for the update and rendering tests.
#![allow(dead_code)]

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use time::OffsetDateTime;
use time::macros::datetime;
pub use todo_api::ProblemCode;
use todo_api::{Priority, Problem, Task, User};
use todo_client::{ClientError, TaskPage};
use todo_tui::app::{App, Cmd, Msg, Screen};
use todo_tui::update::update;

pub const NOW: OffsetDateTime = datetime!(2030-06-15 12:00 UTC);

pub fn user() -> User {
    User {
        id: uuid::Uuid::nil(),
        email: "ann@example.com".into(),
        name: Some("Ann".into()),
        created_at: NOW,
    }
}

pub fn task(id: i64, title: &str) -> Task {
    Task {
        id,
        user_id: uuid::Uuid::nil(),
        version: 1,
        title: title.into(),
        description: String::new(),
        completed: false,
        priority: Priority::Medium,
        due_at: None,
        tags: vec![],
        created_at: datetime!(2030-06-01 9:00 UTC),
        updated_at: datetime!(2030-06-01 9:00 UTC),
        completed_at: None,
        source_id: None,
        project_id: None,
        created_by: uuid::Uuid::nil(),
        updated_by: uuid::Uuid::nil(),
        recurrence: None,
        series_id: None,
        occurrence: None,
        notes: None,
        note_count: 0,
        parent_id: None,
        subtasks: Default::default(),
        wait_until: None,
        remind_at: None,
        remind_before: None,
        depends_on: Vec::new(),
        blocked: false,
    }
}

pub fn sample_tasks() -> Vec<Task> {
    let mut milk = task(3, "Buy milk");
    milk.priority = Priority::High;
    milk.due_at = Some(datetime!(2030-06-16 23:59:59 UTC));
    milk.tags = vec!["home".into(), "shop".into()];
    milk.description = "Two litres, oat if they have it.".into();
    let mut taxes = task(2, "File taxes");
    taxes.due_at = Some(datetime!(2030-04-15 23:59:59 UTC));
    taxes.tags = vec!["money".into()];
    let mut read = task(1, "Read a book");
    read.completed = true;
    read.priority = Priority::Low;
    read.completed_at = Some(datetime!(2030-06-10 20:00 UTC));
    vec![milk, taxes, read]
}

pub fn problem(status: u16, code: ProblemCode, detail: &str, field: Option<&str>) -> ClientError {
    ClientError::Api {
        problem: Box::new(Problem {
            kind: format!("urn:todo:problem:{code}"),
            title: "Error".into(),
            status,
            detail: detail.into(),
            code,
            field: field.map(str::to_string),
            current: None,
        }),
    }
}

pub fn app() -> App {
    App::new(
        "http://127.0.0.1:8000",
        NOW,
        todo_client::due::TimeZone::UTC,
        false,
    )
}

/// An app on the task screen with the sample tasks loaded.
pub fn app_with_tasks() -> App {
    let mut app = app();
    let _ = update(&mut app, Msg::SessionChecked(Ok(Some(user()))));
    let tasks = sample_tasks();
    let total = tasks.len() as u64;
    let _ = update(&mut app, Msg::TasksLoaded(Ok(TaskPage { tasks, total })));
    assert_eq!(app.screen, Screen::Tasks);
    app
}

pub fn key(app: &mut App, code: KeyCode) -> Vec<Cmd> {
    update(app, Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

pub fn ctrl(app: &mut App, c: char) -> Vec<Cmd> {
    update(
        app,
        Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL)),
    )
}

pub fn type_text(app: &mut App, text: &str) {
    for c in text.chars() {
        let cmds = key(app, KeyCode::Char(c));
        assert!(cmds.is_empty(), "typing {c:?} started {cmds:?}");
    }
}
