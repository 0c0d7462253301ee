//! Personal access tokens (on whichever backend the suite runs): the scope matrix over
//! every task route and every account route (read from the OpenAPI document, so a new
//! route is covered), revocation at once and on a second server, expiry, and the CLI.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};
use todo_api::ProblemCode;
use todo_e2e::api::{assert_problem, bearer, create_task, session_status};
use todo_e2e::sse::EventReader;
use todo_e2e::{Account, CliUser, TestServer, http, sign_up};

const ISSUER: [&str; 2] = ["--issuer", "http://todo.test"];

fn create_token(server: &TestServer, account: &Account, body: Value) -> reqwest::blocking::Response {
    bearer(http().post(server.url("/api/auth/tokens")), &account.access_token)
        .json(&body)
        .send()
        .expect("create token")
}

/// A token with `scopes`; returns (id, secret).
pub(crate) fn token(server: &TestServer, account: &Account, scopes: &[&str]) -> (String, String) {
    let created = create_token(
        server,
        account,
        json!({"name": "test", "scopes": scopes, "expires_in_days": 30}),
    );
    assert_eq!(created.status().as_u16(), 201);
    let body: Value = created.json().expect("created");
    (
        body["id"].as_str().expect("id").to_string(),
        body["token"].as_str().expect("token").to_string(),
    )
}

