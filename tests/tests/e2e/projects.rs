//! Projects shared with roles: the authorization matrix (every project and task route
//! in `/openapi.json` x every role), invitations that reveal nothing, and membership
//! changes that hold on the next request and in every member's stream.

use reqwest::Method;
use reqwest::blocking::Response;
use serde_json::{Value, json};
use std::time::Duration;
use todo_e2e::sse::EventReader;
use todo_e2e::{Account, TestServer, http, sign_up};

/// The roles a caller can have in a project, weakest first; `None` is a non-member.
const ROLES: [Option<&str>; 5] = [None, Some("viewer"), Some("editor"), Some("admin"), Some("owner")];

fn rank(role: Option<&str>) -> usize {
    ROLES.iter().position(|r| *r == role).unwrap_or(0)
}

fn call(server: &TestServer, who: &Account, method: Method, path: &str, body: Option<&Value>) -> Response {
    let path = path.replace("{user_id}", &who.id);
    let mut request = http()
        .request(method, server.url(&path))
        .bearer_auth(&who.access_token);
    if let Some(body) = body {
        request = request.json(body);
    }
    request.send().expect("the server answers")
}

fn ok_json(response: Response, what: &str) -> Value {
    let status = response.status().as_u16();
    let body: Value = response.json().unwrap_or(Value::Null);
    assert!((200..300).contains(&status), "{what}: {status} {body}");
    body
}

/// A team: the owner and one member of each other role, a member every role-changing
/// route acts on (`target`, an editor), and someone outside.
struct Team {
    owner: Account,
    admin: Account,
    editor: Account,
    viewer: Account,
    target: Account,
    stranger: Account,
}

impl Team {
    fn sign_up(server: &TestServer) -> Team {
        Team {
            owner: sign_up(server, "owner"),
            admin: sign_up(server, "admin"),
            editor: sign_up(server, "editor"),
            viewer: sign_up(server, "viewer"),
            target: sign_up(server, "target"),
            stranger: sign_up(server, "stranger"),
        }
    }

    fn as_role(&self, role: Option<&str>) -> &Account {
        match role {
            None => &self.stranger,
            Some("viewer") => &self.viewer,
            Some("editor") => &self.editor,
            Some("admin") => &self.admin,
            _ => &self.owner,
        }
    }
}

/// A fresh project of the team's, with a task and an open invitation, so every case
/// starts from the same state.
struct Fixture {
    project: String,
    task: i64,
    invitation: String,
    /// A note on the task, by the caller when their role writes notes, else by the owner.
    note: String,
}

fn invite_and_accept(server: &TestServer, owner: &Account, project: &str, who: &Account, role: &str) {
    let invitation = ok_json(
        call(
            server,
            owner,
            Method::POST,
            &format!("/api/{{user_id}}/projects/{project}/invitations"),
            Some(&json!({"email": who.email, "role": role})),
        ),
        "invite",
    );
    let id = invitation["id"].as_str().expect("invitation id");
    ok_json(
        call(
            server,
            who,
            Method::POST,
            &format!("/api/{{user_id}}/invitations/{id}/accept"),
            None,
        ),
        "accept",
    );
}

fn fixture(server: &TestServer, team: &Team, name: &str) -> Fixture {
    let project = ok_json(
        call(
            server,
            &team.owner,
            Method::POST,
            "/api/{user_id}/projects",
            Some(&json!({ "name": name })),
        ),
        "create project",
    );
    let project = project["id"].as_str().expect("project id").to_string();
    for (who, role) in [
        (&team.admin, "admin"),
        (&team.editor, "editor"),
        (&team.viewer, "viewer"),
        (&team.target, "editor"),
    ] {
        invite_and_accept(server, &team.owner, &project, who, role);
    }
    let task = ok_json(
        call(
            server,
            &team.owner,
            Method::POST,
            "/api/{user_id}/tasks",
            Some(&json!({"title": "shared", "project_id": project})),
        ),
        "create task",
    );
    let invitation = ok_json(
        call(
            server,
            &team.owner,
            Method::POST,
            &format!("/api/{{user_id}}/projects/{project}/invitations"),
            Some(&json!({"email": "nobody-yet@example.com", "role": "viewer"})),
        ),
        "invite an address without an account",
    );
    Fixture {
        project,
        task: task["id"].as_i64().expect("task id"),
        invitation: invitation["id"].as_str().expect("id").to_string(),
        note: String::new(),
    }
}

