//! Repeating tasks over the real server: completing an instance makes the next one in
//! the same transaction, exactly once however many clients (and servers) complete it at
//! once; COUNT ends a series; rules outside the contract are refused by name.

use reqwest::Method;
use serde_json::{Value, json};
use todo_e2e::api::call_as as call;
use todo_e2e::postgres::{PgCluster, available};
use todo_e2e::{Account, TestServer, sign_up};

fn series(server: &TestServer, who: &Account, series: &str) -> Vec<Value> {
    let (status, tasks) = call(
        server,
        who,
        Method::GET,
        "/api/{me}/tasks?status=all&limit=500",
        None,
    );
    assert_eq!(status, 200);
    let mut found: Vec<Value> = tasks
        .as_array()
        .expect("tasks")
        .iter()
        .filter(|t| t["series_id"].as_str() == Some(series))
        .cloned()
        .collect();
    found.sort_by_key(|t| t["occurrence"].as_u64());
    found
}

fn weekly(server: &TestServer, who: &Account, rule: &str) -> Value {
    let (status, task) = call(
        server,
        who,
        Method::POST,
        "/api/{me}/tasks",
        Some(json!({
            "title": "Water the plants",
            "due_at": "2031-03-24T08:00:00Z",
            "tags": ["home"],
            "recurrence": {"rule": rule, "time_zone": "Europe/Berlin"}
        })),
    );
    assert_eq!(status, 201, "{task}");
    task
}

#[test]
fn completing_an_instance_makes_the_next_one_in_the_rules_zone_once() {
    let server = TestServer::start(&["--no-rate-limit"]);
    let ann = sign_up(&server, "recur");
    let first = weekly(&server, &ann, "FREQ=WEEKLY;BYDAY=MO");
    let series_id = first["series_id"].as_str().expect("a series").to_string();
    assert_eq!(first["occurrence"], 1);
    let complete = format!("/api/{{me}}/tasks/{}/complete", first["id"]);
    let (status, _) = call(
        &server,
        &ann,
        Method::PATCH,
        &complete,
        Some(json!({"completed": true})),
    );
    assert_eq!(status, 200);
    let instances = series(&server, &ann, &series_id);
    assert_eq!(instances.len(), 2, "{instances:?}");
    let next = &instances[1];
    assert_eq!(next["occurrence"], 2);
    assert_eq!(next["completed"], false);
    assert_eq!(next["tags"], json!(["home"]));
    // 09:00 in Berlin on Monday 2031-03-24 (CET) is 08:00 UTC; the next Monday is after
    // the change to summer time, so 09:00 Berlin is 07:00 UTC.
    assert_eq!(next["due_at"], "2031-03-31T07:00:00Z");
    // Completing it again, reopening and completing: still one successor.
    call(
        &server,
        &ann,
        Method::PATCH,
        &complete,
        Some(json!({"completed": true})),
    );
    call(
        &server,
        &ann,
        Method::PATCH,
        &complete,
        Some(json!({"completed": false})),
    );
    call(
        &server,
        &ann,
        Method::PATCH,
        &complete,
        Some(json!({"completed": true})),
    );
    let patch = format!("/api/{{me}}/tasks/{}", first["id"]);
    call(
        &server,
        &ann,
        Method::PATCH,
        &patch,
        Some(json!({"completed": false})),
    );
    call(
        &server,
        &ann,
        Method::PATCH,
        &patch,
        Some(json!({"completed": true})),
    );
    assert_eq!(
        series(&server, &ann, &series_id).len(),
        2,
        "one successor per instance"
    );
}

