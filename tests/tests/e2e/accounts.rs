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