/// The least role each project-scoped route needs, and a body that is valid for it.
/// A route in `/openapi.json` under a project or a task that is missing here fails the
/// test: every new route gets a rule before it ships.
fn rule(method: &Method, path: &str, f: &Fixture, team: &Team) -> Option<(&'static str, Option<Value>)> {
    let target = team.target.id.as_str();
    Some(match (method.as_str(), path) {
        ("GET", "/api/{user_id}/projects/{project_id}") => ("viewer", None),
        ("PATCH", "/api/{user_id}/projects/{project_id}") => {
            ("admin", Some(json!({"name": format!("renamed {}", f.project)})))
        }
        ("DELETE", "/api/{user_id}/projects/{project_id}") => ("owner", None),
        ("GET", "/api/{user_id}/projects/{project_id}/members") => ("viewer", None),
        ("PATCH", "/api/{user_id}/projects/{project_id}/members/{member_id}") => {
            ("admin", Some(json!({"role": "viewer"})))
        }
        ("DELETE", "/api/{user_id}/projects/{project_id}/members/{member_id}") => ("admin", None),
        ("POST", "/api/{user_id}/projects/{project_id}/transfer") => {
            ("owner", Some(json!({"user_id": target})))
        }
        ("GET", "/api/{user_id}/projects/{project_id}/invitations") => ("admin", None),
        ("POST", "/api/{user_id}/projects/{project_id}/invitations") => (
            "admin",
            Some(json!({"email": "friend@example.com", "role": "editor"})),
        ),
        ("DELETE", "/api/{user_id}/projects/{project_id}/invitations/{invitation_id}") => ("admin", None),
        ("GET", "/api/{user_id}/tasks/{id}") => ("viewer", None),
        ("GET", "/api/{user_id}/tasks/{id}/history") => ("viewer", None),
        ("PUT", "/api/{user_id}/tasks/{id}") => ("editor", Some(json!({"title": "replaced"}))),
        ("PATCH", "/api/{user_id}/tasks/{id}") => ("editor", Some(json!({"title": "patched"}))),
        ("PATCH", "/api/{user_id}/tasks/{id}/complete") => ("editor", None),
        ("DELETE", "/api/{user_id}/tasks/{id}") => ("editor", None),
        ("POST", "/api/{user_id}/tasks/{id}/notes") => ("editor", Some(json!({"text": "a note"}))),
        // Its author's (see `Fixture::note`), and only while they write the task.
        ("DELETE", "/api/{user_id}/tasks/{id}/notes/{note_id}") => ("editor", None),
        // Not scoped by a path id: the project is in the body.
        ("POST", "/api/{user_id}/tasks") => {
            ("editor", Some(json!({"title": "new", "project_id": f.project})))
        }
        _ => return None,
    })
}

/// Routes whose access does not depend on a project role: the caller's own lists,
/// invitations to them, their stream, undo and calendar (which holds a shared task
/// exactly when the list does: `calendar.rs`).
fn per_user(path: &str) -> bool {
    matches!(
        path,
        "/api/{user_id}/projects"
            | "/api/{user_id}/invitations"
            | "/api/{user_id}/events"
            | "/api/{user_id}/undo"
            | "/api/{user_id}/calendar.ics"
    ) || path.starts_with("/api/{user_id}/invitations/")
}

