//! The real `todo` binary against the real `todo-server`, with the file credential store.

use std::time::Duration;

use serde_json::Value;
use todo_e2e::{CliUser, TestServer, http};

fn one_line(stderr: &str) -> &str {
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "expected one line on stderr: {stderr:?}");
    assert!(lines[0].starts_with("todo: "), "{stderr:?}");
    lines[0]
}

fn task_count(user: &CliUser) -> usize {
    user.run(&["list", "--status", "all", "--json"])
        .ok()
        .json()
        .as_array()
        .expect("array")
        .len()
}

/// A signed-up CLI user with three tasks: "Buy milk" (high, due tomorrow, #home),
/// "File taxes" (overdue, #money) and "Read a book" (newest).
struct ThreeTasks {
    _server: TestServer,
    user: CliUser,
    email: String,
    taxes: Value,
    taxes_id: String,
    read_id: String,
}

fn three_tasks() -> ThreeTasks {
    let server = TestServer::start(&[]);
    let user = CliUser::new(&server);
    let (email, _) = user.sign_up("ann");
    let added = user
        .run(&[
            "add",
            "Buy milk",
            "--priority",
            "high",
            "--due",
            "tomorrow",
            "--tag",
            "home",
        ])
        .ok();
    assert!(added.stdout.starts_with("Added task "), "{added:?}");
    let taxes = user
        .run(&[
            "add",
            "File taxes",
            "--due",
            "2020-01-01",
            "-t",
            "money",
            "--json",
        ])
        .ok()
        .json();
    let read_id = user
        .run(&["add", "Read a book", "--quiet"])
        .ok()
        .stdout
        .trim()
        .parse::<i64>()
        .expect("--quiet prints only the id");
    ThreeTasks {
        taxes_id: taxes["id"].as_i64().expect("id").to_string(),
        read_id: read_id.to_string(),
        _server: server,
        user,
        email,
        taxes,
    }
}

#[test]
fn add_confirms_prints_json_or_only_the_id() {
    let t = three_tasks();
    assert_eq!(t.taxes["title"], "File taxes");
    assert_eq!(t.taxes["tags"], serde_json::json!(["money"]));
    assert_eq!(task_count(&t.user), 3);
}

#[test]
fn list_is_an_aligned_table_with_overdue_marks_or_the_apis_json() {
    let t = three_tasks();
    let table = t.user.run(&["list"]).ok().stdout;
    let header = table.lines().next().expect("header");
    assert!(
        header.starts_with("ID")
            && header.contains("PRI")
            && header.contains("DUE")
            && header.contains("TITLE")
    );
    assert!(table.contains("Buy milk") && table.contains("#home"));
    assert!(
        table
            .lines()
            .any(|l| l.contains("File taxes") && l.contains("2020-01-01!")),
        "overdue marked:\n{table}"
    );
    let listed = t.user.run(&["list", "--json"]).ok().json();
    let listed = listed.as_array().expect("array");
    assert_eq!(listed.len(), 3);
    let titles: Vec<&str> = listed.iter().map(|t| t["title"].as_str().unwrap_or("")).collect();
    assert_eq!(
        titles,
        ["File taxes", "Buy milk", "Read a book"],
        "by urgency: overdue, due soon, undated"
    );
    let newest = t.user.run(&["list", "--sort", "created", "--json"]).ok().json();
    assert_eq!(newest[0]["id"].to_string(), t.read_id, "newest first");
    t.user.run(&["done", &t.taxes_id]).ok();
    let pending = t.user.run(&["list", "--json"]).ok().json();
    assert_eq!(pending.as_array().map(Vec::len), Some(2), "pending by default");
    let all = t.user.run(&["list", "--all", "--json"]).ok().json();
    assert_eq!(all.as_array().map(Vec::len), Some(3));
    let completed = t.user.run(&["list", "--completed", "--json"]).ok().json();
    assert_eq!(completed[0]["title"], "File taxes");
    assert!(
        listed
            .iter()
            .all(|t| t["user_id"].is_string() && t["created_at"].is_string()),
        "the API's shape"
    );
    let found = t.user.run(&["list", "--search", "book", "--json"]).ok().json();
    assert_eq!(found.as_array().map(|a| a.len()), Some(1));
}

#[test]
fn show_and_edit_keep_the_fields_not_given() {
    let t = three_tasks();
    let shown = t.user.run(&["show", &t.taxes_id]).ok().stdout;
    assert!(
        shown.contains("File taxes") && shown.contains("overdue") && shown.contains("money"),
        "{shown}"
    );
    assert_eq!(t.user.run(&["show", &t.taxes_id, "--json"]).ok().json(), t.taxes);
    let edited = t
        .user
        .run(&[
            "edit",
            &t.taxes_id,
            "--title",
            "File taxes today",
            "--no-due",
            "--json",
        ])
        .ok()
        .json();
    assert_eq!(edited["title"], "File taxes today");
    assert_eq!(edited["due_at"], Value::Null);
    assert_eq!(
        edited["tags"],
        serde_json::json!(["money"]),
        "fields not given stay"
    );
}

