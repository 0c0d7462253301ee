//! `todo auth` commands run against in-memory IO: the stdin they read, the terminal
//! they find (or not), what they ask and what they print. The server behind them is a
//! closed port, so only what happens before (and instead of) a request is tested here;
//! the end-to-end tests run the same commands against a real server.

use todo_client::Session;
use todo_client::credentials::CredentialStore;

use super::*;
use crate::io::{Format, Io};

/// A session on a port nothing listens on, with an empty file store in `dir`.
fn offline_session(dir: &std::path::Path) -> Session {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime
        .block_on(Session::with_store(
            "http://127.0.0.1:9",
            CredentialStore::file_in(dir),
            None,
        ))
        .expect("session")
}

fn run_auth(command: AuthCommand, io: &mut Io, dir: &std::path::Path) -> Result<(), CliError> {
    let session = offline_session(dir);
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(run(command, &session, io))
}

#[test]
fn a_password_comes_from_stdin_only_when_asked_and_never_without_a_terminal() {
    let (mut io, _) = Io::memory(Format::default(), "s3cret pass\nsecond\n", false, &[]);
    assert_eq!(
        read_password(&mut io, true, false).expect("from stdin"),
        "s3cret pass"
    );
    let (mut io, seen) = Io::memory(Format::default(), "ignored\n", false, &["typed"]);
    let refused = read_password(&mut io, false, false).expect_err("no terminal");
    assert!(
        matches!(refused, CliError::Usage(ref m) if m.contains("--password-stdin")),
        "{refused}"
    );
    assert!(seen.asked.borrow().is_empty(), "nothing was asked");
    let (mut io, _) = Io::memory(Format::default(), "\n", false, &[]);
    assert!(matches!(
        read_password(&mut io, true, false),
        Err(CliError::Usage(_))
    ));
}

#[test]
fn on_a_terminal_a_new_password_is_asked_twice_and_must_match() {
    let (mut io, seen) = Io::memory(Format::default(), "", true, &["one", "two"]);
    let differ = read_password(&mut io, false, true).expect_err("differ");
    assert!(differ.to_string().contains("differ"), "{differ}");
    assert_eq!(*seen.asked.borrow(), ["Password: ", "Repeat the password: "]);
    let (mut io, _) = Io::memory(Format::default(), "", true, &["same", "same"]);
    assert_eq!(read_password(&mut io, false, true).expect("same"), "same");
}

#[test]
fn a_password_change_reads_two_lines_and_names_the_missing_one() {
    let (mut io, _) = Io::memory(Format::default(), "old\nnew\n", false, &[]);
    assert_eq!(
        read_password_change(&mut io, true).expect("two lines"),
        ("old".to_string(), "new".to_string())
    );
    let (mut io, _) = Io::memory(Format::default(), "old\n", false, &[]);
    let missing = read_password_change(&mut io, true).expect_err("one line");
    assert!(missing.to_string().contains("new password"), "{missing}");
}

#[test]
fn deleting_the_account_needs_yes_without_a_terminal_and_the_email_typed_on_one() {
    let dir = tempfile::tempdir().expect("dir");
    let (mut io, seen) = Io::memory(Format::default(), "pw\n", false, &[]);
    let command = || {
        AuthCommand::DeleteAccount(crate::args::DeleteAccountOptions {
            password_stdin: false,
            yes: false,
        })
    };
    let refused = run_auth(command(), &mut io, dir.path()).expect_err("no terminal");
    assert!(refused.to_string().contains("--yes"), "{refused}");
    assert!(seen.asked.borrow().is_empty());

    // On a terminal, a wrong answer deletes nothing and asks for no password.
    let (mut io, seen) = Io::memory(Format::default(), "", true, &["not the email"]);
    run_auth(command(), &mut io, dir.path()).expect("kept");
    assert_eq!(seen.asked.borrow().len(), 1, "{:?}", seen.asked.borrow());
    assert!(seen.asked.borrow()[0].contains("Type the email"));
    assert_eq!(seen.stderr.text(), "Nothing deleted.\n");
}