fn routes(server: &TestServer) -> Vec<(Method, String)> {
    let spec: Value = http()
        .get(server.url("/openapi.json"))
        .send()
        .expect("spec")
        .json()
        .expect("json");
    let mut routes = Vec::new();
    for (path, operations) in spec["paths"].as_object().expect("paths") {
        if !path.starts_with("/api/{user_id}/") {
            continue;
        }
        for method in operations.as_object().expect("operations").keys() {
            let method: Method = method.to_uppercase().parse().expect("method");
            if per_user(path) && !(method == Method::POST && path == "/api/{user_id}/tasks") {
                continue;
            }
            if path == "/api/{user_id}/tasks" && method == Method::GET {
                continue;
            }
            routes.push((method, path.clone()));
        }
    }
    routes
}

fn fill(path: &str, f: &Fixture, team: &Team) -> String {
    path.replace("{project_id}", &f.project)
        .replace("{id}", &f.task.to_string())
        .replace("{member_id}", &team.target.id)
        .replace("{invitation_id}", &f.invitation)
        .replace("{note_id}", &f.note)
}

/// The task and project as the owner reads them, to show a refused call changed nothing.
fn state(server: &TestServer, team: &Team, f: &Fixture) -> Value {
    let owner = &team.owner;
    let project = ok_json(
        call(
            server,
            owner,
            Method::GET,
            &format!("/api/{{user_id}}/projects/{}", f.project),
            None,
        ),
        "project",
    );
    let task = ok_json(
        call(
            server,
            owner,
            Method::GET,
            &format!("/api/{{user_id}}/tasks/{}", f.task),
            None,
        ),
        "task",
    );
    let members = ok_json(
        call(
            server,
            owner,
            Method::GET,
            &format!("/api/{{user_id}}/projects/{}/members", f.project),
            None,
        ),
        "members",
    );
    json!({"project": project, "task": task, "members": members})
}

#[test]
fn every_project_and_task_route_answers_each_role_as_its_rule_says() {
    let server = TestServer::start(&["--no-rate-limit"]);
    let team = Team::sign_up(&server);
    let routes = routes(&server);
    assert!(routes.len() >= 17, "every project and task route: {routes:?}");
    let mut checked = 0;
    for (case, (method, path)) in routes.iter().enumerate() {
        for role in ROLES {
            let mut f = fixture(
                &server,
                &team,
                &format!("matrix {case} {}", role.unwrap_or("none")),
            );
            if path.contains("{note_id}") {
                let author = match rank(role) >= rank(Some("editor")) {
                    true => team.as_role(role),
                    false => &team.owner,
                };
                let note = ok_json(
                    call(
                        &server,
                        author,
                        Method::POST,
                        &format!("/api/{{user_id}}/tasks/{}/notes", f.task),
                        Some(&json!({"text": "by its author"})),
                    ),
                    "note",
                );
                f.note = note["id"].as_str().expect("note id").to_string();
            }
            let (needed, body) = rule(method, path, &f, &team)
                .unwrap_or_else(|| panic!("{method} {path} has no rule in this matrix: add one"));
            let before = state(&server, &team, &f);
            let who = team.as_role(role);
            let response = call(
                &server,
                who,
                method.clone(),
                &fill(path, &f, &team),
                body.as_ref(),
            );
            let status = response.status().as_u16();
            let problem: Value = response.json().unwrap_or(Value::Null);
            let what = format!("{method} {path} as {}", role.unwrap_or("a non-member"));
            let allowed = role.is_some() && rank(role) >= rank(Some(needed));
            if allowed {
                assert!((200..300).contains(&status), "{what}: {status} {problem}");
            } else {
                let (want_status, want_code) = match role {
                    // A non-member learns nothing: the project (or task) is missing.
                    None if path.contains("/tasks/") => (404, "task_not_found"),
                    None => (404, "project_not_found"),
                    Some(_) => (403, "insufficient_role"),
                };
                assert_eq!(
                    (status, problem["code"].as_str()),
                    (want_status, Some(want_code)),
                    "{what}: {problem}"
                );
                assert_eq!(state(&server, &team, &f), before, "{what} changed nothing");
            }
            checked += 1;
        }
    }
    assert_eq!(checked, routes.len() * ROLES.len());
}

