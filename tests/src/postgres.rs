//! Throw-away PostgreSQL clusters for the tests: `initdb` in a temporary folder, the
//! server on a free loopback port, trust authentication, gone when the test process
//! ends. As root, every PostgreSQL program runs as the `postgres` user (or `nobody`),
//! because `initdb` refuses to run as root.
//!
//! Without PostgreSQL binaries the tests that need them print SKIPPED; with
//! `TODO_REQUIRE_POSTGRES` set (CI sets it) they fail instead.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Whether the end-to-end suite runs its servers on PostgreSQL
/// (`TODO_TEST_BACKEND=postgres`) instead of SQLite.
pub fn suite_on_postgres() -> bool {
    std::env::var("TODO_TEST_BACKEND").is_ok_and(|b| b == "postgres")
}

/// The folder holding `initdb`, `pg_ctl` and `psql`, if PostgreSQL is installed.
pub fn bindir() -> Option<PathBuf> {
    let from_pg_config = Command::new("pg_config")
        .arg("--bindir")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    let debian = std::fs::read_dir("/usr/lib/postgresql").ok().and_then(|entries| {
        let mut versions: Vec<PathBuf> = entries.flatten().map(|e| e.path().join("bin")).collect();
        versions.sort();
        versions.pop()
    });
    [from_pg_config, debian]
        .into_iter()
        .flatten()
        .find(|dir| dir.join("initdb").exists() && dir.join("pg_ctl").exists())
}

/// `None` (after saying SKIPPED) when PostgreSQL cannot run here; a panic instead when
/// `TODO_REQUIRE_POSTGRES` is set.
pub fn available(test: &str) -> Option<PathBuf> {
    match bindir() {
        Some(dir) => Some(dir),
        None if std::env::var_os("TODO_REQUIRE_POSTGRES").is_some() => {
            panic!(
                "TODO_REQUIRE_POSTGRES is set but no PostgreSQL binaries were found (pg_config --bindir, /usr/lib/postgresql/*/bin)"
            )
        }
        None => {
            eprintln!("SKIPPED {test}: no PostgreSQL binaries on this machine (install postgresql)");
            None
        }
    }
}

/// A running cluster. Dropping it stops the server and deletes its folder.
pub struct PgCluster {
    bin: PathBuf,
    root: tempfile::TempDir,
    pub port: u16,
    /// More `-c name=value` settings for the server.
    settings: String,
    /// Stops the cluster when the test process ends, even if drop never runs (statics).
    watchdog: Option<Child>,
}

/// The user PostgreSQL programs run as when this process is root.
fn run_as() -> Option<&'static str> {
    if !rustix::process::geteuid().is_root() {
        return None;
    }
    let exists = |user: &str| {
        Command::new("id")
            .arg("-u")
            .arg(user)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    Some(if exists("postgres") { "postgres" } else { "nobody" })
}

fn pg_command(bin: &Path, program: &str) -> Command {
    match run_as() {
        Some(user) => {
            let mut c = Command::new("runuser");
            c.args(["-u", user, "--"]).arg(bin.join(program));
            c
        }
        None => Command::new(bin.join(program)),
    }
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("free port");
    listener.local_addr().expect("port").port()
}