/// Stores an account for the offline server, as a sign-in would have.
fn store_account(dir: &std::path::Path, email: &str) {
    let credentials = todo_client::credentials::Credentials {
        server: "http://127.0.0.1:9".into(),
        user: todo_api::User {
            id: uuid::Uuid::new_v4(),
            email: email.into(),
            name: None,
            created_at: time::OffsetDateTime::UNIX_EPOCH,
        },
        access_token: "header.payload.signature".into(),
        refresh_token: "refresh".into(),
        expires_at: time::OffsetDateTime::now_utc() + time::Duration::hours(1),
    };
    CredentialStore::file_in(dir)
        .save_active(&credentials)
        .expect("stored");
}

#[test]
fn status_names_the_server_and_store_and_the_stored_account_when_the_server_is_down() {
    let dir = tempfile::tempdir().expect("dir");
    let (mut io, seen) = Io::memory(Format::default(), "", false, &[]);
    let failed = run_auth(AuthCommand::Status, &mut io, dir.path()).expect_err("nobody");
    assert_eq!(failed.code(), crate::exit::NOT_SIGNED_IN);
    let out = seen.stdout.text();
    assert!(out.starts_with("Server:      http://127.0.0.1:9"), "{out}");
    assert!(out.contains("User:        not signed in"), "{out}");
    assert!(out.contains("Credentials: file "), "{out}");

    store_account(dir.path(), "ann@example.com");
    store_account(dir.path(), "bob@example.com");
    let (mut io, seen) = Io::memory(Format::default(), "", false, &[]);
    let failed = run_auth(AuthCommand::Status, &mut io, dir.path()).expect_err("no server");
    assert_eq!(failed.code(), crate::exit::UNREACHABLE);
    let out = seen.stdout.text();
    assert!(out.contains("bob@example.com ("), "the account in use: {out}");
    assert!(out.contains("the server did not answer"), "{out}");
    assert!(
        out.contains("  * bob@example.com") && out.contains("    ann@example.com"),
        "{out}"
    );

    let (mut io, seen) = Io::memory(
        Format {
            json: true,
            ..Format::default()
        },
        "",
        false,
        &[],
    );
    let _ = run_auth(AuthCommand::Status, &mut io, dir.path());
    let json: serde_json::Value = serde_json::from_str(&seen.stdout.text()).expect("json");
    assert_eq!(json["signed_in"], false);
    assert_eq!(json["stored_user"]["email"], "bob@example.com");
    assert_eq!(json["accounts"].as_array().map(Vec::len), Some(2));
}

#[test]
fn switch_works_offline_and_says_which_account_is_in_use() {
    let dir = tempfile::tempdir().expect("dir");
    let (mut io, _) = Io::memory(Format::default(), "", false, &[]);
    let none = run_auth(
        AuthCommand::Switch(crate::args::SwitchOptions { account: None }),
        &mut io,
        dir.path(),
    )
    .expect_err("nobody");
    assert_eq!(none.code(), crate::exit::NOT_SIGNED_IN, "{none}");

    store_account(dir.path(), "ann@example.com");
    store_account(dir.path(), "bob@example.com");
    let (mut io, seen) = Io::memory(Format::default(), "", false, &[]);
    run_auth(
        AuthCommand::Switch(crate::args::SwitchOptions { account: None }),
        &mut io,
        dir.path(),
    )
    .expect("the other one");
    assert_eq!(
        seen.stderr.text(),
        "Now using ann@example.com on http://127.0.0.1:9.\n"
    );
    let (mut io, _) = Io::memory(Format::default(), "", false, &[]);
    let unknown = run_auth(
        AuthCommand::Switch(crate::args::SwitchOptions {
            account: Some("cat@example.com".into()),
        }),
        &mut io,
        dir.path(),
    )
    .expect_err("not signed in here");
    assert_eq!(unknown.code(), crate::exit::USAGE);
}