#[test]
fn an_invitation_answers_the_same_for_an_address_with_and_without_an_account() {
    let server = TestServer::start(&["--no-rate-limit"]);
    let team = Team::sign_up(&server);
    let f = fixture(&server, &team, "invitations");
    let path = format!("/api/{{user_id}}/projects/{}/invitations", f.project);
    let send = |email: &str| {
        let started = std::time::Instant::now();
        let response = call(
            &server,
            &team.owner,
            Method::POST,
            &path,
            Some(&json!({"email": email, "role": "viewer"})),
        );
        let elapsed = started.elapsed();
        let status = response.status().as_u16();
        let body: Value = response.json().expect("json");
        (status, body, elapsed)
    };
    let (known_status, known, _) = send(&team.stranger.email);
    let (unknown_status, unknown, _) = send("no-account-here@example.com");
    assert_eq!((known_status, unknown_status), (201, 201));
    let keys = |v: &Value| v.as_object().map(|o| o.keys().cloned().collect::<Vec<_>>());
    assert_eq!(keys(&known), keys(&unknown), "the same body shape");
    // Timing: within 10%. Both addresses were invited above, so every send here renews
    // one. Each pair is sent back to back, so both halves meet the same load: the median
    // of the pairs' ratios, not a ratio of medians taken apart, is compared. The pause
    // after each send lets the invitee's notice (sent after the answer) finish, so it
    // does not land on the next request's time.
    let settle = || std::thread::sleep(std::time::Duration::from_millis(15));
    let mut ratios: Vec<f64> = (0..61)
        .map(|_| {
            let with = send(&team.stranger.email).2.as_secs_f64();
            settle();
            let without = send("no-account-here@example.com").2.as_secs_f64();
            settle();
            with / without
        })
        .collect();
    ratios.sort_by(f64::total_cmp);
    let ratio = ratios[30];
    assert!(
        (0.9..=1.1).contains(&ratio),
        "median time ratio with/without an account {ratio:.3}"
    );
    // The stranger sees it and can accept it; then the project's tasks are theirs to see.
    let mine = ok_json(
        call(
            &server,
            &team.stranger,
            Method::GET,
            "/api/{user_id}/invitations",
            None,
        ),
        "invitations",
    );
    assert_eq!(mine.as_array().map(Vec::len), Some(1), "{mine}");
    let id = mine[0]["id"].as_str().expect("id");
    ok_json(
        call(
            &server,
            &team.stranger,
            Method::POST,
            &format!("/api/{{user_id}}/invitations/{id}/accept"),
            None,
        ),
        "accept",
    );
    let task = ok_json(
        call(
            &server,
            &team.stranger,
            Method::GET,
            &format!("/api/{{user_id}}/tasks/{}", f.task),
            None,
        ),
        "the shared task",
    );
    assert_eq!(task["project_id"].as_str(), Some(f.project.as_str()));
    assert_eq!(task["created_by"].as_str(), Some(team.owner.id.as_str()));
}

