//! Dependencies over the real server: `depends_on` and `blocked`, a loop refused and
//! named, the blocked/unblocked filters, and a deleted task taken out of what others
//! wait for (an event each) in a change one undo takes back.

use reqwest::Method;
use serde_json::{Value, json};
use todo_e2e::api::{call_as as call, must, project_with};
use todo_e2e::{Account, TestServer, sign_up};

fn create(server: &TestServer, who: &Account, body: Value) -> Value {
    must(server, who, Method::POST, "/api/{me}/tasks", Some(body))
}

fn get(server: &TestServer, who: &Account, id: &Value) -> Value {
    must(server, who, Method::GET, &format!("/api/{{me}}/tasks/{id}"), None)
}

fn titles(list: &Value) -> Vec<String> {
    let mut titles: Vec<String> = list
        .as_array()
        .expect("list")
        .iter()
        .map(|t| t["title"].as_str().expect("title").to_string())
        .collect();
    titles.sort();
    titles
}

#[test]
fn a_task_waits_for_others_is_blocked_until_they_are_done_and_never_in_a_loop() {
    let server = TestServer::start(&["--no-rate-limit"]);
    let ann = sign_up(&server, "deps");
    let permit = create(&server, &ann, json!({"title": "Get the permit"}));
    let plans = create(&server, &ann, json!({"title": "Draw the plans"}));
    let build = create(
        &server,
        &ann,
        json!({"title": "Build the shed", "depends_on": [permit["id"], plans["id"], permit["id"]]}),
    );
    let mut ids = vec![
        permit["id"].as_i64().expect("id"),
        plans["id"].as_i64().expect("id"),
    ];
    ids.sort();
    assert_eq!(build["depends_on"], json!(ids), "each once, in order");
    assert_eq!(build["blocked"], true);
    let blocked = must(&server, &ann, Method::GET, "/api/{me}/tasks?status=blocked", None);
    assert_eq!(titles(&blocked), ["Build the shed"]);
    let free = must(
        &server,
        &ann,
        Method::GET,
        "/api/{me}/tasks?status=unblocked",
        None,
    );
    assert_eq!(titles(&free), ["Draw the plans", "Get the permit"]);

    // A loop is refused and named: permit -> build -> permit.
    let (status, problem) = call(
        &server,
        &ann,
        Method::PATCH,
        &format!("/api/{{me}}/tasks/{}", permit["id"]),
        Some(json!({"depends_on": [build["id"]]})),
    );
    assert_eq!(
        (status, problem["code"].as_str(), problem["field"].as_str()),
        (422, Some("dependency_cycle"), Some("depends_on")),
        "{problem}"
    );
    let named = format!("{} -> {} -> {}", permit["id"], build["id"], permit["id"]);
    assert!(
        problem["detail"].as_str().expect("detail").contains(&named),
        "{problem}"
    );
    let (status, problem) = call(
        &server,
        &ann,
        Method::POST,
        "/api/{me}/tasks",
        Some(json!({"title": "x", "depends_on": [999_999]})),
    );
    assert_eq!(
        (status, problem["code"].as_str()),
        (422, Some("invalid_dependency"))
    );

    for done in [&permit, &plans] {
        must(
            &server,
            &ann,
            Method::PATCH,
            &format!("/api/{{me}}/tasks/{}/complete", done["id"]),
            Some(json!({"completed": true})),
        );
    }
    assert_eq!(
        get(&server, &ann, &build["id"])["blocked"],
        false,
        "both are done"
    );
    let cleared = must(
        &server,
        &ann,
        Method::PATCH,
        &format!("/api/{{me}}/tasks/{}", build["id"]),
        Some(json!({"depends_on": null})),
    );
    assert_eq!(cleared["depends_on"], json!([]));
}