pub(crate) fn call(
    server: &TestServer,
    method: Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> reqwest::blocking::Response {
    let mut request = bearer(http().request(method, server.url(path)), token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().expect("request")
}

fn assert_insufficient(response: reqwest::blocking::Response, scope: Option<&str>, what: &str) {
    let challenge = response
        .headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    assert!(
        challenge.contains(r#"error="insufficient_scope""#),
        "{what}: {challenge:?}"
    );
    if let Some(scope) = scope {
        assert!(
            challenge.contains(&format!(r#"scope="{scope}""#)),
            "{what}: {challenge:?}"
        );
    }
    assert_problem(response, 403, ProblemCode::InsufficientScope);
}

/// Every write route: (method, path, body) for the task `id` of `user`.
fn writes(user: &str, id: i64) -> Vec<(Method, String, Option<Value>)> {
    vec![
        (
            Method::POST,
            format!("/api/{user}/tasks"),
            Some(json!({"title": "new"})),
        ),
        (
            Method::PUT,
            format!("/api/{user}/tasks/{id}"),
            Some(json!({"title": "put"})),
        ),
        (
            Method::PATCH,
            format!("/api/{user}/tasks/{id}"),
            Some(json!({"title": "patched"})),
        ),
        (Method::PATCH, format!("/api/{user}/tasks/{id}/complete"), None),
        (Method::POST, format!("/api/{user}/undo"), None),
        (Method::DELETE, format!("/api/{user}/tasks/{id}"), None),
    ]
}

/// A read token reads tasks, history and the change stream, and every write is 403
/// `insufficient_scope` with the RFC 6750 challenge naming `tasks:write`; a write token
/// does all of it; neither reaches another user's tasks.
#[test]
fn personal_tokens_reach_task_routes_as_their_scopes_allow() {
    let server = TestServer::start(&[]);
    let ann = sign_up(&server, "pat-scope");
    let bob = sign_up(&server, "pat-scope-bob");
    let task = create_task(&server, &ann.id, &ann.access_token, json!({"title": "mine"}));
    let id = task["id"].as_i64().expect("id");
    let (_, read) = token(&server, &ann, &["tasks:read"]);
    let (_, write) = token(&server, &ann, &["tasks:write"]);

    for path in [
        format!("/api/{}/tasks", ann.id),
        format!("/api/{}/tasks/{id}", ann.id),
        format!("/api/{}/tasks/{id}/history", ann.id),
    ] {
        for secret in [&read, &write] {
            let answer = call(&server, Method::GET, &path, secret, None);
            assert_eq!(answer.status().as_u16(), 200, "GET {path}");
        }
    }
    let as_read = Account {
        access_token: read.clone(),
        ..ann.clone()
    };
    let mut stream = EventReader::open(&server, &as_read, None).expect("a read token opens the stream");
    for (method, path, body) in writes(&ann.id, id) {
        let refused = call(&server, method.clone(), &path, &read, body);
        assert_insufficient(refused, Some("tasks:write"), &format!("{method} {path}"));
    }
    for (method, path, body) in writes(&ann.id, id) {
        let answer = call(&server, method.clone(), &path, &write, body);
        assert!(
            answer.status().is_success(),
            "{method} {path}: {}",
            answer.status()
        );
    }
    // The read token's stream sees the write token's first write (take panics if not).
    let seen = stream.take(1, Duration::from_secs(5));
    assert_eq!(seen[0].event, "task.created", "{seen:?}");
    assert_eq!(seen[0].data["task"]["title"], "new", "{seen:?}");

    let others = call(
        &server,
        Method::GET,
        &format!("/api/{}/tasks", bob.id),
        &write,
        None,
    );
    assert_problem(others, 403, ProblemCode::Forbidden);
}

/// Every bearer route under `/api/auth/` but the session route refuses a personal token
/// (403 `insufficient_scope`): found from the OpenAPI document, so a route added later
/// is covered. `GET /api/auth/session` answers, naming the credential and its scopes.
#[test]
fn personal_tokens_cannot_manage_the_account() {
    let server = TestServer::start(&[]);
    let ann = sign_up(&server, "pat-account");
    let (_, write) = token(&server, &ann, &["tasks:write", "tasks:read"]);
    let spec: Value = http()
        .get(server.url("/openapi.json"))
        .send()
        .expect("spec")
        .json()
        .expect("json");
    let mut checked = 0;
    for (path, operations) in spec["paths"].as_object().expect("paths") {
        if !path.starts_with("/api/auth/") || path == "/api/auth/session" {
            continue;
        }
        for (method, operation) in operations.as_object().expect("operations") {
            if operation.get("security").is_none() {
                continue; // sign-up, sign-in, refresh, password reset: no bearer at all
            }
            let concrete = path.replace("{id}", "00000000-0000-4000-8000-000000000000");
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
            let refused = call(&server, method.clone(), &concrete, &write, Some(json!({})));
            assert_insufficient(refused, None, &format!("{method} {path}"));
            checked += 1;
        }
    }
    assert!(checked >= 10, "the account routes were found: {checked}");
    let info: Value = call(&server, Method::GET, "/api/auth/session", &write, None)
        .json()
        .expect("session");
    assert_eq!(info["credential"], "personal_token");
    assert_eq!(info["scopes"], json!(["tasks:read", "tasks:write"]));
    assert_eq!(info["user"]["id"], ann.id.as_str());
    let own: Value = call(&server, Method::GET, "/api/auth/session", &ann.access_token, None)
        .json()
        .expect("session");
    assert_eq!(own["credential"], "session");
}

/// A revoked token is refused at once by the server that revoked it and within a
/// second by a second server on the same database; deleting the account revokes its
/// tokens; a password change does not.
#[test]
fn a_revoked_token_is_refused_at_once_and_on_another_server_within_a_second() {
    let a = TestServer::start(&ISSUER);
    let b = TestServer::start_replica(&a, &ISSUER);
    let ann = sign_up(&a, "pat-revoke");
    let (id, secret) = token(&a, &ann, &["tasks:read"]);
    let tasks = format!("/api/{}/tasks", ann.id);
    assert_eq!(
        call(&a, Method::GET, &tasks, &secret, None).status().as_u16(),
        200
    );
    assert_eq!(
        call(&b, Method::GET, &tasks, &secret, None).status().as_u16(),
        200,
        "cached on b now"
    );

    let revoked = call(
        &a,
        Method::DELETE,
        &format!("/api/auth/tokens/{id}"),
        &ann.access_token,
        None,
    );
    assert_eq!(revoked.status().as_u16(), 204);
    assert_problem(
        call(&a, Method::GET, &tasks, &secret, None),
        401,
        ProblemCode::InvalidToken,
    );
    let start = Instant::now();
    while call(&b, Method::GET, &tasks, &secret, None).status().as_u16() != 401 {
        assert!(
            start.elapsed() < Duration::from_millis(1500),
            "b still accepts it"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let again = call(
        &a,
        Method::DELETE,
        &format!("/api/auth/tokens/{id}"),
        &ann.access_token,
        None,
    );
    assert_problem(again, 404, ProblemCode::TokenNotFound);

    let (_, kept) = token(&a, &ann, &["tasks:read"]);
    let changed = bearer(http().post(a.url("/api/auth/password")), &ann.access_token)
        .json(&json!({"current_password": ann.password, "new_password": todo_e2e::strong_password()}))
        .send()
        .expect("password");
    assert_eq!(changed.status().as_u16(), 204);
    assert_eq!(
        call(&a, Method::GET, &tasks, &kept, None).status().as_u16(),
        200,
        "kept over a password change"
    );
    let deleted = bearer(http().delete(a.url("/api/auth/account")), &ann.access_token)
        .json(&json!({"password": "wrong"}))
        .send()
        .expect("delete");
    assert_eq!(deleted.status().as_u16(), 403);
    let (_, bob_token, bob) = {
        let bob = sign_up(&a, "pat-revoke-bob");
        let (id, secret) = token(&a, &bob, &["tasks:read"]);
        (id, secret, bob)
    };
    let bob_tasks = format!("/api/{}/tasks", bob.id);
    assert_eq!(
        call(&b, Method::GET, &bob_tasks, &bob_token, None)
            .status()
            .as_u16(),
        200
    );
    let deleted = bearer(http().delete(a.url("/api/auth/account")), &bob.access_token)
        .json(&json!({"password": bob.password}))
        .send()
        .expect("delete");
    assert_eq!(deleted.status().as_u16(), 204);
    assert_eq!(
        call(&a, Method::GET, &bob_tasks, &bob_token, None)
            .status()
            .as_u16(),
        401
    );
    let start = Instant::now();
    while call(&b, Method::GET, &bob_tasks, &bob_token, None)
        .status()
        .as_u16()
        != 401
    {
        assert!(
            start.elapsed() < Duration::from_millis(1500),
            "b still accepts a deleted account's token"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Bad requests name the field; a malformed or made-up token is 401; an expired one is
/// 401; the list never shows secrets and notes the last use.
#[test]
fn token_requests_are_checked_and_expired_tokens_refused() {
    let server = TestServer::start(&[]);
    let ann = sign_up(&server, "pat-checks");
    for (body, field) in [
        (
            json!({"name": " ", "scopes": ["tasks:read"], "expires_in_days": 1}),
            "name",
        ),
        (json!({"name": "x", "scopes": [], "expires_in_days": 1}), "scopes"),
        (
            json!({"name": "x", "scopes": ["tasks:read"], "expires_in_days": 0}),
            "expires_in_days",
        ),
        (
            json!({"name": "x", "scopes": ["tasks:read"], "expires_in_days": 367}),
            "expires_in_days",
        ),
    ] {
        let refused = create_token(&server, &ann, body.clone());
        let problem = assert_problem(refused, 422, ProblemCode::InvalidField);
        assert_eq!(problem["field"], field, "{body}");
    }
    let unknown_scope = create_token(
        &server,
        &ann,
        json!({"name": "x", "scopes": ["tasks:admin"], "expires_in_days": 1}),
    );
    assert_eq!(unknown_scope.status().as_u16(), 400);

    let tasks = format!("/api/{}/tasks", ann.id);
    let (id, secret) = token(&server, &ann, &["tasks:read"]);
    let mut forged = secret.clone();
    forged.replace_range(12..13, if &secret[12..13] == "a" { "b" } else { "a" });
    assert_problem(
        call(&server, Method::GET, &tasks, &forged, None),
        401,
        ProblemCode::InvalidToken,
    );
    let never = create_token(
        &server,
        &ann,
        json!({"name": "forever", "scopes": ["tasks:read"], "expires_in_days": null}),
    );
    let never: Value = never.json().expect("created");
    assert!(never.get("expires_at").is_none(), "{never}");

    assert_eq!(
        call(&server, Method::GET, &tasks, &secret, None)
            .status()
            .as_u16(),
        200
    );
    let listed: Value = call(&server, Method::GET, "/api/auth/tokens", &ann.access_token, None)
        .json()
        .expect("list");
    let listed = listed.as_array().expect("array");
    assert_eq!(listed.len(), 2);
    assert!(
        listed.iter().all(|t| t.get("token").is_none()),
        "no secrets: {listed:?}"
    );
    let used = listed.iter().find(|t| t["id"] == id.as_str()).expect("listed");
    assert!(used["last_used_at"].is_string(), "{used}");

    // Expired (set in the database, as a year passing would): refused, before any
    // cached entry (this one was never used) could matter.
    let (late_id, late) = token(&server, &ann, &["tasks:read"]);
    let db = server.database();
    todo_e2e::query_column(
        &db,
        &format!("UPDATE personal_tokens SET expires_at = 1 WHERE id = '{late_id}' RETURNING id"),
    );
    let expired = call(&server, Method::GET, &tasks, &late, None);
    let body = assert_problem(expired, 401, ProblemCode::InvalidToken);
    assert!(
        body["detail"].as_str().unwrap_or("").contains("expired"),
        "{body}"
    );
    assert_eq!(session_status(&server, &ann.access_token), 200);
}

/// The CLI: `token create` prints only the token (for `$(...)`); `TODO_TOKEN` takes it
/// (the user comes from the server); a write with a read token fails with the reason;
/// `token list` and `token revoke PREFIX`.
#[test]
fn the_cli_makes_uses_lists_and_revokes_personal_tokens() {
    let server = TestServer::start(&[]);
    let cli = CliUser::new(&server);
    cli.sign_up("pat-cli");
    cli.run(&["add", "from the session"]).ok();
    let made = cli
        .run(&[
            "auth",
            "token",
            "create",
            "--name",
            "ci",
            "--scope",
            "tasks:read",
            "--expires",
            "30d",
            "-q",
        ])
        .ok();
    let secret = made.stdout.trim().to_string();
    assert!(
        secret.starts_with("todo_pat_") && !secret.contains('\n'),
        "{made:?}"
    );

    let script = CliUser::new(&server).with_env("TODO_TOKEN", &secret);
    let listed = script.run(&["list", "--json"]).ok().json();
    assert_eq!(listed[0]["title"], "from the session", "{listed}");
    let refused = script.run(&["add", "from the script"]);
    assert_ne!(refused.code, 0);
    assert!(refused.stderr.contains("tasks:write"), "{refused:?}");
    let status = script.run(&["auth", "status"]).ok();
    assert!(
        status.stdout.contains("personal access token (tasks:read)"),
        "{status:?}"
    );

    let tokens = cli.run(&["auth", "token", "list", "--json"]).ok().json();
    let id = tokens[0]["id"].as_str().expect("id").replace('-', "");
    let bad = cli.run(&["auth", "token", "create", "--name", "x", "--scope", "tasks:admin"]);
    assert_eq!(bad.code, 2, "{bad:?}");
    let too_long = cli.run(&[
        "auth",
        "token",
        "create",
        "--name",
        "x",
        "--scope",
        "tasks:read",
        "--expires",
        "2y",
    ]);
    assert_eq!(too_long.code, 2, "{too_long:?}");
    cli.run(&["auth", "token", "revoke", &id[..8]]).ok();
    let after = script.run(&["list"]);
    assert_ne!(after.code, 0, "{after:?}");
    assert!(cli.run(&["auth", "token", "list", "--json"]).ok().json() == json!([]));
}
