//! The task routes over HTTP against the real server: success paths, validation,
//! and the 401/403/404 order of checks.

use serde_json::{Value, json};
use todo_api::ProblemCode;
use todo_e2e::api::{assert_problem, bearer, create, create_task, list, list_tasks};
use todo_e2e::{TestServer, http, sign_up};

#[test]
fn every_task_route_works_for_its_owner() {
    let server = TestServer::start(&[]);
    let ann = sign_up(&server, "ann");
    let base = format!("/api/{}/tasks", ann.id);

    let response = bearer(http().post(server.url(&base)), &ann.access_token)
        .json(
            &json!({"title": "  Buy milk ", "description": "2 litres", "priority": "high",
                      "due_at": "2030-01-02T03:04:05+02:00", "tags": ["home", "shop", "home"]}),
        )
        .send()
        .expect("create");
    assert_eq!(response.status().as_u16(), 201);
    let location = response.headers()["location"]
        .to_str()
        .expect("ascii")
        .to_string();
    let task: Value = response.json().expect("json");
    let id = task["id"].as_i64().expect("id");
    assert_eq!(location, format!("{base}/{id}"));
    assert_eq!(task["title"], "Buy milk");
    assert_eq!(task["user_id"], ann.id.as_str());
    assert_eq!(task["priority"], "high");
    assert_eq!(task["due_at"], "2030-01-02T01:04:05Z", "stored and shown in UTC");
    assert_eq!(task["tags"], json!(["home", "shop"]));
    assert_eq!(task["completed"], false);
    assert_eq!(task["completed_at"], Value::Null);

    let fetched: Value = bearer(http().get(server.url(&location)), &ann.access_token)
        .send()
        .expect("get")
        .json()
        .expect("json");
    assert_eq!(fetched, task);

    let replaced = bearer(http().put(server.url(&location)), &ann.access_token)
        .json(&json!({"title": "Buy oat milk"}))
        .send()
        .expect("put");
    assert_eq!(replaced.status().as_u16(), 200);
    let replaced: Value = replaced.json().expect("json");
    assert_eq!(replaced["title"], "Buy oat milk");
    assert_eq!(replaced["description"], "", "PUT is a full replace");
    assert_eq!(replaced["priority"], "medium");
    assert_eq!(replaced["tags"], json!([]));
    assert_eq!(replaced["created_at"], task["created_at"]);

    let toggle = |expect_completed: bool| {
        let r = bearer(
            http().patch(server.url(&format!("{location}/complete"))),
            &ann.access_token,
        )
        .send()
        .expect("patch");
        assert_eq!(r.status().as_u16(), 200);
        let t: Value = r.json().expect("json");
        assert_eq!(t["completed"], expect_completed);
        assert_eq!(t["completed_at"].is_string(), expect_completed);
    };
    toggle(true);
    toggle(false);

    let deleted = bearer(http().delete(server.url(&location)), &ann.access_token)
        .send()
        .expect("delete");
    assert_eq!(deleted.status().as_u16(), 204);
    let gone = bearer(http().get(server.url(&location)), &ann.access_token)
        .send()
        .expect("get");
    assert_problem(gone, 404, ProblemCode::TaskNotFound);
}

