//! Helpers that start the real binaries, as a user would, on a free port with a fresh
//! database and fresh config and data folders.

pub mod api;
pub mod pinned;
pub mod postgres;
pub mod sse;
pub mod totp;

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
    let file = format!("{name}{}", std::env::consts::EXE_SUFFIX);
    // Tests run from target/<profile>/deps, tools such as loadbench from target/<profile>.
    let candidates: Vec<PathBuf> = exe
        .ancestors()
        .skip(1)
        .take(2)
        .map(|dir| dir.join(&file))
        .collect();
    candidates
        .iter()
        .find(|p| p.exists())
        .cloned()
        .unwrap_or_else(|| {
            panic!(
                "{file} is missing beside {}: run `cargo build --workspace` (add --release for loadbench)",
                exe.display()
            )
        })
}

/// A running `todo-server` on its own temporary database, killed on drop. The database
/// is `todo.db` in the server's folder, or with `TODO_TEST_BACKEND=postgres` a fresh
/// database in a shared throw-away PostgreSQL cluster (its URL kept in the folder, so a
/// restart in the same folder finds the same data).
pub struct TestServer {
    child: Child,
    pub base_url: String,
    pub dir: TempDir,
    db: String,
}

/// The database of a server started in `dir`: SQLite in the folder, or PostgreSQL.
pub fn database_for(dir: &std::path::Path) -> String {
    if !postgres::suite_on_postgres() {
        return dir.join("todo.db").display().to_string();
    }
    let remembered = dir.join("database-url");
    if let Ok(url) = std::fs::read_to_string(&remembered) {
        return url;
    }
    let bin = postgres::bindir().expect("TODO_TEST_BACKEND=postgres needs PostgreSQL installed");
    let url = postgres::PgCluster::shared(&bin).create_database();
    std::fs::write(&remembered, &url).expect("remember the database");
    url
}

/// Skips a test that reads or changes the SQLite file itself when the suite runs on
/// PostgreSQL (its PostgreSQL counterpart, if any, is in `postgres.rs`).
#[macro_export]
macro_rules! sqlite_only {
    () => {
        if $crate::postgres::suite_on_postgres() {
            eprintln!("not on PostgreSQL: this test is about the SQLite file");
            return;
        }
    };
}

impl TestServer {
    /// Starts the server with default settings plus `extra` flags.
    pub fn start(extra: &[&str]) -> TestServer {
        let dir = tempfile::tempdir().expect("temp dir");
        Self::start_in(dir, extra)
    }

    /// Starts the server on `dir/todo.db` (so a test can restart on the same database).
    pub fn start_in(dir: TempDir, extra: &[&str]) -> TestServer {
        Self::spawn(dir, extra, Stdio::inherit(), "warn")
    }

    /// Like [`start_in`](Self::start_in), with the server's log (stderr) written to `log`.
    pub fn start_logging(dir: TempDir, log: &std::path::Path, extra: &[&str]) -> TestServer {
        let file = std::fs::File::create(log).expect("log file");
        Self::spawn(dir, extra, Stdio::from(file), "warn")
    }

    /// Like [`start_logging`](Self::start_logging), at the most verbose level of every
    /// crate (`RUST_LOG=trace`).
    pub fn start_tracing(log: &std::path::Path, extra: &[&str]) -> TestServer {
        let file = std::fs::File::create(log).expect("log file");
        let dir = tempfile::tempdir().expect("temp dir");
        Self::spawn(dir, extra, Stdio::from(file), "trace")
    }