#[test]
fn done_and_undone_are_idempotent() {
    let t = three_tasks();
    for _ in 0..2 {
        let done = t.user.run(&["done", &t.taxes_id, "--json"]).ok().json();
        assert_eq!(done["completed"], true, "done is idempotent");
    }
    let pending = t.user.run(&["list", "--status", "pending", "--json"]).ok().json();
    assert_eq!(pending.as_array().expect("array").len(), 2);
    for _ in 0..2 {
        let undone = t.user.run(&["undone", &t.taxes_id, "--json"]).ok().json();
        assert_eq!(undone["completed"], false, "undone is idempotent");
    }
}

#[test]
fn rm_without_a_terminal_does_not_ask() {
    let t = three_tasks();
    let removed = t.user.run(&["rm", &t.read_id]).ok();
    assert!(removed.stderr.contains("Deleted task"), "{removed:?}");
    assert_eq!(task_count(&t.user), 2);
}

#[test]
fn status_names_the_user_and_the_store_until_sign_out() {
    let t = three_tasks();
    let status = t.user.run(&["auth", "status"]).ok().stdout;
    assert!(status.contains(&t.email) && status.contains("file "), "{status}");
    let status = t.user.run(&["auth", "status", "--json"]).ok().json();
    assert_eq!(status["signed_in"], true);
    assert_eq!(status["user"]["email"], t.email.as_str());
    assert!(
        status["credential_store"]
            .as_str()
            .expect("store")
            .starts_with("file ")
    );
    t.user.run(&["auth", "signout"]).ok();
    let after = t.user.run(&["auth", "status"]);
    assert_eq!(after.code, 4, "{after:?}");
    assert!(after.stdout.contains("not signed in"));
    let listing = t.user.run(&["list"]);
    assert_eq!(listing.code, 4);
    one_line(&listing.stderr);
}

#[test]
fn sign_in_token_and_the_environment_override() {
    let server = TestServer::start(&[]);
    let ann = CliUser::new(&server);
    let (email, password) = ann.sign_up("ann");
    ann.run(&["auth", "signout"]).ok();
    let signed_in = ann.run_with_stdin(
        &["auth", "signin", "--email", &email, "--password-stdin"],
        Some(&password),
    );
    assert_eq!(signed_in.code, 0, "{signed_in:?}");
    assert!(signed_in.stderr.contains("Signed in as"));
    assert!(
        signed_in.stderr.contains("warning: credentials stored in"),
        "the fallback is reported"
    );

    let token = ann.run(&["auth", "token"]).ok().stdout.trim().to_string();
    assert_eq!(token.split('.').count(), 3, "a JWT and nothing else: {token:?}");
    let session = http()
        .get(server.url("/api/auth/session"))
        .bearer_auth(&token)
        .send()
        .expect("session");
    assert_eq!(
        session.status().as_u16(),
        200,
        "the printed token works with curl"
    );

    // Another home with no stored credentials: TODO_TOKEN is enough.
    let script = CliUser::new(&server).with_env("TODO_TOKEN", &token);
    script.run(&["add", "from a script"]).ok();
    let status = script.run(&["auth", "status", "--json"]).ok().json();
    assert_eq!(status["token_source"], "TODO_TOKEN");
    assert_eq!(task_count(&ann), 1);
}

#[test]
fn expired_access_tokens_are_refreshed_transparently_even_by_concurrent_processes() {
    let server = TestServer::start(&["--access-ttl", "1s"]);
    let ann = CliUser::new(&server);
    ann.sign_up("ann");
    let credentials = || -> Value {
        let text =
            std::fs::read_to_string(ann.config_dir().join("credentials.json")).expect("credentials file");
        serde_json::from_str(&text).expect("json")
    };
    // Each account's tokens are kept under the server and the user id.
    let user_id = ann.run(&["auth", "status", "--json"]).ok().json()["user"]["id"]
        .as_str()
        .expect("user id")
        .to_string();
    let entry = format!("{}#{user_id}", ann.server);
    let first = credentials()[&entry]["refresh_token"].clone();
    assert!(first.is_string(), "stored under {entry}: {}", credentials());
    std::thread::sleep(Duration::from_millis(1500));
    ann.run(&["list"]).ok();
    let second = credentials()[&entry]["refresh_token"].clone();
    assert_ne!(first, second, "the pair was refreshed and stored");

    // Four processes find the token expired at once. Refresh tokens are single use; a
    // second spend would revoke the session. The lock file makes them take turns.
    std::thread::sleep(Duration::from_millis(1500));
    let titles: Vec<String> = (0..4).map(|i| format!("parallel {i}")).collect();
    std::thread::scope(|scope| {
        let handles: Vec<_> = titles
            .iter()
            .map(|title| {
                let user = &ann;
                scope.spawn(move || user.run(&["add", title]))
            })
            .collect();
        for handle in handles {
            let run = handle.join().expect("thread");
            assert_eq!(run.code, 0, "{run:?}");
        }
    });
    assert_eq!(task_count(&ann), 4);
    ann.run(&["auth", "status"]).ok();
}

#[test]
fn two_users_are_isolated_through_the_cli() {
    let server = TestServer::start(&[]);
    let ann = CliUser::new(&server);
    let bob = CliUser::new(&server);
    ann.sign_up("ann");
    bob.sign_up("bob");
    let secret = ann.run(&["add", "ann's secret", "--json"]).ok().json();
    let id = secret["id"].as_i64().expect("id").to_string();
    assert_eq!(task_count(&bob), 0);
    for args in [
        vec!["show", &id],
        vec!["done", &id],
        vec!["rm", &id, "--yes"],
        vec!["edit", &id, "--title", "x"],
    ] {
        let run = bob.run(&args);
        assert_eq!(run.code, 3, "{args:?}: {run:?}");
        one_line(&run.stderr);
    }
    let after = ann.run(&["show", &id, "--json"]).ok().json();
    assert_eq!(after, secret, "unchanged");
}

