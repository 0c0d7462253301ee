//! `todo` while its server is away, over the real binaries: reads from the local copy,
//! writes queued and applied exactly once whatever moment the server dies at, and two
//! devices' offline edits of one task ending in a conflict that loses nothing.

use serde_json::Value;
use todo_e2e::CliUser;
use todo_e2e::pinned::PinnedServer;

/// A small deterministic generator: the kill moments differ per round and per run
/// (seeded from the clock, printed so a failing run can be repeated).
struct Moments(u64);

impl Moments {
    fn next_ms(&mut self, below: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % below
    }
}

fn titles(user: &CliUser) -> Vec<String> {
    let all = user.run(&["list", "--all", "--json"]).ok().json();
    all.as_array()
        .expect("tasks")
        .iter()
        .filter_map(|t| t["title"].as_str().map(str::to_string))
        .collect()
}

fn status(user: &CliUser) -> Value {
    user.run(&["sync", "--status", "--json"]).json()
}

#[test]
fn queued_writes_apply_exactly_once_whatever_moment_the_server_dies() {
    let mut server = PinnedServer::start(&["--no-rate-limit"]);
    let ann = CliUser::at(&server.base_url);
    ann.sign_up("offline-kill");
    ann.run(&["add", "Existing"]).ok();
    ann.run(&["sync"]).ok();

    server.kill();
    for i in 0..24 {
        let queued = ann.run(&["add", &format!("queued {i}")]);
        assert_eq!(queued.code, 0, "a queued write is a success: {queued:?}");
        assert!(queued.stderr.contains("Queued"), "{queued:?}");
    }
    ann.run(&["done", "1"]).ok();
    ann.run(&["edit", "1", "--title", "Existing, renamed"]).ok();
    assert_eq!(status(&ann)["queued"], 26);

    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(7, |d| d.as_nanos() as u64);
    eprintln!("kill moments seeded with {seed}");
    let mut moments = Moments(seed);
    for _ in 0..6 {
        server.restart(&["--no-rate-limit"]);
        let mut sync = ann
            .command(&["sync"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("todo sync starts");
        std::thread::sleep(std::time::Duration::from_millis(moments.next_ms(60)));
        server.kill();
        let _ = sync.wait();
        // A key claimed by the dead server is taken over after a minute: move past it.
        server.move_clock(61);
    }
    server.restart(&["--no-rate-limit"]);
    let done = ann.run(&["sync"]);
    assert_eq!(done.code, 0, "{done:?}");
    let left = status(&ann);
    assert_eq!(
        (left["queued"].as_u64(), left["conflicts"].as_u64()),
        (Some(0), Some(0)),
        "{left}"
    );

    let titles = titles(&ann);
    for i in 0..24 {
        let n = titles.iter().filter(|t| **t == format!("queued {i}")).count();
        assert_eq!(n, 1, "queued {i} is on the server exactly once: {titles:?}");
    }
    assert_eq!(titles.len(), 25, "{titles:?}");
    let first = ann.run(&["show", "1", "--json"]).ok().json();
    assert_eq!(
        first["title"], "Existing, renamed",
        "the edit made after the done lands too"
    );
    assert_eq!(first["completed"], true);
}

#[test]
fn reads_answer_from_the_local_copy_and_say_so_and_online_refuses() {
    let mut server = PinnedServer::start(&["--no-rate-limit"]);
    let ann = CliUser::at(&server.base_url);
    ann.sign_up("offline-read");
    ann.run(&["add", "Water plants", "+home"]).ok();
    ann.run(&["add", "File taxes"]).ok();
    // Never synced: offline there is nothing to answer from, and it says how to fix it.
    let fresh = CliUser::at(&server.base_url);
    fresh.sign_up("offline-fresh");
    ann.run(&["sync"]).ok();
    server.kill();

    let listed = ann.run(&["list", "--tag", "home", "--json"]);
    assert_eq!(listed.code, 0, "{listed:?}");
    let tasks = listed.json();
    assert_eq!(tasks.as_array().map(Vec::len), Some(1), "{tasks}");
    assert_eq!(tasks[0]["title"], "Water plants");
    assert!(
        listed.stderr.contains("offline") && listed.stderr.contains("local copy"),
        "{listed:?}"
    );
    let online = ann.run(&["--online", "list"]);
    assert_eq!(online.code, 5, "{online:?}");
    let refused = ann.with_env("TODO_ONLINE", "1").run(&["add", "Not queued"]);
    assert_eq!(refused.code, 5, "{refused:?}");
    let none = fresh.run(&["list"]);
    assert_eq!(none.code, 5, "{none:?}");
    assert!(none.stderr.contains("todo sync"), "{none:?}");
}

#[test]
fn two_devices_editing_one_task_offline_end_in_a_conflict_that_loses_nothing() {
    let mut server = PinnedServer::start(&["--no-rate-limit"]);
    let laptop = CliUser::at(&server.base_url);
    let (email, password) = laptop.sign_up("offline-conflict");
    let phone = CliUser::at(&server.base_url);
    phone
        .run_with_stdin(
            &["auth", "signin", "--email", &email, "--password-stdin"],
            Some(&format!("{password}\n")),
        )
        .ok();
    laptop.run(&["add", "Plan the trip"]).ok();
    laptop.run(&["sync"]).ok();
    phone.run(&["sync"]).ok();
    server.kill();

    laptop
        .run(&["edit", "1", "--title", "Plan the trip to Rome"])
        .ok();
    phone
        .run(&["edit", "1", "--title", "Plan the trip to Lisbon"])
        .ok();
    server.restart(&["--no-rate-limit"]);

    laptop.run(&["sync"]).ok();
    let second = phone.run(&["sync"]);
    assert_eq!(second.code, 6, "a conflict left open: {second:?}");
    let conflicts = phone.run(&["conflicts", "--json"]).ok().json();
    assert_eq!(conflicts.as_array().map(Vec::len), Some(1), "{conflicts}");
    assert_eq!(
        conflicts[0]["theirs"]["title"], "Plan the trip to Rome",
        "theirs: {conflicts}"
    );
    assert_eq!(
        conflicts[0]["mine"]["patch"]["title"], "Plan the trip to Lisbon",
        "mine: {conflicts}"
    );
    assert_eq!(
        laptop.run(&["show", "1", "--json"]).ok().json()["title"],
        "Plan the trip to Rome",
        "nothing was applied over the first"
    );

    let n = conflicts[0]["n"].to_string();
    phone.run(&["conflicts", "resolve", &n, "--keep", "mine"]).ok();
    assert_eq!(
        laptop.run(&["show", "1", "--json"]).ok().json()["title"],
        "Plan the trip to Lisbon",
        "kept knowingly"
    );
    assert_eq!(phone.run(&["sync"]).code, 0, "no conflict left");
}

/// The moment a kill cannot be aimed at, made on purpose: the server applies a queued
/// write but its answer for the key is lost (the client gave up waiting, and the stored
/// answer is wiped as a crash before storing it would leave it). Sent again, the create
/// is made once (its source is taken) and the edit is seen as done (the task holds it).
#[test]
fn a_write_applied_whose_answer_was_lost_is_recognised_not_repeated() {
    let mut server = PinnedServer::start(&["--no-rate-limit"]);
    let ann = CliUser::at(&server.base_url);
    ann.sign_up("offline-lost-answer");
    ann.run(&["add", "Call the bank"]).ok();
    ann.run(&["sync"]).ok();
    for (offline, landed) in [
        (vec!["add", "Pay rent"], "Pay rent"),
        (
            vec!["edit", "1", "--title", "Call the bank today"],
            "Call the bank today",
        ),
    ] {
        server.kill();
        ann.run(&offline).ok();
        server.restart(&["--no-rate-limit"]);
        lose_the_answer(&server, &ann, landed);
        let again = ann.run(&["sync"]);
        assert_eq!(
            again.code, 0,
            "{offline:?}: no conflict from our own write: {again:?}"
        );
        let titles = titles_online(&ann);
        assert_eq!(titles.iter().filter(|t| *t == landed).count(), 1, "{titles:?}");
        let left = status(&ann);
        assert_eq!(
            (left["queued"].as_u64(), left["conflicts"].as_u64()),
            (Some(0), Some(0)),
            "{left}"
        );
    }
}

/// Sends the queue with a timeout too short for any answer until the server has applied
/// the write that makes `landed` a title, wiping the answers kept for the keys each time
/// (as a crash before keeping one leaves them).
fn lose_the_answer(server: &PinnedServer, user: &CliUser, landed: &str) {
    let impatient = user.with_env_clone("TODO_TIMEOUT", "1ms");
    for _ in 0..100 {
        let _ = impatient.run(&["sync"]);
        todo_e2e::query_column(server.database(), "DELETE FROM idempotency_keys");
        if titles_online(user).iter().any(|t| t == landed) {
            let queued = status(user)["queued"].as_u64().unwrap_or(0);
            assert_eq!(
                queued, 1,
                "applied, and still queued here (its answer never came)"
            );
            return;
        }
    }
    panic!("the server never applied the write for {landed:?}");
}

/// Every title on the server (not the local copy, not sending the queue).
fn titles_online(user: &CliUser) -> Vec<String> {
    let all = user.run(&["--online", "list", "--all", "--json"]).ok().json();
    all.as_array()
        .expect("tasks")
        .iter()
        .filter_map(|t| t["title"].as_str().map(str::to_string))
        .collect()
}
