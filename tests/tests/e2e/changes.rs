//! The change stream, history and undo (on whichever backend the suite runs).

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use todo_api::ProblemCode;
use todo_e2e::api::{assert_problem, bearer, create_task, list_tasks};
use todo_e2e::sse::EventReader;
use todo_e2e::{Account, TestServer, http, sign_up};

const WAIT: Duration = Duration::from_secs(5);
const ISSUER: [&str; 2] = ["--issuer", "http://todo.test"];

fn patch(server: &TestServer, user: &Account, id: i64, body: Value) -> reqwest::blocking::Response {
    bearer(
        http().patch(server.url(&format!("/api/{}/tasks/{id}", user.id))),
        &user.access_token,
    )
    .json(&body)
    .send()
    .expect("patch")
}

fn delete(server: &TestServer, user: &Account, id: i64) -> u16 {
    bearer(
        http().delete(server.url(&format!("/api/{}/tasks/{id}", user.id))),
        &user.access_token,
    )
    .send()
    .expect("delete")
    .status()
    .as_u16()
}

fn undo(server: &TestServer, user: &Account) -> reqwest::blocking::Response {
    bearer(
        http().post(server.url(&format!("/api/{}/undo", user.id))),
        &user.access_token,
    )
    .send()
    .expect("undo")
}