#[test]
fn bad_input_gives_one_line_the_right_exit_code_and_changes_nothing() {
    let server = TestServer::start(&[]);
    let ann = CliUser::new(&server);
    ann.sign_up("ann");
    ann.run(&["add", "keep me"]).ok();

    let empty = ann.run(&["add", ""]);
    assert_eq!(empty.code, 1);
    assert!(one_line(&empty.stderr).contains("title"));
    let long = ann.run(&["add", &"x".repeat(201)]);
    assert_eq!(long.code, 1);
    assert!(one_line(&long.stderr).contains("200"));
    let bad_due = ann.run(&["add", "x", "--due", "someday"]);
    assert_eq!(bad_due.code, 2);
    // A usage or value error is clap's whole explanation, not one line.
    assert!(
        bad_due.stderr.starts_with("error: ") && bad_due.stderr.contains("someday"),
        "{bad_due:?}"
    );
    let unknown = ann.run(&["show", "424242"]);
    assert_eq!(unknown.code, 3);
    assert!(one_line(&unknown.stderr).contains("not found"));
    let usage = ann.run(&["list", "--frobnicate"]);
    assert_eq!(usage.code, 2);
    assert!(usage.stderr.starts_with("error: "), "{usage:?}");
    let nothing = ann.run(&["edit", "1"]);
    assert_eq!(nothing.code, 2);
    assert_eq!(task_count(&ann), 1, "nothing was created");

    let stranger = CliUser::new(&server);
    let signed_out = stranger.run(&["list"]);
    assert_eq!(signed_out.code, 4);
    assert!(one_line(&signed_out.stderr).contains("todo auth signin"));

    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("port");
    let dead_url = format!("http://{}", closed.local_addr().expect("addr"));
    drop(closed);
    let offline = CliUser::new(&server).with_env("TODO_SERVER", &dead_url);
    let unreachable = offline.run_with_stdin(
        &["auth", "signin", "--email", "a@b.io", "--password-stdin"],
        Some("pw\n"),
    );
    assert_eq!(unreachable.code, 5, "{unreachable:?}");
    let line = one_line(&unreachable.stderr);
    assert!(line.contains(&dead_url) && line.contains("todo-server"), "{line}");

    let no_tty = stranger.run(&["auth", "signin", "--email", "a@b.io"]);
    assert_eq!(no_tty.code, 2);
    assert!(one_line(&no_tty.stderr).contains("--password-stdin"));

    let weak = stranger.run_with_stdin(
        &[
            "auth",
            "signup",
            "--email",
            "weak@example.com",
            "--password-stdin",
        ],
        Some("password1\n"),
    );
    assert_eq!(weak.code, 1);
    assert!(one_line(&weak.stderr).contains("too easy to guess"), "{weak:?}");
}

#[test]
fn every_command_has_an_example_and_completions_are_generated() {
    let server = TestServer::start(&[]);
    let user = CliUser::new(&server);
    let commands: &[&[&str]] = &[
        &["auth"],
        &["add"],
        &["list"],
        &["show"],
        &["edit"],
        &["done"],
        &["undone"],
        &["rm"],
        &["completions"],
        &["auth", "signup"],
        &["auth", "signin"],
        &["auth", "signout"],
        &["auth", "status"],
        &["auth", "token"],
        &["project"],
        &["project", "share"],
        &["project", "add"],
        &["invitations"],
    ];
    for command in commands {
        let mut args = command.to_vec();
        args.push("--help");
        let help = user.run(&args).ok().stdout;
        assert!(
            help.contains("Example"),
            "{command:?} help has no example:\n{help}"
        );
    }
    let top = user.run(&["--help"]).ok().stdout;
    assert!(top.contains("Exit codes") && top.contains("5  the server cannot be reached"));
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let script = user.run(&["completions", shell]).ok().stdout;
        assert!(script.contains("todo") && script.len() > 500, "{shell}");
    }
}

