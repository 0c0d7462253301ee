//! The real TUI (its update loop, views and network effects) driven key by key against
//! the real `todo-server`, checking both the screen and the server's data.

use std::time::Duration;

use crossterm::event::KeyCode;
use serde_json::Value;
use time::OffsetDateTime;
use todo_client::Session;
use todo_client::credentials::CredentialStore;
use todo_e2e::{TestServer, http};
use todo_tui::app::{App, Popup, Screen};
use todo_tui::driver::Driver;

const SETTLE: Duration = Duration::from_secs(20);

/// The app as these tests drive it: every task, newest first (as a config file with
/// `list.status = "all"` and `list.sort = "created"` opens it).
fn app_on(server: &str) -> App {
    let mut app = App::new(
        server,
        OffsetDateTime::now_utc(),
        todo_client::due::TimeZone::UTC,
        false,
    );
    app.list.status = todo_api::StatusFilter::All;
    app.list.sort = todo_api::SortField::Created;
    app
}

async fn settle(driver: &mut Driver) {
    assert!(driver.settle(SETTLE).await, "network replies did not arrive");
}

/// The server's own view of the user's tasks (a blocking call, off the async workers).
fn server_tasks(server: &TestServer, token: &str, user_id: &str) -> Vec<Value> {
    tokio::task::block_in_place(|| {
        http()
            .get(server.url(&format!("/api/{user_id}/tasks")))
            .bearer_auth(token)
            .send()
            .expect("list")
            .json::<Vec<Value>>()
            .expect("json")
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_up_add_complete_search_edit_delete_and_sign_out() {
    let server = TestServer::start(&[]);
    let config = tempfile::tempdir().expect("config dir");
    let session = Session::with_store(&server.base_url, CredentialStore::file_in(config.path()), None)
        .await
        .expect("session");
    let app = app_on(&server.base_url);
    let mut tui = Driver::start(app, session.clone());
    settle(&mut tui).await;
    assert!(
        matches!(tui.app.screen, Screen::SignIn(_)),
        "no credentials: sign-in first"
    );
    assert!(tui.screen(80, 24).contains("Sign in to"));

    // Sign up.
    tui.ctrl('n');
    tui.type_text("Ann");
    tui.key(KeyCode::Tab);
    let email = todo_e2e::unique_email("tui");
    tui.type_text(&email);
    tui.key(KeyCode::Tab);
    let password = todo_e2e::strong_password();
    tui.type_text(&password);
    tui.key(KeyCode::Tab);
    tui.type_text(&password);
    tui.key(KeyCode::Enter);
    settle(&mut tui).await;
    assert_eq!(tui.app.screen, Screen::Tasks, "{}", tui.screen(80, 24));
    assert!(tui.screen(80, 24).contains("No tasks yet"));

    // Add three tasks.
    for (title, extra) in [("Buy milk", "home"), ("File taxes", "money"), ("Read a book", "")] {
        tui.key(KeyCode::Char('a'));
        tui.type_text(title);
        // Title -> description -> priority -> due -> repeat -> remind -> tags.
        for _ in 0..6 {
            tui.key(KeyCode::Tab);
        }
        tui.type_text(extra);
        tui.key(KeyCode::Enter);
        settle(&mut tui).await;
        assert!(tui.app.popup.is_none(), "saved: {}", tui.screen(80, 24));
    }
    let screen = tui.screen(80, 24);
    assert!(
        screen.contains("Buy milk") && screen.contains("File taxes") && screen.contains("Read a book"),
        "{screen}"
    );
    let token = session.access_token().await.expect("token").expose().to_string();
    let user_id = session.user_id().await.expect("user").to_string();
    assert_eq!(server_tasks(&server, &token, &user_id).len(), 3);

    // Complete the selected (newest) task: "Read a book".
    tui.key(KeyCode::Char('g'));
    tui.key(KeyCode::Char(' '));
    settle(&mut tui).await;
    let on_server = server_tasks(&server, &token, &user_id);
    let read = on_server
        .iter()
        .find(|t| t["title"] == "Read a book")
        .expect("task");
    assert_eq!(read["completed"], true);
    assert!(tui.screen(80, 24).contains("1 done"));

    // Search.
    tui.key(KeyCode::Char('/'));
    tui.type_text("taxes");
    tui.key(KeyCode::Enter);
    settle(&mut tui).await;
    let screen = tui.screen(80, 24);
    assert!(
        screen.contains("File taxes") && !screen.contains("Buy milk"),
        "{screen}"
    );

    // Edit the found task.
    tui.key(KeyCode::Char('e'));
    assert!(matches!(tui.app.popup, Some(Popup::Form(_))));
    tui.ctrl('u');
    tui.type_text("File taxes today");
    tui.key(KeyCode::Enter);
    settle(&mut tui).await;
    assert!(tui.screen(80, 24).contains("File taxes today"));
    let on_server = server_tasks(&server, &token, &user_id);
    assert!(
        on_server
            .iter()
            .any(|t| t["title"] == "File taxes today" && t["tags"] == serde_json::json!(["money"]))
    );

    // Delete it.
    tui.key(KeyCode::Char('d'));
    tui.key(KeyCode::Char('y'));
    settle(&mut tui).await;
    assert_eq!(server_tasks(&server, &token, &user_id).len(), 2);
    tui.key(KeyCode::Esc);
    settle(&mut tui).await;
    assert!(tui.screen(80, 24).contains("Buy milk"));

    // Sign out (after its question): back to sign-in, and the server refuses the old
    // token.
    tui.key(KeyCode::Char('S'));
    assert!(tui.screen(80, 24).contains("Sign out of"));
    tui.key(KeyCode::Char('y'));
    settle(&mut tui).await;
    assert!(matches!(tui.app.screen, Screen::SignIn(_)));
    assert!(tui.screen(80, 24).contains("Signed out."));
    let refused = tokio::task::block_in_place(|| {
        http()
            .get(server.url("/api/auth/session"))
            .bearer_auth(&token)
            .send()
            .expect("session")
            .status()
    });
    assert_eq!(refused.as_u16(), 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stored_credentials_open_the_task_screen_and_a_dead_server_offers_retry() {
    let server = TestServer::start(&[]);
    let config = tempfile::tempdir().expect("config dir");
    let store = || CredentialStore::file_in(config.path());
    let session = Session::with_store(&server.base_url, store(), None)
        .await
        .expect("session");
    session
        .sign_up(&todo_api::SignUpRequest {
            email: todo_e2e::unique_email("stored"),
            password: todo_e2e::strong_password().into(),
            name: None,
        })
        .await
        .expect("sign-up");
    // A second app sees the same store: straight to the tasks.
    let again = Session::with_store(&server.base_url, store(), None)
        .await
        .expect("session");
    let mut tui = Driver::start(app_on(&server.base_url), again);
    settle(&mut tui).await;
    assert_eq!(tui.app.screen, Screen::Tasks);

    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("port");
    let dead = format!("http://{}", closed.local_addr().expect("addr"));
    drop(closed);
    let offline = Session::with_store(&dead, store(), None).await.expect("session");
    let mut tui = Driver::start(app_on(&dead), offline);
    settle(&mut tui).await;
    assert_eq!(tui.app.screen, Screen::Unreachable);
    let screen = tui.screen(80, 24);
    assert!(screen.contains(&dead) && screen.contains("r retry"), "{screen}");
}

/// The scenario of a person with the TUI open while a script edits: the CLI changes the
/// description of the task open in the TUI's form; saving the form's title change is
/// refused with a message instead of wiping the description, keeps what was typed, and a
/// second save overwrites knowingly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_form_saved_over_a_change_made_elsewhere_says_so_and_loses_nothing() {
    let server = TestServer::start(&[]);
    let cli = todo_e2e::CliUser::new(&server);
    tokio::task::block_in_place(|| {
        cli.sign_up("stale");
        cli.run(&["add", "taxes", "--description", "receipts"]).ok();
    });
    let session = Session::with_store(
        &server.base_url,
        CredentialStore::file_in(&cli.config_dir()),
        None,
    )
    .await
    .expect("session");
    let mut tui = Driver::start(app_on(&server.base_url), session.clone());
    settle(&mut tui).await;
    assert_eq!(tui.app.screen, Screen::Tasks, "{}", tui.screen(80, 24));
    let id = tui.app.list.tasks[0].id.to_string();

    tui.key(KeyCode::Char('e'));
    tui.type_text(" now");
    tokio::task::block_in_place(|| {
        cli.run(&["edit", &id, "--description", "receipts in drawer"])
            .ok();
    });
    tui.key(KeyCode::Enter);
    settle(&mut tui).await;
    let Some(Popup::Form(form)) = &tui.app.popup else {
        panic!("the form stays open: {}", tui.screen(80, 24));
    };
    assert_eq!(form.title.text(), "taxes now", "what was typed is kept");
    assert!(
        form.error
            .as_deref()
            .is_some_and(|e| e.contains("Changed elsewhere")),
        "{:?}",
        form.error
    );
    let on_server = session.get_task(id.parse().expect("id")).await.expect("get");
    assert_eq!(
        (on_server.title.as_str(), on_server.description.as_str()),
        ("taxes", "receipts in drawer"),
        "the CLI's change is not lost"
    );

    tui.key(KeyCode::Enter);
    settle(&mut tui).await;
    assert!(
        tui.app.popup.is_none(),
        "the second save overwrites: {}",
        tui.screen(80, 24)
    );
    let saved = session.get_task(id.parse().expect("id")).await.expect("get");
    assert_eq!(saved.title, "taxes now");
    assert_eq!(
        saved.description, "receipts in drawer",
        "the save sends only the title: the CLI's description stays even after overwriting"
    );
}

/// With the TUI open, tasks added, completed and deleted by the CLI show on its list
/// within a second without `r`, the status bar says live, and `u` undoes the CLI's
/// delete (undo is per user, whichever client made the change).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_from_the_cli_show_in_the_open_tui_without_a_reload() {
    let server = TestServer::start(&[]);
    let cli = todo_e2e::CliUser::new(&server);
    tokio::task::block_in_place(|| {
        cli.sign_up("live");
    });
    let session = Session::with_store(
        &server.base_url,
        CredentialStore::file_in(&cli.config_dir()),
        None,
    )
    .await
    .expect("session");
    let mut tui = Driver::start(app_on(&server.base_url), session);
    settle(&mut tui).await;
    let live = tui
        .wait_for(Duration::from_secs(5), |app| {
            app.live == todo_tui::app::LiveState::Live
        })
        .await;
    assert!(live, "{}", tui.screen(140, 24));
    assert!(tui.screen(140, 24).contains("● live"), "{}", tui.screen(140, 24));

    let id = tokio::task::block_in_place(|| cli.run(&["add", "from", "the", "cli", "-q"]).ok().stdout);
    let id: i64 = id.trim().parse().expect("id");
    let shown = tui
        .wait_for(Duration::from_secs(1), |app| {
            app.list.tasks.iter().any(|t| t.id == id) && !app.loading
        })
        .await;
    assert!(
        shown,
        "the CLI's task did not show within 1 s: {}",
        tui.screen(100, 24)
    );
    tokio::task::block_in_place(|| cli.run(&["done", &id.to_string()]).ok());
    let completed = tui
        .wait_for(Duration::from_secs(1), |app| {
            app.list.tasks.iter().any(|t| t.id == id && t.completed)
        })
        .await;
    assert!(completed, "{}", tui.screen(100, 24));
    tokio::task::block_in_place(|| cli.run(&["rm", &id.to_string(), "--yes"]).ok());
    let gone = tui
        .wait_for(Duration::from_secs(1), |app| {
            !app.list.tasks.iter().any(|t| t.id == id)
        })
        .await;
    assert!(gone, "{}", tui.screen(100, 24));

    tui.key(KeyCode::Char('u'));
    settle(&mut tui).await;
    let back = tui
        .wait_for(Duration::from_secs(2), |app| {
            app.list.tasks.iter().any(|t| t.id == id)
        })
        .await;
    assert!(back, "u undid the CLI's delete: {}", tui.screen(100, 24));
}

/// With two-factor sign-in on, the sign-in screen asks for the code after the password;
/// a wrong code keeps the email and password (only the code is typed again), and the
/// right one opens the tasks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_in_with_two_factor_asks_for_the_code_and_keeps_the_password() {
    let server = TestServer::start(&[]);
    let ann = tokio::task::block_in_place(|| todo_e2e::sign_up(&server, "tui-totp"));
    let secret = tokio::task::block_in_place(|| {
        let setup: Value = http()
            .post(server.url("/api/auth/2fa/setup"))
            .bearer_auth(&ann.access_token)
            .send()
            .expect("setup")
            .json()
            .expect("json");
        let secret = setup["secret"].as_str().expect("secret").to_string();
        let on = http()
            .post(server.url("/api/auth/2fa/enable"))
            .bearer_auth(&ann.access_token)
            .json(&serde_json::json!({"password": ann.password, "code": todo_e2e::totp::code(&secret, 0)}))
            .send()
            .expect("enable");
        assert_eq!(on.status().as_u16(), 204);
        secret
    });
    let config = tempfile::tempdir().expect("config dir");
    let session = Session::with_store(&server.base_url, CredentialStore::file_in(config.path()), None)
        .await
        .expect("session");
    let mut tui = Driver::start(app_on(&server.base_url), session);
    settle(&mut tui).await;
    tui.type_text(&ann.email);
    tui.key(KeyCode::Tab);
    tui.type_text(&ann.password);
    tui.key(KeyCode::Enter);
    settle(&mut tui).await;
    let screen = tui.screen(80, 24);
    assert!(
        screen.contains("Code") && screen.contains("authenticator"),
        "{screen}"
    );

    tui.type_text("000000");
    tui.key(KeyCode::Enter);
    settle(&mut tui).await;
    let Screen::SignIn(form) = &tui.app.screen else {
        panic!("still signing in: {}", tui.screen(80, 24));
    };
    assert_eq!(form.password.text(), ann.password, "the password is kept");
    assert_eq!(form.code.text(), "", "only the code is typed again");
    assert!(
        tui.screen(80, 24).contains("code is wrong"),
        "{}",
        tui.screen(80, 24)
    );

    tui.type_text(&todo_e2e::totp::code(&secret, 1));
    tui.key(KeyCode::Enter);
    settle(&mut tui).await;
    assert_eq!(tui.app.screen, Screen::Tasks, "{}", tui.screen(80, 24));
}

/// The account panel (`A`): lists the sessions with this one marked, ends another one
/// after asking (its token is refused at once), and changes the password (a wrong
/// current one keeps the new one typed).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_account_panel_ends_a_session_and_changes_the_password() {
    let server = TestServer::start(&[]);
    let config = tempfile::tempdir().expect("config dir");
    let session = Session::with_store(&server.base_url, CredentialStore::file_in(config.path()), None)
        .await
        .expect("session");
    let email = todo_e2e::unique_email("tui-account");
    let password = todo_e2e::strong_password();
    session
        .sign_up(&todo_api::SignUpRequest {
            email: email.clone(),
            password: password.clone().into(),
            name: None,
        })
        .await
        .expect("sign-up");
    let other: Value = tokio::task::block_in_place(|| {
        todo_e2e::api::sign_in(&server, &email, &password)
            .json()
            .expect("tokens")
    });
    let other_token = other["access_token"].as_str().expect("token").to_string();
    let mut tui = Driver::start(app_on(&server.base_url), session);
    settle(&mut tui).await;
    tui.key(KeyCode::Char('A'));
    settle(&mut tui).await;
    let screen = tui.screen(100, 30);
    assert!(
        screen.contains("(this one)") && screen.contains("Account"),
        "{screen}"
    );
    let Some(Popup::Account(panel)) = &tui.app.popup else {
        panic!("the panel is open: {screen}");
    };
    let sessions = panel.sessions.clone().expect("loaded");
    assert_eq!(sessions.len(), 2);
    let other_index = sessions
        .iter()
        .position(|s| !s.current)
        .expect("the other session");
    for _ in 0..other_index {
        tui.key(KeyCode::Down);
    }
    tui.key(KeyCode::Char('x'));
    assert!(tui.screen(100, 30).contains("End session"), "asks first");
    tui.key(KeyCode::Char('y'));
    settle(&mut tui).await;
    let status = tokio::task::block_in_place(|| todo_e2e::api::session_status(&server, &other_token));
    assert_eq!(status, 401, "the other session ended at once");
    assert!(
        tui.screen(100, 30).contains("Session ended"),
        "{}",
        tui.screen(100, 30)
    );

    tui.key(KeyCode::Char('p'));
    tui.type_text("not my password");
    tui.key(KeyCode::Enter);
    let new_password = todo_e2e::strong_password();
    tui.type_text(&new_password);
    tui.key(KeyCode::Enter);
    tui.type_text(&new_password);
    tui.key(KeyCode::Enter);
    settle(&mut tui).await;
    let Some(Popup::Account(panel)) = &tui.app.popup else {
        panic!("still open");
    };
    let form = match &panel.mode {
        todo_tui::account::AccountMode::Password(form) => form.clone(),
        other => panic!("the form stays open: {other:?}"),
    };
    assert_eq!(form.current.text(), "", "the wrong current password is cleared");
    assert_eq!(form.new.text(), new_password, "the new one is kept");
    assert!(
        tui.screen(100, 30).contains("password is wrong"),
        "{}",
        tui.screen(100, 30)
    );
    tui.type_text(&password);
    tui.key(KeyCode::Enter);
    tui.key(KeyCode::Enter);
    tui.key(KeyCode::Enter);
    settle(&mut tui).await;
    assert!(
        tui.screen(100, 30).contains("Password changed"),
        "{}",
        tui.screen(100, 30)
    );
    let signed_in =
        tokio::task::block_in_place(|| todo_e2e::api::sign_in(&server, &email, &new_password).status());
    assert_eq!(signed_in.as_u16(), 200);
}
