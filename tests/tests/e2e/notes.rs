//! Notes on tasks over the real server: a note is a change of its task (a new version,
//! an event, history, undo), found by search, counted in lists; only its author deletes
//! it; roles hold; and notes added at once on two servers are all kept, in one order.

use reqwest::Method;
use serde_json::{Value, json};
use todo_e2e::api::{call_as as call, must, project_with};
use todo_e2e::{Account, TestServer, sign_up};

fn task(server: &TestServer, who: &Account, body: Value) -> Value {
    must(server, who, Method::POST, "/api/{me}/tasks", Some(body))
}

fn note(server: &TestServer, who: &Account, task: &Value, text: &str) -> (u16, Value) {
    call(
        server,
        who,
        Method::POST,
        &format!("/api/{{me}}/tasks/{}/notes", task["id"]),
        Some(json!({ "text": text })),
    )
}

fn get(server: &TestServer, who: &Account, task: &Value) -> Value {
    must(
        server,
        who,
        Method::GET,
        &format!("/api/{{me}}/tasks/{}", task["id"]),
        None,
    )
}

fn texts(task: &Value) -> Vec<String> {
    task["notes"]
        .as_array()
        .expect("notes")
        .iter()
        .map(|n| n["text"].as_str().expect("text").to_string())
        .collect()
}

#[test]
fn a_note_is_a_change_of_its_task_found_by_search_and_taken_back_by_undo() {
    let server = TestServer::start(&["--no-rate-limit"]);
    let ann = sign_up(&server, "notes");
    let plumber = task(&server, &ann, json!({"title": "Fix the sink"}));
    assert_eq!(plumber["note_count"], 0);

    let (status, first) = note(&server, &ann, &plumber, "Called the plumber\n\tno answer");
    assert_eq!(status, 201, "{first}");
    assert_eq!(first["text"], "Called the plumber\n\tno answer");
    assert_eq!(first["author_id"], ann.id.as_str());
    assert!(first["id"].as_str().is_some() && first["created_at"].as_str().is_some());
    let (status, _) = note(&server, &ann, &plumber, "He comes on Tuesday");
    assert_eq!(status, 201);

    let now = get(&server, &ann, &plumber);
    assert_eq!(
        texts(&now),
        ["Called the plumber\n\tno answer", "He comes on Tuesday"]
    );
    assert_eq!(now["note_count"], 2);
    assert_eq!(now["version"], 3, "each note is a new version of the task");

    // Lists count notes without carrying them; search reads them.
    let listed = must(&server, &ann, Method::GET, "/api/{me}/tasks", None);
    let listed = &listed.as_array().expect("list")[0];
    assert_eq!(listed["note_count"], 2);
    assert!(listed.get("notes").is_none(), "{listed}");
    let found = must(&server, &ann, Method::GET, "/api/{me}/tasks?q=tuesday", None);
    assert_eq!(found.as_array().map(Vec::len), Some(1));
    let none = must(&server, &ann, Method::GET, "/api/{me}/tasks?q=wednesday", None);
    assert_eq!(none.as_array().map(Vec::len), Some(0));

    // History holds each note's change; undo takes the last note back.
    let history = must(
        &server,
        &ann,
        Method::GET,
        &format!("/api/{{me}}/tasks/{}/history", plumber["id"]),
        None,
    );
    assert_eq!(history.as_array().map(Vec::len), Some(3), "{history}");
    must(&server, &ann, Method::POST, "/api/{me}/undo", None);
    assert_eq!(
        texts(&get(&server, &ann, &plumber)),
        ["Called the plumber\n\tno answer"]
    );

    // Deleting the task and undoing that brings its notes back.
    must(
        &server,
        &ann,
        Method::DELETE,
        &format!("/api/{{me}}/tasks/{}", plumber["id"]),
        None,
    );
    must(&server, &ann, Method::POST, "/api/{me}/undo", None);
    let back = get(&server, &ann, &plumber);
    assert_eq!(texts(&back), ["Called the plumber\n\tno answer"]);
    assert_eq!(back["notes"][0]["id"], first["id"], "the same note, not a copy");

    // The author deletes a note; a second delete finds nothing.
    let path = format!(
        "/api/{{me}}/tasks/{}/notes/{}",
        plumber["id"],
        first["id"].as_str().expect("id")
    );
    let (status, _) = call(&server, &ann, Method::DELETE, &path, None);
    assert_eq!(status, 204);
    assert_eq!(get(&server, &ann, &plumber)["note_count"], 0);
    let (status, body) = call(&server, &ann, Method::DELETE, &path, None);
    assert_eq!((status, body["code"].as_str()), (404, Some("note_not_found")));
}

#[test]
fn notes_are_checked_counted_and_kept_to_their_task() {
    let server = TestServer::start(&["--no-rate-limit"]);
    let ann = sign_up(&server, "note-rules");
    let bob = sign_up(&server, "note-other");
    let errand = task(&server, &ann, json!({"title": "Errand"}));
    for (text, why) in [
        ("", "empty"),
        ("  \n ", "blank"),
        ("bell\u{7}", "a control character"),
    ] {
        let (status, body) = note(&server, &ann, &errand, text);
        assert_eq!(
            (status, body["field"].as_str()),
            (422, Some("text")),
            "{why}: {body}"
        );
    }
    let (status, _) = note(&server, &ann, &errand, &"x".repeat(10_001));
    assert_eq!(status, 422);
    let (status, _) = note(&server, &ann, &errand, &"é".repeat(10_000));
    assert_eq!(status, 201, "10,000 characters (20,000 bytes) is allowed");

    // Someone else's task is missing to them, as any task of another's is.
    let (status, body) = call(
        &server,
        &bob,
        Method::POST,
        &format!("/api/{{me}}/tasks/{}/notes", errand["id"]),
        Some(json!({"text": "mine now"})),
    );
    assert_eq!((status, body["code"].as_str()), (404, Some("task_not_found")));
    let (status, _) = call(
        &server,
        &ann,
        Method::POST,
        "/api/{me}/tasks/999999/notes",
        Some(json!({"text": "nowhere"})),
    );
    assert_eq!(status, 404);

    for n in 1..100 {
        let (status, body) = note(&server, &ann, &errand, &format!("line {n}"));
        assert_eq!(status, 201, "note {n}: {body}");
    }
    let (status, body) = note(&server, &ann, &errand, "one too many");
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("limit_reached")),
        "{body}"
    );
    assert_eq!(get(&server, &ann, &errand)["note_count"], 100);
}