#[test]
fn count_ends_a_series_and_rules_outside_the_contract_are_refused_by_name() {
    let server = TestServer::start(&["--no-rate-limit"]);
    let ann = sign_up(&server, "count");
    let first = weekly(&server, &ann, "FREQ=WEEKLY;COUNT=2");
    let series_id = first["series_id"].as_str().expect("series").to_string();
    call(
        &server,
        &ann,
        Method::PATCH,
        &format!("/api/{{me}}/tasks/{}/complete", first["id"]),
        None,
    );
    let instances = series(&server, &ann, &series_id);
    assert_eq!(instances.len(), 2);
    let second = &instances[1];
    call(
        &server,
        &ann,
        Method::PATCH,
        &format!("/api/{{me}}/tasks/{}/complete", second["id"]),
        None,
    );
    assert_eq!(series(&server, &ann, &series_id).len(), 2, "COUNT=2: no third");

    for (rule, zone, named) in [
        ("FREQ=HOURLY", "UTC", "HOURLY"),
        ("FREQ=DAILY;BYSETPOS=1", "UTC", "BYSETPOS"),
        ("FREQ=DAILY", "Atlantis/Capital", "time zone"),
    ] {
        let (status, problem) = call(
            &server,
            &ann,
            Method::POST,
            "/api/{me}/tasks",
            Some(json!({"title": "x", "due_at": "2031-01-01T00:00:00Z",
                        "recurrence": {"rule": rule, "time_zone": zone}})),
        );
        assert_eq!(status, 422, "{rule}");
        assert!(
            problem["detail"].as_str().is_some_and(|d| d.contains(named)),
            "{problem}"
        );
    }
    let (status, problem) = call(
        &server,
        &ann,
        Method::POST,
        "/api/{me}/tasks",
        Some(json!({"title": "x", "recurrence": {"rule": "FREQ=DAILY", "time_zone": "UTC"}})),
    );
    assert_eq!(
        (status, problem["field"].as_str()),
        (422, Some("recurrence")),
        "a rule needs a due date"
    );
}

/// Twenty completions of one instance at once make one successor: on one server, and
/// (with PostgreSQL) spread over two replicas.
#[test]
fn twenty_concurrent_completions_make_exactly_one_successor() {
    let single = TestServer::start(&["--no-rate-limit"]);
    race(&[&single]);
    let Some(bin) = available("twenty_concurrent_completions_make_exactly_one_successor") else {
        return;
    };
    let url = PgCluster::shared(&bin).create_database();
    let args = ["--issuer", "http://todo.test", "--no-rate-limit"];
    let (one, two) = (
        TestServer::start_on(&url, &args),
        TestServer::start_on(&url, &args),
    );
    race(&[&one, &two]);
}

fn race(servers: &[&TestServer]) {
    let ann = sign_up(servers[0], "race");
    for round in 0..3 {
        let first = weekly(servers[0], &ann, "FREQ=DAILY");
        let series_id = first["series_id"].as_str().expect("series").to_string();
        let step = subtask(servers[0], &ann, &first["id"], "Fill the can");
        subtask(servers[0], &ann, &step["id"], "Find the can");
        let path = format!("/api/{{me}}/tasks/{}/complete", first["id"]);
        let statuses: Vec<u16> = std::thread::scope(|s| {
            let sent: Vec<_> = (0..20)
                .map(|n| {
                    let (server, ann, path) = (servers[n % servers.len()], &ann, &path);
                    s.spawn(move || {
                        call(server, ann, Method::PATCH, path, Some(json!({"completed": true}))).0
                    })
                })
                .collect();
            sent.into_iter().map(|t| t.join().expect("client")).collect()
        });
        assert!(statuses.iter().all(|s| *s == 200), "round {round}: {statuses:?}");
        let instances = series(servers[0], &ann, &series_id);
        assert_eq!(
            instances.len(),
            2,
            "round {round}: exactly one successor: {instances:?}"
        );
        assert_eq!(
            tree_under(servers[0], &ann, &instances[1]["id"]).len(),
            2,
            "round {round}: its steps copied once"
        );
    }
}

fn subtask(server: &TestServer, who: &Account, parent: &Value, title: &str) -> Value {
    let (status, task) = call(
        server,
        who,
        Method::POST,
        "/api/{me}/tasks",
        Some(json!({"title": title, "parent_id": parent, "priority": "high", "tags": ["step"]})),
    );
    assert_eq!(status, 201, "{task}");
    task
}

