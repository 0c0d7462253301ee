//! Requests and assertions shared by the HTTP tests.

use crate::{Account, TestServer, http};
use reqwest::blocking::{Client, RequestBuilder, Response};
use serde_json::Value;
use todo_api::{ListQuery, ProblemCode, SignInRequest, SignUpRequest, Task, TaskInput};

pub fn bearer(rb: RequestBuilder, token: &str) -> RequestBuilder {
    rb.header("Authorization", format!("Bearer {token}"))
}

/// Asserts a problem JSON response and returns its body.
pub fn assert_problem(response: Response, status: u16, code: ProblemCode) -> Value {
    let actual = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let text = response.text().expect("body");
    assert_eq!(actual, status, "status; body: {text}");
    assert_eq!(
        content_type, "application/problem+json",
        "content type; body: {text}"
    );
    let body: Value = serde_json::from_str(&text).expect("problem JSON");
    assert_eq!(body["code"], code.as_str(), "code; body: {text}");
    assert_eq!(body["status"], status);
    for field in ["type", "title", "detail"] {
        assert!(body[field].is_string(), "problem lacks `{field}`: {text}");
    }
    body
}

/// Creates a task and returns its JSON.
pub fn create_task(server: &TestServer, user_id: &str, token: &str, body: Value) -> Value {
    let response = bearer(http().post(server.url(&format!("/api/{user_id}/tasks"))), token)
        .json(&body)
        .send()
        .expect("create");
    assert_eq!(response.status().as_u16(), 201);
    response.json().expect("task JSON")
}

pub fn list_tasks(server: &TestServer, user_id: &str, token: &str, query: &str) -> (Vec<Value>, u64) {
    let response = bearer(
        http().get(server.url(&format!("/api/{user_id}/tasks{query}"))),
        token,
    )
    .send()
    .expect("list");
    page_of(response)
}

/// `POST /api/auth/sign-in` from `client` (a client bound to another loopback address,
/// say).
pub fn sign_in_from(client: &Client, server: &TestServer, email: &str, password: &str) -> Response {
    client
        .post(server.url("/api/auth/sign-in"))
        .json(&SignInRequest {
            email: email.into(),
            password: password.into(),
        })
        .send()
        .expect("sign-in")
}

pub fn sign_in(server: &TestServer, email: &str, password: &str) -> Response {
    sign_in_from(&http(), server, email, password)
}

pub fn sign_up_with(server: &TestServer, email: &str, password: &str) -> Response {
    http()
        .post(server.url("/api/auth/sign-up"))
        .json(&SignUpRequest {
            email: email.into(),
            password: password.into(),
            name: None,
        })
        .send()
        .expect("sign-up")
}

/// Creates a task from typed input and returns it as the API answered it.
pub fn create(server: &TestServer, account: &Account, input: &TaskInput) -> Task {
    let response = bearer(
        http().post(server.url(&format!("/api/{}/tasks", account.id))),
        &account.access_token,
    )
    .json(input)
    .send()
    .expect("create");
    assert_eq!(response.status().as_u16(), 201);
    response.json().expect("task JSON")
}

/// One page of tasks for a typed query, with `X-Total-Count`.
pub fn list(server: &TestServer, account: &Account, query: &ListQuery) -> (Vec<Task>, u64) {
    let response = bearer(
        http().get(server.url(&format!("/api/{}/tasks", account.id))),
        &account.access_token,
    )
    .query(query)
    .send()
    .expect("list");
    page_of(response)
}

/// A 200 list answer: its body and its `X-Total-Count`.
fn page_of<T: serde::de::DeserializeOwned>(response: Response) -> (Vec<T>, u64) {
    assert_eq!(response.status().as_u16(), 200);
    let total = response
        .headers()
        .get("x-total-count")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("X-Total-Count");
    (response.json().expect("list JSON"), total)
}

/// The status of `GET /api/auth/session` with `token`: 200 while it is accepted.
pub fn session_status(server: &TestServer, token: &str) -> u16 {
    bearer(http().get(server.url("/api/auth/session")), token)
        .send()
        .expect("session")
        .status()
        .as_u16()
}

/// `guesses` wrong passwords for `email`, sent at once from threads, the n-th through
/// `servers[n % len]` from the client `client_for(n)`; their statuses.
pub fn concurrent_wrong_passwords(
    servers: &[&TestServer],
    email: &str,
    guesses: usize,
    client_for: impl Fn(usize) -> Client + Sync,
) -> Vec<u16> {
    let barrier = std::sync::Barrier::new(guesses);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..guesses)
            .map(|n| {
                let (server, barrier, client_for) = (servers[n % servers.len()], &barrier, &client_for);
                scope.spawn(move || {
                    let client = client_for(n);
                    barrier.wait();
                    sign_in_from(&client, server, email, &format!("guess-{n}"))
                        .status()
                        .as_u16()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or(0)).collect()
    })
}

/// `method path` with `token` (`{me}` in the path stands for `user`) and an optional
/// JSON body: the status, and the body as JSON (null when there is none).
pub fn call_with(
    server: &TestServer,
    token: &str,
    user: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = http()
        .request(method, server.url(&path.replace("{me}", user)))
        .bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().expect("the server answers");
    let status = response.status().as_u16();
    (status, response.json().unwrap_or(Value::Null))
}

/// [`call_with`] as `who`.
pub fn call_as(
    server: &TestServer,
    who: &Account,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    call_with(server, &who.access_token, &who.id, method, path, body)
}

/// [`call_as`] that must succeed (2xx): the body.
pub fn must(
    server: &TestServer,
    who: &Account,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> Value {
    let (status, answer) = call_as(server, who, method.clone(), path, body);
    assert!((200..300).contains(&status), "{method} {path}: {status} {answer}");
    answer
}

/// A project of `owner`'s with `members` joined in the given roles.
pub fn project_with(
    server: &TestServer,
    owner: &Account,
    name: &str,
    members: &[(&Account, &str)],
) -> String {
    let project = must(
        server,
        owner,
        reqwest::Method::POST,
        "/api/{me}/projects",
        Some(serde_json::json!({ "name": name })),
    );
    let id = project["id"].as_str().expect("id").to_string();
    for (who, role) in members {
        let invitation = must(
            server,
            owner,
            reqwest::Method::POST,
            &format!("/api/{{me}}/projects/{id}/invitations"),
            Some(serde_json::json!({"email": who.email, "role": role})),
        );
        let invitation = invitation["id"].as_str().expect("id");
        must(
            server,
            who,
            reqwest::Method::POST,
            &format!("/api/{{me}}/invitations/{invitation}/accept"),
            None,
        );
    }
    id
}