#[cfg(target_os = "linux")]
#[test]
fn without_a_keyring_the_file_fallback_is_used_and_reported() {
    let server = TestServer::start(&[]);
    let ann = CliUser::new(&server)
        .with_env("TODO_CREDENTIAL_STORE", "auto")
        .with_env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus");
    let signed_up = ann.run_with_stdin(
        &[
            "auth",
            "signup",
            "--email",
            &todo_e2e::unique_email("nokeyring"),
            "--password-stdin",
        ],
        Some(&format!("{}\n", todo_e2e::strong_password())),
    );
    assert_eq!(signed_up.code, 0, "{signed_up:?}");
    assert!(
        signed_up.stderr.contains("warning: credentials stored in"),
        "{signed_up:?}"
    );
    assert!(
        signed_up.stderr.contains("no OS keyring answers here"),
        "the reason is given: {signed_up:?}"
    );
    assert!(
        !signed_up.stderr.contains("zbus") && signed_up.stderr.lines().count() <= 2,
        "one line, no internals: {signed_up:?}"
    );
    let status = ann.run(&["auth", "status", "--json"]).ok().json();
    assert!(
        status["keyring_unavailable"]
            .as_str()
            .is_some_and(|r| r.contains("no OS keyring"))
    );
    assert!(
        status["keyring_detail"].is_string(),
        "the detail is there for -v: {status}"
    );
    let verbose = ann.run(&["auth", "status", "-v"]).ok();
    assert!(verbose.stdout.contains("Keyring:"), "{verbose:?}");
    let path = ann.config_dir().join("credentials.json");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&path).expect("file").permissions().mode() & 0o777,
            0o600
        );
    }
    let stored = std::fs::read_to_string(&path).expect("credentials file");
    let token = ann.run(&["auth", "token"]).ok().stdout.trim().to_string();
    assert!(stored.contains(&token));
    assert!(
        !signed_up.stderr.contains(&token) && !signed_up.stdout.contains(&token),
        "never printed"
    );
}

/// A task holding terminal controls (written past the server's checks, as another
/// server or an old database might hold it) is printed with every control escaped: the
/// output of `todo list` and `todo show` cannot retitle, clear or fake the terminal.
#[test]
fn control_characters_in_stored_tasks_are_printed_escaped() {
    todo_e2e::sqlite_only!();
    let server = TestServer::start(&[]);
    let user = CliUser::new(&server);
    let (email, _) = user.sign_up("controls");
    let db = rusqlite::Connection::open(server.database()).expect("db");
    db.busy_timeout(std::time::Duration::from_secs(5))
        .expect("busy timeout");
    let user_id: String = db
        .query_row("SELECT id FROM users WHERE email = ?1", [&email], |r| r.get(0))
        .expect("user");
    db.execute(
        "INSERT INTO tasks (user_id, title, description, tags, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, 0, 0)",
        rusqlite::params![
            user_id,
            "evil\u{1b}]0;pwned\u{7}",
            "clear\u{1b}[2J\nsecond line",
            r#"["\u009b2J"]"#
        ],
    )
    .expect("insert");
    let id = db.last_insert_rowid().to_string();
    drop(db);
    for args in [vec!["list"], vec!["show", id.as_str()]] {
        let run = user.run(&args).ok();
        assert!(
            !run.stdout.contains(['\u{1b}', '\u{7}', '\u{9b}']),
            "{args:?} wrote a raw control: {:?}",
            run.stdout
        );
        assert!(
            run.stdout.contains("evil\\u{1b}]0;pwned\\u{7}"),
            "{args:?}: {}",
            run.stdout
        );
    }
}

/// `todo … | head`: when the reader goes away, `todo` ends quietly with success (no
/// panic, no message), as `ls | head` does.
#[test]
fn a_closed_pipe_ends_the_output_quietly() {
    let server = TestServer::start(&[]);
    let user = CliUser::new(&server);
    user.sign_up("pipe");
    for n in 0..30 {
        user.run(&["add", &format!("task {n}"), "--quiet"]).ok();
    }
    for args in [vec!["list"], vec!["completions", "fish"], vec!["list", "--json"]] {
        let mut child = user
            .command(&args)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("todo starts");
        // The reader goes away before `todo` writes anything.
        drop(child.stdout.take());
        let output = child.wait_with_output().expect("todo ends");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(0), "{args:?}: {stderr}");
        assert!(stderr.is_empty(), "{args:?} said: {stderr}");
    }
}

/// As people type at a shell: the words after `add` are the title, and a server address
/// without a scheme works (loopback means http).
#[test]
fn unquoted_titles_and_a_server_without_a_scheme() {
    let server = TestServer::start(&[]);
    let user = CliUser::new(&server);
    user.sign_up("shell");
    let address = server.address();
    let added = user
        .run(&[
            "--server", &address, "add", "Buy", "bread", "and", "eggs", "-p", "H", "--json",
        ])
        .ok()
        .json();
    assert_eq!(added["title"], "Buy bread and eggs");
    assert_eq!(added["priority"], "high");
}

/// `todo undo` reverts the latest change from any client (here a delete, then the edit
/// before it), `todo log` shows what each change did, and with nothing left undo fails
/// with a clear message.
#[test]
fn undo_and_log_walk_the_history() {
    let server = TestServer::start(&[]);
    let user = CliUser::new(&server);
    user.sign_up("undo-cli");
    let id = user
        .run(&["add", "Buy", "bread", "-q"])
        .ok()
        .stdout
        .trim()
        .to_string();
    user.run(&["edit", &id, "--title", "Buy rye bread"]).ok();
    user.run(&["rm", &id, "--yes"]).ok();
    let undone = user.run(&["undo"]).ok();
    assert!(undone.stderr.contains("Undid the deletion"), "{undone:?}");
    assert!(undone.stderr.contains("Buy rye bread"), "{undone:?}");
    assert_eq!(task_count(&user), 1);
    let log = user.run(&["log", &id]).ok().stdout;
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines.len(), 4, "{log}");
    assert!(lines[0].contains("created"), "{log}");
    assert!(
        lines[1].contains("title \"Buy bread\" → \"Buy rye bread\""),
        "{log}"
    );
    assert!(lines[2].contains("deleted"), "{log}");
    assert!(lines[3].contains("undo of #3"), "{log}");
    let undone: Value = serde_json::from_str(&user.run(&["undo", "--json"]).ok().stdout).expect("json");
    assert_eq!(undone["undone_type"], "task.updated");
    assert_eq!(undone["task"]["title"], "Buy bread");
    user.run(&["undo"]).ok();
    let nothing = user.run(&["undo"]);
    assert_eq!(nothing.code, 3, "not found: {nothing:?}");
    assert!(nothing.stderr.contains("nothing left to undo"), "{nothing:?}");
}

