//! Shared assertions for the HTTP tests.
#![allow(dead_code)]

use reqwest::blocking::{RequestBuilder, Response};
use serde_json::Value;
use todo_api::ProblemCode;
use todo_e2e::{TestServer, http};

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
    assert_eq!(response.status().as_u16(), 200);
    let total = response
        .headers()
        .get("x-total-count")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("X-Total-Count");
    (response.json().expect("list JSON"), total)
}