fn titles(server: &TestServer, user: &Account) -> Vec<String> {
    let (tasks, _) = list_tasks(server, &user.id, &user.access_token, "?sort=created&order=asc");
    tasks
        .iter()
        .map(|t| t["title"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// Creates, updates and deletes arrive in commit order with consecutive ids; a second
/// stream opened with `Last-Event-ID` replays exactly what came after it, then goes on
/// live. Another user's changes never show.
#[test]
fn the_stream_delivers_every_change_in_order_and_replays_after_an_id() {
    let server = TestServer::start(&[]);
    let ann = sign_up(&server, "stream-ann");
    let bob = sign_up(&server, "stream-bob");
    let mut live = EventReader::open(&server, &ann, None).expect("stream");
    let task = create_task(&server, &ann.id, &ann.access_token, json!({"title": "first"}));
    let id = task["id"].as_i64().expect("id");
    create_task(&server, &bob.id, &bob.access_token, json!({"title": "bob's"}));
    assert_eq!(
        patch(&server, &ann, id, json!({"description": "more"}))
            .status()
            .as_u16(),
        200
    );
    assert_eq!(delete(&server, &ann, id), 204);

    let got = live.take(3, WAIT);
    let kinds: Vec<&str> = got.iter().map(|m| m.event.as_str()).collect();
    assert_eq!(kinds, ["task.created", "task.updated", "task.deleted"]);
    let seqs: Vec<i64> = got.iter().map(|m| m.data["seq"].as_i64().expect("seq")).collect();
    assert_eq!(seqs, [1, 2, 3], "per-user sequence numbers without gaps");
    for m in &got {
        assert_eq!(m.id, m.data["seq"].to_string(), "the SSE id is the seq");
        assert_eq!(m.data["type"], m.event.as_str());
    }
    assert_eq!(got[1].data["task"]["description"], "more");
    assert_eq!(got[1].data["task"]["version"], 2);
    assert_eq!(got[2].data["task"], json!({"id": id, "version": 2}));

    let mut replay = EventReader::open(&server, &ann, Some(1)).expect("replay");
    let again = replay.take(2, WAIT);
    assert_eq!(again, got[1..].to_vec(), "the same events, the same ids");
    create_task(&server, &ann.id, &ann.access_token, json!({"title": "second"}));
    for reader in [&mut live, &mut replay] {
        let next = reader.take(1, WAIT).remove(0);
        assert_eq!(
            (next.event.as_str(), next.data["seq"].as_i64()),
            ("task.created", Some(4))
        );
    }
    assert!(
        live.next(Duration::from_millis(300)).is_none(),
        "nothing of bob's"
    );
}

/// A stream open on one server gets the changes made through another server on the
/// same database, in order, with the same sequence numbers.
#[test]
fn a_stream_sees_changes_made_through_another_server() {
    let a = TestServer::start(&ISSUER);
    let b = TestServer::start_replica(&a, &ISSUER);
    let ann = sign_up(&a, "stream-replica");
    let mut on_b = EventReader::open(&b, &ann, None).expect("stream on B");
    let started = Instant::now();
    for n in 0..5 {
        let server = if n % 2 == 0 { &a } else { &b };
        create_task(
            server,
            &ann.id,
            &ann.access_token,
            json!({"title": format!("t{n}")}),
        );
    }
    let got = on_b.take(5, WAIT);
    let seqs: Vec<i64> = got.iter().map(|m| m.data["seq"].as_i64().expect("seq")).collect();
    assert_eq!(seqs, [1, 2, 3, 4, 5]);
    let titles: Vec<&str> = got
        .iter()
        .map(|m| m.data["task"]["title"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(titles, ["t0", "t1", "t2", "t3", "t4"]);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

/// Undo walks back through a delete, an update and a create, each as a new change on
/// the stream; a restored task keeps its id; with nothing left, 404 `nothing_to_undo`.
/// The history shows each change with the task before and after.
#[test]
fn undo_walks_back_and_history_shows_before_and_after() {
    let server = TestServer::start(&[]);
    let ann = sign_up(&server, "undo");
    let task = create_task(
        &server,
        &ann.id,
        &ann.access_token,
        json!({"title": "draft", "tags": ["a"]}),
    );
    let id = task["id"].as_i64().expect("id");
    assert_eq!(
        patch(&server, &ann, id, json!({"title": "final", "tags": ["b"]}))
            .status()
            .as_u16(),
        200
    );
    assert_eq!(delete(&server, &ann, id), 204);
    let mut stream = EventReader::open(&server, &ann, Some(3)).expect("stream");

    let first: Value = undo(&server, &ann).json().expect("undo");
    assert_eq!(
        (first["undone_seq"].as_i64(), first["undone_type"].as_str()),
        (Some(3), Some("task.deleted"))
    );
    assert_eq!(first["task"]["id"], id, "restored with the same id");
    assert_eq!(first["task"]["title"], "final");
    assert_eq!(titles(&server, &ann), ["final"]);

    let second: Value = undo(&server, &ann).json().expect("undo");
    assert_eq!(second["undone_type"], "task.updated");
    assert_eq!(second["task"]["title"], "draft");
    assert_eq!(second["task"]["tags"], json!(["a"]));

    let third: Value = undo(&server, &ann).json().expect("undo");
    assert_eq!(third["undone_type"], "task.created");
    assert!(third.get("task").is_none(), "{third}");
    assert!(titles(&server, &ann).is_empty());
    assert_problem(undo(&server, &ann), 404, ProblemCode::NothingToUndo);

    let undos = stream.take(3, WAIT);
    let kinds: Vec<&str> = undos.iter().map(|m| m.event.as_str()).collect();
    assert_eq!(kinds, ["task.created", "task.updated", "task.deleted"]);

    let history: Vec<Value> = bearer(
        http().get(server.url(&format!("/api/{}/tasks/{id}/history", ann.id))),
        &ann.access_token,
    )
    .send()
    .expect("history")
    .json()
    .expect("entries");
    assert_eq!(history.len(), 6, "{history:?}");
    assert!(history[0].get("before").is_none());
    assert_eq!(history[1]["before"]["title"], "draft");
    assert_eq!(history[1]["after"]["title"], "final");
    assert!(history[2].get("after").is_none(), "a delete has no after");
    assert_eq!(history[3]["undoes"], 3);
    let missing = bearer(
        http().get(server.url(&format!("/api/{}/tasks/999999/history", ann.id))),
        &ann.access_token,
    )
    .send()
    .expect("history");
    assert_problem(missing, 404, ProblemCode::TaskNotFound);
}

/// Sixteen streams per user at once; the seventeenth is 429 `too_many_streams` until
/// one closes. Another user is not affected.
#[test]
fn a_seventeenth_stream_is_refused_until_one_closes() {
    // A closed connection is noticed at the next write: a heartbeat every 200 ms.
    let server = TestServer::start(&["--stream-heartbeat", "200ms"]);
    let ann = sign_up(&server, "streams");
    let bob = sign_up(&server, "streams-bob");
    let mut open: Vec<EventReader> = (0..16)
        .map(|_| EventReader::open(&server, &ann, None).expect("within the cap"))
        .collect();
    let refused = EventReader::open(&server, &ann, None).err().expect("refused");
    assert_eq!(refused.0, 429, "{}", refused.1);
    assert!(refused.1.contains("too_many_streams"), "{}", refused.1);
    assert!(EventReader::open(&server, &bob, None).is_ok(), "per user");
    drop(open.pop());
    let deadline = Instant::now() + WAIT;
    loop {
        match EventReader::open(&server, &ann, None) {
            Ok(_) => break,
            Err((429, _)) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(100)),
            Err(other) => panic!("a closed stream's place was not freed: {other:?}"),
        }
    }
}

/// Signing out ends the session's open streams within a second.
#[test]
fn a_stream_ends_within_a_second_of_sign_out() {
    let server = TestServer::start(&[]);
    let ann = sign_up(&server, "stream-signout");
    let mut stream = EventReader::open(&server, &ann, None).expect("stream");
    let signed_out = bearer(http().post(server.url("/api/auth/sign-out")), &ann.access_token)
        .json(&json!({}))
        .send()
        .expect("sign-out");
    assert_eq!(signed_out.status().as_u16(), 204);
    assert!(
        stream.ends_within(Duration::from_millis(1200)),
        "still open after sign-out"
    );
}

/// A `Last-Event-ID` older than what the server keeps starts with `reset` (carrying
/// the latest seq) and then goes on live; so does an id the server never gave.
#[test]
fn an_id_no_longer_kept_starts_with_reset() {
    let server = TestServer::start(&[
        "--events-kept",
        "3",
        "--events-kept-for",
        "1ms",
        "--maintenance-interval",
        "100ms",
    ]);
    let ann = sign_up(&server, "reset");
    for n in 0..10 {
        create_task(
            &server,
            &ann.id,
            &ann.access_token,
            json!({"title": format!("t{n}")}),
        );
    }
    let deadline = Instant::now() + WAIT;
    let mut stream = loop {
        let mut stream = EventReader::open(&server, &ann, Some(2)).expect("stream");
        let first = stream.next(WAIT).expect("a first message");
        if first.event == "reset" {
            assert_eq!(first.data, json!({"seq": 10}));
            assert_eq!(first.id, "10");
            break stream;
        }
        assert!(Instant::now() < deadline, "old events were never cleaned up");
        std::thread::sleep(Duration::from_millis(100));
    };
    create_task(&server, &ann.id, &ann.access_token, json!({"title": "after"}));
    let next = stream.take(1, WAIT).remove(0);
    assert_eq!(next.data["seq"], 11);

    let mut future = EventReader::open(&server, &ann, Some(500)).expect("stream");
    assert_eq!(future.next(WAIT).expect("reset").event, "reset");
    let bad = bearer(
        http().get(server.url(&format!("/api/{}/events", ann.id))),
        &ann.access_token,
    )
    .header("Last-Event-ID", "yesterday")
    .send()
    .expect("stream");
    assert_problem(bad, 400, ProblemCode::InvalidParameter);
}

/// A change sent the moment a stream's answer arrives is on that stream: where a
/// stream without `Last-Event-ID` starts is fixed before its answer goes. (It was read
/// later, in the stream's own task, so a change that beat that read was taken for
/// history and never sent.)
#[test]
fn a_change_made_the_moment_a_stream_opens_is_on_it() {
    let server = TestServer::start(&["--no-rate-limit"]);
    let ann = sign_up(&server, "stream-race");
    // Other users keep the server busy, as a loaded machine does: the window between
    // the answer and a late first read widens.
    let stop = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|s| {
        for n in 0..8 {
            let (server, stop) = (&server, &stop);
            s.spawn(move || {
                let busy = sign_up(server, &format!("busy-{n}"));
                for i in 0..100 {
                    create_task(
                        server,
                        &busy.id,
                        &busy.access_token,
                        json!({"title": format!("noise {i}")}),
                    );
                }
                // Reads: they queue where a stream's first read would wait.
                let list = server.url(&format!("/api/{}/tasks?limit=500&q=noise", busy.id));
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let _ = todo_e2e::http().get(&list).bearer_auth(&busy.access_token).send();
                }
            });
        }
        each_round_sees_its_change(&server, &ann);
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
    });
}

fn each_round_sees_its_change(server: &TestServer, ann: &todo_e2e::Account) {
    for round in 0..60 {
        let mut live = EventReader::open(server, ann, None).expect("stream");
        let task = create_task(
            server,
            &ann.id,
            &ann.access_token,
            json!({"title": format!("r{round}")}),
        );
        let got = live
            .next(Duration::from_secs(3))
            .unwrap_or_else(|| panic!("round {round}: the change made as the stream opened never came"));
        assert_eq!(got.data["task"]["id"], task["id"], "round {round}");
    }
}