/// `todo watch --json` prints one JSON line per change made by any client, as it
/// happens.
#[test]
fn watch_prints_each_change_as_it_happens() {
    use std::io::BufRead;
    let server = TestServer::start(&[]);
    let user = CliUser::new(&server);
    user.sign_up("watch");
    let mut watch = user
        .command(&["watch", "--json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("todo watch");
    let (lines_tx, lines) = std::sync::mpsc::channel();
    let stdout = watch.stdout.take().expect("stdout");
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines_tx.send(line).is_err() {
                return;
            }
        }
    });
    // The watcher connects in the background: add until the first change shows.
    let mut first = None;
    for n in 0..50 {
        user.run(&["add", &format!("seen {n}")]).ok();
        if let Ok(line) = lines.recv_timeout(Duration::from_millis(200)) {
            first = Some(line);
            break;
        }
    }
    let first: Value = serde_json::from_str(&first.expect("a change was printed")).expect("json line");
    assert_eq!(first["type"], "task.created");
    let id = first["task"]["id"].as_i64().expect("id");
    user.run(&["done", &id.to_string()]).ok();
    let next: Value = loop {
        let line = lines.recv_timeout(Duration::from_secs(5)).expect("the update");
        let event: Value = serde_json::from_str(&line).expect("json line");
        if event["task"]["id"].as_i64() == Some(id) {
            break event;
        }
    };
    assert_eq!(next["type"], "task.updated");
    assert_eq!(next["task"]["completed"], true);
    let _ = watch.kill();
    let _ = watch.wait();
}

/// Several ids and ranges at once: one line per task, and when some fail a non-zero
/// exit naming them (3 when all of those were not found); `--json` gives one result per
/// id. Bad ids and runaway ranges are usage errors.
#[test]
fn several_ids_and_ranges_report_each_and_name_the_failures() {
    let server = TestServer::start(&[]);
    let user = CliUser::new(&server);
    user.sign_up("ids");
    let ids: Vec<String> = (0..4)
        .map(|n| {
            user.run(&["add", &format!("task {n}"), "-q"])
                .ok()
                .stdout
                .trim()
                .to_string()
        })
        .collect();
    let range = format!("{}-{}", ids[1], ids[3]);
    let done = user.run(&["done", &ids[0], &range]).ok();
    assert_eq!(
        done.stderr
            .lines()
            .filter(|l| l.starts_with("Completed task"))
            .count(),
        4,
        "{done:?}"
    );

    let missing = "999999";
    let partial = user.run(&["undone", &ids[0], missing]);
    assert_eq!(partial.code, 3, "{partial:?}");
    assert!(
        partial.stderr.contains(&format!("Reopened task {}", ids[0])),
        "{partial:?}"
    );
    assert!(
        partial.stderr.contains(&format!("1 of 2 failed: {missing}")),
        "{partial:?}"
    );

    let json = user.run(&[
        "--json",
        "rm",
        "--yes",
        &format!("{},{}", ids[0], ids[1]),
        missing,
    ]);
    assert_eq!(json.code, 3, "{json:?}");
    let results: Vec<Value> = serde_json::from_str(&json.stdout).expect("json array");
    let oks: Vec<bool> = results.iter().map(|r| r["ok"].as_bool().expect("ok")).collect();
    assert_eq!(oks, [true, true, false]);
    assert_eq!(results[2]["code"], "task_not_found");
    assert_eq!(task_count(&user), 2);

    for bad in ["0", "x", "9-3", "1-100000"] {
        let refused = user.run(&["done", bad]);
        assert_eq!(refused.code, 2, "{bad}: {refused:?}");
    }
}

/// `+tag` words on add are tags; on edit `+tag` adds and `-tag` removes (any case), the
/// other tags and fields stay; a word that is neither is a usage error.
#[test]
fn plus_and_minus_tags_on_add_and_edit() {
    let server = TestServer::start(&[]);
    let user = CliUser::new(&server);
    user.sign_up("plus-tags");
    let added: Value = serde_json::from_str(
        &user
            .run(&["add", "Buy", "milk", "+home", "+shop", "--json"])
            .ok()
            .stdout,
    )
    .expect("json");
    assert_eq!(added["title"], "Buy milk");
    assert_eq!(added["tags"], serde_json::json!(["home", "shop"]));
    let id = added["id"].to_string();
    user.run(&["edit", &id, "+urgent", "-SHOP"]).ok();
    let shown: Value = serde_json::from_str(&user.run(&["show", &id, "--json"]).ok().stdout).expect("json");
    assert_eq!(shown["tags"], serde_json::json!(["home", "urgent"]));
    assert_eq!(shown["title"], "Buy milk");
    let bad = user.run(&["edit", &id, "oops"]);
    assert_eq!(bad.code, 2, "{bad:?}");
    assert!(bad.stderr.contains("+tag or -tag"), "{bad:?}");

    // --tag repeats (all must match), in any case; a tag the server refuses says why.
    user.run(&["add", "Call", "home", "+home"]).ok();
    let listed: Value = serde_json::from_str(
        &user
            .run(&["list", "--tag", "HOME", "--tag", "urgent", "--json"])
            .ok()
            .stdout,
    )
    .expect("json");
    let titles: Vec<&str> = listed
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|t| t["title"].as_str())
        .collect();
    assert_eq!(titles, ["Buy milk"]);
    let refused = user.run(&["add", "Bad", "--tag", "two words"]);
    assert_eq!(refused.code, 1, "{refused:?}");
    assert!(refused.stderr.contains("may not hold spaces"), "{refused:?}");
}