/// Deleting a task takes it out of what others wait for, each with an event, in the
/// same change as the delete: one undo puts both back. Tasks of another project are not
/// dependencies, and a task others wait for stays in their project.
#[test]
fn a_deleted_dependency_leaves_its_dependents_and_one_undo_restores_both() {
    let server = TestServer::start(&["--no-rate-limit"]);
    let owner = sign_up(&server, "deps-owner");
    let editor = sign_up(&server, "deps-editor");
    let project = project_with(&server, &owner, "garden", &[(&editor, "editor")]);
    let soil = create(&server, &owner, json!({"title": "Soil", "project_id": project}));
    let seeds = create(
        &server,
        &editor,
        json!({"title": "Seeds", "project_id": project, "depends_on": [soil["id"]]}),
    );
    let personal = create(&server, &owner, json!({"title": "Mine"}));
    let (status, problem) = call(
        &server,
        &owner,
        Method::PATCH,
        &format!("/api/{{me}}/tasks/{}", personal["id"]),
        Some(json!({"depends_on": [soil["id"]]})),
    );
    assert_eq!(
        (status, problem["code"].as_str()),
        (422, Some("invalid_dependency")),
        "{problem}"
    );
    let (status, problem) = call(
        &server,
        &owner,
        Method::PATCH,
        &format!("/api/{{me}}/tasks/{}", soil["id"]),
        Some(json!({"project_id": null})),
    );
    assert_eq!(
        (status, problem["code"].as_str()),
        (422, Some("invalid_dependency")),
        "{problem}"
    );

    let mut stream = todo_e2e::sse::EventReader::open(&server, &editor, None).expect("stream");
    must(
        &server,
        &owner,
        Method::DELETE,
        &format!("/api/{{me}}/tasks/{}", soil["id"]),
        None,
    );
    let seen: Vec<(String, Value)> = (0..2)
        .map(|_| {
            let message = stream.next(std::time::Duration::from_secs(5)).expect("an event");
            (message.event, message.data["task"]["id"].clone())
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("task.deleted".to_string(), soil["id"].clone()),
            ("task.updated".to_string(), seeds["id"].clone())
        ]
    );
    let now = get(&server, &editor, &seeds["id"]);
    assert_eq!(
        (now["depends_on"].clone(), now["blocked"].clone()),
        (json!([]), json!(false))
    );
    must(&server, &owner, Method::POST, "/api/{me}/undo", None);
    let back = get(&server, &editor, &seeds["id"]);
    assert_eq!(
        back["depends_on"],
        json!([soil["id"]]),
        "one undo brought both back"
    );
    assert_eq!(back["blocked"], true);
}

/// `todo next` shows what can start now, most urgent first: not what waits for a
/// pending task, not what is hidden until later.
#[test]
fn todo_next_shows_what_can_start_most_urgent_first() {
    let server = TestServer::start(&["--no-rate-limit"]);
    let ann = todo_e2e::CliUser::new(&server);
    ann.sign_up("cli-next");
    let permit = ann
        .run(&["add", "Get the permit", "--due", "2031-01-10", "--quiet"])
        .ok()
        .stdout;
    ann.run(&[
        "add",
        "Build the shed",
        "--due",
        "2031-01-05",
        "--depends",
        permit.trim(),
    ])
    .ok();
    ann.run(&[
        "add",
        "Call the bank",
        "--due",
        "2031-01-20",
        "--priority",
        "high",
    ])
    .ok();
    ann.run(&["add", "Later", "--wait", "2031-06-01"]).ok();
    let next = ann.run(&["next", "--json"]).ok().json();
    let titles: Vec<&str> = next
        .as_array()
        .expect("tasks")
        .iter()
        .filter_map(|t| t["title"].as_str())
        .collect();
    assert_eq!(
        titles,
        ["Get the permit", "Call the bank"],
        "soonest due first; blocked and waiting left out"
    );
    let one = ann.run(&["next", "-n", "1", "--json"]).ok().json();
    assert_eq!(one.as_array().map(Vec::len), Some(1));
}

