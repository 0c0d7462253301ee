//! Subtasks over the real server: `parent_id` on create and patch, the `parent=` filter,
//! live counts, the project rule, a delete that takes the subtasks along in every
//! member's stream, and `todo add --parent` / `todo list --parent`.

use reqwest::Method;
use serde_json::{Value, json};
use todo_e2e::api::{call_as as call, must, project_with};
use todo_e2e::sse::EventReader;
use todo_e2e::{Account, TestServer, sign_up};

fn create(server: &TestServer, who: &Account, body: Value) -> (u16, Value) {
    call(server, who, Method::POST, "/api/{me}/tasks", Some(body))
}

fn ids(list: &Value) -> Vec<i64> {
    let mut ids: Vec<i64> = list
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|t| t["id"].as_i64())
        .collect();
    ids.sort();
    ids
}

#[test]
fn subtasks_are_made_filtered_counted_and_kept_in_their_parents_place() {
    let server = TestServer::start(&["--no-rate-limit"]);
    let ann = sign_up(&server, "subtasks");
    let (_, move_house) = create(&server, &ann, json!({"title": "Move house"}));
    let parent = move_house["id"].as_i64().expect("id");
    let (status, boxes) = create(&server, &ann, json!({"title": "Buy boxes", "parent_id": parent}));
    assert_eq!(status, 201, "{boxes}");
    assert_eq!(boxes["parent_id"], parent);
    let (_, van) = create(&server, &ann, json!({"title": "Book a van", "parent_id": parent}));
    must(
        &server,
        &ann,
        Method::PATCH,
        &format!("/api/{{me}}/tasks/{}/complete", van["id"]),
        Some(json!({"completed": true})),
    );
    let now = must(
        &server,
        &ann,
        Method::GET,
        &format!("/api/{{me}}/tasks/{parent}"),
        None,
    );
    assert_eq!(now["subtasks"], json!({"total": 2, "completed": 1}));

    let under = must(
        &server,
        &ann,
        Method::GET,
        &format!("/api/{{me}}/tasks?parent={parent}"),
        None,
    );
    assert_eq!(ids(&under), ids(&json!([boxes, van])));
    let top = must(&server, &ann, Method::GET, "/api/{me}/tasks?parent=none", None);
    assert_eq!(ids(&top), vec![parent]);
    let (status, body) = call(&server, &ann, Method::GET, "/api/{me}/tasks?parent=boxes", None);
    assert_eq!((status, body["field"].as_str()), (422, Some("parent")), "{body}");

    // Refused places name the field; nothing is written.
    for (body, why) in [
        (json!({"title": "x", "parent_id": 999_999}), "no such task"),
        (json!({"title": "x", "parent_id": -1}), "no such task"),
    ] {
        let (status, problem) = create(&server, &ann, body);
        assert_eq!(
            (status, problem["code"].as_str(), problem["field"].as_str()),
            (422, Some("invalid_parent"), Some("parent_id")),
            "{why}: {problem}"
        );
    }
    let (status, problem) = call(
        &server,
        &ann,
        Method::PATCH,
        &format!("/api/{{me}}/tasks/{parent}"),
        Some(json!({"parent_id": boxes["id"]})),
    );
    assert_eq!(
        (status, problem["code"].as_str()),
        (422, Some("invalid_parent")),
        "a loop"
    );
    // Someone else's task is not a parent to them (and reveals nothing more).
    let bob = sign_up(&server, "subtasks-other");
    let (status, problem) = create(&server, &bob, json!({"title": "mine", "parent_id": parent}));
    assert_eq!((status, problem["code"].as_str()), (422, Some("invalid_parent")));

    // A subtask stays in its parent's project; a task with subtasks does not move.
    let project = project_with(&server, &ann, "home", &[]);
    let (status, problem) = call(
        &server,
        &ann,
        Method::PATCH,
        &format!("/api/{{me}}/tasks/{}", boxes["id"]),
        Some(json!({"project_id": project})),
    );
    assert_eq!(
        (status, problem["code"].as_str()),
        (422, Some("invalid_parent")),
        "{problem}"
    );
    let (status, problem) = call(
        &server,
        &ann,
        Method::PATCH,
        &format!("/api/{{me}}/tasks/{parent}"),
        Some(json!({"project_id": project})),
    );
    assert_eq!(
        (status, problem["code"].as_str()),
        (422, Some("invalid_parent")),
        "{problem}"
    );
    // Detached, it moves.
    let moved = must(
        &server,
        &ann,
        Method::PATCH,
        &format!("/api/{{me}}/tasks/{}", boxes["id"]),
        Some(json!({"project_id": project, "parent_id": null})),
    );
    assert!(
        moved["parent_id"].is_null() && moved["project_id"] == project.as_str(),
        "{moved}"
    );
}