#[test]
fn a_removed_member_loses_the_project_at_once_and_their_stream_says_so() {
    let server = TestServer::start(&["--no-rate-limit"]);
    let team = Team::sign_up(&server);
    let f = fixture(&server, &team, "removal");
    let editor = &team.editor;
    let task_path = format!("/api/{{user_id}}/tasks/{}", f.task);
    ok_json(
        call(
            &server,
            editor,
            Method::PATCH,
            &task_path,
            Some(&json!({"title": "by the editor"})),
        ),
        "the editor writes",
    );
    let listed = ok_json(
        call(
            &server,
            editor,
            Method::GET,
            &format!("/api/{{user_id}}/tasks?project={}", f.project),
            None,
        ),
        "list",
    );
    assert_eq!(listed.as_array().map(Vec::len), Some(1));
    assert_eq!(listed[0]["updated_by"].as_str(), Some(editor.id.as_str()));

    let member = format!("/api/{{user_id}}/projects/{}/members/{}", f.project, editor.id);
    let response = call(&server, &team.admin, Method::DELETE, &member, None);
    assert_eq!(response.status().as_u16(), 204);

    // The next request already sees it: nothing to read, nothing to write.
    let read = call(&server, editor, Method::GET, &task_path, None);
    assert_eq!(read.status().as_u16(), 404);
    let write = call(
        &server,
        editor,
        Method::PATCH,
        &task_path,
        Some(&json!({"title": "too late"})),
    );
    assert_eq!(write.status().as_u16(), 404);
    let listed = ok_json(
        call(&server, editor, Method::GET, "/api/{user_id}/tasks", None),
        "list",
    );
    assert_eq!(listed, json!([]), "no task of the project is listed");

    // Their stream rebuilds what they can see: the task was created for them, then
    // deleted when they left.
    let events = stream_events(&server, editor);
    let kinds: Vec<&str> = events.iter().filter_map(|e| e["type"].as_str()).collect();
    assert_eq!(kinds.last(), Some(&"project.removed"), "{kinds:?}");
    assert_eq!(
        events.last().map(|e| e["project"]["project_id"].clone()),
        Some(json!(f.project))
    );
    let deleted = &events[events.len() - 2];
    assert_eq!(deleted["type"], "task.deleted", "{events:?}");
    assert_eq!(deleted["task"]["id"].as_i64(), Some(f.task));
    // The owner's stream carries the editor's change as theirs to see, not to undo.
    let undo = call(&server, &team.owner, Method::POST, "/api/{user_id}/undo", None);
    assert_eq!(
        undo.status().as_u16(),
        200,
        "the owner's own latest change (the task) undoes"
    );
    let undone: Value = undo.json().expect("json");
    assert_eq!(undone["undone_type"], "task.created", "{undone}");
}

#[test]
fn a_viewer_cannot_undo_into_a_project_and_an_editor_undoes_only_their_own_change() {
    let server = TestServer::start(&["--no-rate-limit"]);
    let team = Team::sign_up(&server);
    let f = fixture(&server, &team, "undo");
    let task_path = format!("/api/{{user_id}}/tasks/{}", f.task);
    ok_json(
        call(
            &server,
            &team.editor,
            Method::PATCH,
            &task_path,
            Some(&json!({"title": "editor's"})),
        ),
        "edit",
    );
    ok_json(
        call(
            &server,
            &team.admin,
            Method::PATCH,
            &task_path,
            Some(&json!({"priority": "high"})),
        ),
        "admin edit",
    );
    // The editor's undo reverts the editor's change, not the admin's later one.
    let undone = ok_json(
        call(&server, &team.editor, Method::POST, "/api/{user_id}/undo", None),
        "undo",
    );
    assert_eq!(undone["task"]["title"], "shared", "{undone}");
    // Demoted to viewer, the editor's next undo is refused and not spent.
    ok_json(
        call(
            &server,
            &team.editor,
            Method::PATCH,
            &task_path,
            Some(&json!({"title": "again"})),
        ),
        "edit again",
    );
    let member = format!(
        "/api/{{user_id}}/projects/{}/members/{}",
        f.project, team.editor.id
    );
    ok_json(
        call(
            &server,
            &team.admin,
            Method::PATCH,
            &member,
            Some(&json!({"role": "viewer"})),
        ),
        "demote",
    );
    let refused = call(&server, &team.editor, Method::POST, "/api/{user_id}/undo", None);
    assert_eq!(refused.status().as_u16(), 403);
    let problem: Value = refused.json().expect("json");
    assert_eq!(problem["code"], "insufficient_role");
    ok_json(
        call(
            &server,
            &team.admin,
            Method::PATCH,
            &member,
            Some(&json!({"role": "editor"})),
        ),
        "promote",
    );
    let undone = ok_json(
        call(&server, &team.editor, Method::POST, "/api/{user_id}/undo", None),
        "undo once editor again",
    );
    assert_eq!(
        undone["task"]["title"], "shared",
        "the refused undo was kept: {undone}"
    );
}