#[test]
fn list_filters_sorts_pages_and_counts() {
    let server = TestServer::start(&[]);
    let ann = sign_up(&server, "ann");
    let t = &ann.access_token;
    let a = create_task(
        &server,
        &ann.id,
        t,
        json!({"title": "alpha report", "priority": "low", "tags": ["work"]}),
    );
    let b = create_task(
        &server,
        &ann.id,
        t,
        json!({"title": "Bravo", "description": "the 100% plan", "priority": "high", "due_at": "2031-01-01T00:00:00Z"}),
    );
    let c = create_task(
        &server,
        &ann.id,
        t,
        json!({"title": "charlie", "tags": ["work", "home"], "due_at": "2030-01-01T00:00:00Z"}),
    );
    bearer(
        http().patch(server.url(&format!("/api/{}/tasks/{}/complete", ann.id, c["id"]))),
        t,
    )
    .send()
    .expect("toggle");
    let ids = |tasks: &[Value]| {
        tasks
            .iter()
            .map(|t| t["id"].as_i64().expect("id"))
            .collect::<Vec<_>>()
    };
    let (id_a, id_b, id_c) = (a["id"].as_i64(), b["id"].as_i64(), c["id"].as_i64());
    let (id_a, id_b, id_c) = (id_a.expect("a"), id_b.expect("b"), id_c.expect("c"));

    let (all, total) = list_tasks(&server, &ann.id, t, "");
    assert_eq!(
        (ids(&all), total),
        (vec![id_c, id_b, id_a], 3),
        "newest first by default"
    );
    let (pending, total) = list_tasks(&server, &ann.id, t, "?status=pending");
    assert_eq!((ids(&pending), total), (vec![id_b, id_a], 2));
    let (done, _) = list_tasks(&server, &ann.id, t, "?status=completed");
    assert_eq!(ids(&done), vec![id_c]);
    let (found, _) = list_tasks(&server, &ann.id, t, "?q=100%25");
    assert_eq!(
        ids(&found),
        vec![id_b],
        "search matches the description, % is literal"
    );
    let (found, _) = list_tasks(&server, &ann.id, t, "?q=REPORT");
    assert_eq!(ids(&found), vec![id_a], "search ignores ASCII case");
    let (tagged, _) = list_tasks(&server, &ann.id, t, "?tag=work&sort=title&order=asc");
    assert_eq!(ids(&tagged), vec![id_a, id_c]);
    let (high, _) = list_tasks(&server, &ann.id, t, "?priority=high");
    assert_eq!(ids(&high), vec![id_b]);
    let (by_due, _) = list_tasks(&server, &ann.id, t, "?sort=due&order=asc");
    assert_eq!(ids(&by_due), vec![id_c, id_b, id_a], "no due date sorts last");
    let (by_priority, _) = list_tasks(&server, &ann.id, t, "?sort=priority&order=desc");
    assert_eq!(ids(&by_priority), vec![id_b, id_c, id_a]);
    let (page, total) = list_tasks(&server, &ann.id, t, "?limit=1&offset=1");
    assert_eq!(
        (ids(&page), total),
        (vec![id_b], 3),
        "a page, and the total of all matches"
    );
}

