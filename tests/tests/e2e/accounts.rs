//! Managing an account's sessions (on whichever backend the suite runs).

use serde_json::{Value, json};
use todo_api::ProblemCode;
use todo_e2e::api::{assert_problem, bearer, session_status};
use todo_e2e::{TestServer, http, sign_up};

fn sessions(server: &TestServer, token: &str) -> Vec<Value> {
    bearer(http().get(server.url("/api/auth/sessions")), token)
        .send()
        .expect("sessions")
        .json()
        .expect("json")
}

/// The session list shows each sign-in with its user agent, address and which one is
/// asking; ending one refuses its tokens at once; another user's session, or one already
/// ended, is 404.
#[test]
fn sessions_are_listed_and_one_can_be_ended() {
    let server = TestServer::start(&[]);
    let ann = sign_up(&server, "sessions");
    let bob = sign_up(&server, "sessions-bob");
    let phone: Value = http()
        .post(server.url("/api/auth/sign-in"))
        .header("User-Agent", "todo-phone/1.0\tbeta")
        .json(&json!({"email": ann.email, "password": ann.password}))
        .send()
        .expect("sign-in")
        .json()
        .expect("tokens");
    let phone_token = phone["access_token"].as_str().expect("token").to_string();

    let listed = sessions(&server, &phone_token);
    assert_eq!(listed.len(), 2, "{listed:?}");
    let current: Vec<&Value> = listed.iter().filter(|s| s["current"] == true).collect();
    assert_eq!(current.len(), 1);
    let agent = current[0]["user_agent"].as_str().expect("user agent");
    assert!(
        agent.starts_with("todo-phone/1.0") && !agent.contains('\t'),
        "controls escaped: {agent:?}"
    );
    assert_eq!(current[0]["address"], "127.0.0.1");
    let other = listed
        .iter()
        .find(|s| s["current"] == false)
        .and_then(|s| s["id"].as_str())
        .expect("the first session")
        .to_string();

    let by_bob = bearer(
        http().delete(server.url(&format!("/api/auth/sessions/{other}"))),
        &bob.access_token,
    )
    .send()
    .expect("delete");
    assert_problem(by_bob, 404, ProblemCode::SessionNotFound);
    assert_eq!(
        session_status(&server, &ann.access_token),
        200,
        "bob ended nothing"
    );

    let ended = bearer(
        http().delete(server.url(&format!("/api/auth/sessions/{other}"))),
        &phone_token,
    )
    .send()
    .expect("delete");
    assert_eq!(ended.status().as_u16(), 204);
    assert_eq!(session_status(&server, &ann.access_token), 401, "refused at once");
    assert_eq!(sessions(&server, &phone_token).len(), 1);
    let again = bearer(
        http().delete(server.url(&format!("/api/auth/sessions/{other}"))),
        &phone_token,
    )
    .send()
    .expect("delete");
    assert_problem(again, 404, ProblemCode::SessionNotFound);
}

fn change_password(
    server: &TestServer,
    token: &str,
    current: &str,
    new: &str,
) -> reqwest::blocking::Response {
    bearer(http().post(server.url("/api/auth/password")), token)
        .json(&json!({"current_password": current, "new_password": new}))
        .send()
        .expect("password change")
}

/// A password change needs the current password (403 `wrong_password`, counted toward
/// the account's failure limit), follows the sign-up rules (422 naming
/// `new_password`), keeps this session and ends every other one at once.
#[test]
fn a_password_change_checks_the_current_one_and_ends_other_sessions() {
    let server = TestServer::start(&["--failed-signin-limit", "3"]);
    let ann = sign_up(&server, "password");
    let other: Value = http()
        .post(server.url("/api/auth/sign-in"))
        .json(&json!({"email": ann.email, "password": ann.password}))
        .send()
        .expect("sign-in")
        .json()
        .expect("tokens");
    let other_token = other["access_token"].as_str().expect("token").to_string();

    let wrong = change_password(
        &server,
        &ann.access_token,
        "not-the-password",
        "a-brand-new-harbour-77",
    );
    assert_problem(wrong, 403, ProblemCode::WrongPassword);
    let weak = change_password(&server, &ann.access_token, &ann.password, "password");
    let body = assert_problem(weak, 422, ProblemCode::InvalidField);
    assert_eq!(body["field"], "new_password");

    let new_password = todo_e2e::strong_password();
    let changed = change_password(&server, &ann.access_token, &ann.password, &new_password);
    assert_eq!(changed.status().as_u16(), 204);
    assert_eq!(
        session_status(&server, &ann.access_token),
        200,
        "this session goes on"
    );
    assert_eq!(
        session_status(&server, &other_token),
        401,
        "the other ends at once"
    );
    let old = todo_e2e::api::sign_in(&server, &ann.email, &ann.password);
    assert_eq!(old.status().as_u16(), 401);
    let new = todo_e2e::api::sign_in(&server, &ann.email, &new_password);
    assert_eq!(new.status().as_u16(), 200);

    // Wrong current passwords count with failed sign-ins, 3 in all: the first wrong
    // one, the sign-in with the old password, and this one.
    let wrong = change_password(&server, &ann.access_token, "guess", "another-fresh-harbour-88");
    assert_eq!(wrong.status().as_u16(), 403);
    let limited = change_password(&server, &ann.access_token, "guess", "another-fresh-harbour-88");
    assert_problem(limited, 429, ProblemCode::RateLimited);
}

/// Deleting an account needs its password; then the user, tasks and every session go
/// at once, every token is refused (on another server too), and the email can sign up
/// again.
#[test]
fn a_deleted_account_is_gone_everywhere_and_its_email_free() {
    let issuer = ["--issuer", "http://todo.test"];
    let a = TestServer::start(&issuer);
    let b = TestServer::start_replica(&a, &issuer);
    let ann = sign_up(&a, "delete-me");
    todo_e2e::api::create_task(&a, &ann.id, &ann.access_token, json!({"title": "mine"}));
    let delete = |password: &str| {
        bearer(http().delete(a.url("/api/auth/account")), &ann.access_token)
            .json(&json!({ "password": password }))
            .send()
            .expect("delete")
    };
    assert_problem(delete("wrong-password"), 403, ProblemCode::WrongPassword);
    assert_eq!(session_status(&b, &ann.access_token), 200, "still there");
    assert_eq!(delete(&ann.password).status().as_u16(), 204);
    assert_eq!(session_status(&a, &ann.access_token), 401);
    let start = std::time::Instant::now();
    while session_status(&b, &ann.access_token) != 401 {
        assert!(
            start.elapsed() < std::time::Duration::from_millis(1500),
            "B still accepts the token"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let refresh = http()
        .post(a.url("/api/auth/refresh"))
        .json(&json!({"refresh_token": ann.refresh_token}))
        .send()
        .expect("refresh");
    assert_eq!(refresh.status().as_u16(), 401);
    let again = todo_e2e::api::sign_up_with(&a, &ann.email, &todo_e2e::strong_password());
    assert_eq!(again.status().as_u16(), 201, "the email is free again");
    let db = a.database();
    let left = todo_e2e::query_column(
        &db,
        &format!("SELECT count(*) FROM tasks WHERE user_id = '{}'", ann.id),
    );
    assert_eq!(left, ["0"], "the tasks went with it");
}
