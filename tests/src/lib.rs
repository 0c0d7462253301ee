//! Helpers that start the real binaries, as a user would, on a free port with a fresh
//! database and fresh config and data folders.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use tempfile::TempDir;

/// A built binary of this workspace (`todo-server`, `todo`, `todo-tui`).
///
/// `cargo test --workspace` builds every package's binaries before running tests; they
/// sit beside this test's own `deps/` folder.
pub fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary knows its path");
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("tests run from target/<profile>/deps");
    let path = dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.exists(),
        "{} is missing: run `cargo build --workspace` or `cargo test --workspace`",
        path.display()
    );
    path
}

/// A running `todo-server` on its own temporary database, killed on drop.
pub struct TestServer {
    child: Child,
    pub base_url: String,
    pub dir: TempDir,
}

impl TestServer {
    /// Starts the server with default settings plus `extra` flags.
    pub fn start(extra: &[&str]) -> TestServer {
        let dir = tempfile::tempdir().expect("temp dir");
        Self::start_in(dir, extra)
    }

    /// Starts the server on `dir/todo.db` (so a test can restart on the same database).
    pub fn start_in(dir: TempDir, extra: &[&str]) -> TestServer {
        let db = dir.path().join("todo.db");
        let mut child = Command::new(binary("todo-server"))
            .arg("--bind")
            .arg("127.0.0.1:0")
            .arg("--database")
            .arg(&db)
            .args(extra)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("todo-server starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("server prints its address");
        let base_url = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line from todo-server: {line:?}"))
            .to_string();
        TestServer { child, base_url, dir }
    }

    pub fn database(&self) -> PathBuf {
        self.dir.path().join("todo.db")
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base_url, path)
    }

    /// Stops the server with SIGTERM-like kill and hands back its folder.
    pub fn stop(mut self) -> TempDir {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let dir = tempfile::tempdir().expect("temp dir");
        std::mem::replace(&mut self.dir, dir)
    }

    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A blocking HTTP client with a short timeout.
pub fn http() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .expect("http client")
}

/// A password zxcvbn scores well, unique per call so tests never collide.
pub fn strong_password() -> String {
    format!("violet-kettle-{}-harbour", unique())
}

/// A fresh email address.
pub fn unique_email(tag: &str) -> String {
    format!("{tag}-{}@example.com", unique())
}

fn unique() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("{}{n}{nanos}", std::process::id())
}

/// A signed-up user: id and tokens.
#[derive(Debug, Clone)]
pub struct Account {
    pub id: String,
    pub email: String,
    pub password: String,
    pub access_token: String,
    pub refresh_token: String,
}

/// Signs up a new user over HTTP.
pub fn sign_up(server: &TestServer, tag: &str) -> Account {
    let email = unique_email(tag);
    let password = strong_password();
    let response = http()
        .post(server.url("/api/auth/sign-up"))
        .json(&serde_json::json!({ "email": email, "password": password }))
        .send()
        .expect("sign-up request");
    assert_eq!(response.status().as_u16(), 201, "sign-up failed");
    let body: serde_json::Value = response.json().expect("sign-up JSON");
    Account {
        id: body["user"]["id"].as_str().expect("user id").to_string(),
        email,
        password,
        access_token: body["access_token"].as_str().expect("access token").to_string(),
        refresh_token: body["refresh_token"].as_str().expect("refresh token").to_string(),
    }
}
