//! The real OS keyring (Secret Service on Linux). `.ci/run` runs this inside
//! `dbus-run-session` with an unlocked gnome-keyring and sets `TODO_REQUIRE_KEYRING=1`,
//! so there it fails rather than skips. Elsewhere, without a Secret Service, it says so
//! on stderr (`cargo test -- --nocapture` shows it) and checks nothing.

use todo_e2e::{CliUser, TestServer};

fn secret_service_available() -> bool {
    let reason = match keyring::Entry::new("todo", "availability-probe").map(|e| e.get_password()) {
        Ok(Ok(_)) | Ok(Err(keyring::Error::NoEntry)) => return true,
        Ok(Err(e)) | Err(e) => e.to_string(),
    };
    if std::env::var_os("TODO_REQUIRE_KEYRING").is_some() {
        panic!("TODO_REQUIRE_KEYRING is set but no Secret Service answers: {reason}");
    }
    eprintln!("SKIPPED keyring test: no Secret Service on this machine ({reason})");
    false
}

fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(files_under(&path));
        } else {
            found.push(path);
        }
    }
    found
}

#[test]
fn tokens_live_in_the_os_keyring_and_in_no_file() {
    if !secret_service_available() {
        return;
    }
    let server = TestServer::start(&[]);
    let ann = CliUser::new(&server).with_env("TODO_CREDENTIAL_STORE", "auto");
    let email = todo_e2e::unique_email("keyring");
    let signed_up = ann.run_with_stdin(
        &["auth", "signup", "--email", &email, "--password-stdin"],
        Some(&format!("{}\n", todo_e2e::strong_password())),
    );
    assert_eq!(signed_up.code, 0, "{signed_up:?}");
    assert!(
        !signed_up.stderr.contains("warning"),
        "no fallback: {signed_up:?}"
    );

    let status = ann.run(&["auth", "status", "--json"]).ok().json();
    assert_eq!(status["credential_store"], "OS keyring");
    assert!(status.get("keyring_unavailable").is_none());

    let token = ann.run(&["auth", "token"]).ok().stdout.trim().to_string();
    // One entry per account: the server and the user id.
    let entry = format!(
        "{}#{}",
        server.base_url,
        status["user"]["id"].as_str().expect("user id")
    );
    let stored = keyring::Entry::new("todo", &entry)
        .and_then(|e| e.get_password())
        .expect("the keyring holds this server's entry");
    assert!(
        stored.contains(&token),
        "the keyring entry holds the access token"
    );
    eprintln!("keyring entry {entry} holds the access token");

    for file in files_under(ann.home.path()) {
        let bytes = std::fs::read(&file).unwrap_or_default();
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains(&token), "token found in {}", file.display());
    }
    let file_view = CliUser::new(&server);
    assert_eq!(
        file_view.run(&["auth", "status"]).code,
        4,
        "nothing in the file store"
    );

    ann.run(&["auth", "signout"]).ok();
    let gone = keyring::Entry::new("todo", &entry).and_then(|e| e.get_password());
    assert!(
        matches!(gone, Err(keyring::Error::NoEntry)),
        "sign-out removes the entry"
    );
}