fn check(output: std::io::Result<std::process::Output>, what: &str) {
    let output = output.unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        output.status.success(),
        "{what} failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

impl PgCluster {
    /// Initialises and starts a new cluster.
    pub fn start(bin: &Path) -> PgCluster {
        Self::start_with(bin, |_| String::new())
    }

    /// A cluster that also accepts TLS, with a certificate for 127.0.0.1 signed by a
    /// throw-away CA; returns the CA's certificate (PEM) with it.
    pub fn start_tls(bin: &Path) -> (PgCluster, PathBuf) {
        let cluster = Self::start_with(bin, |root| {
            make_certificates(root);
            format!(
                "-c ssl=on -c ssl_cert_file={0}/server.crt -c ssl_key_file={0}/server.key",
                root.display()
            )
        });
        let ca = cluster.root.path().join("ca.pem");
        (cluster, ca)
    }

    /// `settings` gets the cluster's folder (to write files into, before ownership is
    /// handed to the server's user) and returns extra server options.
    fn start_with(bin: &Path, settings: impl FnOnce(&Path) -> String) -> PgCluster {
        let root = tempfile::Builder::new()
            .prefix("todo-pg-")
            .tempdir()
            .expect("temp dir");
        let data = root.path().join("data");
        std::fs::create_dir(&data).expect("data dir");
        let settings = settings(root.path());
        if let Some(user) = run_as() {
            // The postgres user must reach its folder; nothing else in it is secret.
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(root.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
            check(
                Command::new("chown")
                    .arg("-R")
                    .arg(format!("{user}:"))
                    .arg(root.path())
                    .output(),
                "chown",
            );
        }
        check(
            pg_command(bin, "initdb")
                .args([
                    "--auth=trust",
                    "--username=todo",
                    "--encoding=UTF8",
                    "--locale=C.UTF-8",
                    "--no-sync",
                ])
                .arg("-D")
                .arg(&data)
                .output(),
            "initdb",
        );
        let mut cluster = PgCluster {
            bin: bin.to_path_buf(),
            root,
            port: free_port(),
            settings,
            watchdog: None,
        };
        cluster.start_server();
        cluster.watchdog = Some(cluster.spawn_watchdog());
        cluster
    }

    /// The one cluster this test process shares between tests (each test takes its own
    /// database in it).
    pub fn shared(bin: &Path) -> &'static PgCluster {
        static SHARED: OnceLock<PgCluster> = OnceLock::new();
        SHARED.get_or_init(|| PgCluster::start(bin))
    }

    fn data(&self) -> PathBuf {
        self.root.path().join("data")
    }

    /// Starts the server (again, after [`stop_server`](Self::stop_server)).
    pub fn start_server(&self) {
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -c unix_socket_directories={} -c max_connections=400 -c fsync=on -c max_wal_size=256MB {}",
            self.port,
            self.root.path().display(),
            self.settings
        );
        check(
            pg_command(&self.bin, "pg_ctl")
                .arg("-D")
                .arg(self.data())
                .arg("-l")
                .arg(self.root.path().join("server.log"))
                .args(["-w", "-t", "60", "-o", &options, "start"])
                .output(),
            "pg_ctl start",
        );
    }

    /// Stops the server at once (clients see their connections drop).
    pub fn stop_server(&self) {
        check(
            pg_command(&self.bin, "pg_ctl")
                .arg("-D")
                .arg(self.data())
                .args(["-w", "-m", "immediate", "stop"])
                .output(),
            "pg_ctl stop",
        );
    }

    /// A shell that waits for this process's end (its stdin closes) and then stops the
    /// cluster, so no PostgreSQL outlives the tests.
    fn spawn_watchdog(&self) -> Child {
        let stop = format!(
            "cat >/dev/null; grep -E 'PANIC|terminated by signal' '{2}/server.log' | sed 's/^/postgres: /' >&2; {0} -D '{1}' -m immediate stop >/dev/null 2>&1; rm -rf '{2}'",
            match run_as() {
                Some(user) => format!("runuser -u {user} -- '{}'", self.bin.join("pg_ctl").display()),
                None => format!("'{}'", self.bin.join("pg_ctl").display()),
            },
            self.data().display(),
            self.root.path().display()
        );
        Command::new("sh")
            .args(["-c", &stop])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            // A crash of the cluster (a full disk, say) is printed when the tests end.
            .stderr(Stdio::inherit())
            .spawn()
            .expect("watchdog")
    }

    /// A new empty database; returns its URL.
    pub fn create_database(&self) -> String {
        use std::sync::atomic::{AtomicU64, Ordering};
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let name = format!(
            "todo_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        self.psql("postgres", &format!("CREATE DATABASE {name}"));
        self.url(&name)
    }

    pub fn url(&self, database: &str) -> String {
        format!("postgres://todo@127.0.0.1:{}/{database}", self.port)
    }

    /// Runs SQL with psql; returns what it printed (unaligned, tuples only).
    pub fn psql(&self, database: &str, sql: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let output = Command::new(self.bin.join("psql"))
                .args([
                    "-h",
                    "127.0.0.1",
                    "-U",
                    "todo",
                    "-X",
                    "-A",
                    "-t",
                    "-v",
                    "ON_ERROR_STOP=1",
                ])
                .arg("-p")
                .arg(self.port.to_string())
                .arg("-d")
                .arg(database)
                .arg("-c")
                .arg(sql)
                .output()
                .expect("psql runs");
            if output.status.success() {
                return String::from_utf8_lossy(&output.stdout).trim().to_string();
            }
            let err = String::from_utf8_lossy(&output.stderr).to_string();
            // The server may still be starting (or restarting after a test stopped it).
            if Instant::now() > deadline || !err.contains("connect") {
                panic!("psql {sql:?} failed: {err}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// A CA and a server certificate for 127.0.0.1 (and localhost), with openssl.
fn make_certificates(dir: &Path) {
    let openssl = |args: &[&str]| {
        check(
            Command::new("openssl").current_dir(dir).args(args).output(),
            "openssl",
        )
    };
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
    openssl(
        &[
            &[
                "req",
                "-x509",
                "-new",
                "-days",
                "2",
                "-subj",
                "/CN=todo test CA",
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
            ][..],
            &ec,
        ]
        .concat(),
    );
    openssl(
        &[
            &[
                "req",
                "-new",
                "-subj",
                "/CN=127.0.0.1",
                "-keyout",
                "server.key",
                "-out",
                "server.csr",
            ][..],
            &ec,
        ]
        .concat(),
    );
    std::fs::write(dir.join("san.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n").expect("ext");
    openssl(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "san.ext",
        "-out",
        "server.crt",
    ]);
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir.join("server.key"), std::fs::Permissions::from_mode(0o600)).expect("chmod");
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        if let Some(mut watchdog) = self.watchdog.take() {
            if let Some(mut stdin) = watchdog.stdin.take() {
                let _ = stdin.flush();
            }
            let _ = watchdog.wait();
        }
    }
}
