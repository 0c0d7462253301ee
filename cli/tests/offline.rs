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

#[test]
fn a_usage_error_is_one_line_and_exit_code_2() {
    let out = todo(&["list", "--limit", "many"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("todo: ") && stderr.contains("--limit"),
        "{stderr}"
    );
}