/// `todo man` prints todo(1); with --dir it writes a page per command.
#[test]
fn man_pages_are_written() {
    let server = TestServer::start(&[]);
    let user = CliUser::new(&server);
    let page = user.run(&["man"]).ok().stdout;
    assert!(page.contains(".TH todo 1") && page.contains("watch"), "{page}");
    let dir = tempfile::tempdir().expect("dir");
    let dir_arg = dir.path().display().to_string();
    user.run(&["man", "--dir", &dir_arg]).ok();
    for name in ["todo.1", "todo-add.1", "todo-undo.1"] {
        let text = std::fs::read_to_string(dir.path().join(name)).expect(name);
        assert!(text.contains(".TH"), "{name}");
    }
}

/// `todo auth sessions` lists where the account is signed in; `revoke` with the first
/// characters of an id ends that session (its tokens refused at once).
#[test]
fn auth_sessions_lists_and_revokes() {
    let server = TestServer::start(&[]);
    let laptop = CliUser::new(&server);
    let (email, password) = laptop.sign_up("cli-sessions");
    let phone = CliUser::new(&server);
    phone
        .run_with_stdin(
            &["auth", "signin", "--email", &email, "--password-stdin"],
            Some(&format!("{password}\n")),
        )
        .ok();
    let listed: Value =
        serde_json::from_str(&phone.run(&["auth", "sessions", "--json"]).ok().stdout).expect("json");
    let listed = listed.as_array().expect("array");
    assert_eq!(listed.len(), 2);
    let laptop_id = listed
        .iter()
        .find(|s| s["current"] == false)
        .and_then(|s| s["id"].as_str())
        .expect("the laptop's session")
        .replace('-', "");
    let table = phone.run(&["auth", "sessions"]).ok().stdout;
    assert!(
        table.contains(&laptop_id[..8]) && table.contains("(this one)"),
        "{table}"
    );
    phone.run(&["auth", "sessions", "revoke", &laptop_id[..8]]).ok();
    let refused = laptop.run(&["list"]);
    assert_eq!(refused.code, 4, "the laptop is signed out: {refused:?}");
    let missing = phone.run(&["auth", "sessions", "revoke", "ffffffff"]);
    assert_eq!(missing.code, 3, "{missing:?}");
}

/// `todo auth password --password-stdin` takes the current and the new password on two
/// lines; a wrong current one fails with exit 1 (still signed in), and afterwards only
/// the new password signs in.
#[test]
fn auth_password_changes_the_password() {
    let server = TestServer::start(&[]);
    let user = CliUser::new(&server);
    let (email, password) = user.sign_up("cli-password");
    let new_password = todo_e2e::strong_password();
    let wrong = user.run_with_stdin(
        &["auth", "password", "--password-stdin"],
        Some(&format!("wrong-one\n{new_password}\n")),
    );
    assert_eq!(wrong.code, 1, "{wrong:?}");
    assert!(wrong.stderr.contains("current password is wrong"), "{wrong:?}");
    user.run_with_stdin(
        &["auth", "password", "--password-stdin"],
        Some(&format!("{password}\n{new_password}\n")),
    )
    .ok();
    user.run(&["list"]).ok();
    let again = CliUser::new(&server);
    let old = again.run_with_stdin(
        &["auth", "signin", "--email", &email, "--password-stdin"],
        Some(&format!("{password}\n")),
    );
    assert_ne!(old.code, 0, "{old:?}");
    again
        .run_with_stdin(
            &["auth", "signin", "--email", &email, "--password-stdin"],
            Some(&format!("{new_password}\n")),
        )
        .ok();
}

/// With the server down, `todo auth status` still names the account stored here (and
/// where), says the server did not answer, and exits 5; `--json` carries it too.
#[test]
fn auth_status_names_the_stored_account_when_the_server_is_down() {
    let server = TestServer::start(&[]);
    let user = CliUser::new(&server);
    let (email, _) = user.sign_up("offline-status");
    drop(server);
    let status = user.run(&["auth", "status"]);
    assert_eq!(status.code, 5, "{status:?}");
    assert!(
        status.stdout.contains(&email) && status.stdout.contains("did not answer"),
        "{status:?}"
    );
    let json = user.run(&["auth", "status", "--json"]);
    assert_eq!(json.code, 5);
    let report: Value = serde_json::from_str(&json.stdout).expect("json");
    assert_eq!(report["signed_in"], false);
    assert_eq!(report["stored_user"]["email"], email.as_str());
}

