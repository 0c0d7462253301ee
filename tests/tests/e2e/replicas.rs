//! Several servers on one database: what one process learns (a sign-out, a failed
//! password) must hold on every other, so no such state may live only in one process.

use std::time::{Duration, Instant};

use todo_api::ProblemCode;
use todo_e2e::api::assert_problem;
use todo_e2e::api::{concurrent_wrong_passwords, session_status};
use todo_e2e::{TestServer, http, sign_up};

const ISSUER: [&str; 2] = ["--issuer", "http://todo.test"];

/// A sign-out through one server is refused by the other within about a second, though
/// the other had already verified (and cached) the token.
#[test]
fn a_sign_out_on_one_server_is_refused_by_the_other_within_a_second() {
    let a = TestServer::start(&ISSUER);
    let b = TestServer::start_replica(&a, &ISSUER);
    let ann = sign_up(&a, "replica");
    assert_eq!(session_status(&b, &ann.access_token), 200, "B accepts A's token");
    let signed_out = http()
        .post(a.url("/api/auth/sign-out"))
        .bearer_auth(&ann.access_token)
        .json(&serde_json::json!({}))
        .send()
        .expect("sign-out");
    assert_eq!(signed_out.status().as_u16(), 204);
    let start = Instant::now();
    while session_status(&b, &ann.access_token) != 401 {
        assert!(
            start.elapsed() < Duration::from_millis(1500),
            "B still accepts the signed-out token after {:?}",
            start.elapsed()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let refused = http()
        .get(b.url("/api/auth/session"))
        .bearer_auth(&ann.access_token)
        .send()
        .expect("session");
    assert_problem(refused, 401, ProblemCode::InvalidToken);
}

/// Wrong passwords sent at once through two servers: both count against the one
/// per-account window in the database, so together they check no more than the limit.
#[test]
fn a_burst_spread_over_two_servers_checks_no_more_than_the_limit() {
    let limits = ["--failed-signin-limit", "5", "--signin-limit", "0"];
    let a = TestServer::start(&[&ISSUER[..], &limits[..]].concat());
    let b = TestServer::start_replica(&a, &[&ISSUER[..], &limits[..]].concat());
    let victim = sign_up(&a, "burst");
    let statuses = concurrent_wrong_passwords(&[&a, &b], &victim.email, 16, |_| http());
    let checked = statuses.iter().filter(|s| **s == 401).count();
    assert!(checked <= 5, "{checked} passwords were checked: {statuses:?}");
    assert_eq!(
        checked + statuses.iter().filter(|s| **s == 429).count(),
        16,
        "{statuses:?}"
    );
    for server in [&a, &b] {
        let right = todo_e2e::api::sign_in(server, &victim.email, &victim.password);
        assert_eq!(right.status().as_u16(), 429, "locked on every server");
    }
}
