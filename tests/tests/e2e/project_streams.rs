//! Shared projects seen through each member's own change stream: whatever three people
//! do (write, move tasks in and out, change roles, leave, rejoin, undo), replaying a
//! member's stream from the start rebuilds exactly the tasks they can see now. And a
//! removal holds on every replica: no write of the removed member's that starts after
//! the removal was acknowledged succeeds.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};
use todo_e2e::api::{call_as as call, must};
use todo_e2e::postgres::{PgCluster, available};
use todo_e2e::sse::EventReader;
use todo_e2e::{Account, TestServer, http, sign_up};

/// A tiny deterministic generator: the same seed, the same script.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) as usize) % n
    }
}

/// What replaying `who`'s stream from the start leaves: task id -> (version, title).
fn replayed(server: &TestServer, who: &Account) -> BTreeMap<i64, (i64, String)> {
    let mut reader = EventReader::open(server, who, Some(0)).expect("stream");
    let mut tasks = BTreeMap::new();
    while let Some(message) = reader.next(Duration::from_millis(700)) {
        let event = message.data;
        if event["project"].is_object() {
            continue; // a project's news: no task in it
        }
        let id = event["task"]["id"].as_i64().expect("task id");
        match event["type"].as_str() {
            Some("task.deleted") => {
                tasks.remove(&id);
            }
            _ => {
                let version = event["task"]["version"].as_i64().expect("version");
                let title = event["task"]["title"].as_str().expect("title").to_string();
                tasks.insert(id, (version, title));
            }
        }
    }
    tasks
}

/// What `who` can see now, by listing.
fn listed(server: &TestServer, who: &Account) -> BTreeMap<i64, (i64, String)> {
    let tasks = must(
        server,
        who,
        Method::GET,
        "/api/{me}/tasks?status=all&limit=500",
        None,
    );
    tasks
        .as_array()
        .expect("tasks")
        .iter()
        .map(|t| {
            (
                t["id"].as_i64().expect("id"),
                (
                    t["version"].as_i64().expect("version"),
                    t["title"].as_str().expect("title").to_string(),
                ),
            )
        })
        .collect()
}

fn invite_and_accept(server: &TestServer, owner: &Account, project: &str, who: &Account, role: &str) {
    let invitation = must(
        server,
        owner,
        Method::POST,
        &format!("/api/{{me}}/projects/{project}/invitations"),
        Some(json!({"email": who.email, "role": role})),
    );
    let id = invitation["id"].as_str().expect("id");
    must(
        server,
        who,
        Method::POST,
        &format!("/api/{{me}}/invitations/{id}/accept"),
        None,
    );
}

#[test]
fn each_members_stream_rebuilds_exactly_the_tasks_they_can_see() {
    let server = TestServer::start(&["--no-rate-limit"]);
    let people = [
        sign_up(&server, "ann"),
        sign_up(&server, "bob"),
        sign_up(&server, "cat"),
    ];
    let [ann, bob, cat] = &people;
    let project = must(
        &server,
        ann,
        Method::POST,
        "/api/{me}/projects",
        Some(json!({"name": "home"})),
    );
    let project = project["id"].as_str().expect("id").to_string();
    invite_and_accept(&server, ann, &project, bob, "editor");
    invite_and_accept(&server, ann, &project, cat, "editor");

    let mut random = Lcg(20261207);
    let mut refused = 0;
    for step in 0..150 {
        let who = &people[random.below(3)];
        let visible: Vec<i64> = listed(&server, who).keys().copied().collect();
        let pick = |r: &mut Lcg| visible.get(r.below(visible.len().max(1))).copied();
        let (status, _) = match random.below(10) {
            0 | 1 => {
                let body = match random.below(2) {
                    0 => json!({"title": format!("shared {step}"), "project_id": project}),
                    _ => json!({"title": format!("own {step}")}),
                };
                call(&server, who, Method::POST, "/api/{me}/tasks", Some(body))
            }
            2 | 3 => match pick(&mut random) {
                Some(id) => call(
                    &server,
                    who,
                    Method::PATCH,
                    &format!("/api/{{me}}/tasks/{id}"),
                    Some(json!({"title": format!("edited {step}")})),
                ),
                None => (200, Value::Null),
            },
            4 => match pick(&mut random) {
                Some(id) => call(
                    &server,
                    who,
                    Method::DELETE,
                    &format!("/api/{{me}}/tasks/{id}"),
                    None,
                ),
                None => (200, Value::Null),
            },
            5 => match pick(&mut random) {
                // Into the project, or out of it to the mover's own tasks.
                Some(id) => {
                    let to = if random.below(2) == 0 {
                        json!(project)
                    } else {
                        Value::Null
                    };
                    call(
                        &server,
                        who,
                        Method::PATCH,
                        &format!("/api/{{me}}/tasks/{id}"),
                        Some(json!({"project_id": to})),
                    )
                }
                None => (200, Value::Null),
            },
            6 => call(&server, who, Method::POST, "/api/{me}/undo", None),
            7 => {
                // The owner changes someone's role.
                let member = &people[1 + random.below(2)];
                let role = ["viewer", "editor", "admin"][random.below(3)];
                call(
                    &server,
                    ann,
                    Method::PATCH,
                    &format!("/api/{{me}}/projects/{project}/members/{}", member.id),
                    Some(json!({ "role": role })),
                )
            }
            8 => {
                // Someone other than the owner leaves, and comes back later.
                let member = &people[1 + random.below(2)];
                call(
                    &server,
                    member,
                    Method::DELETE,
                    &format!("/api/{{me}}/projects/{project}/members/{}", member.id),
                    None,
                )
            }
            _ => {
                for member in [bob, cat] {
                    let members = must(
                        &server,
                        ann,
                        Method::GET,
                        &format!("/api/{{me}}/projects/{project}/members"),
                        None,
                    );
                    let present = members
                        .as_array()
                        .expect("members")
                        .iter()
                        .any(|m| m["user_id"].as_str() == Some(member.id.as_str()));
                    if !present {
                        invite_and_accept(&server, ann, &project, member, "editor");
                    }
                }
                (200, Value::Null)
            }
        };
        assert!(status < 500, "step {step}: {status}");
        if status >= 400 {
            refused += 1;
        }
    }
    assert!(refused < 100, "most of the script ran ({refused} refused)");
    for who in &people {
        assert_eq!(
            replayed(&server, who),
            listed(&server, who),
            "{}'s stream rebuilds what they see",
            who.email
        );
    }
}

