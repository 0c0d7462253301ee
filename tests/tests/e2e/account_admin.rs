//! Email change, the activity log, the admin commands (`todo-server users ...`) and
//! password reset tokens, on whichever backend the suite runs; the admin commands run
//! against the database of a running server, as an administrator would.

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sha2::Digest;
use todo_api::ProblemCode;
use todo_e2e::api::{assert_problem, bearer, session_status, sign_in};
use todo_e2e::{CliUser, TestServer, binary, http, sign_up, strong_password, unique_email};

/// `todo-server users args... --database <the server's>`; returns (exit code, stdout, stderr).
fn admin(server: &TestServer, args: &[&str]) -> (i32, String, String) {
    let output = Command::new(binary("todo-server"))
        .arg("users")
        .args(args)
        .args(["--database", &server.database()])
        .env("RUST_LOG", "warn")
        .output()
        .expect("todo-server users runs");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

pub(crate) fn admin_ok(server: &TestServer, args: &[&str]) -> String {
    let (code, stdout, stderr) = admin(server, args);
    assert_eq!(code, 0, "todo-server users {args:?}: {stderr}");
    stdout
}

/// Polls until the token is refused; how long that took.
fn refused_within(server: &TestServer, token: &str, limit: Duration) -> Duration {
    let start = Instant::now();
    while session_status(server, token) != 401 {
        assert!(start.elapsed() < limit, "the token still works after {limit:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
    start.elapsed()
}

fn activity(server: &TestServer, token: &str, query: &str) -> reqwest::blocking::Response {
    bearer(
        http().get(server.url(&format!("/api/auth/activity{query}"))),
        token,
    )
    .send()
    .expect("activity")
}

fn kinds(entries: &Value) -> Vec<String> {
    entries
        .as_array()
        .expect("an array")
        .iter()
        .map(|e| e["kind"].as_str().expect("kind").to_string())
        .collect()
}

fn change_email(
    server: &TestServer,
    token: &str,
    password: &str,
    new_email: &str,
) -> reqwest::blocking::Response {
    bearer(http().post(server.url("/api/auth/email")), token)
        .json(&json!({"password": password, "new_email": new_email}))
        .send()
        .expect("email change")
}

/// An email change needs the password and a free, valid address; the new address is
/// normalised, signs in, and the old one no longer does.
#[test]
fn an_email_change_needs_the_password_and_a_free_address() {
    let server = TestServer::start(&[]);
    let ann = sign_up(&server, "email");
    let bob = sign_up(&server, "email-bob");

    let wrong = change_email(&server, &ann.access_token, "not-it", &unique_email("x"));
    assert_problem(wrong, 403, ProblemCode::WrongPassword);
    let taken = change_email(
        &server,
        &ann.access_token,
        &ann.password,
        &bob.email.to_uppercase(),
    );
    assert_problem(taken, 409, ProblemCode::EmailTaken);
    let invalid = change_email(&server, &ann.access_token, &ann.password, "not an address");
    let body = assert_problem(invalid, 422, ProblemCode::InvalidField);
    assert_eq!(body["field"], "new_email");

    let new_email = unique_email("email-new");
    let changed = change_email(
        &server,
        &ann.access_token,
        &ann.password,
        &format!("  {}  ", new_email.to_uppercase()),
    );
    assert_eq!(changed.status().as_u16(), 200);
    let user: Value = changed.json().expect("user");
    assert_eq!(user["email"], new_email.as_str(), "normalised as at sign-up");
    assert_eq!(user["id"], ann.id.as_str());

    assert_eq!(sign_in(&server, &ann.email, &ann.password).status().as_u16(), 401);
    let signed_in: Value = sign_in(&server, &new_email, &ann.password)
        .json()
        .expect("tokens");
    assert_eq!(signed_in["user"]["email"], new_email.as_str());
    // The old address is free again.
    let again = todo_e2e::api::sign_up_with(&server, &ann.email, &strong_password());
    assert_eq!(again.status().as_u16(), 201);
    let unauthenticated = http()
        .post(server.url("/api/auth/email"))
        .json(&json!({"password": ann.password, "new_email": unique_email("y")}))
        .send()
        .expect("request");
    assert_problem(unauthenticated, 401, ProblemCode::InvalidToken);
}

/// The activity log records sign-ins (and failed ones), sign-outs and changes, newest
/// first, pages with `before`, refuses a bad `limit`, and shows each user only theirs.
#[test]
fn the_activity_log_records_security_events_newest_first() {
    let server = TestServer::start(&[]);
    let ann = sign_up(&server, "activity");
    let bob = sign_up(&server, "activity-bob");
    assert_eq!(
        sign_in(&server, &ann.email, "wrong password").status().as_u16(),
        401
    );
    let second: Value = http()
        .post(server.url("/api/auth/sign-in"))
        .header("User-Agent", "activity-test/2")
        .json(&json!({"email": ann.email, "password": ann.password}))
        .send()
        .expect("sign-in")
        .json()
        .expect("tokens");
    let second_token = second["access_token"].as_str().expect("token");
    let signed_out = bearer(http().post(server.url("/api/auth/sign-out")), second_token)
        .json(&json!({}))
        .send()
        .expect("sign-out");
    assert_eq!(signed_out.status().as_u16(), 204);

    let all: Value = activity(&server, &ann.access_token, "").json().expect("entries");
    assert_eq!(
        kinds(&all),
        ["sign_out", "sign_in", "sign_in_failed", "sign_in"],
        "{all}"
    );
    assert_eq!(all[1]["user_agent"], "activity-test/2");
    assert_eq!(all[1]["address"], "127.0.0.1");
    assert_eq!(all[0]["session_id"], all[1]["session_id"], "the same session");

    let first_page: Value = activity(&server, &ann.access_token, "?limit=2")
        .json()
        .expect("page");
    assert_eq!(kinds(&first_page), ["sign_out", "sign_in"]);
    let last_id = first_page[1]["id"].as_i64().expect("id");
    let next: Value = activity(&server, &ann.access_token, &format!("?limit=2&before={last_id}"))
        .json()
        .expect("page");
    assert_eq!(kinds(&next), ["sign_in_failed", "sign_in"]);

    let bad = activity(&server, &ann.access_token, "?limit=0");
    let body = assert_problem(bad, 422, ProblemCode::InvalidField);
    assert_eq!(body["field"], "limit");
    let bobs: Value = activity(&server, &bob.access_token, "").json().expect("entries");
    assert_eq!(kinds(&bobs), ["sign_in"], "only bob's own");
    assert_problem(
        activity(&server, "not-a-token", ""),
        401,
        ProblemCode::InvalidToken,
    );
}

/// `users disable` on a running server's database: the open session is refused within
/// 2 s, the right password gets 403 `account_disabled` (a wrong one still 401), and
/// `users enable` lets the account in again. `users list` and `show` report it.
#[test]
fn a_disabled_account_cannot_sign_in_and_its_sessions_end_on_a_running_server() {
    let server = TestServer::start(&[]);
    let ann = sign_up(&server, "disable");
    let bob = sign_up(&server, "disable-bob");

    let printed = admin_ok(&server, &["disable", &ann.email.to_uppercase()]);
    assert!(printed.contains("1 session(s) ended"), "{printed}");
    refused_within(&server, &ann.access_token, Duration::from_secs(2));
    assert_eq!(
        session_status(&server, &bob.access_token),
        200,
        "bob is untouched"
    );
    let refused = sign_in(&server, &ann.email, &ann.password);
    assert_problem(refused, 403, ProblemCode::AccountDisabled);
    let wrong = sign_in(&server, &ann.email, "a wrong password");
    assert_problem(wrong, 401, ProblemCode::InvalidCredentials);
    let refresh = http()
        .post(server.url("/api/auth/refresh"))
        .json(&json!({"refresh_token": ann.refresh_token}))
        .send()
        .expect("refresh");
    assert_problem(refresh, 401, ProblemCode::InvalidRefreshToken);

    let listed: Value = serde_json::from_str(&admin_ok(&server, &["list", "--json"])).expect("JSON");
    let row = listed
        .as_array()
        .expect("array")
        .iter()
        .find(|u| u["email"] == ann.email.as_str())
        .expect("ann listed");
    assert!(row["disabled_at"].is_string(), "{row}");
    assert_eq!(row["active_sessions"], 0);
    let shown = admin_ok(&server, &["show", &ann.email]);
    assert!(shown.contains("disabled: since"), "{shown}");

    admin_ok(&server, &["enable", &ann.email]);
    let back = sign_in(&server, &ann.email, &ann.password);
    assert_eq!(back.status().as_u16(), 200);
    let (code, _, stderr) = admin(&server, &["show", "nobody@example.com"]);
    assert_ne!(code, 0);
    assert!(
        stderr.contains("no account has the email nobody@example.com"),
        "{stderr}"
    );
}

fn reset(server: &TestServer, token: &str, new_password: &str) -> reqwest::blocking::Response {
    http()
        .post(server.url("/api/auth/password/reset"))
        .json(&json!({"token": token, "new_password": new_password}))
        .send()
        .expect("reset")
}

/// A reset token from `users reset-password` sets a new password once (a weak password
/// does not use it up), ends every session, and is refused after its lifetime.
#[test]
fn a_reset_token_works_once_and_not_after_it_expires() {
    let server = TestServer::start(&[]);
    let ann = sign_up(&server, "reset");
    let printed = admin_ok(&server, &["reset-password", &ann.email]);
    let token = printed.lines().next().expect("the token line").trim().to_string();
    assert!(token.starts_with("todo_reset_"), "{printed}");
    let stored = todo_e2e::query_column(&server.database(), "SELECT count(*) FROM password_resets");
    assert_eq!(stored, ["1"]);
    let stored_hash = todo_e2e::query_column(
        &server.database(),
        &format!(
            "SELECT {} FROM password_resets",
            todo_e2e::hex_of(&server.database(), "token_hash")
        ),
    );
    let expected: String = sha2::Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(stored_hash, [expected], "only the token's SHA-256 is stored");

    let weak = reset(&server, &token, "password");
    let body = assert_problem(weak, 422, ProblemCode::InvalidField);
    assert_eq!(body["field"], "new_password");
    let new_password = strong_password();
    assert_eq!(reset(&server, &token, &new_password).status().as_u16(), 204);
    assert_eq!(
        session_status(&server, &ann.access_token),
        401,
        "every session ends"
    );
    assert_eq!(sign_in(&server, &ann.email, &ann.password).status().as_u16(), 401);
    assert_eq!(sign_in(&server, &ann.email, &new_password).status().as_u16(), 200);
    let twice = reset(&server, &token, &strong_password());
    assert_problem(twice, 400, ProblemCode::InvalidResetToken);
    assert_problem(
        reset(&server, "todo_reset_made-up", &strong_password()),
        400,
        ProblemCode::InvalidResetToken,
    );

    let short = admin_ok(&server, &["reset-password", &ann.email, "--ttl", "1s"]);
    let short = short.lines().next().expect("token").trim().to_string();
    std::thread::sleep(Duration::from_millis(1500));
    assert_problem(
        reset(&server, &short, &strong_password()),
        400,
        ProblemCode::InvalidResetToken,
    );
    assert_eq!(sign_in(&server, &ann.email, &new_password).status().as_u16(), 200);
}

/// `users delete` needs `--yes`; then the account is gone on the running server: its
/// token is refused within 2 s and its email can sign up again.
#[test]
fn an_administrator_deletes_an_account_on_a_running_server() {
    let server = TestServer::start(&[]);
    let ann = sign_up(&server, "admin-delete");
    let (code, _, stderr) = admin(&server, &["delete", &ann.email]);
    assert_ne!(code, 0);
    assert!(stderr.contains("--yes"), "{stderr}");
    assert_eq!(
        session_status(&server, &ann.access_token),
        200,
        "nothing deleted yet"
    );

    admin_ok(&server, &["delete", &ann.email, "--yes"]);
    refused_within(&server, &ann.access_token, Duration::from_secs(2));
    assert_eq!(sign_in(&server, &ann.email, &ann.password).status().as_u16(), 401);
    let again = todo_e2e::api::sign_up_with(&server, &ann.email, &strong_password());
    assert_eq!(again.status().as_u16(), 201);
}

/// The CLI's forms: `todo auth email`, `todo auth activity`, `todo auth reset-password`.
#[test]
fn the_cli_changes_the_email_lists_activity_and_resets_a_password() {
    let server = TestServer::start(&[]);
    let cli = CliUser::new(&server);
    let (email, password) = cli.sign_up("cli-account");
    let new_email = unique_email("cli-account-new");
    let changed = cli
        .run_with_stdin(
            &["auth", "email", &new_email, "--password-stdin", "--json"],
            Some(&format!("{password}\n")),
        )
        .ok()
        .json();
    assert_eq!(changed["email"], new_email.as_str());
    let wrong = cli.run_with_stdin(
        &["auth", "email", &unique_email("z"), "--password-stdin"],
        Some("not the password\n"),
    );
    assert_ne!(wrong.code, 0);
    assert!(wrong.stderr.contains("password is wrong"), "{wrong:?}");

    let log = cli.run(&["auth", "activity", "--json"]).ok().json();
    assert_eq!(
        kinds(&log)[..3],
        ["sign_in_failed", "email_changed", "sign_in"],
        "{log}"
    );
    let table = cli.run(&["auth", "activity", "-n", "1"]).ok();
    assert_eq!(
        table.stdout.lines().count(),
        2,
        "a header and one entry: {table:?}"
    );
    assert!(table.stdout.contains("wrong password"), "{table:?}");

    let printed = admin_ok(&server, &["reset-password", &new_email]);
    let token = printed.lines().next().expect("token").trim().to_string();
    let new_password = strong_password();
    cli.run_with_stdin(
        &["auth", "reset-password", "--token", &token, "--password-stdin"],
        Some(&format!("{new_password}\n")),
    )
    .ok();
    let used = cli.run_with_stdin(
        &["auth", "reset-password", "--token", &token, "--password-stdin"],
        Some(&format!("{new_password}\n")),
    );
    assert_ne!(used.code, 0);
    assert!(used.stderr.contains("reset token"), "{used:?}");
    assert_eq!(sign_in(&server, &email, &password).status().as_u16(), 401);
    assert_eq!(sign_in(&server, &new_email, &new_password).status().as_u16(), 200);
}

/// An admin command given a SQLite path where there is no database says so and creates
/// nothing: a mistyped path must not become an empty database the command acts on.
/// (`keys rotate` does make one: a key may be made before the first start.)
#[test]
fn admin_commands_refuse_a_missing_database_and_create_none() {
    let dir = tempfile::tempdir().expect("dir");
    let missing = dir.path().join("typo.db");
    for args in [
        vec!["users", "list"],
        vec!["users", "disable", "ann@example.com"],
        vec!["migrate-to", "postgres://todo@127.0.0.1:1/todo"],
    ] {
        let output = Command::new(binary("todo-server"))
            .args(&args)
            .arg("--database")
            .arg(&missing)
            .output()
            .expect("todo-server runs");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{args:?} succeeded");
        assert!(stderr.contains("no database at"), "{args:?}: {stderr}");
        assert!(!missing.exists(), "{args:?} created {}", missing.display());
    }
}