/// `todo auth delete-account` refuses without a terminal unless --yes, needs the right
/// password, and afterwards the account is gone and the credentials forgotten.
#[test]
fn auth_delete_account_needs_yes_and_the_password() {
    let server = TestServer::start(&[]);
    let user = CliUser::new(&server);
    let (email, password) = user.sign_up("cli-delete");
    user.run(&["add", "doomed"]).ok();
    let unconfirmed = user.run_with_stdin(
        &["auth", "delete-account", "--password-stdin"],
        Some(&format!("{password}\n")),
    );
    assert_eq!(unconfirmed.code, 2, "{unconfirmed:?}");
    let wrong = user.run_with_stdin(
        &["auth", "delete-account", "--password-stdin", "--yes"],
        Some("wrong\n"),
    );
    assert_eq!(wrong.code, 1, "{wrong:?}");
    user.run(&["list"]).ok();
    user.run_with_stdin(
        &["auth", "delete-account", "--password-stdin", "--yes"],
        Some(&format!("{password}\n")),
    )
    .ok();
    let after = user.run(&["list"]);
    assert_eq!(after.code, 4, "signed out: {after:?}");
    let old = CliUser::new(&server).run_with_stdin(
        &["auth", "signin", "--email", &email, "--password-stdin"],
        Some(&format!("{password}\n")),
    );
    assert_ne!(old.code, 0, "the account is gone: {old:?}");
}

/// A refused connection, a host that cannot be reached and a server that accepts but
/// never answers get different messages (exit 5 each); `--connect-timeout` and
/// `--timeout` bound the waits.
#[test]
fn refused_unreachable_and_frozen_servers_are_told_apart() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("port");
    let refused_url = format!("http://{}", closed.local_addr().expect("addr"));
    drop(closed);
    // Listening but never accepting: the kernel completes the connection, nobody answers.
    let frozen = std::net::TcpListener::bind("127.0.0.1:0").expect("port");
    let frozen_url = format!("http://{}", frozen.local_addr().expect("addr"));
    let server = TestServer::start(&[]);
    let user = CliUser::new(&server).with_env("TODO_TOKEN", "todo_pat_anything");
    let refused = user.run(&["--server", &refused_url, "list"]);
    assert_eq!(refused.code, 5, "{refused:?}");
    assert!(refused.stderr.contains("connection refused"), "{refused:?}");
    let started = std::time::Instant::now();
    let hung = user.run(&["--server", &frozen_url, "--timeout", "1s", "list"]);
    assert_eq!(hung.code, 5, "{hung:?}");
    assert!(hung.stderr.contains("did not answer within 1 s"), "{hung:?}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "bounded by --timeout"
    );
    drop(frozen);

    // Unreachable: a listener whose backlog is full drops new SYNs, as a host that is
    // down or firewalled does, so the connection is never made.
    let full = std::net::TcpListener::bind("127.0.0.1:0").expect("port");
    let full_addr = full.local_addr().expect("addr");
    let mut held = Vec::new();
    while let Ok(stream) =
        std::net::TcpStream::connect_timeout(&full_addr, std::time::Duration::from_millis(200))
    {
        held.push(stream);
        assert!(held.len() < 10_000, "the backlog never filled");
    }
    let unreachable = user.run(&[
        "--server",
        &format!("http://{full_addr}"),
        "--connect-timeout",
        "1s",
        "list",
    ]);
    assert_eq!(unreachable.code, 5, "{unreachable:?}");
    assert!(
        unreachable.stderr.contains("no connection within 1 s"),
        "{unreachable:?}"
    );
    // Each case has its own message, not only its own address.
    let full_url = format!("http://{full_addr}");
    let messages = [
        refused.stderr.replace(&refused_url, "URL"),
        hung.stderr.replace(&frozen_url, "URL"),
        unreachable.stderr.replace(&full_url, "URL"),
    ];
    for (i, a) in messages.iter().enumerate() {
        for b in &messages[i + 1..] {
            assert_ne!(a, b, "each case has its own message");
        }
    }
    drop(held);
}

/// `todo config`: set, get and list settings; a wrong value is refused (exit 2); the
/// file's server and list defaults apply when no flag says otherwise; a broken file
/// names itself and its line, and commands still run.
#[test]
fn the_config_file_sets_defaults_and_a_broken_one_does_not_stop_anything() {
    let server = TestServer::start(&[]);
    let user = CliUser::new(&server);
    user.sign_up("config");
    user.run(&["add", "pending one"]).ok();
    let done = user.run(&["add", "done one", "--json"]).ok().json();
    user.run(&["done", &done["id"].to_string()]).ok();

    user.run(&["config", "set", "list.status", "all"]).ok();
    user.run(&["config", "set", "list.sort", "title"]).ok();
    assert_eq!(
        user.run(&["config", "get", "list.sort"]).ok().stdout.trim(),
        "title"
    );
    let wrong = user.run(&["config", "set", "list.sort", "sideways"]);
    assert_eq!(wrong.code, 2, "{wrong:?}");
    assert!(
        wrong.stderr.contains("urgency, created"),
        "says what is allowed: {wrong:?}"
    );
    let listed = user.run(&["list", "--json"]).ok().json();
    let titles: Vec<&str> = listed
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|t| t["title"].as_str())
        .collect();
    assert_eq!(
        titles,
        ["done one", "pending one"],
        "all, by title, from the file"
    );

    // The server from the file when neither --server nor TODO_SERVER says one.
    user.run(&["config", "set", "server", &server.base_url]).ok();
    let unset = user
        .command(&["list", "--json"])
        .env_remove("TODO_SERVER")
        .output()
        .expect("todo runs");
    assert!(unset.status.success(), "{unset:?}");
    let from_file: Value = serde_json::from_slice(&unset.stdout).expect("json");
    assert_eq!(from_file.as_array().map(Vec::len), Some(2));
    let all = user.run(&["config", "list", "--json"]).ok().json();
    assert_eq!(all["list.status"], "all");

    let file = user.config_dir().join("config.toml");
    std::fs::write(&file, "server = \"x\"\n[list]\nsort = 7\n").expect("write");
    let ran = user.run(&["list", "--json"]);
    assert_eq!(ran.code, 0, "{ran:?}");
    assert!(
        ran.stderr
            .contains("config.toml: line 3: list.sort must be a string"),
        "{ran:?}"
    );
}