    /// A second server on the database of `first` (a replica): both serve the same data.
    /// Give both the same `--issuer` so each accepts the other's tokens.
    pub fn start_replica(first: &TestServer, extra: &[&str]) -> TestServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = first.database();
        Self::spawn_on(dir, &db, extra, Stdio::inherit(), "warn")
    }

    /// A server on the database `db` (a path or a PostgreSQL URL).
    pub fn start_on(db: &str, extra: &[&str]) -> TestServer {
        let dir = tempfile::tempdir().expect("temp dir");
        Self::spawn_on(dir, db, extra, Stdio::inherit(), "warn")
    }

    /// Like [`start_on`](Self::start_on), with the log (stderr) written to `log`.
    pub fn start_on_logging(db: &str, log: &std::path::Path, extra: &[&str]) -> TestServer {
        let file = std::fs::File::create(log).expect("log file");
        let dir = tempfile::tempdir().expect("temp dir");
        Self::spawn_on(dir, db, extra, Stdio::from(file), "warn")
    }

    fn spawn(dir: TempDir, extra: &[&str], stderr: Stdio, log_level: &str) -> TestServer {
        let db = database_for(dir.path());
        Self::spawn_on(dir, &db, extra, stderr, log_level)
    }

    fn spawn_on(dir: TempDir, db: &str, extra: &[&str], stderr: Stdio, log_level: &str) -> TestServer {
        let mut child = Command::new(binary("todo-server"))
            .arg("--bind")
            .arg("127.0.0.1:0")
            .arg("--database")
            .arg(db)
            .arg("--exit-with-stdin")
            .args(extra)
            .env("RUST_LOG", log_level)
            // The server stops when this pipe closes, so none outlives the test process.
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(stderr)
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
        TestServer {
            child,
            base_url,
            dir,
            db: db.to_string(),
        }
    }

    /// The server's process id (for /proc readings in benchmarks).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The database: a SQLite path or a PostgreSQL URL.
    pub fn database(&self) -> String {
        self.db.clone()
    }

    /// `host:port`, for raw sockets.
    pub fn address(&self) -> String {
        self.base_url.trim_start_matches("http://").to_string()
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
/// Makes ring the process's TLS provider before an HTTP client is built (reqwest has
/// TLS without a provider of its own here).
pub fn install_tls() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// `builder`, once the TLS provider is set (see [`install_tls`]).
pub fn tls_ready(builder: reqwest::blocking::ClientBuilder) -> reqwest::blocking::ClientBuilder {
    install_tls();
    builder
}

pub fn http() -> reqwest::blocking::Client {
    install_tls();
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

/// The `todo` CLI run as a user would, with its own home, config and data folders.
pub struct CliUser {
    pub home: TempDir,
    pub server: String,
    envs: Vec<(String, String)>,
}

/// What one `todo` run produced.
#[derive(Debug)]
pub struct CliRun {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl CliRun {
    /// Parses stdout as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {:?} / {:?}", self.stdout, self.stderr))
    }

    /// Asserts success and returns self.
    pub fn ok(self) -> CliRun {
        assert_eq!(self.code, 0, "todo failed: {self:?}");
        self
    }
}

impl CliUser {
    /// A user whose credentials go to the file store (works on every machine).
    pub fn new(server: &TestServer) -> CliUser {
        let mut user = CliUser {
            home: tempfile::tempdir().expect("temp home"),
            server: server.base_url.clone(),
            envs: Vec::new(),
        };
        user.envs.push(("TODO_CREDENTIAL_STORE".into(), "file".into()));
        user
    }

    /// A user of the server at `url` (one that may be down now).
    pub fn at(url: &str) -> CliUser {
        let mut user = CliUser {
            home: tempfile::tempdir().expect("temp home"),
            server: url.to_string(),
            envs: Vec::new(),
        };
        user.envs.push(("TODO_CREDENTIAL_STORE".into(), "file".into()));
        user
    }

    /// The same user (same home) with one more variable, keeping this one as it is.
    pub fn with_env_clone(&self, key: &str, value: &str) -> CliUser {
        let home = tempfile::tempdir().expect("temp home");
        let mut envs = self.envs.clone();
        envs.retain(|(k, _)| k != key);
        envs.push((key.into(), value.into()));
        envs.push(("HOME".into(), self.home.path().display().to_string()));
        envs.push((
            "XDG_CONFIG_HOME".into(),
            self.home.path().join("config").display().to_string(),
        ));
        envs.push((
            "XDG_DATA_HOME".into(),
            self.home.path().join("data").display().to_string(),
        ));
        CliUser {
            home,
            server: self.server.clone(),
            envs,
        }
    }

    pub fn with_env(mut self, key: &str, value: &str) -> CliUser {
        self.envs.retain(|(k, _)| k != key);
        self.envs.push((key.into(), value.into()));
        self
    }

    pub fn config_dir(&self) -> PathBuf {
        self.home.path().join("config").join("todo")
    }

    /// `todo args...` with this user's environment, not yet started.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(binary("todo"));
        command
            .args(args)
            .env_remove("TODO_TOKEN")
            .env("TODO_SERVER", &self.server)
            .env("HOME", self.home.path())
            .env("XDG_CONFIG_HOME", self.home.path().join("config"))
            .env("XDG_DATA_HOME", self.home.path().join("data"))
            .env("NO_COLOR", "1");
        for (k, v) in &self.envs {
            command.env(k, v);
        }
        command
    }

    /// Runs `todo args...` with `stdin` (nothing when `None`).
    pub fn run_with_stdin(&self, args: &[&str], stdin: Option<&str>) -> CliRun {
        use std::io::Write;
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("todo starts");
        {
            let mut pipe = child.stdin.take().expect("stdin");
            if let Some(text) = stdin {
                pipe.write_all(text.as_bytes()).expect("write stdin");
            }
        }
        let output = child.wait_with_output().expect("todo finishes");
        CliRun {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    pub fn run(&self, args: &[&str]) -> CliRun {
        self.run_with_stdin(args, None)
    }

    /// Signs up with a fresh email and strong password; returns (email, password).
    pub fn sign_up(&self, tag: &str) -> (String, String) {
        let email = unique_email(tag);
        let password = strong_password();
        self.run_with_stdin(
            &["auth", "signup", "--email", &email, "--password-stdin"],
            Some(&format!("{password}\n")),
        )
        .ok();
        (email, password)
    }
}

/// Runs one query on a test server's database (a SQLite path or a PostgreSQL URL, as
/// [`TestServer::database`] gives) and returns the first column of every row as text.
/// The SQL must read the same on both (see [`hex_of`] for binary columns).
pub fn query_column(db: &str, sql: &str) -> Vec<String> {
    if db.starts_with("postgres://") {
        let bin = postgres::bindir().expect("PostgreSQL binaries");
        let output = Command::new(bin.join("psql"))
            .args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", db, "-c", sql])
            .output()
            .expect("psql runs");
        assert!(
            output.status.success(),
            "psql {sql:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        return String::from_utf8_lossy(&output.stdout)
            .lines()
            .map(str::to_string)
            .collect();
    }
    let conn = rusqlite::Connection::open(db).expect("open db");
    conn.busy_timeout(Duration::from_secs(5)).expect("busy timeout");
    let mut stmt = conn.prepare(sql).expect("prepare");
    stmt.query_map([], |r| {
        Ok(match r.get::<_, rusqlite::types::Value>(0)? {
            rusqlite::types::Value::Null => String::new(),
            rusqlite::types::Value::Integer(n) => n.to_string(),
            rusqlite::types::Value::Real(x) => x.to_string(),
            rusqlite::types::Value::Text(t) => t,
            rusqlite::types::Value::Blob(b) => String::from_utf8_lossy(&b).into_owned(),
        })
    })
    .expect("query")
    .map(|row| row.expect("row"))
    .collect()
}

/// SQL for a binary column as lowercase hex, on the backend `db` names.
pub fn hex_of(db: &str, column: &str) -> String {
    if db.starts_with("postgres://") {
        format!("encode({column}, 'hex')")
    } else {
        format!("lower(hex({column}))")
    }
}
