//! `Idempotency-Key` over real servers: a retried create makes one task and gets the
//! first answer again; the key with another body is refused; retries racing on two
//! servers make one task; keys are per user; a bad key is 400.

use reqwest::Method;
use reqwest::blocking::Response;
use serde_json::{Value, json};
use todo_e2e::{Account, TestServer, http, sign_up};

fn send(
    server: &TestServer,
    who: &Account,
    method: Method,
    path: &str,
    key: &str,
    body: Option<Value>,
) -> Response {
    let mut request = http()
        .request(method, server.url(&path.replace("{me}", &who.id)))
        .bearer_auth(&who.access_token)
        .header("Idempotency-Key", key);
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().expect("the server answers")
}

fn count(server: &TestServer, who: &Account) -> usize {
    http()
        .get(server.url(&format!("/api/{}/tasks?status=all", who.id)))
        .bearer_auth(&who.access_token)
        .send()
        .expect("list")
        .json::<Value>()
        .expect("json")
        .as_array()
        .map_or(0, Vec::len)
}

#[test]
fn a_retried_write_is_done_once_and_answered_the_same() {
    let server = TestServer::start(&["--no-rate-limit"]);
    let ann = sign_up(&server, "idem");
    let body = json!({"title": "Pay rent"});
    let first = send(
        &server,
        &ann,
        Method::POST,
        "/api/{me}/tasks",
        "rent-2031-03",
        Some(body.clone()),
    );
    assert_eq!(first.status().as_u16(), 201);
    assert!(first.headers().get("idempotent-replayed").is_none());
    let location = first.headers().get("location").cloned();
    let first: Value = first.json().expect("task");
    let again = send(
        &server,
        &ann,
        Method::POST,
        "/api/{me}/tasks",
        "rent-2031-03",
        Some(body),
    );
    assert_eq!(again.status().as_u16(), 201);
    assert_eq!(
        again
            .headers()
            .get("idempotent-replayed")
            .and_then(|v| v.to_str().ok()),
        Some("true")
    );
    assert_eq!(again.headers().get("location").cloned(), location);
    assert_eq!(
        again.json::<Value>().expect("task"),
        first,
        "the first answer, again"
    );
    assert_eq!(count(&server, &ann), 1, "one task");

    let reused = send(
        &server,
        &ann,
        Method::POST,
        "/api/{me}/tasks",
        "rent-2031-03",
        Some(json!({"title": "Something else"})),
    );
    assert_eq!(reused.status().as_u16(), 422);
    assert_eq!(
        reused.json::<Value>().expect("problem")["code"],
        "idempotency_key_reused"
    );

    // A refused write is kept too: a retry is told the same.
    let path = format!("/api/{{me}}/tasks/{}", first["id"]);
    let stale = send(&server, &ann, Method::DELETE, &path, "stale-delete", None);
    assert_eq!(stale.status().as_u16(), 204);
    let retried = send(&server, &ann, Method::DELETE, &path, "stale-delete", None);
    assert_eq!(
        retried.status().as_u16(),
        204,
        "a retry of a delete that went is not a 404"
    );

    // Keys are per user: another user's same key is a key of their own.
    let bob = sign_up(&server, "idem-bob");
    let theirs = send(
        &server,
        &bob,
        Method::POST,
        "/api/{me}/tasks",
        "rent-2031-03",
        Some(json!({"title": "Pay rent"})),
    );
    assert_eq!(theirs.status().as_u16(), 201);
    assert!(theirs.headers().get("idempotent-replayed").is_none());

    for bad in ["", &"k".repeat(256)] {
        let refused = send(
            &server,
            &ann,
            Method::POST,
            "/api/{me}/tasks",
            bad,
            Some(json!({"title": "x"})),
        );
        assert_eq!(refused.status().as_u16(), 400, "{bad:?}");
    }
}

/// The same create retried at once on two servers of one database: one task, and every
/// answer is that task (or 409 while the first still runs).
#[test]
fn retries_racing_on_two_servers_make_one_task() {
    let args = ["--issuer", "http://todo.test", "--no-rate-limit"];
    let first = TestServer::start(&args);
    let second = TestServer::start_replica(&first, &args);
    let ann = sign_up(&first, "idem-race");
    for round in 0..5 {
        let key = format!("race-{round}");
        let answers: Vec<(u16, Value)> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..8)
                .map(|i| {
                    let server = if i % 2 == 0 { &first } else { &second };
                    let (ann, key) = (&ann, &key);
                    scope.spawn(move || {
                        let r = send(
                            server,
                            ann,
                            Method::POST,
                            "/api/{me}/tasks",
                            key,
                            Some(json!({"title": format!("round {round}")})),
                        );
                        (r.status().as_u16(), r.json::<Value>().unwrap_or(Value::Null))
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().expect("thread")).collect()
        });
        let ids: std::collections::HashSet<String> = answers
            .iter()
            .filter(|(status, _)| *status == 201)
            .map(|(_, task)| task["id"].to_string())
            .collect();
        assert_eq!(ids.len(), 1, "round {round}: {answers:?}");
        assert!(
            answers.iter().all(|(status, _)| *status == 201 || *status == 409),
            "{answers:?}"
        );
    }
    assert_eq!(count(&first, &ann), 5, "one task per key");
}

/// A client that gives up waiting (its timeout) does not cancel the request: the write
/// and its kept answer both happen, so the retry gets that answer (not 409 for a minute,
/// then the write again).
#[test]
fn a_client_that_stops_waiting_leaves_an_answer_for_its_retry() {
    let server = TestServer::start(&["--no-rate-limit"]);
    let ann = sign_up(&server, "idem-impatient");
    let impatient = todo_e2e::tls_ready(reqwest::blocking::Client::builder())
        .timeout(std::time::Duration::from_millis(1))
        .build()
        .expect("client");
    let path = server.url(&format!("/api/{}/tasks", ann.id));
    let mut retried = None;
    for attempt in 0..50 {
        let key = format!("impatient-{attempt}");
        let gave_up = impatient
            .post(&path)
            .bearer_auth(&ann.access_token)
            .header("Idempotency-Key", &key)
            .json(&json!({"title": format!("Try {attempt}")}))
            .send()
            .is_err();
        if !gave_up {
            continue;
        }
        // Wait for the abandoned request to finish on the server, then retry it.
        let mut answer = None;
        for _ in 0..100 {
            let retry = send(
                &server,
                &ann,
                Method::POST,
                "/api/{me}/tasks",
                &key,
                Some(json!({"title": format!("Try {attempt}")})),
            );
            if retry.status().as_u16() != 409 {
                answer = Some(retry);
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let answer = answer.expect("the key is answered within two seconds, not held for a minute");
        if answer.headers().get("idempotent-replayed").is_some() {
            retried = Some(attempt);
            break;
        }
    }
    let attempt = retried.expect("some abandoned request was applied on the server");
    let titles: Vec<Value> = http()
        .get(server.url(&format!("/api/{}/tasks?status=all", ann.id)))
        .bearer_auth(&ann.access_token)
        .send()
        .expect("list")
        .json::<Value>()
        .expect("json")
        .as_array()
        .cloned()
        .unwrap_or_default();
    let made = titles
        .iter()
        .filter(|t| t["title"] == format!("Try {attempt}"))
        .count();
    assert_eq!(made, 1, "made once: {titles:?}");
}
