//! Crash safety: concurrent writers, SIGKILL at a random moment, several rounds. Every
//! write that got a 2xx must be there after a restart, with the content acknowledged,
//! and `PRAGMA integrity_check` must say ok.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::Rng;
use serde_json::{Value, json};
use todo_e2e::{Account, TestServer, sign_up};

const ISSUER: &str = "http://todo.test";
const WRITERS: usize = 8;
const ROUNDS: usize = 3;

/// What the server acknowledged for one task, and a write in flight when it died.
#[derive(Debug, Clone)]
struct Expected {
    title: String,
    in_flight: Option<String>,
}

fn writer(
    base: String,
    token: String,
    stop: Arc<AtomicBool>,
    acked: Arc<Mutex<HashMap<i64, Expected>>>,
    seed: usize,
) {
    let client = todo_e2e::tls_ready(reqwest::blocking::Client::builder())
        .timeout(Duration::from_secs(5))
        .build()
        .expect("client");
    let mut mine: Vec<i64> = Vec::new();
    let mut rng = rand::thread_rng();
    let mut n = 0;
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        if mine.is_empty() || rng.gen_bool(0.6) {
            let title = format!("w{seed} create {n}");
            let Ok(r) = client
                .post(&base)
                .bearer_auth(&token)
                .json(&json!({"title": title}))
                .send()
            else {
                break;
            };
            if r.status().as_u16() != 201 {
                break;
            }
            let Ok(body) = r.json::<Value>() else { break };
            let Some(id) = body["id"].as_i64() else { break };
            mine.push(id);
            acked.lock().expect("lock").insert(
                id,
                Expected {
                    title,
                    in_flight: None,
                },
            );
        } else {
            let id = mine[rng.gen_range(0..mine.len())];
            let title = format!("w{seed} update {n}");
            acked
                .lock()
                .expect("lock")
                .entry(id)
                .and_modify(|e| e.in_flight = Some(title.clone()));
            let ok = client
                .put(format!("{base}/{id}"))
                .bearer_auth(&token)
                .json(&json!({"title": title}))
                .send()
                .is_ok_and(|r| r.status().as_u16() == 200);
            if !ok {
                break;
            }
            acked.lock().expect("lock").insert(
                id,
                Expected {
                    title,
                    in_flight: None,
                },
            );
        }
    }
}

/// SQLite's own check of the file (PostgreSQL keeps its files to itself).
fn integrity_ok(db: &str) {
    if todo_e2e::postgres::suite_on_postgres() {
        return;
    }
    let conn = rusqlite::Connection::open(db).expect("open");
    let verdict: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("check");
    assert_eq!(verdict, "ok");
}

/// Task id to title, rebuilt from the user's whole change stream, whose events must be
/// numbered 1, 2, 3, ... without a gap (none lost or skipped by a crash).
fn replayed_titles(server: &TestServer, user: &Account) -> HashMap<i64, String> {
    let mut stream = todo_e2e::sse::EventReader::open(server, user, Some(0)).expect("stream");
    let mut titles = HashMap::new();
    let mut expected_seq = 1;
    while let Some(message) = stream.next(Duration::from_millis(700)) {
        assert_eq!(message.id, expected_seq.to_string(), "event numbers have no gap");
        expected_seq += 1;
        let task = &message.data["task"];
        let id = task["id"].as_i64().expect("id");
        match message.event.as_str() {
            "task.deleted" => {
                titles.remove(&id);
            }
            _ => {
                titles.insert(id, task["title"].as_str().expect("title").to_string());
            }
        }
    }
    titles
}

#[test]
fn acknowledged_writes_survive_sigkill() {
    let mut server = TestServer::start(&["--issuer", ISSUER, "--no-rate-limit"]);
    let user: Account = sign_up(&server, "crash");
    let acked: Arc<Mutex<HashMap<i64, Expected>>> = Arc::default();
    let mut rng = rand::thread_rng();
    for round in 0..ROUNDS {
        let base = server.url(&format!("/api/{}/tasks", user.id));
        let stop = Arc::new(AtomicBool::new(false));
        let handles: Vec<_> = (0..WRITERS)
            .map(|seed| {
                let (base, token, stop, acked) = (
                    base.clone(),
                    user.access_token.clone(),
                    stop.clone(),
                    acked.clone(),
                );
                std::thread::spawn(move || writer(base, token, stop, acked, seed + round * WRITERS))
            })
            .collect();
        std::thread::sleep(Duration::from_millis(rng.gen_range(300..900)));
        let db = server.database();
        let dir = server.stop(); // SIGKILL, mid-write
        stop.store(true, Ordering::Relaxed);
        for h in handles {
            h.join().expect("writer");
        }
        integrity_ok(&db);
        server = TestServer::start_in(dir, &["--issuer", ISSUER, "--no-rate-limit"]);
        assert!(server.is_running());

        let mut listed: Vec<Value> = Vec::new();
        loop {
            let page: Vec<Value> = todo_e2e::http()
                .get(server.url(&format!(
                    "/api/{}/tasks?limit=500&offset={}",
                    user.id,
                    listed.len()
                )))
                .bearer_auth(&user.access_token)
                .send()
                .expect("list after restart")
                .json()
                .expect("json");
            let last = page.len() < 500;
            listed.extend(page);
            if last {
                break;
            }
        }
        let stored: HashMap<i64, String> = listed
            .iter()
            .map(|t| {
                (
                    t["id"].as_i64().expect("id"),
                    t["title"].as_str().expect("title").to_string(),
                )
            })
            .collect();
        let expected = acked.lock().expect("lock").clone();
        // Writers of this round are seeds round * WRITERS ..; their titles say so.
        let this_round = expected
            .values()
            .filter(|e| {
                e.title
                    .strip_prefix('w')
                    .and_then(|t| t.split(' ').next())
                    .and_then(|seed| seed.parse::<usize>().ok())
                    .is_some_and(|seed| seed >= round * WRITERS)
            })
            .count();
        assert!(
            this_round > 0,
            "round {round}: some writes of this round were acknowledged"
        );
        for (id, e) in &expected {
            let title = stored
                .get(id)
                .unwrap_or_else(|| panic!("round {round}: acknowledged task {id} is gone"));
            assert!(
                *title == e.title || Some(title) == e.in_flight.as_ref(),
                "round {round}: task {id} is {title:?}, acknowledged {:?}",
                e.title
            );
        }
        // Every committed change has its event and no event lacks its change: the
        // stream replayed from the start rebuilds exactly what is stored.
        assert_eq!(
            replayed_titles(&server, &user),
            stored,
            "round {round}: the events and the tasks disagree"
        );
        // An unacknowledged update that did land becomes the new acknowledged state.
        for (id, e) in acked.lock().expect("lock").iter_mut() {
            if let Some(title) = stored.get(id) {
                e.title = title.clone();
                e.in_flight = None;
            }
        }
    }
}

