//! A server that keeps its address across a kill and a new start, on one database:
//! what a client sees when its server goes away and comes back (clients keep their
//! credentials and local copy by the server's address). Its clock is a test file, so a
//! test moves the server's time instead of waiting.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use tempfile::TempDir;

pub struct PinnedServer {
    pub base_url: String,
    address: String,
    db: String,
    clock: PathBuf,
    clock_offset: i64,
    child: Option<Child>,
    _dir: TempDir,
}

/// A loopback port nothing listens on now.
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("its address").port()
}

impl PinnedServer {
    pub fn start(extra: &[&str]) -> PinnedServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = crate::database_for(dir.path());
        let clock = dir.path().join("clock");
        std::fs::write(&clock, "0").expect("clock file");
        let address = format!("127.0.0.1:{}", free_port());
        let mut server = PinnedServer {
            base_url: format!("http://{address}"),
            address,
            db,
            clock,
            clock_offset: 0,
            child: None,
            _dir: dir,
        };
        server.restart(extra);
        server
    }

    /// Starts it again on the same address and database (after [`Self::kill`]).
    pub fn restart(&mut self, extra: &[&str]) {
        assert!(self.child.is_none(), "already running");
        // The address may take a moment to be free again after a kill.
        for _ in 0..50 {
            let mut child = Command::new(crate::binary("todo-server"))
                .args([
                    "--bind",
                    &self.address,
                    "--database",
                    &self.db,
                    "--exit-with-stdin",
                ])
                .arg("--test-clock-file")
                .arg(&self.clock)
                .args(extra)
                .env("RUST_LOG", "error")
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .expect("todo-server starts");
            let stdout = child.stdout.take().expect("piped stdout");
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            if line.starts_with("listening on ") {
                self.child = Some(child);
                return;
            }
            let _ = child.kill();
            let _ = child.wait();
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        panic!("the server could not listen on {} again", self.address);
    }

    /// The database: a SQLite path or a PostgreSQL URL.
    pub fn database(&self) -> &str {
        &self.db
    }

    /// SIGKILL: no chance to finish a request or store its answer.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Moves the server's clock on by `seconds` (read again by the running server).
    pub fn move_clock(&mut self, seconds: i64) {
        self.clock_offset += seconds;
        std::fs::write(&self.clock, self.clock_offset.to_string()).expect("clock file");
    }
}

impl Drop for PinnedServer {
    fn drop(&mut self) {
        self.kill();
    }
}
