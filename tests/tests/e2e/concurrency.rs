//! Isolation under concurrency: 50 users act at once with random sequences of every
//! task operation while the test keeps a model of each user's tasks; afterwards each
//! user's change stream, replayed from the start, rebuilds exactly their tasks.

use std::collections::BTreeMap;

use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use todo_e2e::{Account, TestServer, http, sign_up};

const USERS: usize = 50;
const STEPS: usize = 40;

#[derive(Debug, Clone, PartialEq)]
struct ModelTask {
    title: String,
    completed: bool,
}

fn check_owner(body: &Value, user: &Account) {
    let tasks: Vec<&Value> = match body {
        Value::Array(items) => items.iter().collect(),
        other => vec![other],
    };
    for task in tasks {
        assert_eq!(
            task["user_id"],
            user.id.as_str(),
            "a response carried another user's task"
        );
    }
}

/// One user's random walk; returns the model and the number of cross-user attempts.
fn act(
    server: &TestServer,
    me: &Account,
    others: &[Account],
    seed: u64,
) -> (BTreeMap<i64, ModelTask>, usize) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let client = http();
    let base = server.url(&format!("/api/{}/tasks", me.id));
    let mut model: BTreeMap<i64, ModelTask> = BTreeMap::new();
    let mut cross = 0;
    for step in 0..STEPS {
        let ids: Vec<i64> = model.keys().copied().collect();
        let pick = |rng: &mut rand::rngs::StdRng| ids.get(rng.gen_range(0..ids.len().max(1))).copied();
        match rng.gen_range(0..8) {
            0 | 1 => {
                let title = format!("{} task {step}", me.email);
                let r = client
                    .post(&base)
                    .bearer_auth(&me.access_token)
                    .json(&json!({"title": title}))
                    .send()
                    .expect("create");
                assert_eq!(r.status().as_u16(), 201);
                let body: Value = r.json().expect("json");
                check_owner(&body, me);
                model.insert(
                    body["id"].as_i64().expect("id"),
                    ModelTask {
                        title,
                        completed: false,
                    },
                );
            }
            2 => {
                if let Some(id) = pick(&mut rng) {
                    let title = format!("{} renamed {step}", me.email);
                    let r = client
                        .put(format!("{base}/{id}"))
                        .bearer_auth(&me.access_token)
                        .json(&json!({"title": title}))
                        .send()
                        .expect("put");
                    assert_eq!(r.status().as_u16(), 200);
                    check_owner(&r.json().expect("json"), me);
                    // PUT replaces the editable fields; completion is not one of them.
                    if let Some(task) = model.get_mut(&id) {
                        task.title = title;
                    }
                }
            }
            3 => {
                if let Some(id) = pick(&mut rng) {
                    let r = client
                        .patch(format!("{base}/{id}/complete"))
                        .bearer_auth(&me.access_token)
                        .send()
                        .expect("patch");
                    assert_eq!(r.status().as_u16(), 200);
                    let body: Value = r.json().expect("json");
                    check_owner(&body, me);
                    let task = model.get_mut(&id).expect("modelled");
                    task.completed = !task.completed;
                    assert_eq!(body["completed"], task.completed);
                }
            }
            4 => {
                if let Some(id) = pick(&mut rng) {
                    let r = client
                        .delete(format!("{base}/{id}"))
                        .bearer_auth(&me.access_token)
                        .send()
                        .expect("delete");
                    assert_eq!(r.status().as_u16(), 204);
                    model.remove(&id);
                }
            }
            5 => {
                let r = client
                    .get(&base)
                    .bearer_auth(&me.access_token)
                    .send()
                    .expect("list");
                assert_eq!(r.status().as_u16(), 200);
                let body: Value = r.json().expect("json");
                check_owner(&body, me);
                assert_eq!(
                    body.as_array().map(Vec::len),
                    Some(model.len()),
                    "list matches the model mid-run"
                );
            }
            6 => {
                // Another user's path: 403, whatever the method.
                let other = &others[rng.gen_range(0..others.len())];
                let r = client
                    .get(server.url(&format!("/api/{}/tasks", other.id)))
                    .bearer_auth(&me.access_token)
                    .send()
                    .expect("get");
                assert_eq!(r.status().as_u16(), 403);
                let r = client
                    .post(server.url(&format!("/api/{}/tasks", other.id)))
                    .bearer_auth(&me.access_token)
                    .json(&json!({"title": "planted"}))
                    .send()
                    .expect("post");
                assert_eq!(r.status().as_u16(), 403);
                cross += 2;
            }
            _ => {
                // Probe ids near our own on our own path: ours answer 200, others' 404.
                let probe = rng.gen_range(1..(USERS * STEPS) as i64);
                let r = client
                    .get(format!("{base}/{probe}"))
                    .bearer_auth(&me.access_token)
                    .send()
                    .expect("get");
                if model.contains_key(&probe) {
                    assert_eq!(r.status().as_u16(), 200);
                    check_owner(&r.json().expect("json"), me);
                } else {
                    assert_eq!(r.status().as_u16(), 404, "task {probe} is not {}'s", me.email);
                    cross += 1;
                }
            }
        }
    }
    (model, cross)
}

