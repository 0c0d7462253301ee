//! The real `todo-tui` binary in a real terminal (tmux), against the real server: what
//! only `main.rs` does — reading the config file (`[tui.keys]`; the theme's colours are checked in `tui/tests/render.rs`), reporting a bad
//! entry, and keeping the view between runs in `$XDG_STATE_HOME` — is checked here.
//! Needs tmux: without it the test says SKIPPED, unless `TODO_REQUIRE_TMUX=1` (set by
//! `.ci/run`) makes that a failure.

use std::process::Command;
use std::time::{Duration, Instant};

use todo_e2e::pinned::PinnedServer;
use todo_e2e::{CliUser, TestServer, binary};

/// One tmux server of our own (its own socket), so tests never touch the user's.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn available() -> bool {
        Command::new("tmux")
            .arg("-V")
            .output()
            .is_ok_and(|o| o.status.success())
    }

    fn new() -> Tmux {
        Tmux {
            socket: format!("todo-e2e-{}-{}", std::process::id(), rand_suffix()),
        }
    }

    fn tmux(&self, args: &[&str]) -> std::process::Output {
        Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("tmux runs")
    }

    /// Starts `todo-tui` in a 100x30 window with `user`'s environment.
    fn start(&self, user: &CliUser) {
        let template = user.command(&[]);
        let mut line = String::from("env");
        for (key, value) in template.get_envs() {
            if let Some(value) = value {
                line.push_str(&format!(
                    " {}='{}'",
                    key.to_string_lossy(),
                    value.to_string_lossy()
                ));
            }
        }
        let state = user.home.path().join("state");
        line.push_str(&format!(" XDG_STATE_HOME='{}'", state.display()));
        line.push_str(&format!(
            " TERM=xterm-256color '{}'",
            binary("todo-tui").display()
        ));
        let started = self.tmux(&["new-session", "-d", "-s", "tui", "-x", "100", "-y", "30", &line]);
        assert!(started.status.success(), "tmux: {started:?}");
    }

    fn screen(&self) -> String {
        String::from_utf8_lossy(&self.tmux(&["capture-pane", "-p", "-t", "tui"]).stdout).into_owned()
    }

    /// Waits until the screen shows `text`; fails with the screen after 10 s.
    fn wait_for(&self, text: &str) -> String {
        self.wait_longer_for(text, Duration::from_secs(10))
    }

    /// Waits until the screen shows `text`; fails with the screen after `limit`.
    fn wait_longer_for(&self, text: &str, limit: Duration) -> String {
        let deadline = Instant::now() + limit;
        loop {
            let screen = self.screen();
            if screen.contains(text) {
                return screen;
            }
            assert!(Instant::now() < deadline, "never showed {text:?}:\n{screen}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "tui"];
        args.extend_from_slice(keys);
        assert!(self.tmux(&args).status.success());
    }

    /// Waits until the app has quit (its session ends with it).
    fn wait_for_exit(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.tmux(&["has-session", "-t", "tui"]).status.success() {
            assert!(
                Instant::now() < deadline,
                "the app did not quit:\n{}",
                self.screen()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.tmux(&["kill-server"]);
    }
}

/// Whether tmux is here; without it the test says SKIPPED, unless `TODO_REQUIRE_TMUX`
/// (set by `.ci/run`) makes that a failure.
fn tmux_or_skip() -> bool {
    if Tmux::available() {
        return true;
    }
    assert!(
        std::env::var_os("TODO_REQUIRE_TMUX").is_none(),
        "TODO_REQUIRE_TMUX is set but tmux is missing"
    );
    eprintln!("SKIPPED: the terminal test needs tmux");
    false
}

fn rand_suffix() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos())
}

#[test]
fn the_config_rebinds_keys_and_the_view_is_kept_between_runs() {
    if !tmux_or_skip() {
        return;
    }
    let server = TestServer::start(&[]);
    let user = CliUser::new(&server);
    user.sign_up("tui");
    user.run(&["add", "Water the plants"]).ok();
    let done = user.run(&["add", "Old chore", "--quiet"]).ok();
    user.run(&["done", done.stdout.trim()]).ok();
    let config = user.config_dir().join("config.toml");
    std::fs::write(
        &config,
        "[tui]\ntheme = \"high-contrast\"\n\n[tui.keys]\nquit = \"x\"\nexplode = \"y\"\n",
    )
    .expect("config");

    let tmux = Tmux::new();
    tmux.start(&user);
    // Pending first; the wrong entry is named with its line, and the app still runs.
    let screen = tmux.wait_for("Water the plants");
    assert!(screen.contains("showing pending"), "{screen}");
    assert!(!screen.contains("Old chore"), "{screen}");
    tmux.wait_for("tui.keys.explode");
    tmux.keys(&["q"]);
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        tmux.tmux(&["has-session", "-t", "tui"]).status.success(),
        "q is no longer quit"
    );
    tmux.keys(&["f"]);
    tmux.wait_for("Old chore");
    tmux.keys(&["x"]);
    tmux.wait_for_exit();

    let state = user.home.path().join("state").join("todo").join("tui.json");
    let saved: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&state).expect("the view is kept")).expect("json");
    assert_eq!(saved["status"], "completed", "{saved}");

    tmux.start(&user);
    let screen = tmux.wait_for("Old chore");
    assert!(
        screen.contains("showing completed"),
        "opens on the last view:\n{screen}"
    );
    tmux.keys(&["x"]);
    tmux.wait_for_exit();
}

/// With its server down the app opens on the local copy, says it is offline, queues what
/// is done, and once the server is back sends it and shows the server's list.
#[test]
fn with_the_server_down_the_app_works_from_the_local_copy_and_catches_up() {
    if !tmux_or_skip() {
        return;
    }
    let mut server = PinnedServer::start(&["--no-rate-limit"]);
    let user = CliUser::at(&server.base_url);
    user.sign_up("tui-offline");
    user.run(&["add", "Water the plants"]).ok();
    user.run(&["add", "File taxes"]).ok();
    user.run(&["sync"]).ok();
    server.kill();

    let tmux = Tmux::new();
    tmux.start(&user);
    let screen = tmux.wait_for("File taxes");
    assert!(screen.contains("Water the plants"), "{screen}");
    tmux.wait_for("✕ offline");
    tmux.keys(&["a"]);
    tmux.wait_for("New task");
    tmux.keys(&["-l", "Buy milk"]);
    tmux.keys(&["Enter"]);
    tmux.wait_for("⇡1 queued");
    // The newest is selected first: File taxes, done offline.
    tmux.keys(&["Space"]);
    tmux.wait_for("⇡2 queued");

    server.restart(&["--no-rate-limit"]);
    let screen = tmux.wait_longer_for("Buy milk", Duration::from_secs(30));
    tmux.wait_for("● live");
    assert!(!screen.contains("queued"), "{screen}");

    let online = user.run(&["--online", "list", "--all", "--json"]).ok().json();
    let tasks = online.as_array().expect("tasks");
    let titled = |t: &str| tasks.iter().filter(|x| x["title"] == t).collect::<Vec<_>>();
    assert_eq!(titled("Buy milk").len(), 1, "{online}");
    assert_eq!(titled("File taxes")[0]["completed"], true, "{online}");
    // The app's list is the server's pending tasks.
    tmux.keys(&["r"]);
    let screen = tmux.wait_for("Up to date");
    assert!(
        screen.contains("Buy milk") && screen.contains("Water the plants"),
        "{screen}"
    );
    assert!(!screen.contains("File taxes"), "done, so not pending: {screen}");
    tmux.keys(&["q"]);
    tmux.wait_for_exit();
}
