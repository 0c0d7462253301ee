//! Waiting and reminders over real servers whose clock the test moves (through the file
//! each server reads its offset from): a waiting task is out of lists until its moment
//! and then back with one `task.woke`; a reminder is one `task.reminder` however many
//! servers run; a server that was down sends what came due meanwhile at start, marked
//! late, and drops what is more than a day old.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use todo_e2e::api::{call_as as call, must};
use todo_e2e::sse::EventReader;
use todo_e2e::{Account, TestServer, sign_up};

const ISSUER: [&str; 2] = ["--issuer", "http://todo.test"];

/// A clock file all servers of a test read, and the arguments that point them to it.
struct MovedClock {
    _dir: tempfile::TempDir,
    file: std::path::PathBuf,
}

impl MovedClock {
    fn new() -> MovedClock {
        let dir = tempfile::tempdir().expect("dir");
        let file = dir.path().join("offset");
        std::fs::write(&file, "0").expect("clock");
        MovedClock { _dir: dir, file }
    }

    fn args(&self) -> Vec<String> {
        let mut args: Vec<String> = ISSUER.iter().map(|s| s.to_string()).collect();
        args.extend(["--no-rate-limit".into(), "--test-clock-file".into()]);
        args.push(self.file.display().to_string());
        args
    }

    /// Every server's clock now reads `seconds` after the real one.
    fn set(&self, seconds: i64) {
        std::fs::write(&self.file, seconds.to_string()).expect("move the clock");
    }
}

fn start(clock: &MovedClock) -> TestServer {
    let args = clock.args();
    TestServer::start(&args.iter().map(String::as_str).collect::<Vec<_>>())
}

fn at(from_now: i64) -> String {
    (OffsetDateTime::now_utc() + time::Duration::seconds(from_now))
        .format(&Rfc3339)
        .expect("format")
}

fn titles(list: &Value) -> Vec<String> {
    list.as_array()
        .expect("list")
        .iter()
        .map(|t| t["title"].as_str().expect("title").to_string())
        .collect()
}

/// The stream's events of `kind` until `quiet` passes with no event of it (and at most
/// 20 s after the first: a server that repeats itself fails the count, never hangs the
/// test).
fn events_of(reader: &mut EventReader, kind: &str, first_within: Duration, quiet: Duration) -> Vec<Value> {
    let mut found = Vec::new();
    let mut until = std::time::Instant::now() + first_within;
    let mut give_up = until + Duration::from_secs(20);
    loop {
        let now = std::time::Instant::now();
        if now >= until.min(give_up) {
            return found;
        }
        let Some(message) = reader.next(until.min(give_up) - now) else {
            return found;
        };
        if message.event == kind {
            found.push(message.data);
            let now = std::time::Instant::now();
            if found.len() == 1 {
                give_up = now + Duration::from_secs(20);
            }
            until = now + quiet;
        }
    }
}

fn kinds_in_history(server: &TestServer, who: &Account, task: &Value, kind: &str) -> usize {
    let history = must(
        server,
        who,
        Method::GET,
        &format!("/api/{{me}}/tasks/{}/history", task["id"]),
        None,
    );
    history
        .as_array()
        .expect("history")
        .iter()
        .filter(|e| e["type"] == kind)
        .count()
}