/// `todo import` brings over what links tasks: a Taskwarrior file's annotations become
/// notes, `depends` the tasks it waits for (by uuid), a pending instance's `recur` its
/// rule; a `todo export` carries notes, dependencies and parents into another account
/// with the ids the new tasks got. Importing again adds nothing, notes included.
#[test]
fn an_import_links_what_the_file_links() {
    let server = TestServer::start(&["--no-rate-limit"]);
    let ann = todo_e2e::CliUser::new(&server);
    ann.sign_up("import-links");
    let dir = tempfile::tempdir().expect("dir");
    let tw = dir.path().join("tw.json");
    std::fs::write(
        &tw,
        json!([
            {"uuid": "u-permit", "description": "Get the permit", "status": "pending", "entry": "20300101T000000Z",
             "annotations": [{"entry": "20300101T000000Z", "description": "town hall, room 3"}]},
            {"uuid": "u-shed", "description": "Build the shed", "status": "pending", "entry": "20300101T000000Z",
             "depends": ["u-permit"]},
            {"uuid": "u-water", "description": "Water plants", "status": "pending", "entry": "20300101T000000Z",
             "due": "20310324T080000Z", "recur": "weekly", "parent": "u-template"}
        ])
        .to_string(),
    )
    .expect("write");
    ann.run(&["import", tw.to_str().expect("path")]).ok();
    let tasks = ann.run(&["list", "--all", "--json"]).ok().json();
    let by_title = |title: &str| -> Value {
        tasks
            .as_array()
            .expect("tasks")
            .iter()
            .find(|t| t["title"] == title)
            .cloned()
            .unwrap_or_else(|| panic!("{title} was imported: {tasks}"))
    };
    let (permit, shed, water) = (
        by_title("Get the permit"),
        by_title("Build the shed"),
        by_title("Water plants"),
    );
    assert_eq!(shed["depends_on"], json!([permit["id"]]));
    assert_eq!(permit["note_count"], 1);
    assert_eq!(water["recurrence"]["rule"], "FREQ=WEEKLY");
    let again = ann
        .run(&["import", tw.to_str().expect("path"), "--json"])
        .ok()
        .json();
    assert_eq!(again["already_imported"], 3);
    let permit_now = ann
        .run(&["show", &permit["id"].to_string(), "--json"])
        .ok()
        .json();
    assert_eq!(
        permit_now["notes"].as_array().map(Vec::len),
        Some(1),
        "no second copy"
    );

    // Our own export, into another account: the links follow the new ids.
    ann.run(&["add", "Sand the boards", "--parent", &shed["id"].to_string()])
        .ok();
    let exported = dir.path().join("export.json");
    let out = ann.run(&["export"]).ok().stdout;
    std::fs::write(&exported, out).expect("write");
    let bob = todo_e2e::CliUser::new(&server);
    bob.sign_up("import-links-bob");
    bob.run(&["add", "Bob's own first"]).ok();
    bob.run(&["import", exported.to_str().expect("path")]).ok();
    let mine = bob.run(&["list", "--all", "--json"]).ok().json();
    let find = |title: &str| -> Value {
        mine.as_array()
            .expect("tasks")
            .iter()
            .find(|t| t["title"] == title)
            .cloned()
            .unwrap_or_else(|| panic!("{title}: {mine}"))
    };
    let (bob_permit, bob_shed, bob_sand) = (
        find("Get the permit"),
        find("Build the shed"),
        find("Sand the boards"),
    );
    assert_eq!(bob_shed["depends_on"], json!([bob_permit["id"]]));
    assert_eq!(bob_sand["parent_id"], bob_shed["id"]);
    let notes = bob
        .run(&["show", &bob_permit["id"].to_string(), "--json"])
        .ok()
        .json();
    assert_eq!(notes["notes"][0]["text"], "town hall, room 3");
}