/// Every task under `id`, at any depth, as (title, parent's title, completed).
fn tree_under(server: &TestServer, who: &Account, id: &Value) -> Vec<(String, String, bool)> {
    let (status, all) = call(
        server,
        who,
        Method::GET,
        "/api/{me}/tasks?status=all&limit=500",
        None,
    );
    assert_eq!(status, 200);
    let all = all.as_array().expect("tasks").clone();
    let title = |id: &Value| {
        all.iter()
            .find(|t| &t["id"] == id)
            .map(|t| t["title"].as_str().unwrap_or_default().to_string())
            .unwrap_or_default()
    };
    let mut under = vec![id.clone()];
    let mut found = Vec::new();
    while let Some(parent) = under.pop() {
        for t in all.iter().filter(|t| t["parent_id"] == parent) {
            under.push(t["id"].clone());
            found.push((
                t["title"].as_str().unwrap_or_default().to_string(),
                title(&parent),
                t["completed"] == true,
            ));
        }
    }
    found.sort();
    found
}

/// The next instance brings the instance's steps along, pending again and in the same
/// shape, once; undoing the completion takes the whole tree back, unless someone has
/// touched it since.
#[test]
fn the_next_instance_brings_the_subtasks_pending_again_and_undo_takes_them_back() {
    let server = TestServer::start(&["--no-rate-limit"]);
    let ann = sign_up(&server, "recur-steps");
    let first = weekly(&server, &ann, "FREQ=WEEKLY;BYDAY=MO");
    let step = subtask(&server, &ann, &first["id"], "Fill the can");
    subtask(&server, &ann, &step["id"], "Find the can");
    let done = format!("/api/{{me}}/tasks/{}/complete", step["id"]);
    call(
        &server,
        &ann,
        Method::PATCH,
        &done,
        Some(json!({"completed": true})),
    );
    let complete = format!("/api/{{me}}/tasks/{}/complete", first["id"]);
    let (status, _) = call(
        &server,
        &ann,
        Method::PATCH,
        &complete,
        Some(json!({"completed": true})),
    );
    assert_eq!(status, 200);
    let series_id = first["series_id"].as_str().expect("series").to_string();
    let instances = series(&server, &ann, &series_id);
    assert_eq!(instances.len(), 2);
    let next = &instances[1];
    assert_eq!(next["subtasks"]["total"], 1, "its answer counts them: {next}");
    assert_eq!(
        tree_under(&server, &ann, &next["id"]),
        [
            ("Fill the can".to_string(), "Water the plants".to_string(), false),
            ("Find the can".to_string(), "Fill the can".to_string(), false),
        ],
        "the same shape, every step pending"
    );
    let (_, copy) = call(
        &server,
        &ann,
        Method::GET,
        &format!("/api/{{me}}/tasks?parent={}", next["id"]),
        None,
    );
    assert_eq!(copy[0]["priority"], "high");
    assert_eq!(copy[0]["tags"], json!(["step"]));
    assert_eq!(
        tree_under(&server, &ann, &first["id"]).len(),
        2,
        "the done instance keeps its own"
    );

    // Undo takes back the instance and its copied steps.
    let (status, _) = call(&server, &ann, Method::POST, "/api/{me}/undo", None);
    assert_eq!(status, 200);
    assert_eq!(series(&server, &ann, &series_id).len(), 1);
    let (_, all) = call(
        &server,
        &ann,
        Method::GET,
        "/api/{me}/tasks?status=all&limit=500",
        None,
    );
    let titles: Vec<&str> = all
        .as_array()
        .expect("tasks")
        .iter()
        .filter_map(|t| t["title"].as_str())
        .collect();
    assert_eq!(
        titles.iter().filter(|t| **t == "Find the can").count(),
        1,
        "{titles:?}"
    );

    // A step of the next instance edited since (even with the edit undone: a new
    // version) keeps the whole tree when the completion is undone.
    call(
        &server,
        &ann,
        Method::PATCH,
        &complete,
        Some(json!({"completed": true})),
    );
    let next = series(&server, &ann, &series_id)[1].clone();
    let (_, copy) = call(
        &server,
        &ann,
        Method::GET,
        &format!("/api/{{me}}/tasks?parent={}", next["id"]),
        None,
    );
    let edit = format!("/api/{{me}}/tasks/{}", copy[0]["id"]);
    let (status, _) = call(
        &server,
        &ann,
        Method::PATCH,
        &edit,
        Some(json!({"title": "Fill the big can"})),
    );
    assert_eq!(status, 200);
    for _ in 0..2 {
        let (status, _) = call(&server, &ann, Method::POST, "/api/{me}/undo", None);
        assert_eq!(status, 200);
    }
    let instances = series(&server, &ann, &series_id);
    assert_eq!(instances[0]["completed"], false, "the completion is undone");
    assert_eq!(instances.len(), 2, "the touched instance stays");
    assert_eq!(tree_under(&server, &ann, &next["id"]).len(), 2, "with its steps");
}