#[test]
fn a_waiting_task_wakes_once_and_a_reminder_fires_once_with_two_servers() {
    let clock = MovedClock::new();
    let first = start(&clock);
    let second = TestServer::start_replica(
        &first,
        &clock.args().iter().map(String::as_str).collect::<Vec<_>>(),
    );
    let ann = sign_up(&first, "timers");
    let hidden = must(
        &first,
        &ann,
        Method::POST,
        "/api/{me}/tasks",
        Some(json!({"title": "Renew passport", "wait_until": at(60)})),
    );
    let meeting = must(
        &first,
        &ann,
        Method::POST,
        "/api/{me}/tasks",
        Some(json!({"title": "Meeting", "due_at": at(120), "remind_before": "PT1M"})),
    );
    assert_eq!(meeting["remind_before"], "PT1M");
    let remind_at =
        OffsetDateTime::parse(meeting["remind_at"].as_str().expect("remind_at"), &Rfc3339).expect("time");
    let due_at = OffsetDateTime::parse(meeting["due_at"].as_str().expect("due_at"), &Rfc3339).expect("time");
    assert_eq!(due_at - remind_at, time::Duration::minutes(1));

    let listed = must(&first, &ann, Method::GET, "/api/{me}/tasks?status=pending", None);
    assert_eq!(
        titles(&listed),
        ["Meeting"],
        "the waiting task is out of the pending list"
    );
    let everything = must(&first, &ann, Method::GET, "/api/{me}/tasks?status=all", None);
    assert_eq!(
        everything.as_array().map(Vec::len),
        Some(2),
        "all is all (an export, a sync)"
    );
    let waiting = must(&first, &ann, Method::GET, "/api/{me}/tasks?status=waiting", None);
    assert_eq!(titles(&waiting), ["Renew passport"]);

    let mut on_first = EventReader::open(&first, &ann, None).expect("stream");
    let mut on_second = EventReader::open(&second, &ann, None).expect("stream");
    // Just past both moments (well within the tokens' and streams' lifetime); both
    // servers tick every second.
    clock.set(65);
    for reader in [&mut on_first, &mut on_second] {
        let mut woke = events_of(
            reader,
            "task.woke",
            Duration::from_secs(10),
            Duration::from_secs(3),
        );
        assert_eq!(woke.len(), 1, "{woke:?}");
        assert_eq!(woke.remove(0)["task"]["id"], hidden["id"]);
    }
    let listed = must(
        &first,
        &ann,
        Method::GET,
        "/api/{me}/tasks?status=pending&sort=title",
        None,
    );
    assert_eq!(titles(&listed), ["Meeting", "Renew passport"], "back in the list");
    assert_eq!(
        kinds_in_history(&second, &ann, &meeting, "task.reminder"),
        1,
        "one reminder, whichever server sent it"
    );
    assert_eq!(kinds_in_history(&second, &ann, &hidden, "task.woke"), 1);
    let replay = events_of(
        &mut EventReader::open(&second, &ann, Some(0)).expect("stream"),
        "task.reminder",
        Duration::from_secs(5),
        Duration::from_millis(700),
    );
    assert_eq!(replay.len(), 1);
    assert_eq!(replay[0]["task"]["id"], meeting["id"]);
    assert_eq!(replay[0]["late"], false, "sent within a minute of its time");

    // Moving the due date sets a new reminder, which fires again, once.
    let (status, _) = call(
        &first,
        &ann,
        Method::PATCH,
        &format!("/api/{{me}}/tasks/{}", meeting["id"]),
        Some(json!({"due_at": at(65 + 120)})),
    );
    assert_eq!(status, 200);
    clock.set(65 + 65);
    let again = events_of(
        &mut on_first,
        "task.reminder",
        Duration::from_secs(10),
        Duration::from_secs(3),
    );
    assert_eq!(again.len(), 1, "{again:?}");
}

#[test]
fn a_server_that_was_down_sends_what_came_due_late_and_drops_what_is_a_day_old() {
    let clock = MovedClock::new();
    let server = start(&clock);
    let ann = sign_up(&server, "catch-up");
    let soon = must(
        &server,
        &ann,
        Method::POST,
        "/api/{me}/tasks",
        Some(json!({"title": "Call the bank", "remind_at": at(3600)})),
    );
    let stale = must(
        &server,
        &ann,
        Method::POST,
        "/api/{me}/tasks",
        Some(json!({"title": "Yesterday's call", "remind_at": at(600)})),
    );
    // Down for a day: at start the first reminder is 23 h 26 min late, the other just
    // over a day.
    let dir = server.stop();
    clock.set(88_000);
    let args = clock.args();
    let server = TestServer::start_in(dir, &args.iter().map(String::as_str).collect::<Vec<_>>());
    // A day on, the tokens have expired: sign in again.
    let signed_in: Value = todo_e2e::api::sign_in(&server, &ann.email, &ann.password)
        .json()
        .expect("token pair");
    let ann = Account {
        access_token: signed_in["access_token"].as_str().expect("token").to_string(),
        ..ann
    };
    let sent = events_of(
        &mut EventReader::open(&server, &ann, Some(0)).expect("stream"),
        "task.reminder",
        Duration::from_secs(5),
        Duration::from_millis(700),
    );
    let sent_for: Vec<&Value> = sent.iter().map(|e| &e["task"]["id"]).collect();
    assert_eq!(
        sent_for,
        [&soon["id"]],
        "only the one less than a day late: {sent:?}"
    );
    assert_eq!(sent[0]["late"], true);
    assert_eq!(kinds_in_history(&server, &ann, &stale, "task.reminder"), 0);
}

#[test]
fn reminders_and_waits_are_checked_like_every_field() {
    let server = TestServer::start(&["--no-rate-limit"]);
    let ann = sign_up(&server, "timer-rules");
    for (body, field) in [
        (json!({"title": "t", "remind_before": "PT30M"}), "remind_before"),
        (
            json!({"title": "t", "due_at": at(60), "remind_before": "P1M"}),
            "remind_before",
        ),
        (
            json!({"title": "t", "due_at": at(60), "remind_before": "soon"}),
            "remind_before",
        ),
        (
            json!({"title": "t", "due_at": at(60), "remind_before": "PT1M", "remind_at": at(30)}),
            "remind_before",
        ),
    ] {
        let (status, problem) = call(&server, &ann, Method::POST, "/api/{me}/tasks", Some(body.clone()));
        assert_eq!(
            (status, problem["field"].as_str()),
            (422, Some(field)),
            "{body}: {problem}"
        );
    }
    let (status, problem) = call(
        &server,
        &ann,
        Method::GET,
        "/api/{me}/tasks?status=sleeping",
        None,
    );
    assert_eq!(status, 400, "{problem}");
}