#[test]
fn names_are_unique_per_owner_without_regard_to_case_and_the_owner_cannot_leave() {
    let server = TestServer::start(&["--no-rate-limit"]);
    let team = Team::sign_up(&server);
    let f = fixture(&server, &team, "Garden");
    let again = call(
        &server,
        &team.owner,
        Method::POST,
        "/api/{user_id}/projects",
        Some(&json!({"name": "  gARDEN "})),
    );
    assert_eq!(again.status().as_u16(), 409);
    let problem: Value = again.json().expect("json");
    assert_eq!(problem["code"], "project_exists");
    // Another owner may use the name.
    ok_json(
        call(
            &server,
            &team.admin,
            Method::POST,
            "/api/{user_id}/projects",
            Some(&json!({"name": "garden"})),
        ),
        "another owner's garden",
    );
    let leave = call(
        &server,
        &team.owner,
        Method::DELETE,
        &format!(
            "/api/{{user_id}}/projects/{}/members/{}",
            f.project, team.owner.id
        ),
        None,
    );
    assert_eq!(
        leave.status().as_u16(),
        403,
        "the owner hands over before leaving"
    );
    // A viewer leaves on their own.
    let leave = call(
        &server,
        &team.viewer,
        Method::DELETE,
        &format!(
            "/api/{{user_id}}/projects/{}/members/{}",
            f.project, team.viewer.id
        ),
        None,
    );
    assert_eq!(leave.status().as_u16(), 204);
    let listed = ok_json(
        call(
            &server,
            &team.viewer,
            Method::GET,
            "/api/{user_id}/projects",
            None,
        ),
        "list",
    );
    assert_eq!(listed, json!([]));
}

/// Every event in `who`'s stream so far (replayed from the start), as JSON with its
/// `type` and `task`.
fn stream_events(server: &TestServer, who: &Account) -> Vec<Value> {
    let mut reader = EventReader::open(server, who, Some(0)).expect("stream");
    let mut events = Vec::new();
    while let Some(message) = reader.next(Duration::from_secs(1)) {
        events.push(message.data);
    }
    events
}

#[test]
fn members_hear_of_joins_renames_and_the_end_of_a_project_and_an_invitee_of_the_invitation() {
    let server = TestServer::start(&["--no-rate-limit"]);
    let team = Team::sign_up(&server);
    let f = fixture(&server, &team, "news");
    let kinds = |who: &Account| -> Vec<String> {
        stream_events(&server, who)
            .iter()
            .filter(|e| e["project"].is_object())
            .filter_map(|e| e["type"].as_str().map(String::from))
            .collect()
    };
    // The viewer joined after the admin and the editor: they heard of the viewer and the
    // target joining; the viewer heard of themself and the target.
    let joins = kinds(&team.admin)
        .iter()
        .filter(|k| *k == "project.member_added")
        .count();
    assert_eq!(
        joins, 4,
        "the admin, the editor, the viewer and the target joined"
    );
    call(
        &server,
        &team.owner,
        Method::PATCH,
        &format!("/api/{{user_id}}/projects/{}", f.project),
        Some(&json!({"name": "renamed news"})),
    );
    let invited = call(
        &server,
        &team.owner,
        Method::POST,
        &format!("/api/{{user_id}}/projects/{}/invitations", f.project),
        Some(&json!({"email": team.stranger.email, "role": "viewer"})),
    );
    assert_eq!(invited.status().as_u16(), 201);
    let stranger = stream_events(&server, &team.stranger);
    assert_eq!(stranger.len(), 1, "{stranger:?}");
    assert_eq!(stranger[0]["type"], "invitation.received");
    assert_eq!(stranger[0]["project"]["name"], "renamed news");
    let deleted = call(
        &server,
        &team.owner,
        Method::DELETE,
        &format!("/api/{{user_id}}/projects/{}", f.project),
        None,
    );
    assert_eq!(deleted.status().as_u16(), 204);
    for who in [&team.admin, &team.viewer] {
        let heard = kinds(who);
        assert!(heard.contains(&"project.updated".to_string()), "{heard:?}");
        assert_eq!(
            heard.last().map(String::as_str),
            Some("project.removed"),
            "{heard:?}"
        );
    }
}
