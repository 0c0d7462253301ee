//! Projects under concurrency and over open streams: two admins changing one member at
//! once, a project deleted while its members stream, a removed member's open stream,
//! and personal access tokens acting with their user's role.

use std::time::Duration;

use reqwest::Method;
use serde_json::json;
use todo_e2e::api::{call_as as as_user, call_with as call, must as ok, project_with};
use todo_e2e::sse::EventReader;
use todo_e2e::{Account, TestServer, sign_up};

fn role_of(server: &TestServer, owner: &Account, project: &str, member: &Account) -> String {
    let members = ok(
        server,
        owner,
        Method::GET,
        &format!("/api/{{me}}/projects/{project}/members"),
        None,
    );
    members
        .as_array()
        .expect("members")
        .iter()
        .find(|m| m["user_id"].as_str() == Some(member.id.as_str()))
        .and_then(|m| m["role"].as_str())
        .expect("a member")
        .to_string()
}

#[test]
fn two_admins_changing_one_members_role_at_once_leave_one_result_both_acknowledged() {
    let server = TestServer::start(&["--no-rate-limit"]);
    let (owner, one, two, target) = (
        sign_up(&server, "owner"),
        sign_up(&server, "admin-one"),
        sign_up(&server, "admin-two"),
        sign_up(&server, "target"),
    );
    let project = project_with(
        &server,
        &owner,
        "race",
        &[(&one, "admin"), (&two, "admin"), (&target, "editor")],
    );
    let path = format!("/api/{{me}}/projects/{project}/members/{}", target.id);
    for round in 0..10 {
        let roles = if round % 2 == 0 {
            ["viewer", "editor"]
        } else {
            ["editor", "viewer"]
        };
        let answers: Vec<u16> = std::thread::scope(|s| {
            let sent: Vec<_> = [(&one, roles[0]), (&two, roles[1])]
                .into_iter()
                .map(|(admin, role)| {
                    let (server, path) = (&server, &path);
                    s.spawn(move || {
                        as_user(server, admin, Method::PATCH, path, Some(json!({ "role": role }))).0
                    })
                })
                .collect();
            sent.into_iter().map(|t| t.join().expect("admin")).collect()
        });
        // Each change is decided on the role read and re-checked in its write: a change
        // that lost the race is decided again on the new role, so both are acknowledged.
        assert_eq!(answers, vec![204, 204], "round {round}");
        let now = role_of(&server, &owner, &project, &target);
        assert!(roles.contains(&now.as_str()), "round {round}: {now}");
    }
    // The target's stream heard of every change, in the order they committed: the last
    // `project.updated` about them names the role they have now.
    let mut reader = EventReader::open(&server, &target, Some(0)).expect("stream");
    let mut last_role = None;
    while let Some(message) = reader.next(Duration::from_millis(700)) {
        if message.data["type"] == "project.updated" && message.data["project"]["user_id"] == json!(target.id)
        {
            last_role = message.data["project"]["role"].as_str().map(String::from);
        }
    }
    assert_eq!(
        last_role.as_deref(),
        Some(role_of(&server, &owner, &project, &target).as_str())
    );
}

#[test]
fn members_streaming_while_a_project_is_deleted_see_each_task_go_and_the_project_end() {
    let server = TestServer::start(&["--no-rate-limit"]);
    let (owner, editor) = (sign_up(&server, "owner"), sign_up(&server, "editor"));
    let project = project_with(&server, &owner, "doomed", &[(&editor, "editor")]);
    let mut ids = Vec::new();
    for n in 0..3 {
        let task = ok(
            &server,
            &editor,
            Method::POST,
            "/api/{me}/tasks",
            Some(json!({"title": format!("task {n}"), "project_id": project})),
        );
        ids.push(task["id"].as_i64().expect("id"));
    }
    let mut reader = EventReader::open(&server, &editor, None).expect("stream");
    ok(
        &server,
        &owner,
        Method::DELETE,
        &format!("/api/{{me}}/projects/{project}"),
        None,
    );
    let mut gone = Vec::new();
    let mut ended = false;
    while let Some(message) = reader.next(Duration::from_secs(1)) {
        match message.data["type"].as_str() {
            Some("task.deleted") => gone.push(message.data["task"]["id"].as_i64().expect("id")),
            Some("project.removed") => ended = true,
            _ => {}
        }
    }
    gone.sort();
    assert_eq!(gone, ids, "each task's deletion reached the open stream");
    assert!(ended, "and the project's end");
    let listed = ok(&server, &editor, Method::GET, "/api/{me}/tasks", None);
    assert_eq!(listed, json!([]));
}