/// Dynamic completion (`COMPLETE=<shell> todo`): task ids with their titles from the
/// server, and the tags in use; nothing (and no error) when the server is away.
#[test]
fn completion_offers_task_ids_with_titles_and_tags() {
    let server = TestServer::start(&[]);
    let user = CliUser::new(&server);
    user.sign_up("complete");
    let milk = user.run(&["add", "Buy", "milk", "+home", "--json"]).ok().json();
    user.run(&["add", "File", "taxes", "+Money"]).ok();
    let complete = |args: &[&str]| {
        let output = user
            .command(&[&["--", "todo"][..], args].concat())
            .env("COMPLETE", "fish")
            .output()
            .expect("todo runs");
        assert!(output.status.success(), "{output:?}");
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    let ids = complete(&["done", ""]);
    assert!(ids.contains(&format!("{}\tBuy milk", milk["id"])), "{ids}");
    assert!(ids.contains("\tFile taxes"), "{ids}");
    let tags = complete(&["list", "--tag", ""]);
    assert!(
        tags.lines().any(|l| l == "home") && tags.lines().any(|l| l == "Money"),
        "{tags}"
    );

    let away = user
        .command(&["--", "todo", "show", ""])
        .env("COMPLETE", "fish")
        .env("TODO_SERVER", "http://127.0.0.1:9")
        .output()
        .expect("todo runs");
    assert!(away.status.success() && away.stderr.is_empty(), "{away:?}");
}

/// Taskwarrior habits: attributes in `add` (`due:eom priority:H project:...`), a
/// misspelled one refused with a suggestion, and filter words in `list` and `count`
/// (`+tag -tag overdue due.before: status:`, words ANDed), all answered by the server's
/// own filters.
#[test]
fn taskwarrior_attributes_and_filter_words_work_as_taskwarrior_users_type_them() {
    let server = TestServer::start(&["--no-rate-limit"]);
    let ann = CliUser::new(&server);
    ann.sign_up("tw-habits");
    ann.run(&["add", "Pay", "rent", "due:eom", "priority:H", "+money"])
        .ok();
    let rent = ann.run(&["list", "--json", "+money"]).ok().json();
    let late_flag = ann.run(&["list", "+money", "--json"]);
    assert_eq!(
        late_flag.code, 2,
        "a flag after filter words is said, not searched: {late_flag:?}"
    );
    assert_eq!(
        rent[0]["title"], "Pay rent",
        "attributes never land in the title: {rent}"
    );
    assert_eq!(rent[0]["priority"], "high");
    assert!(rent[0]["due_at"].is_string());
    let typo = ann.run(&["add", "Pay", "rent", "prority:H"]);
    assert_eq!(typo.code, 2, "{typo:?}");
    assert!(typo.stderr.contains("did you mean priority:"), "{typo:?}");
    ann.run(&["add", "Quarterly report", "+work", "due:2020-01-01"])
        .ok();
    ann.run(&["add", "Weekly report", "+work", "+home"]).ok();
    ann.run(&["add", "Ratio 3:2 check", "+work"]).ok();
    let titles = |args: &[&str]| -> Vec<String> {
        let mut all = vec!["--json", "list"];
        all.extend_from_slice(args);
        let listed = ann.run(&all).ok().json();
        listed
            .as_array()
            .expect("tasks")
            .iter()
            .filter_map(|t| t["title"].as_str().map(str::to_string))
            .collect()
    };
    let mut work_not_home = titles(&["+work", "-home"]);
    work_not_home.sort();
    assert_eq!(work_not_home, ["Quarterly report", "Ratio 3:2 check"]);
    assert_eq!(titles(&["overdue"]), ["Quarterly report"]);
    assert_eq!(
        titles(&["report", "weekly"]),
        ["Weekly report"],
        "every word must match"
    );
    assert_eq!(titles(&["due.before:2021-01-01", "+work"]), ["Quarterly report"]);
    assert_eq!(ann.run(&["count", "+work"]).ok().stdout.trim(), "3");
    ann.run(&["done", "1"]).ok();
    assert_eq!(ann.run(&["count", "status:completed"]).ok().stdout.trim(), "1");
    let bad = ann.run(&["list", "status:someday"]);
    assert_eq!(bad.code, 2, "{bad:?}");
}
