//! Credentials racing changes of the account's state (disable, deletion, password
//! change, two-factor changes), on whichever backend the suite runs: no credential
//! issued around a change outlives it, and no race answers 5xx. Each test makes the race
//! happen (threads released together, or work in flight while the change lands) and
//! then checks every credential that came out of it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Barrier, Mutex};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};
use todo_api::ProblemCode;
use todo_e2e::api::{assert_problem, bearer, session_status, sign_in};
use todo_e2e::totp::code;
use todo_e2e::{Account, TestServer, http, sign_up, strong_password};

use crate::account_admin::admin_ok;
use crate::personal_tokens::{call, token};
use crate::two_factor::{first_step, post, second_step, turn_on};

const NO_LIMITS: [&str; 1] = ["--no-rate-limit"];

/// Polls until every token is refused on `tasks`; panics naming those still accepted.
fn all_refused_within(server: &TestServer, tasks: &str, tokens: &[String], limit: Duration) {
    let start = Instant::now();
    loop {
        let accepted: Vec<&String> = tokens
            .iter()
            .filter(|t| call(server, Method::GET, tasks, t, None).status().as_u16() != 401)
            .collect();
        if accepted.is_empty() {
            return;
        }
        assert!(
            start.elapsed() < limit,
            "{} of {} tokens still accepted {limit:?} after the change",
            accepted.len(),
            tokens.len()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Personal tokens minted while `todo-server users disable` lands (in another process,
/// so this server learns of it only through the database) never outlive the disable:
/// each is refused at creation or revoked with the rest.
#[test]
fn personal_tokens_minted_while_the_account_is_disabled_never_outlive_it() {
    let server = TestServer::start(&NO_LIMITS);
    let ann = sign_up(&server, "race-disable");
    let minted = Mutex::new(Vec::new());
    let stop = AtomicBool::new(false);
    std::thread::scope(|scope| {
        scope.spawn(|| {
            while !stop.load(Ordering::Relaxed) {
                let created = bearer(http().post(server.url("/api/auth/tokens")), &ann.access_token)
                    .json(&json!({"name": "race", "scopes": ["tasks:write"]}))
                    .send()
                    .expect("create token");
                match created.status().as_u16() {
                    201 => {
                        let body: Value = created.json().expect("token");
                        let secret = body["token"].as_str().expect("secret").to_string();
                        minted.lock().expect("lock").push(secret);
                    }
                    401 => return, // the session's end has reached this server
                    other => panic!("creating a token answered {other}"),
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        });
        std::thread::sleep(Duration::from_millis(100));
        admin_ok(&server, &["disable", &ann.email]);
        // Keep minting through the time this server takes to read the revocation.
        std::thread::sleep(Duration::from_millis(700));
        stop.store(true, Ordering::Relaxed);
    });
    let minted = minted.into_inner().expect("lock");
    assert!(!minted.is_empty(), "some tokens were minted before the disable");
    let tasks = format!("/api/{}/tasks", ann.id);
    all_refused_within(&server, &tasks, &minted, Duration::from_secs(3));
}

/// A personal token this server has used (and so cached) is refused here the moment
/// its account is deleted: reads, writes and the event stream.
#[test]
fn a_used_personal_token_is_refused_at_once_when_its_account_is_deleted() {
    let server = TestServer::start(&[]);
    let ann = sign_up(&server, "race-delete-cached");
    let (_, secret) = token(&server, &ann, &["tasks:write"]);
    let tasks = format!("/api/{}/tasks", ann.id);
    let events = format!("/api/{}/events?after=0", ann.id);
    assert_eq!(
        call(&server, Method::GET, &tasks, &secret, None)
            .status()
            .as_u16(),
        200
    );
    let deleted = bearer(http().delete(server.url("/api/auth/account")), &ann.access_token)
        .json(&json!({"password": ann.password}))
        .send()
        .expect("delete");
    assert_eq!(deleted.status().as_u16(), 204);
    let write = Some(json!({"title": "after deletion"}));
    for (method, path, body) in [
        (Method::GET, &tasks, None),
        (Method::POST, &tasks, write),
        (Method::GET, &events, None),
    ] {
        let answer = call(&server, method.clone(), path, &secret, body);
        assert_problem(answer, 401, ProblemCode::InvalidToken);
    }
}

/// Task writes in flight while the account is deleted answer 201 or 401, never 5xx
/// (a write that finds its owner gone is the token's problem, not the server's).
#[test]
fn task_writes_racing_the_account_deletion_answer_401_never_5xx() {
    let server = TestServer::start(&NO_LIMITS);
    let ann = sign_up(&server, "race-delete-writes");
    let (_, secret) = token(&server, &ann, &["tasks:write"]);
    let tasks = format!("/api/{}/tasks", ann.id);
    let statuses = Mutex::new(Vec::new());
    let start = Barrier::new(5);
    std::thread::scope(|scope| {
        for writer in 0..4 {
            let (secret, tasks, statuses, start) = (&secret, &tasks, &statuses, &start);
            let server = &server;
            scope.spawn(move || {
                start.wait();
                for n in 0..200 {
                    let body = Some(json!({"title": format!("w{writer} {n}")}));
                    let status = call(server, Method::POST, tasks, secret, body).status().as_u16();
                    statuses.lock().expect("lock").push(status);
                    if status == 401 {
                        return;
                    }
                }
            });
        }
        start.wait();
        std::thread::sleep(Duration::from_millis(50));
        let deleted = bearer(http().delete(server.url("/api/auth/account")), &ann.access_token)
            .json(&json!({"password": ann.password}))
            .send()
            .expect("delete");
        assert_eq!(deleted.status().as_u16(), 204);
    });
    let statuses = statuses.into_inner().expect("lock");
    assert!(statuses.contains(&201), "some writes landed first: {statuses:?}");
    assert!(
        statuses.contains(&401),
        "the writes after it were refused: {statuses:?}"
    );
    let odd: Vec<&u16> = statuses.iter().filter(|s| **s != 201 && **s != 401).collect();
    assert!(odd.is_empty(), "answers other than 201 and 401: {odd:?}");
}

/// Sign-ins with the old password in flight while the password changes: every session
/// they got is ended (started before the change) or was never started (refused after
/// it), so none outlives the change. Each of four clients signs in again and again with
/// the old password until it is refused, so some sign-ins check the old password just
/// before the change commits and start their session just after. Several rounds.
#[test]
fn sign_ins_racing_a_password_change_leave_no_live_session() {
    let server = TestServer::start(&NO_LIMITS);
    let ann = sign_up(&server, "race-password");
    let mut password = ann.password.clone();
    for round in 0..4 {
        let new_password = strong_password();
        let sessions = Mutex::new(Vec::new());
        std::thread::scope(|scope| {
            for _ in 0..4 {
                let (sessions, password, server, email) = (&sessions, &password, &server, &ann.email);
                scope.spawn(move || {
                    loop {
                        let answer = sign_in(server, email, password);
                        match answer.status().as_u16() {
                            200 => {
                                let body: Value = answer.json().expect("tokens");
                                let token = body["access_token"].as_str().expect("token").to_string();
                                sessions.lock().expect("lock").push(token);
                            }
                            401 => return, // the password has changed
                            other => panic!("a sign-in answered {other}"),
                        }
                    }
                });
            }
            std::thread::sleep(Duration::from_millis(150));
            let changed = bearer(http().post(server.url("/api/auth/password")), &ann.access_token)
                .json(&json!({"current_password": password, "new_password": new_password}))
                .send()
                .expect("password");
            assert_eq!(changed.status().as_u16(), 204, "round {round}");
        });
        let sessions = sessions.into_inner().expect("lock");
        assert!(
            !sessions.is_empty(),
            "round {round}: sign-ins ran before the change"
        );
        let live = sessions
            .iter()
            .filter(|token| session_status(&server, token) != 401)
            .count();
        assert_eq!(
            live,
            0,
            "round {round}: {live} of {} sessions signed in with the old password outlived the change",
            sessions.len()
        );
        assert_eq!(
            session_status(&server, &ann.access_token),
            200,
            "the changer's own session stays"
        );
        password = new_password;
    }
    assert_eq!(sign_in(&server, &ann.email, &password).status().as_u16(), 200);
}

/// An mfa challenge earned with the password before it changed opens no session, and
/// the code sent with it is not spent: both or neither.
#[test]
fn an_mfa_challenge_from_before_a_password_change_opens_no_session() {
    let server = TestServer::start(&NO_LIMITS);
    let ann = sign_up(&server, "race-mfa-password");
    let (_, codes) = turn_on(&server, &ann);
    let earned = first_step(&server, &ann);
    let new_password = strong_password();
    let changed = bearer(http().post(server.url("/api/auth/password")), &ann.access_token)
        .json(&json!({"current_password": ann.password, "new_password": new_password}))
        .send()
        .expect("password");
    assert_eq!(changed.status().as_u16(), 204);
    assert_problem(
        second_step(&server, &earned, &codes[0]),
        401,
        ProblemCode::InvalidMfaToken,
    );
    let now = Account {
        password: new_password,
        ..ann
    };
    let fresh = first_step(&server, &now);
    assert_eq!(
        second_step(&server, &fresh, &codes[0]).status().as_u16(),
        200,
        "the recovery code sent with the dead challenge was not spent"
    );
}

/// Several recovery codes sent at once on one mfa token: one signs in, and only that
/// one is spent; each of the others still signs in later.
#[test]
fn recovery_codes_sent_at_once_on_one_challenge_spend_only_the_one_that_signs_in() {
    let server = TestServer::start(&NO_LIMITS);
    let ann = sign_up(&server, "race-recovery");
    let (_, codes) = turn_on(&server, &ann);
    let mfa = first_step(&server, &ann);
    let start = Barrier::new(5);
    let answers: Vec<(String, u16)> = std::thread::scope(|scope| {
        let handles: Vec<_> = codes[..5]
            .iter()
            .map(|c| {
                let (start, server, mfa) = (&start, &server, &mfa);
                scope.spawn(move || {
                    start.wait();
                    (c.clone(), second_step(server, mfa, c).status().as_u16())
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("thread")).collect()
    });
    let winners = answers.iter().filter(|(_, s)| *s == 200).count();
    assert_eq!(winners, 1, "{answers:?}");
    for (unspent, status) in answers.iter().filter(|(_, s)| *s != 200) {
        assert_eq!(*status, 401, "{answers:?}");
        let fresh = first_step(&server, &ann);
        assert_eq!(
            second_step(&server, &fresh, unspent).status().as_u16(),
            200,
            "a refused code was spent"
        );
    }
}

/// An access token alone cannot turn two-factor sign-in on: it needs the password.
#[test]
fn turning_two_factor_on_needs_the_password() {
    let server = TestServer::start(&[]);
    let ann = sign_up(&server, "enable-password");
    let setup: Value = post(&server, "/api/auth/2fa/setup", Some(&ann.access_token), json!({}))
        .json()
        .expect("setup");
    let secret = setup["secret"].as_str().expect("secret");
    let body = json!({"password": "not-the-password", "code": code(secret, 0)});
    let refused = post(&server, "/api/auth/2fa/enable", Some(&ann.access_token), body);
    assert_problem(refused, 403, ProblemCode::WrongPassword);
    let missing = post(
        &server,
        "/api/auth/2fa/enable",
        Some(&ann.access_token),
        json!({"code": code(secret, 0)}),
    );
    assert_eq!(missing.status().as_u16(), 400);
    let answer: Value = sign_in(&server, &ann.email, &ann.password)
        .json()
        .expect("sign-in");
    assert!(answer["access_token"].is_string(), "still off: {answer}");
}

/// A setup made while another client enables the previous one: whatever wins, the
/// secret that is on is the one whose code was proved (the enabling client signs in
/// with it). Reset between rounds by the administrator, as an owner who lost the app
/// would be.
#[test]
fn a_setup_racing_enable_never_turns_on_an_unproved_secret() {
    let server = TestServer::start(&NO_LIMITS);
    let ann = sign_up(&server, "race-setup");
    for round in 0..6 {
        let setup: Value = post(&server, "/api/auth/2fa/setup", Some(&ann.access_token), json!({}))
            .json()
            .expect("setup");
        let proved = setup["secret"].as_str().expect("secret").to_string();
        let start = Barrier::new(2);
        let enabled = std::thread::scope(|scope| {
            let enabling = scope.spawn(|| {
                start.wait();
                let body = json!({"password": ann.password, "code": code(&proved, 0)});
                post(&server, "/api/auth/2fa/enable", Some(&ann.access_token), body)
                    .status()
                    .as_u16()
            });
            start.wait();
            post(&server, "/api/auth/2fa/setup", Some(&ann.access_token), json!({}));
            enabling.join().expect("thread")
        });
        if enabled == 204 {
            let mfa = first_step(&server, &ann);
            assert_eq!(
                second_step(&server, &mfa, &code(&proved, 1)).status().as_u16(),
                200,
                "round {round}: the secret turned on is not the one proved"
            );
            admin_ok(&server, &["reset-2fa", &ann.email]);
        }
    }
}

/// `todo-server users reset-2fa` turns two-factor sign-in off for an owner locked out,
/// and their activity log says so.
#[test]
fn the_administrator_resets_two_factor_sign_in() {
    let server = TestServer::start(&[]);
    let ann = sign_up(&server, "reset-2fa");
    turn_on(&server, &ann);
    let said = admin_ok(&server, &["reset-2fa", &ann.email]);
    assert!(said.contains("turned off"), "{said}");
    let again = admin_ok(&server, &["reset-2fa", &ann.email]);
    assert!(again.contains("was not on"), "{again}");
    let answer: Value = sign_in(&server, &ann.email, &ann.password)
        .json()
        .expect("sign-in");
    let token = answer["access_token"].as_str().expect("tokens without a code");
    let activity: Value = bearer(http().get(server.url("/api/auth/activity")), token)
        .send()
        .expect("activity")
        .json()
        .expect("json");
    let kinds: Vec<&str> = activity
        .as_array()
        .expect("entries")
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    assert!(kinds.contains(&"two_factor_reset"), "{kinds:?}");
}