/// Deleting a shared task deletes its subtasks in the same change: every member's stream
/// gets a deletion for each, and the author's one undo brings the whole tree back.
#[test]
fn a_deleted_parent_takes_its_subtasks_in_every_stream_and_one_undo_brings_them_back() {
    let server = TestServer::start(&["--no-rate-limit"]);
    let owner = sign_up(&server, "tree-owner");
    let editor = sign_up(&server, "tree-editor");
    let project = project_with(&server, &owner, "trip", &[(&editor, "editor")]);
    let (_, trip) = create(&server, &owner, json!({"title": "Trip", "project_id": project}));
    let trip_id = trip["id"].as_i64().expect("id");
    let (status, tickets) = create(
        &server,
        &editor,
        json!({"title": "Tickets", "project_id": project, "parent_id": trip_id}),
    );
    assert_eq!(status, 201, "{tickets}");
    let (_, seats) = create(
        &server,
        &editor,
        json!({"title": "Seats", "project_id": project, "parent_id": tickets["id"]}),
    );
    let mut stream = EventReader::open(&server, &editor, None).expect("stream");
    must(
        &server,
        &owner,
        Method::DELETE,
        &format!("/api/{{me}}/tasks/{trip_id}"),
        None,
    );
    let gone: Vec<i64> = (0..3)
        .map(|_| {
            let message = stream.next(std::time::Duration::from_secs(5)).expect("an event");
            assert_eq!(message.data["type"], "task.deleted", "{message:?}");
            message.data["task"]["id"].as_i64().expect("task id")
        })
        .collect();
    assert_eq!(
        gone,
        vec![
            trip_id,
            tickets["id"].as_i64().expect("id"),
            seats["id"].as_i64().expect("id")
        ],
        "the parent first, then each level below it"
    );
    let undone = must(&server, &owner, Method::POST, "/api/{me}/undo", None);
    assert_eq!(undone["task"]["id"], trip_id, "{undone}");
    let back = must(
        &server,
        &editor,
        Method::GET,
        &format!("/api/{{me}}/tasks/{}", seats["id"]),
        None,
    );
    assert_eq!(back["parent_id"], tickets["id"], "the tree is back as it was");
    // The next undo goes past the whole delete, to the owner's creating the trip; the
    // subtasks made since stay, as tasks of their own.
    let next = must(&server, &owner, Method::POST, "/api/{me}/undo", None);
    assert_eq!(next["undone_type"], "task.created", "{next}");
    let kept = must(
        &server,
        &editor,
        Method::GET,
        &format!("/api/{{me}}/tasks/{}", tickets["id"]),
        None,
    );
    assert!(kept["parent_id"].is_null(), "{kept}");
}

/// `todo add --parent`, `todo list --parent` and `todo edit --no-parent`.
#[test]
fn the_cli_makes_and_lists_subtasks() {
    let server = TestServer::start(&["--no-rate-limit"]);
    let ann = todo_e2e::CliUser::new(&server);
    ann.sign_up("cli-subtasks");
    let parent = ann
        .run(&["add", "Taxes", "--quiet"])
        .ok()
        .stdout
        .trim()
        .to_string();
    let child = ann
        .run(&["add", "Find receipts", "--parent", &parent, "--quiet"])
        .ok()
        .stdout
        .trim()
        .to_string();
    let under = ann.run(&["list", "--parent", &parent, "--json"]).ok().json();
    assert_eq!(under[0]["id"].to_string(), child);
    let grandchild = ann
        .run(&["add", "Scan them", "--parent", &child, "--quiet"])
        .ok()
        .stdout
        .trim()
        .to_string();
    ann.run(&["add", "Send it", "--parent", &parent, "--quiet"]).ok();
    ann.run(&["done", &grandchild]).ok();
    // `todo show` draws the tree: each step under its own parent, done ones ticked.
    let shown = ann.run(&["show", &parent]).ok().stdout;
    let lines: Vec<&str> = shown
        .lines()
        .skip_while(|l| !l.contains("subtask tree"))
        .skip(1)
        .collect();
    assert_eq!(lines.len(), 3, "{shown}");
    assert!(
        lines[0].starts_with("    · #") && lines[0].ends_with("Find receipts"),
        "{shown}"
    );
    assert!(
        lines[1].starts_with("      ✓ #") && lines[1].ends_with("Scan them"),
        "{shown}"
    );
    assert!(
        lines[2].starts_with("    · #") && lines[2].ends_with("Send it"),
        "{shown}"
    );
    let refused = ann.run(&["add", "Nowhere", "--parent", "999999"]);
    assert_ne!(refused.code, 0);
    assert!(refused.stderr.contains("999999"), "{refused:?}");
    ann.run(&["edit", &child, "--no-parent"]).ok();
    let top = ann.run(&["list", "--parent", "none", "--json"]).ok().json();
    assert_eq!(top.as_array().map(Vec::len), Some(2), "{top}");
}