#[test]
fn undoing_a_completion_takes_back_the_instance_it_made_and_completing_again_remakes_it() {
    let server = TestServer::start(&["--no-rate-limit"]);
    let ann = sign_up(&server, "undo-recur");
    let first = weekly(&server, &ann, "FREQ=DAILY");
    let series_id = first["series_id"].as_str().expect("series").to_string();
    let complete = format!("/api/{{me}}/tasks/{}/complete", first["id"]);
    call(
        &server,
        &ann,
        Method::PATCH,
        &complete,
        Some(json!({"completed": true})),
    );
    assert_eq!(series(&server, &ann, &series_id).len(), 2);
    let (status, undone) = call(&server, &ann, Method::POST, "/api/{me}/undo", None);
    assert_eq!(status, 200, "{undone}");
    assert_eq!(
        undone["task"]["completed"], false,
        "one undo reopens the instance"
    );
    let left = series(&server, &ann, &series_id);
    assert_eq!(left.len(), 1, "and takes back the next one: {left:?}");
    call(
        &server,
        &ann,
        Method::PATCH,
        &complete,
        Some(json!({"completed": true})),
    );
    let again = series(&server, &ann, &series_id);
    assert_eq!(again.len(), 2);
    assert_eq!(again[1]["occurrence"], 2);
}

/// `scope: "future"` named on a done instance changes the pending one (and so what
/// follows); `?series=true` ends the series: the pending instance goes, done ones stay.
#[test]
fn future_scoped_patches_reach_the_pending_instance_and_a_series_can_end() {
    let server = TestServer::start(&["--no-rate-limit"]);
    let ann = sign_up(&server, "series-ops");
    let first = weekly(&server, &ann, "FREQ=WEEKLY;BYDAY=MO");
    let series_id = first["series_id"].as_str().expect("series").to_string();
    let (status, _) = call(
        &server,
        &ann,
        Method::PATCH,
        &format!("/api/{{me}}/tasks/{}/complete", first["id"]),
        Some(json!({"completed": true})),
    );
    assert_eq!(status, 200);
    let (status, changed) = call(
        &server,
        &ann,
        Method::PATCH,
        &format!("/api/{{me}}/tasks/{}", first["id"]),
        Some(json!({"title": "Water the plants and the herbs", "scope": "future"})),
    );
    assert_eq!(status, 200, "{changed}");
    let instances = series(&server, &ann, &series_id);
    assert_eq!(instances.len(), 2);
    assert_eq!(
        instances[0]["title"], "Water the plants",
        "the done one is history"
    );
    assert_eq!(instances[1]["title"], "Water the plants and the herbs");
    assert_eq!(
        changed["id"], instances[1]["id"],
        "the answer is the instance changed"
    );

    // The next instance is made from the changed one.
    let (status, _) = call(
        &server,
        &ann,
        Method::PATCH,
        &format!("/api/{{me}}/tasks/{}/complete", instances[1]["id"]),
        Some(json!({"completed": true})),
    );
    assert_eq!(status, 200);
    let instances = series(&server, &ann, &series_id);
    assert_eq!(instances[2]["title"], "Water the plants and the herbs");

    let (status, _) = call(
        &server,
        &ann,
        Method::DELETE,
        &format!("/api/{{me}}/tasks/{}?series=true", instances[0]["id"]),
        None,
    );
    assert_eq!(status, 204);
    let left = series(&server, &ann, &series_id);
    let done: Vec<bool> = left
        .iter()
        .map(|t| t["completed"].as_bool().expect("completed"))
        .collect();
    assert_eq!(
        done,
        [true],
        "the named (done) one and the pending one went; the other done one stays"
    );
    let (status, _) = call(
        &server,
        &ann,
        Method::PATCH,
        &format!("/api/{{me}}/tasks/{}", left[0]["id"]),
        Some(json!({"title": "x", "scope": "future"})),
    );
    assert_eq!(status, 404, "an ended series has no pending instance to change");
}
