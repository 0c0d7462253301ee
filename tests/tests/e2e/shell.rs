//! The shell suite (`tests/shell/*.sh`): plain bash scripts that use `todo` as scripts
//! and CI jobs do, run here against a real server so `cargo test --workspace` covers
//! them. They need bash and jq: without them the test says SKIPPED, unless
//! `TODO_REQUIRE_SHELL=1` (set by `.ci/run`) makes that a failure.

use std::path::PathBuf;
use std::process::Command;

use todo_e2e::{CliUser, TestServer, binary};

fn have(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn the_shell_suite_passes() {
    if !(have("bash") && have("jq")) {
        assert!(
            std::env::var_os("TODO_REQUIRE_SHELL").is_none(),
            "TODO_REQUIRE_SHELL is set but bash or jq is missing"
        );
        eprintln!("SKIPPED: the shell suite needs bash and jq");
        return;
    }
    let server = TestServer::start(&[]);
    let user = CliUser::new(&server);
    let scripts = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("shell");
    let bin_dir = binary("todo").parent().expect("bin dir").to_path_buf();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut ran = 0;
    for entry in std::fs::read_dir(&scripts).expect("tests/shell") {
        let script = entry.expect("entry").path();
        if script.extension().is_none_or(|e| e != "sh") {
            continue;
        }
        // The CLI user's environment (home, config, data, server, file store), with
        // the built binaries first on PATH.
        let template = user.command(&[]);
        let mut command = Command::new("bash");
        command.arg(&script);
        for (key, value) in template.get_envs() {
            match value {
                Some(value) => command.env(key, value),
                None => command.env_remove(key),
            };
        }
        let output = command.env("PATH", &path).output().expect("bash runs");
        assert!(
            output.status.success(),
            "{} failed:\n{}{}",
            script.display(),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        ran += 1;
    }
    assert!(ran >= 1, "no scripts in {}", scripts.display());
}