#[test]
fn bad_task_input_is_refused_and_changes_nothing() {
    let server = TestServer::start(&[]);
    let ann = sign_up(&server, "ann");
    let url = server.url(&format!("/api/{}/tasks", ann.id));
    let post = |body: &str| {
        bearer(http().post(&url), &ann.access_token)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .expect("post")
    };
    let field = |r, f: &str| {
        let body = assert_problem(r, 422, ProblemCode::InvalidField);
        assert_eq!(body["field"], f);
    };
    field(post(r#"{"title": "   "}"#), "title");
    field(post(&json!({"title": "x".repeat(201)}).to_string()), "title");
    field(
        post(&json!({"title": "t", "description": "d".repeat(1001)}).to_string()),
        "description",
    );
    field(
        post(&json!({"title": "t", "tags": (0..11).map(|n| n.to_string()).collect::<Vec<_>>()}).to_string()),
        "tags",
    );
    field(
        post(&json!({"title": "t", "tags": ["x".repeat(33)]}).to_string()),
        "tags",
    );
    assert_problem(post(r#"{"title": "#), 400, ProblemCode::InvalidBody);
    assert_problem(post(r#"{"title": ["a"]}"#), 400, ProblemCode::InvalidBody);
    assert_problem(
        post(r#"{"title": "t", "priority": "urgent"}"#),
        400,
        ProblemCode::InvalidBody,
    );
    assert_problem(
        post(r#"{"title": "t", "due_at": "tomorrow"}"#),
        400,
        ProblemCode::InvalidBody,
    );
    let big = json!({"title": "t", "description": "x".repeat(70 * 1024)}).to_string();
    assert_problem(post(&big), 413, ProblemCode::PayloadTooLarge);

    let list = |q: &str| {
        bearer(http().get(format!("{url}{q}")), &ann.access_token)
            .send()
            .expect("list")
    };
    let body = assert_problem(list("?limit=501"), 422, ProblemCode::InvalidField);
    assert_eq!(body["field"], "limit");
    let body = assert_problem(list("?status=maybe"), 400, ProblemCode::InvalidParameter);
    assert_eq!(body["field"], "status");
    let bad_id = bearer(http().get(format!("{url}/abc")), &ann.access_token)
        .send()
        .expect("get");
    assert_problem(bad_id, 400, ProblemCode::InvalidParameter);

    let (tasks, total) = list_tasks(&server, &ann.id, &ann.access_token, "");
    assert!(tasks.is_empty() && total == 0, "nothing was created");
}

#[test]
fn another_users_path_is_403_and_another_users_task_is_404() {
    let server = TestServer::start(&[]);
    let ann = sign_up(&server, "ann");
    let bob = sign_up(&server, "bob");
    let bobs = create_task(
        &server,
        &bob.id,
        &bob.access_token,
        json!({"title": "bob's secret"}),
    );
    let bob_task = format!("/api/{}/tasks/{}", bob.id, bobs["id"]);
    let bob_list = format!("/api/{}/tasks", bob.id);
    let c = http();
    let attempts = [
        c.get(server.url(&bob_list)),
        c.post(server.url(&bob_list)).json(&json!({"title": "planted"})),
        c.get(server.url(&bob_task)),
        c.put(server.url(&bob_task)).json(&json!({"title": "defaced"})),
        c.delete(server.url(&bob_task)),
        c.patch(server.url(&format!("{bob_task}/complete"))),
    ];
    for attempt in attempts {
        let response = bearer(attempt, &ann.access_token).send().expect("request");
        assert_problem(response, 403, ProblemCode::Forbidden);
    }
    // A malformed body on another user's path is still 403: the owner is checked first.
    let r = bearer(c.post(server.url(&bob_list)), &ann.access_token)
        .header("content-type", "application/json")
        .body("{")
        .send()
        .expect("post");
    assert_problem(r, 403, ProblemCode::Forbidden);
    let r = bearer(c.get(server.url("/api/not-a-uuid/tasks")), &ann.access_token)
        .send()
        .expect("get");
    assert_problem(r, 403, ProblemCode::Forbidden);

    // Ann names Bob's task id on her own path: it does not exist for her.
    let ann_view = format!("/api/{}/tasks/{}", ann.id, bobs["id"]);
    let attempts = [
        c.get(server.url(&ann_view)),
        c.put(server.url(&ann_view)).json(&json!({"title": "defaced"})),
        c.delete(server.url(&ann_view)),
        c.patch(server.url(&format!("{ann_view}/complete"))),
    ];
    for attempt in attempts {
        let response = bearer(attempt, &ann.access_token).send().expect("request");
        assert_problem(response, 404, ProblemCode::TaskNotFound);
    }

    let (tasks, total) = list_tasks(&server, &bob.id, &bob.access_token, "");
    assert_eq!(total, 1);
    let mut unchanged = bobs.clone();
    // A list carries `note_count`, not the notes the single answer has.
    unchanged.as_object_mut().expect("task").remove("notes");
    assert_eq!(tasks[0], unchanged, "Bob's task is unchanged");
    let (ann_tasks, _) = list_tasks(&server, &ann.id, &ann.access_token, "");
    assert!(ann_tasks.is_empty());
}

#[test]
fn unknown_routes_and_methods_answer_problem_json() {
    let server = TestServer::start(&[]);
    assert_problem(
        http().get(server.url("/nope")).send().expect("get"),
        404,
        ProblemCode::NotFound,
    );
    assert_problem(
        http().delete(server.url("/healthz")).send().expect("delete"),
        405,
        ProblemCode::MethodNotAllowed,
    );
}

/// An offset can turn a time that reads as year 1 or year 9999 into a UTC instant
/// outside what RFC 3339 can write: refused (422 naming the field), so no stored task
/// can make a later list fail. The bounds themselves are kept and read back.
#[test]
fn due_dates_outside_the_documented_range_are_refused() {
    let server = TestServer::start(&[]);
    let ann = sign_up(&server, "due-range");
    let base = format!("/api/{}/tasks", ann.id);
    for due in [
        "0000-01-01T00:00:00+00:01",
        "0000-12-31T23:59:59Z",
        "9999-12-31T23:59:59-00:01",
    ] {
        let response = bearer(http().post(server.url(&base)), &ann.access_token)
            .json(&json!({"title": "edge", "due_at": due}))
            .send()
            .expect("create");
        let body = assert_problem(response, 422, ProblemCode::InvalidField);
        assert_eq!(body["field"], "due_at", "{due}");
    }
    for due in ["0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z"] {
        let task = create_task(
            &server,
            &ann.id,
            &ann.access_token,
            json!({"title": "edge", "due_at": due}),
        );
        assert_eq!(task["due_at"], due);
    }
    let (tasks, total) = list_tasks(&server, &ann.id, &ann.access_token, "");
    assert_eq!((tasks.len(), total), (2, 2), "the list still answers");
}

/// A title or tag is one line of visible text: no control character (a terminal would
/// obey ESC, BEL or CSI), no bidi control, not only invisible characters. A description
/// may hold newlines and tabs and nothing else of the kind.
#[test]
fn control_and_invisible_only_text_is_refused_where_it_would_be_shown() {
    let server = TestServer::start(&[]);
    let ann = sign_up(&server, "text");
    let base = format!("/api/{}/tasks", ann.id);
    let refused = [
        ("title", json!({"title": "evil\u{1b}]0;pwned\u{7}"})),
        ("title", json!({"title": "csi\u{9b}2J"})),
        ("title", json!({"title": "two\nlines"})),
        ("title", json!({"title": "\u{200b}\u{feff}\u{2060}"})),
        ("title", json!({"title": "flip\u{202e}txt"})),
        ("tags", json!({"title": "ok", "tags": ["\u{1b}[31mred"]})),
        ("tags", json!({"title": "ok", "tags": ["\u{200d}"]})),
        (
            "description",
            json!({"title": "ok", "description": "clear\u{1b}[2J"}),
        ),
    ];
    for (field, body) in refused {
        let response = bearer(http().post(server.url(&base)), &ann.access_token)
            .json(&body)
            .send()
            .expect("create");
        let problem = assert_problem(response, 422, ProblemCode::InvalidField);
        assert_eq!(problem["field"], field, "{body}");
    }
    let kept = create_task(
        &server,
        &ann.id,
        &ann.access_token,
        json!({"title": "family 👨‍👩‍👧 café", "description": "a\n\tb", "tags": ["zwj👩‍💻"]}),
    );
    assert_eq!(kept["description"], "a\n\tb");
    assert_eq!(kept["title"], "family 👨‍👩‍👧 café");
}

/// A sort without `order` runs in its natural direction, the one every client shows:
/// titles A to Z, due dates soonest first, priorities most urgent first, newest first.
#[test]
fn each_sort_has_its_natural_direction_by_default() {
    use time::macros::datetime;
    use todo_api::{ListQuery, Priority, SortField, SortOrder, TaskInput};
    let server = TestServer::start(&[]);
    let ann = sign_up(&server, "sorts");
    for (title, due, priority) in [
        ("b", datetime!(2031-01-01 0:00 UTC), Priority::Low),
        ("c", datetime!(2030-01-01 0:00 UTC), Priority::High),
        ("a", datetime!(2032-01-01 0:00 UTC), Priority::Medium),
    ] {
        let input = TaskInput {
            title: title.into(),
            due_at: Some(due),
            priority: Some(priority),
            ..TaskInput::default()
        };
        create(&server, &ann, &input);
    }
    let titles = |sort: Option<SortField>, order: Option<SortOrder>| -> Vec<String> {
        let query = ListQuery {
            sort,
            order,
            ..ListQuery::default()
        };
        list(&server, &ann, &query)
            .0
            .into_iter()
            .map(|t| t.title)
            .collect()
    };
    assert_eq!(titles(Some(SortField::Title), None), ["a", "b", "c"]);
    assert_eq!(titles(Some(SortField::Due), None), ["c", "b", "a"]);
    assert_eq!(titles(Some(SortField::Priority), None), ["c", "a", "b"]);
    assert_eq!(titles(None, None), ["a", "c", "b"], "newest first");
    assert_eq!(
        titles(Some(SortField::Title), Some(SortOrder::Desc)),
        ["c", "b", "a"]
    );
}

/// Two clients of one person: a write made from a copy that is no longer current is
/// refused with 412 and the task as it is now, and changes nothing; a write from the
/// current copy goes through and moves the version on.
#[test]
fn a_write_from_a_stale_copy_is_refused_and_loses_nothing() {
    let server = TestServer::start(&[]);
    let ann = sign_up(&server, "versions");
    let created = bearer(
        http().post(server.url(&format!("/api/{}/tasks", ann.id))),
        &ann.access_token,
    )
    .json(&json!({"title": "taxes", "description": "receipts"}))
    .send()
    .expect("create");
    assert_eq!(created.headers()["etag"], "\"1\"");
    let task: Value = created.json().expect("json");
    assert_eq!(task["version"], 1);
    let url = server.url(&format!("/api/{}/tasks/{}", ann.id, task["id"]));
    let put = |if_match: &str, body: Value| {
        bearer(http().put(&url), &ann.access_token)
            .header("If-Match", if_match)
            .json(&body)
            .send()
            .expect("put")
    };

    // The CLI edits the description from version 1: version 2.
    let first = put(
        "\"1\"",
        json!({"title": "taxes", "description": "receipts in drawer"}),
    );
    assert_eq!(first.status().as_u16(), 200);
    assert_eq!(first.headers()["etag"], "\"2\"");
    // The TUI still holds version 1 and saves a title change: refused, nothing lost.
    let stale = put("\"1\"", json!({"title": "file taxes", "description": "receipts"}));
    let problem = assert_problem(stale, 412, ProblemCode::VersionConflict);
    assert_eq!(problem["current"]["version"], 2);
    assert_eq!(problem["current"]["description"], "receipts in drawer");
    let now: Value = bearer(http().get(&url), &ann.access_token)
        .send()
        .expect("get")
        .json()
        .expect("json");
    assert_eq!(
        (now["title"].clone(), now["version"].clone()),
        (json!("taxes"), json!(2))
    );

    // Toggle and delete take If-Match too; `*` means any version.
    let toggle = |if_match: &str| {
        bearer(http().patch(format!("{url}/complete")), &ann.access_token)
            .header("If-Match", if_match)
            .send()
            .expect("toggle")
    };
    assert_problem(toggle("\"1\""), 412, ProblemCode::VersionConflict);
    assert_eq!(toggle("\"2\"").status().as_u16(), 200);
    assert_eq!(toggle("*").headers()["etag"], "\"4\"");
    let delete = |if_match: &str| {
        bearer(http().delete(&url), &ann.access_token)
            .header("If-Match", if_match)
            .send()
            .expect("delete")
    };
    assert_problem(delete("\"3\""), 412, ProblemCode::VersionConflict);
    assert_eq!(delete("\"4\"").status().as_u16(), 204);
    // Gone: 404 comes before 412.
    assert_problem(delete("\"4\""), 404, ProblemCode::TaskNotFound);
}

#[test]
fn a_malformed_if_match_is_400_before_validation() {
    let server = TestServer::start(&[]);
    let ann = sign_up(&server, "if-match");
    let task = create_task(&server, &ann.id, &ann.access_token, json!({"title": "x"}));
    let url = server.url(&format!("/api/{}/tasks/{}", ann.id, task["id"]));
    for bad in ["1", "W/\"1\"", "\"1\", \"2\"", "\"one\""] {
        let response = bearer(http().put(&url), &ann.access_token)
            .header("If-Match", bad)
            .json(&json!({"title": ""}))
            .send()
            .expect("put");
        let problem = assert_problem(response, 400, ProblemCode::InvalidParameter);
        assert_eq!(problem["field"], "If-Match", "{bad}");
    }
}

/// A merge patch changes only the fields it names, so two clients patching different
/// fields both keep their change.
#[test]
fn a_merge_patch_changes_only_the_fields_it_names() {
    let server = TestServer::start(&[]);
    let ann = sign_up(&server, "patch");
    let task = create_task(
        &server,
        &ann.id,
        &ann.access_token,
        json!({"title": "taxes", "description": "receipts", "priority": "high",
               "due_at": "2030-01-01T00:00:00Z", "tags": ["money"]}),
    );
    let url = server.url(&format!("/api/{}/tasks/{}", ann.id, task["id"]));
    let patch = |content_type: &str, body: Value| {
        bearer(http().patch(&url), &ann.access_token)
            .header("content-type", content_type)
            .body(body.to_string())
            .send()
            .expect("patch")
    };
    let merge = "application/merge-patch+json";
    let cases: Vec<(Value, Value)> = vec![
        (
            json!({"description": "in the drawer"}),
            json!({"title": "taxes", "description": "in the drawer", "priority": "high", "version": 2}),
        ),
        (
            json!({"title": "file taxes"}),
            json!({"title": "file taxes", "description": "in the drawer", "version": 3}),
        ),
        (
            json!({"due_at": null}),
            json!({"due_at": null, "tags": ["money"], "version": 4}),
        ),
        (
            json!({"tags": ["home", "home"]}),
            json!({"tags": ["home"], "version": 5}),
        ),
        (
            json!({"completed": true}),
            json!({"completed": true, "version": 6}),
        ),
        (
            json!({"completed": true}),
            json!({"completed": true, "version": 7}),
        ),
        (
            json!({"priority": null, "description": null}),
            json!({"priority": "medium", "description": "", "version": 8}),
        ),
        (json!({}), json!({"title": "file taxes", "version": 9})),
    ];
    for (body, expected) in cases {
        let response = patch(merge, body.clone());
        assert_eq!(response.status().as_u16(), 200, "{body}");
        let etag = response.headers()["etag"].to_str().expect("etag").to_string();
        let got: Value = response.json().expect("json");
        for (field, value) in expected.as_object().expect("object") {
            let actual = got.get(field).cloned().unwrap_or(Value::Null);
            assert_eq!(&actual, value, "{body}: {field}");
        }
        assert_eq!(etag, format!("\"{}\"", got["version"]));
    }
    assert_eq!(
        patch("application/json", json!({"title": "plain json"}))
            .status()
            .as_u16(),
        200
    );
    for (body, field) in [
        (json!({"title": null}), "title"),
        (json!({"title": ""}), "title"),
        (json!({"completed": null}), "completed"),
        (json!({"tags": ["bad\u{1b}"]}), "tags"),
        (json!({"due_at": "9999-12-31T23:59:59-00:01"}), "due_at"),
    ] {
        let problem = assert_problem(patch(merge, body.clone()), 422, ProblemCode::InvalidField);
        assert_eq!(problem["field"], field, "{body}");
    }
    assert_problem(patch(merge, json!({"title": 5})), 400, ProblemCode::InvalidBody);
    let stale = bearer(http().patch(&url), &ann.access_token)
        .header("content-type", merge)
        .header("If-Match", "\"1\"")
        .body(json!({"title": "stale"}).to_string())
        .send()
        .expect("patch");
    let problem = assert_problem(stale, 412, ProblemCode::VersionConflict);
    assert_eq!(problem["current"]["title"], "plain json");
    let missing = bearer(
        http().patch(server.url(&format!("/api/{}/tasks/999999", ann.id))),
        &ann.access_token,
    )
    .header("content-type", merge)
    .body(json!({"title": "x"}).to_string())
    .send()
    .expect("patch");
    assert_problem(missing, 404, ProblemCode::TaskNotFound);
}

/// `{"completed": true}` sets the value, so a repeat (a retried request, two clients
/// marking the same task done) changes nothing; no body still toggles.
#[test]
fn completion_with_a_body_is_idempotent_and_without_one_toggles() {
    let server = TestServer::start(&[]);
    let ann = sign_up(&server, "complete");
    let task = create_task(&server, &ann.id, &ann.access_token, json!({"title": "x"}));
    let url = server.url(&format!("/api/{}/tasks/{}/complete", ann.id, task["id"]));
    let set = |completed: bool| -> Value {
        let response = bearer(http().patch(&url), &ann.access_token)
            .json(&json!({ "completed": completed }))
            .send()
            .expect("complete");
        assert_eq!(response.status().as_u16(), 200);
        response.json().expect("json")
    };
    let done = set(true);
    assert_eq!(
        (done["completed"].clone(), done["version"].clone()),
        (json!(true), json!(2))
    );
    let again = set(true);
    assert_eq!(again["version"], 2, "repeating changes nothing");
    assert_eq!(again["completed_at"], done["completed_at"]);
    assert_eq!(again["updated_at"], done["updated_at"]);
    let toggled: Value = bearer(http().patch(&url), &ann.access_token)
        .send()
        .expect("toggle")
        .json()
        .expect("json");
    assert_eq!(
        (toggled["completed"].clone(), toggled["version"].clone()),
        (json!(false), json!(3))
    );
    assert_eq!(set(false)["version"], 3);
    let bad = bearer(http().patch(&url), &ann.access_token)
        .json(&json!({"completed": "yes"}))
        .send()
        .expect("bad");
    assert_problem(bad, 400, ProblemCode::InvalidBody);
}

/// `X-Total-Count` is the number of matches for every page: full, partial, empty and
/// past the end, with another user's tasks in the same table (each backend counts its
/// own way, so both are checked when the suite runs on PostgreSQL).
#[test]
fn the_total_is_right_for_every_page() {
    let server = TestServer::start(&[]);
    let ann = sign_up(&server, "totals-ann");
    let bob = sign_up(&server, "totals-bob");
    for (user, count) in [(&ann, 5), (&bob, 3)] {
        for i in 0..count {
            create_task(
                &server,
                &user.id,
                &user.access_token,
                json!({"title": format!("t{i}")}),
            );
        }
    }
    for limit in 1..=7u64 {
        for offset in 0..=7u64 {
            let query = format!("?limit={limit}&offset={offset}");
            let (page, total) = list_tasks(&server, &ann.id, &ann.access_token, &query);
            assert_eq!(total, 5, "{query}");
            assert_eq!(
                page.len() as u64,
                limit.min(5u64.saturating_sub(offset)),
                "{query}"
            );
        }
    }
}

/// `sort=urgency`: overdue first, then due soonest, then undated; ties by priority,
/// then newest. Its default direction is most urgent first, and `desc` is the reverse.
#[test]
fn urgency_puts_overdue_then_soonest_then_priority() {
    let server = TestServer::start(&[]);
    let ann = sign_up(&server, "urgency");
    for body in [
        json!({"title": "undated low", "priority": "low"}),
        json!({"title": "undated high", "priority": "high"}),
        json!({"title": "next year", "due_at": "2099-01-01T00:00:00Z"}),
        json!({"title": "overdue", "due_at": "2001-01-01T00:00:00Z"}),
        json!({"title": "soon", "due_at": "2098-01-01T00:00:00Z"}),
    ] {
        create_task(&server, &ann.id, &ann.access_token, body);
    }
    let titles = |query: &str| -> Vec<String> {
        let (tasks, _) = list_tasks(&server, &ann.id, &ann.access_token, query);
        tasks
            .iter()
            .map(|t| t["title"].as_str().unwrap_or("").to_string())
            .collect()
    };
    let urgent = titles("?sort=urgency");
    assert_eq!(
        urgent,
        ["overdue", "soon", "next year", "undated high", "undated low"]
    );
    let mut reversed = titles("?sort=urgency&order=desc");
    reversed.reverse();
    assert_eq!(reversed, urgent);
}

/// The server defines a tag: no whitespace and no leading `#` (422 naming `tags`, with
/// the fix); tags are one without regard to case (the first spelling is kept); a filter
/// matches in any case, takes `#work` for `work`, and repeated `tag=` pairs all must
/// match; beyond ASCII too.
#[test]
fn tags_follow_the_servers_rules_and_match_without_regard_to_case() {
    let server = TestServer::start(&[]);
    let ann = sign_up(&server, "tag-rules");
    let base = format!("/api/{}/tasks", ann.id);
    for (bad, hint) in [("#work", "\"work\""), ("two words", "\"two-words\"")] {
        let refused = bearer(http().post(server.url(&base)), &ann.access_token)
            .json(&json!({"title": "t", "tags": [bad]}))
            .send()
            .expect("create");
        let body = assert_problem(refused, 422, ProblemCode::InvalidField);
        assert_eq!(body["field"], "tags");
        assert!(body["detail"].as_str().unwrap_or("").contains(hint), "{body}");
    }
    let t = &ann.access_token;
    let both = create_task(
        &server,
        &ann.id,
        t,
        json!({"title": "both", "tags": ["Work", "home", "WORK"]}),
    );
    assert_eq!(both["tags"], json!(["Work", "home"]), "one tag, first spelling");
    let work = create_task(
        &server,
        &ann.id,
        t,
        json!({"title": "work only", "tags": ["work"]}),
    );
    let ecole = create_task(&server, &ann.id, t, json!({"title": "école", "tags": ["École"]}));
    let ids = |tasks: Vec<Value>| -> Vec<i64> {
        let mut ids: Vec<i64> = tasks.iter().filter_map(|t| t["id"].as_i64()).collect();
        ids.sort();
        ids
    };
    let id = |t: &Value| t["id"].as_i64().expect("id");
    let (found, _) = list_tasks(&server, &ann.id, t, "?tag=WORK");
    assert_eq!(ids(found), vec![id(&both), id(&work)]);
    let (found, _) = list_tasks(&server, &ann.id, t, "?tag=%23work");
    assert_eq!(ids(found), vec![id(&both), id(&work)], "#work is work");
    let (found, total) = list_tasks(&server, &ann.id, t, "?tag=work&tag=Home");
    assert_eq!((ids(found), total), (vec![id(&both)], 1), "all must match");
    let (found, _) = list_tasks(&server, &ann.id, t, "?tag=%C3%A9cole");
    assert_eq!(ids(found), vec![id(&ecole)], "école finds École");
    let (found, _) = list_tasks(&server, &ann.id, t, "?q=hom");
    assert_eq!(ids(found), vec![id(&both)], "a search looks at tags too");
    let many: String = (0..11).map(|n| format!("tag=t{n}&")).collect();
    let refused = bearer(http().get(server.url(&format!("{base}?{many}"))), t)
        .send()
        .expect("list");
    assert_problem(refused, 422, ProblemCode::InvalidField);
}