/// The user's tasks rebuilt from their whole change stream (`Last-Event-ID: 0`).
fn replayed(server: &TestServer, user: &Account) -> BTreeMap<i64, ModelTask> {
    let mut stream = todo_e2e::sse::EventReader::open(server, user, Some(0)).expect("stream");
    let mut tasks = BTreeMap::new();
    let mut last = 0;
    while let Some(message) = stream.next(std::time::Duration::from_millis(700)) {
        let seq = message.data["seq"].as_i64().expect("seq");
        assert_eq!(seq, last + 1, "no gap, no repeat");
        last = seq;
        let task = &message.data["task"];
        let id = task["id"].as_i64().expect("id");
        if message.event == "task.deleted" {
            tasks.remove(&id);
        } else {
            assert_eq!(task["user_id"], user.id.as_str(), "another user's event");
            let title = task["title"].as_str().expect("title").to_string();
            let completed = task["completed"].as_bool().expect("completed");
            tasks.insert(id, ModelTask { title, completed });
        }
    }
    tasks
}

#[test]
fn fifty_users_acting_at_once_each_see_exactly_their_own_tasks() {
    let server = TestServer::start(&["--no-rate-limit"]);
    let users: Vec<Account> = (0..USERS).map(|i| sign_up(&server, &format!("u{i}"))).collect();
    let results: Vec<(BTreeMap<i64, ModelTask>, usize)> = std::thread::scope(|scope| {
        let handles: Vec<_> = users
            .iter()
            .enumerate()
            .map(|(i, me)| {
                let server = &server;
                let users = &users;
                scope.spawn(move || {
                    let others: Vec<Account> = users.iter().filter(|u| u.id != me.id).cloned().collect();
                    act(server, me, &others, i as u64)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("user thread"))
            .collect()
    });

    // Read every user's stream at once: each ends after 700 ms of quiet.
    let replays: Vec<BTreeMap<i64, ModelTask>> = std::thread::scope(|scope| {
        let handles: Vec<_> = users
            .iter()
            .map(|user| {
                let server = &server;
                scope.spawn(move || replayed(server, user))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("replay thread"))
            .collect()
    });
    let mut cross_total = 0;
    for ((user, (model, cross)), replay) in users.iter().zip(results).zip(replays) {
        cross_total += cross;
        let r = http()
            .get(server.url(&format!("/api/{}/tasks?limit=500", user.id)))
            .bearer_auth(&user.access_token)
            .send()
            .expect("final list");
        let body: Value = r.json().expect("json");
        check_owner(&body, user);
        let actual: BTreeMap<i64, ModelTask> = body
            .as_array()
            .expect("array")
            .iter()
            .map(|t| {
                let task = ModelTask {
                    title: t["title"].as_str().expect("title").to_string(),
                    completed: t["completed"].as_bool().expect("completed"),
                };
                (t["id"].as_i64().expect("id"), task)
            })
            .collect();
        assert_eq!(actual, model, "{}'s tasks differ from the model", user.email);
        assert_eq!(replay, actual, "{}'s stream replayed from 0", user.email);
    }
    assert!(
        cross_total > USERS,
        "cross-user attempts were made ({cross_total})"
    );
}
