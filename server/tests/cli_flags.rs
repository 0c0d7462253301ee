//! The `todo-server` binary's own flags and subcommands.

use std::process::Command;

fn server() -> Command {
    Command::new(env!("CARGO_BIN_EXE_todo-server"))
}

#[test]
fn help_lists_every_flag_with_its_environment_variable() {
    let out = server().arg("--help").output().expect("runs");
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "--bind",
        "TODO_BIND",
        "--database",
        "TODO_DATABASE",
        "--issuer",
        "TODO_ISSUER",
        "--access-ttl",
        "--refresh-ttl",
        "--signup-limit",
        "--signin-limit",
        "--failed-signin-limit",
        "--no-rate-limit",
    ] {
        assert!(help.contains(needle), "--help lacks {needle}:\n{help}");
    }
}

#[test]
fn keys_rotate_creates_the_database_with_owner_only_modes_and_a_new_key() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("nested").join("todo.db");
    let first = server()
        .args(["keys", "rotate", "--database"])
        .arg(&db)
        .output()
        .expect("runs");
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let second = server()
        .args(["keys", "rotate", "--database"])
        .arg(&db)
        .output()
        .expect("runs");
    let kid = |o: &std::process::Output| String::from_utf8_lossy(&o.stdout).trim().to_string();
    assert!(kid(&first).starts_with("new signing key "));
    assert_ne!(kid(&first), kid(&second), "each rotation makes a new key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &std::path::Path| std::fs::metadata(p).expect("exists").permissions().mode() & 0o777;
        assert_eq!(mode(&db), 0o600);
        assert_eq!(mode(db.parent().expect("folder")), 0o700);
    }
}

#[test]
fn a_bad_duration_is_a_usage_error() {
    let out = server().args(["--access-ttl", "soon"]).output().expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--access-ttl"));
}

/// `--no-rate-limit` is for benchmarks on loopback: on any other address the server
/// refuses to start (unless forced), and on loopback it says loudly that limits are off.
#[test]
fn no_rate_limit_serves_only_on_loopback_and_says_so() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("todo.db");
    let refused = server()
        .args(["--bind", "0.0.0.0:0", "--no-rate-limit", "--database"])
        .arg(&db)
        .env("RUST_LOG", "warn")
        .output()
        .expect("runs");
    assert!(!refused.status.success());
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(said.contains("only on loopback"), "{said}");

    let mut loopback = server()
        .args([
            "--bind",
            "127.0.0.1:0",
            "--no-rate-limit",
            "--exit-with-stdin",
            "--database",
        ])
        .arg(&db)
        .env("RUST_LOG", "warn")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("runs");
    let mut line = String::new();
    let stdout = loopback.stdout.take().expect("stdout");
    std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line).expect("address");
    assert!(line.starts_with("listening on http://127.0.0.1:"), "{line}");
    drop(loopback.stdin.take()); // the server stops when stdin closes
    let out = loopback.wait_with_output().expect("stops");
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("every rate limit is OFF"), "{said}");
}
