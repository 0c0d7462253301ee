//! Faults: the database locked by another process, the disk full. (A file system made
//! read-only under an open database cannot be produced here: the kernel refuses to
//! remount a file system with files open for writing. `store::tests` checks that
//! SQLite's read-only error maps to the same 503.) The server answers 503 with `Retry-After` and problem JSON, logs one line
//! when the fault starts and one when it ends, stays up, loses nothing acknowledged, and
//! recovers by itself. The disk tests mount a small tmpfs, which needs root: they are
//! `#[ignore]`d by default and `.ci/run` runs them with `--ignored`.

use std::path::{Path, PathBuf};
use std::process::Command;

use todo_api::ProblemCode;

use serde_json::{Value, json};
use todo_e2e::{Account, TestServer, http, sign_up};

fn create(server: &TestServer, user: &Account, title: &str) -> reqwest::blocking::Response {
    http()
        .post(server.url(&format!("/api/{}/tasks", user.id)))
        .bearer_auth(&user.access_token)
        .json(&json!({"title": title, "description": "d".repeat(1000)}))
        .send()
        .expect("the server answers")
}

fn titles(server: &TestServer, user: &Account) -> Vec<String> {
    let list: Vec<Value> = http()
        .get(server.url(&format!("/api/{}/tasks?limit=500", user.id)))
        .bearer_auth(&user.access_token)
        .send()
        .expect("list")
        .json()
        .expect("json");
    list.iter()
        .map(|t| t["title"].as_str().expect("title").to_string())
        .collect()
}

fn assert_unavailable(response: reqwest::blocking::Response) {
    assert_eq!(response.status().as_u16(), 503);
    assert!(response.headers().contains_key("retry-after"));
    assert_eq!(response.headers()["content-type"], "application/problem+json");
    let body: Value = response.json().expect("problem");
    assert_eq!(body["code"], ProblemCode::Unavailable.as_str());
}

fn log_lines(log: &Path, needle: &str) -> usize {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains(needle))
        .count()
}

#[test]
fn a_database_locked_by_another_process_gives_503_then_recovers() {
    todo_e2e::sqlite_only!();
    let dir = tempfile::tempdir().expect("dir");
    let logs = tempfile::tempdir().expect("log dir");
    let log = logs.path().join("server.log");
    let mut server = TestServer::start_logging(dir, &log, &[]);
    let user = sign_up(&server, "locked");
    assert_eq!(create(&server, &user, "before").status().as_u16(), 201);

    let other = rusqlite::Connection::open(server.database()).expect("open");
    other.execute_batch("BEGIN EXCLUSIVE").expect("lock");
    // Reads between the refused writes, as clients send them: a read that works does
    // not end the write fault in the log.
    for _ in 0..3 {
        assert_unavailable(create(&server, &user, "during"));
        assert_eq!(
            titles(&server, &user),
            vec!["before"],
            "reads still work in WAL mode"
        );
    }
    other.execute_batch("COMMIT").expect("unlock");

    assert_eq!(create(&server, &user, "after").status().as_u16(), 201);
    assert_eq!(titles(&server, &user), vec!["after", "before"]);
    assert!(server.is_running());
    assert_eq!(
        log_lines(&log, "database unavailable"),
        1,
        "one line when the fault starts"
    );
    assert_eq!(
        log_lines(&log, "database available again"),
        1,
        "one line when it ends"
    );
}

/// A small tmpfs mounted over a temp dir, unmounted on drop.
struct Tmpfs {
    dir: Option<tempfile::TempDir>,
    path: PathBuf,
}

impl Tmpfs {
    fn mount(size: &str) -> Tmpfs {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().to_path_buf();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&path)
            .status()
            .expect("mount runs");
        assert!(status.success(), "mounting a tmpfs needs root (run by .ci/run)");
        Tmpfs { dir: Some(dir), path }
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.path).status();
    }
}

#[test]
#[ignore = "mounts a tmpfs: needs root; .ci/run runs it"]
fn a_full_disk_gives_503_keeps_what_was_acknowledged_and_recovers() {
    todo_e2e::sqlite_only!();
    let mut fs = Tmpfs::mount("3m");
    let logs = tempfile::tempdir().expect("log dir");
    let log = logs.path().join("server.log");
    let mut server = TestServer::start_logging(fs.dir.take().expect("dir"), &log, &["--no-rate-limit"]);
    let user = sign_up(&server, "full");
    let mut acknowledged = Vec::new();
    for i in 0..5 {
        let title = format!("kept {i}");
        assert_eq!(create(&server, &user, &title).status().as_u16(), 201);
        acknowledged.push(title);
    }

    // Fill the disk, then write until SQLite runs out of room.
    let filler = fs.path.join("filler");
    {
        use std::io::Write;
        let mut file = std::fs::File::create(&filler).expect("filler");
        while file.write_all(&[0u8; 64 * 1024]).is_ok() {}
    }
    let mut refused = None;
    for i in 0..200 {
        let response = create(&server, &user, &format!("overflow {i}"));
        match response.status().as_u16() {
            201 => acknowledged.push(format!("overflow {i}")),
            _ => {
                refused = Some(response);
                break;
            }
        }
    }
    assert_unavailable(refused.expect("the full disk was noticed"));
    assert!(server.is_running(), "stays up");

    std::fs::remove_file(&filler).expect("free space");
    assert_eq!(
        create(&server, &user, "after").status().as_u16(),
        201,
        "recovers by itself"
    );
    acknowledged.push("after".into());
    let mut stored = titles(&server, &user);
    stored.sort();
    acknowledged.sort();
    assert_eq!(stored, acknowledged, "nothing acknowledged is lost");
    assert!(log_lines(&log, "database unavailable") >= 1);
    assert!(log_lines(&log, "database available again") >= 1);
    drop(server);
    drop(fs);
}