/// Two replicas on one PostgreSQL database: an editor writes through one while an admin
/// removes them through the other. Every write that starts after the removal was
/// acknowledged is refused (404: the project is no longer theirs to see).
#[test]
fn after_a_removal_is_acknowledged_no_write_of_the_removed_member_succeeds_on_any_replica() {
    let Some(bin) =
        available("after_a_removal_is_acknowledged_no_write_of_the_removed_member_succeeds_on_any_replica")
    else {
        return;
    };
    let url = PgCluster::shared(&bin).create_database();
    let args = ["--issuer", "http://todo.test", "--no-rate-limit"];
    let (one, two) = (
        TestServer::start_on(&url, &args),
        TestServer::start_on(&url, &args),
    );
    let (owner, editor) = (sign_up(&one, "owner"), sign_up(&one, "editor"));
    let project = must(
        &one,
        &owner,
        Method::POST,
        "/api/{me}/projects",
        Some(json!({"name": "race"})),
    );
    let project = project["id"].as_str().expect("id").to_string();
    invite_and_accept(&one, &owner, &project, &editor, "editor");
    let task = must(
        &one,
        &owner,
        Method::POST,
        "/api/{me}/tasks",
        Some(json!({"title": "contended", "project_id": project})),
    );
    let path = format!("/api/{{me}}/tasks/{}", task["id"]);

    let writer = {
        let (server, editor, path) = (two.base_url.clone(), editor.clone(), path.clone());
        std::thread::spawn(move || {
            let mut writes = Vec::new();
            let until = Instant::now() + Duration::from_secs(3);
            let mut n = 0;
            while Instant::now() < until {
                n += 1;
                let started = Instant::now();
                let status = http()
                    .patch(format!("{server}{}", path.replace("{me}", &editor.id)))
                    .bearer_auth(&editor.access_token)
                    .json(&json!({"title": format!("write {n}")}))
                    .send()
                    .expect("answer")
                    .status()
                    .as_u16();
                writes.push((started, status));
            }
            writes
        })
    };
    std::thread::sleep(Duration::from_millis(800));
    let removal = format!("/api/{{me}}/projects/{project}/members/{}", editor.id);
    let (status, _) = call(&one, &owner, Method::DELETE, &removal, None);
    assert_eq!(status, 204);
    let acknowledged = Instant::now();
    let writes = writer.join().expect("writer");
    let before: Vec<_> = writes.iter().filter(|(at, _)| *at < acknowledged).collect();
    let after: Vec<_> = writes.iter().filter(|(at, _)| *at > acknowledged).collect();
    assert!(
        before.iter().any(|(_, s)| *s == 200),
        "the editor wrote before the removal"
    );
    assert!(!after.is_empty(), "and tried after it");
    assert!(
        after.iter().all(|(_, s)| *s == 404),
        "every write started after the removal is refused: {:?}",
        after.iter().map(|(_, s)| s).collect::<Vec<_>>()
    );
}