/// The server's open files that were deleted under it (a WAL detached from the file).
fn deleted_open_files(pid: u32) -> Vec<String> {
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return Vec::new();
    };
    fds.filter_map(|fd| std::fs::read_link(fd.ok()?.path()).ok())
        .map(|target| target.display().to_string())
        .filter(|target| target.ends_with("(deleted)") && target.contains(".db"))
        .collect()
}

/// Runs the `sqlite3` shell on `db`, as an operator would; its stdout.
fn sqlite3(db: &str, command: &str) -> String {
    let out = std::process::Command::new("sqlite3")
        .arg(db)
        .arg(command)
        .output()
        .expect("sqlite3 runs");
    assert!(
        out.status.success(),
        "sqlite3 {command}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Another program opening the live database (`sqlite3 todo.db "select ..."`, a backup
/// with `VACUUM INTO`) and closing it again must not detach the server from its WAL:
/// every write acknowledged after it survives a SIGKILL. Each round starts a fresh
/// server and reads the file before the server's first write, as an operator's backup
/// script would right after a restart.
#[test]
fn another_program_reading_the_live_file_loses_no_acknowledged_write() {
    todo_e2e::sqlite_only!();
    // The operator's own tool: the bug it finds needs another SQLite than the test's.
    if std::process::Command::new("sqlite3")
        .arg("-version")
        .output()
        .is_err()
    {
        assert!(
            std::env::var_os("TODO_REQUIRE_SHELL").is_none(),
            "TODO_REQUIRE_SHELL is set but the sqlite3 shell is missing"
        );
        eprintln!("SKIPPED: the sqlite3 shell is not installed");
        return;
    }
    let flags = ["--issuer", ISSUER, "--no-rate-limit"];
    let server = TestServer::start(&flags);
    let user = sign_up(&server, "reader");
    let db = server.database();
    let mut dir = server.stop();
    let backups = tempfile::tempdir().expect("dir");
    let mut acked: Vec<(i64, String)> = Vec::new();
    for round in 0..3 {
        let server = TestServer::start_in(dir, &flags);
        let tasks = sqlite3(&db, "SELECT count(*) FROM tasks");
        assert_eq!(
            tasks.trim(),
            acked.len().to_string(),
            "round {round}: every task so far"
        );
        let backup = backups.path().join(format!("backup-{round}.db"));
        sqlite3(&db, &format!(".backup '{}'", backup.display()));
        let copied = sqlite3(&backup.display().to_string(), "SELECT count(*) FROM tasks");
        assert_eq!(
            copied.trim(),
            acked.len().to_string(),
            "round {round}: the backup"
        );
        for n in 0..3 {
            let title = format!("round {round} task {n}");
            let task =
                todo_e2e::api::create_task(&server, &user.id, &user.access_token, json!({ "title": title }));
            acked.push((task["id"].as_i64().expect("id"), title));
        }
        assert_eq!(deleted_open_files(server.pid()), Vec::<String>::new());
        dir = server.stop(); // SIGKILL: nothing is checkpointed on the way out
        integrity_ok(&db);
    }
    let server = TestServer::start_in(dir, &flags);
    let (tasks, total) = todo_e2e::api::list_tasks(&server, &user.id, &user.access_token, "?limit=100");
    assert_eq!(total as usize, acked.len(), "every acknowledged task survives");
    let stored: HashMap<i64, String> = tasks
        .iter()
        .map(|t| {
            (
                t["id"].as_i64().expect("id"),
                t["title"].as_str().expect("title").to_string(),
            )
        })
        .collect();
    for (id, title) in &acked {
        assert_eq!(stored.get(id), Some(title), "acknowledged task {id} survives");
    }
}