#[test]
fn a_removed_members_open_stream_carries_nothing_more_of_the_project() {
    let server = TestServer::start(&["--no-rate-limit"]);
    let (owner, viewer) = (sign_up(&server, "owner"), sign_up(&server, "viewer"));
    let project = project_with(&server, &owner, "private now", &[(&viewer, "viewer")]);
    let task = ok(
        &server,
        &owner,
        Method::POST,
        "/api/{me}/tasks",
        Some(json!({"title": "before", "project_id": project})),
    );
    let mut reader = EventReader::open(&server, &viewer, None).expect("stream");
    ok(
        &server,
        &owner,
        Method::DELETE,
        &format!("/api/{{me}}/projects/{project}/members/{}", viewer.id),
        None,
    );
    for n in 0..3 {
        ok(
            &server,
            &owner,
            Method::PATCH,
            &format!("/api/{{me}}/tasks/{}", task["id"]),
            Some(json!({"title": format!("after {n}")})),
        );
    }
    let mut seen = Vec::new();
    while let Some(message) = reader.next(Duration::from_secs(1)) {
        seen.push(message.data["type"].as_str().unwrap_or("").to_string());
        assert_ne!(
            message.data["task"]["title"], "after 0",
            "a change after the removal leaked"
        );
    }
    assert_eq!(
        seen,
        vec!["task.deleted", "project.removed"],
        "the removal, then nothing"
    );
}

#[test]
fn personal_tokens_act_with_their_users_role_and_scopes() {
    let server = TestServer::start(&["--no-rate-limit"]);
    let (owner, member) = (sign_up(&server, "owner"), sign_up(&server, "member"));
    let project = project_with(&server, &owner, "scripts", &[(&member, "editor")]);
    let task = ok(
        &server,
        &owner,
        Method::POST,
        "/api/{me}/tasks",
        Some(json!({"title": "shared", "project_id": project})),
    );
    let token = |scope: &str| -> String {
        let made = ok(
            &server,
            &member,
            Method::POST,
            "/api/auth/tokens",
            Some(json!({"name": scope, "scopes": [scope], "expires_in_days": 1})),
        );
        made["token"].as_str().expect("token").to_string()
    };
    let (read, write) = (token("tasks:read"), token("tasks:write"));
    let task_path = format!("/api/{{me}}/tasks/{}", task["id"]);
    let (status, seen) = call(&server, &read, &member.id, Method::GET, &task_path, None);
    assert_eq!(
        (status, seen["title"].as_str()),
        (200, Some("shared")),
        "tasks:read reads a shared task"
    );
    let (status, _) = call(
        &server,
        &read,
        &member.id,
        Method::PATCH,
        &task_path,
        Some(json!({"title": "x"})),
    );
    assert_eq!(status, 403, "but does not write it");
    let (status, _) = call(
        &server,
        &write,
        &member.id,
        Method::PATCH,
        &task_path,
        Some(json!({"title": "by ci"})),
    );
    assert_eq!(
        status, 200,
        "tasks:write writes it, as the member's editor role allows"
    );
    let invite = format!("/api/{{me}}/projects/{project}/invitations");
    let (status, problem) = call(
        &server,
        &read,
        &member.id,
        Method::POST,
        &invite,
        Some(json!({"email": "x@example.com", "role": "viewer"})),
    );
    assert_eq!(
        (status, problem["code"].as_str()),
        (403, Some("insufficient_scope"))
    );
    // With tasks:write the token reaches the route, and the member's role decides.
    let (status, problem) = call(
        &server,
        &write,
        &member.id,
        Method::POST,
        &invite,
        Some(json!({"email": "x@example.com", "role": "viewer"})),
    );
    assert_eq!(
        (status, problem["code"].as_str()),
        (403, Some("insufficient_role"))
    );
}
