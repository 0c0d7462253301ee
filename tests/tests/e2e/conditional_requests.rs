//! Conditional writes and body types, fuzzed at the class: an `If-Match` that is not
//! exactly `*` or the task's `ETag` (byte for byte, RFC 9110's strong comparison)
//! never changes the task, whether it is malformed, undecodable or merely close; and a
//! body is read only as a type the API documents.

use proptest::prelude::*;
use reqwest::header::{CONTENT_TYPE, HeaderValue, IF_MATCH};
use serde_json::{Value, json};
use todo_e2e::api::create_task;
use todo_e2e::{Account, TestServer, http, sign_up};

fn task_url(server: &TestServer, user: &Account, id: i64) -> String {
    server.url(&format!("/api/{}/tasks/{id}", user.id))
}

fn version(server: &TestServer, user: &Account, id: i64) -> i64 {
    let task: Value = http()
        .get(task_url(server, user, id))
        .bearer_auth(&user.access_token)
        .send()
        .expect("get")
        .json()
        .expect("task");
    task["version"].as_i64().expect("version")
}

/// PATCHes the task with `If-Match: <raw bytes>`; the status.
fn patch_if_match(server: &TestServer, user: &Account, id: i64, raw: &[u8]) -> u16 {
    let value = HeaderValue::from_bytes(raw).expect("a sendable header value");
    http()
        .patch(task_url(server, user, id))
        .bearer_auth(&user.access_token)
        .header(IF_MATCH, value)
        .json(&json!({"title": "changed"}))
        .send()
        .expect("patch")
        .status()
        .as_u16()
}

/// Values close to `"<version>"` that a lenient comparison would take.
fn near_misses(version: i64) -> Vec<Vec<u8>> {
    let v = version.to_string();
    let mut values: Vec<Vec<u8>> = [
        format!("\"0{v}\""),
        format!("\"+{v}\""),
        format!("\" {v}\""),
        format!("\"{v} \""),
        format!("\"{v}.0\""),
        format!("W/\"{v}\""),
        format!("\"{v}\", \"{v}\""),
        v.clone(),
        format!("'{v}'"),
        format!("\"{}\"", version + 1),
        format!("\"-{v}\""),
        "\"\"".to_string(),
        "**".to_string(),
    ]
    .into_iter()
    .map(String::into_bytes)
    .collect();
    // Undecodable: bytes outside ASCII, inside and around a right tag.
    values.push([b"\"".as_slice(), v.as_bytes(), b"\"\xe9"].concat());
    values.push([b"\"\xff".as_slice(), v.as_bytes(), b"\""].concat());
    values.push(b"\"\xc3\xa9\"".to_vec());
    values
}

#[test]
fn if_match_changes_the_task_only_when_it_is_exactly_its_etag_or_a_star() {
    let server = TestServer::start(&["--no-rate-limit"]);
    let ann = sign_up(&server, "if-match");
    let task = create_task(&server, &ann.id, &ann.access_token, json!({"title": "t"}));
    let id = task["id"].as_i64().expect("id");
    let before = version(&server, &ann, id);
    for raw in near_misses(before) {
        let status = patch_if_match(&server, &ann, id, &raw);
        assert!(
            status == 400 || status == 412,
            "If-Match {:?} answered {status}",
            String::from_utf8_lossy(&raw)
        );
        assert_eq!(
            version(&server, &ann, id),
            before,
            "If-Match {raw:?} changed the task"
        );
    }
    // Two If-Match headers are refused too.
    let two = http()
        .patch(task_url(&server, &ann, id))
        .bearer_auth(&ann.access_token)
        .header(IF_MATCH, format!("\"{before}\""))
        .header(IF_MATCH, format!("\"{before}\""))
        .json(&json!({"title": "changed"}))
        .send()
        .expect("patch");
    assert_eq!(two.status().as_u16(), 400);
    let exact = patch_if_match(&server, &ann, id, format!("\"{before}\"").as_bytes());
    assert_eq!(exact, 200);
    assert_eq!(version(&server, &ann, id), before + 1);
    assert_eq!(patch_if_match(&server, &ann, id, b"*"), 200);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Any other sendable value: never a change.
    #[test]
    fn no_other_if_match_value_changes_the_task(raw in proptest::collection::vec(1u8..=255, 1..12)) {
        let sendable = HeaderValue::from_bytes(&raw).is_ok();
        let trimmed = String::from_utf8_lossy(&raw).trim().to_string();
        prop_assume!(sendable && trimmed != "*" && !trimmed.is_empty());
        let (server, ann, id) = shared();
        let before = version(server, ann, *id);
        prop_assume!(trimmed != format!("\"{before}\""));
        let status = patch_if_match(server, ann, *id, &raw);
        prop_assert!(status == 400 || status == 412, "{:?} answered {}", raw, status);
        prop_assert_eq!(version(server, ann, *id), before);
    }
}

/// One server and task for the property's cases.
fn shared() -> &'static (TestServer, Account, i64) {
    static SHARED: std::sync::OnceLock<(TestServer, Account, i64)> = std::sync::OnceLock::new();
    SHARED.get_or_init(|| {
        let server = TestServer::start(&["--no-rate-limit"]);
        let ann = sign_up(&server, "if-match-fuzz");
        let task = create_task(&server, &ann.id, &ann.access_token, json!({"title": "t"}));
        let id = task["id"].as_i64().expect("id");
        (server, ann, id)
    })
}

/// A PATCH is a merge patch only when labelled JSON or merge patch; a JSON Patch, a
/// vendor `+json` type or a merge patch on POST is 415 and changes nothing.
#[test]
fn only_documented_body_types_are_read() {
    let server = TestServer::start(&[]);
    let ann = sign_up(&server, "body-types");
    let task = create_task(&server, &ann.id, &ann.access_token, json!({"title": "t"}));
    let id = task["id"].as_i64().expect("id");
    let patch = |content_type: &str| {
        http()
            .patch(task_url(&server, &ann, id))
            .bearer_auth(&ann.access_token)
            .header(CONTENT_TYPE, content_type)
            .body(r#"{"title":"patched"}"#)
            .send()
            .expect("patch")
            .status()
            .as_u16()
    };
    for refused in [
        "application/json-patch+json",
        "application/vnd.x+json",
        "application/problem+json",
        "text/plain",
    ] {
        assert_eq!(patch(refused), 415, "{refused}");
        assert_eq!(version(&server, &ann, id), 1, "{refused} changed the task");
    }
    for accepted in [
        "application/json",
        "application/merge-patch+json",
        "Application/JSON; charset=utf-8",
    ] {
        assert_eq!(patch(accepted), 200, "{accepted}");
    }
    let posted = http()
        .post(server.url(&format!("/api/{}/tasks", ann.id)))
        .bearer_auth(&ann.access_token)
        .header(CONTENT_TYPE, "application/merge-patch+json")
        .body(r#"{"title":"new"}"#)
        .send()
        .expect("post");
    assert_eq!(posted.status().as_u16(), 415);
}