/// In a project an editor writes notes, a viewer reads them but adds none, and nobody
/// but its author deletes a note, not even the owner.
#[test]
fn in_a_project_roles_decide_who_adds_and_only_the_author_deletes() {
    let server = TestServer::start(&["--no-rate-limit"]);
    let owner = sign_up(&server, "note-owner");
    let editor = sign_up(&server, "note-editor");
    let viewer = sign_up(&server, "note-viewer");
    let project = project_with(
        &server,
        &owner,
        "house",
        &[(&editor, "editor"), (&viewer, "viewer")],
    );
    let roof = task(&server, &owner, json!({"title": "Roof", "project_id": project}));
    let (status, by_editor) = note(&server, &editor, &roof, "Two tiles are loose");
    assert_eq!(status, 201);
    assert_eq!(by_editor["author_id"], editor.id.as_str());
    let (status, body) = note(&server, &viewer, &roof, "I saw it too");
    assert_eq!((status, body["code"].as_str()), (403, Some("insufficient_role")));
    assert_eq!(texts(&get(&server, &viewer, &roof)), ["Two tiles are loose"]);

    let path = format!(
        "/api/{{me}}/tasks/{}/notes/{}",
        roof["id"],
        by_editor["id"].as_str().expect("id")
    );
    let (status, body) = call(&server, &owner, Method::DELETE, &path, None);
    assert_eq!((status, body["code"].as_str()), (403, Some("not_note_author")));
    let (status, _) = call(&server, &editor, Method::DELETE, &path, None);
    assert_eq!(status, 204);
}

/// Notes added at once to one task through two servers are all kept, each a version of
/// the task of its own, none lost and none twice.
#[test]
fn notes_added_at_once_on_two_servers_are_all_kept_in_one_order() {
    let args = ["--issuer", "http://todo.test", "--no-rate-limit"];
    let first = TestServer::start(&args);
    let second = TestServer::start_replica(&first, &args);
    let ann = sign_up(&first, "note-race");
    let diary = task(&first, &ann, json!({"title": "Diary"}));
    const EACH: usize = 10;
    std::thread::scope(|scope| {
        for (s, server) in [&first, &second].into_iter().enumerate() {
            for n in 0..EACH {
                let (ann, diary) = (&ann, &diary);
                scope.spawn(move || {
                    let (status, body) = note(server, ann, diary, &format!("server {s} note {n}"));
                    assert_eq!(status, 201, "{body}");
                });
            }
        }
    });
    let now = get(&first, &ann, &diary);
    let mut kept = texts(&now);
    assert_eq!(kept.len(), 2 * EACH);
    assert_eq!(now["version"], 1 + 2 * EACH as u64);
    kept.sort();
    kept.dedup();
    assert_eq!(kept.len(), 2 * EACH, "no note twice");
    assert_eq!(
        texts(&get(&second, &ann, &diary)),
        texts(&now),
        "one order on both"
    );
}

/// `todo note` adds a note (from words or stdin), `todo show` prints it under the start
/// of its id, and `--delete` takes that start; a mistake is a message and an exit code.
#[test]
fn todo_note_adds_shows_and_deletes_notes() {
    let server = TestServer::start(&["--no-rate-limit"]);
    let ann = todo_e2e::CliUser::new(&server);
    ann.sign_up("cli-notes");
    let id = ann.run(&["add", "Fix", "the", "sink", "--quiet"]).ok().stdout;
    let id = id.trim();
    ann.run(&["note", id, "Called", "the", "plumber"]).ok();
    ann.run_with_stdin(&["note", id, "-"], Some("Line one\nline two\n"))
        .ok();
    let shown = ann.run(&["show", id]).ok().stdout;
    assert!(shown.contains("notes:"), "{shown}");
    assert!(shown.contains("    Called the plumber"), "{shown}");
    assert!(shown.contains("    Line one\n    line two"), "{shown}");

    let task = ann.run(&["show", id, "--json"]).ok().json();
    let first = task["notes"][0]["id"].as_str().expect("id").to_string();
    ann.run(&["note", id, "--delete", &first[..6]]).ok();
    let task = ann.run(&["show", id, "--json"]).ok().json();
    assert_eq!(task["note_count"], 1);
    assert_eq!(task["notes"][0]["text"], "Line one\nline two\n");

    let missing = ann.run(&["note", id, "--delete", &first[..6]]);
    assert_ne!(missing.code, 0);
    assert!(
        missing.stderr.contains("no note whose id starts with"),
        "{missing:?}"
    );
    let blank = ann.run(&["note", id, "   "]);
    assert_ne!(blank.code, 0);
    assert!(blank.stderr.contains("blank"), "{blank:?}");
    let nothing = ann.run(&["note", id]);
    assert_eq!(nothing.code, 2, "a usage error: {nothing:?}");
}
