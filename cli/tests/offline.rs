//! What `todo` does without a server: version, help, completions, usage errors.
//! (The flows against a real server are in `tests/tests/cli.rs`; this file also makes
//! `cargo test --workspace` build the `todo` binary those tests run.)

use std::process::Command;

fn todo(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_todo"))
        .args(args)
        .env_remove("TODO_TOKEN")
        .output()
        .expect("todo runs")
}

#[test]
fn version_and_help_need_no_server() {
    let version = todo(&["--version"]);
    assert!(version.status.success());
    assert!(String::from_utf8_lossy(&version.stdout).starts_with("todo "));
    let help = String::from_utf8_lossy(&todo(&["--help"]).stdout).into_owned();
    assert!(
        help.contains("Exit codes") && help.contains("TODO_TOKEN"),
        "{help}"
    );
}

/// clap's whole message (what was wrong, the usage, a suggestion) and exit 2 for every
/// usage or value error, a range included.
#[test]
fn a_usage_error_is_explained_in_full_and_exits_2() {
    for (args, says, usage) in [
        (vec!["list", "--limit", "many"], "--limit", false),
        (vec!["list", "-n", "1000"], "1000", false),
        (vec!["add", "x", "-p", "urgent"], "possible values", false),
        (vec!["show"], "<ID>", true),
        (vec!["lst"], "similar subcommand exists: 'list'", true),
    ] {
        let out = todo(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(says), "{args:?}: {stderr}");
        assert!(!usage || stderr.contains("Usage:"), "{args:?}: {stderr}");
    }
}

/// Bare `todo` shows the commands (and exits 2: nothing was done).
#[test]
fn bare_todo_lists_the_commands() {
    let out = todo(&[]);
    assert_eq!(out.status.code(), Some(2));
    let text = String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    for command in ["add", "list", "done", "auth"] {
        assert!(text.contains(command), "{text}");
    }
}
