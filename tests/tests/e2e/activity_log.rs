//! The activity log records every kind of event where it happens: one account goes
//! through each flow, and after each step the newest entries are exactly the kinds that
//! step produces (so logging one kind as another fails here). At the end the log holds
//! every kind there is.

use std::collections::BTreeSet;

use serde_json::{Value, json};
use todo_api::ActivityKind;
use todo_e2e::api::{bearer, sign_in};
use todo_e2e::totp::code;
use todo_e2e::{Account, TestServer, http, sign_up, strong_password};

use crate::account_admin::admin_ok;
use crate::two_factor::{first_step, post, second_step, turn_on};

/// The kinds of the account's newest `n` entries, newest first.
fn newest(server: &TestServer, token: &str, n: usize) -> Vec<String> {
    let entries: Vec<Value> = bearer(
        http().get(server.url(&format!("/api/auth/activity?limit={n}"))),
        token,
    )
    .send()
    .expect("activity")
    .json()
    .expect("entries");
    entries
        .iter()
        .map(|e| e["kind"].as_str().expect("kind").to_string())
        .collect()
}

fn assert_newest(server: &TestServer, token: &str, expected: &[ActivityKind], step: &str) {
    let expected: Vec<String> = expected.iter().map(|k| k.as_str().to_string()).collect();
    assert_eq!(newest(server, token, expected.len()), expected, "after {step}");
}

/// Signs in with the password; the access and refresh tokens.
fn tokens(server: &TestServer, email: &str, password: &str) -> (String, String) {
    let answer: Value = sign_in(server, email, password).json().expect("tokens");
    (
        answer["access_token"].as_str().expect("access").to_string(),
        answer["refresh_token"].as_str().expect("refresh").to_string(),
    )
}

fn send(request: reqwest::blocking::RequestBuilder, body: Value) -> u16 {
    request.json(&body).send().expect("request").status().as_u16()
}

#[test]
fn every_kind_of_event_is_logged_where_it_happens() {
    use ActivityKind as K;
    let server = TestServer::start(&["--no-rate-limit"]);
    let mut ann: Account = sign_up(&server, "activity-all");
    let me = ann.access_token.clone();
    let url = |path: &str| server.url(path);

    assert_eq!(
        sign_in(&server, &ann.email, "wrong password").status().as_u16(),
        401
    );
    assert_newest(&server, &me, &[K::SignInFailed], "a wrong password");

    let (other, _) = tokens(&server, &ann.email, &ann.password);
    assert_newest(&server, &me, &[K::SignIn], "a sign-in");
    assert_eq!(
        send(bearer(http().post(url("/api/auth/sign-out")), &other), json!({})),
        204
    );
    assert_newest(&server, &me, &[K::SignOut], "a sign-out");

    let (_, refresh) = tokens(&server, &ann.email, &ann.password);
    let refresh_body = json!({"refresh_token": refresh});
    assert_eq!(
        send(http().post(url("/api/auth/refresh")), refresh_body.clone()),
        200
    );
    assert_eq!(send(http().post(url("/api/auth/refresh")), refresh_body), 401);
    assert_newest(
        &server,
        &me,
        &[K::RefreshTokenReused],
        "a refresh token used twice",
    );

    tokens(&server, &ann.email, &ann.password);
    let sessions: Vec<Value> = bearer(http().get(url("/api/auth/sessions")), &me)
        .send()
        .expect("sessions")
        .json()
        .expect("list");
    let ended = sessions
        .iter()
        .find(|s| s["current"] == false)
        .and_then(|s| s["id"].as_str())
        .expect("another session");
    let status = bearer(http().delete(url(&format!("/api/auth/sessions/{ended}"))), &me)
        .send()
        .expect("end")
        .status()
        .as_u16();
    assert_eq!(status, 204);
    assert_newest(&server, &me, &[K::SessionEnded], "ending a session");

    let created: Value = bearer(http().post(url("/api/auth/tokens")), &me)
        .json(&json!({"name": "log", "scopes": ["tasks:read"]}))
        .send()
        .expect("token")
        .json()
        .expect("created");
    assert_newest(&server, &me, &[K::TokenCreated], "making a personal token");
    let id = created["id"].as_str().expect("id");
    let revoked = bearer(http().delete(url(&format!("/api/auth/tokens/{id}"))), &me)
        .send()
        .expect("revoke");
    assert_eq!(revoked.status().as_u16(), 204);
    assert_newest(&server, &me, &[K::TokenRevoked], "revoking it");

    let (secret, codes) = turn_on(&server, &ann);
    assert_newest(
        &server,
        &me,
        &[K::TwoFactorEnabled, K::TwoFactorSetUp],
        "turning 2FA on",
    );
    let mfa = first_step(&server, &ann);
    assert_eq!(second_step(&server, &mfa, "000000").status().as_u16(), 403);
    assert_newest(&server, &me, &[K::TwoFactorFailed], "a wrong code");
    assert_eq!(second_step(&server, &mfa, &codes[0]).status().as_u16(), 200);
    assert_newest(&server, &me, &[K::SignIn, K::RecoveryCodeUsed], "a recovery code");
    let off = json!({"password": ann.password, "code": code(&secret, 1)});
    assert_eq!(
        post(&server, "/api/auth/2fa/disable", Some(&me), off)
            .status()
            .as_u16(),
        204
    );
    assert_newest(&server, &me, &[K::TwoFactorDisabled], "turning 2FA off");
    turn_on(&server, &ann);
    admin_ok(&server, &["reset-2fa", &ann.email]);
    assert_newest(
        &server,
        &me,
        &[K::TwoFactorReset],
        "the administrator's 2FA reset",
    );

    let new_email = todo_e2e::unique_email("activity-moved");
    let moved = json!({"password": ann.password, "new_email": new_email});
    assert_eq!(send(bearer(http().post(url("/api/auth/email")), &me), moved), 200);
    ann.email = new_email;
    assert_newest(&server, &me, &[K::EmailChanged], "an email change");

    let password = strong_password();
    let change = json!({"current_password": ann.password, "new_password": password});
    assert_eq!(
        send(bearer(http().post(url("/api/auth/password")), &me), change),
        204
    );
    ann.password = password;
    assert_newest(&server, &me, &[K::PasswordChanged], "a password change");

    admin_ok(&server, &["disable", &ann.email]);
    assert_eq!(sign_in(&server, &ann.email, &ann.password).status().as_u16(), 403);
    admin_ok(&server, &["enable", &ann.email]);
    let (me, _) = tokens(&server, &ann.email, &ann.password);
    assert_newest(
        &server,
        &me,
        &[K::SignIn, K::AccountEnabled, K::SignInRefused, K::AccountDisabled],
        "a disable, a refused sign-in and an enable",
    );

    let printed = admin_ok(&server, &["reset-password", &ann.email]);
    let token = printed.lines().next().expect("the token").trim();
    let reset = json!({"token": token, "new_password": strong_password()});
    assert_eq!(
        send(http().post(url("/api/auth/password/reset")), reset.clone()),
        204
    );
    let reset_password = reset["new_password"].as_str().expect("password").to_string();
    let (me, _) = tokens(&server, &ann.email, &reset_password);
    assert_newest(
        &server,
        &me,
        &[K::SignIn, K::PasswordReset, K::ResetTokenIssued],
        "a password reset",
    );

    project_activity(&server, &ann, &me);

    let logged: BTreeSet<String> = newest(&server, &me, 100).into_iter().collect();
    let every: BTreeSet<String> = ActivityKind::ALL.iter().map(|k| k.as_str().to_string()).collect();
    assert_eq!(logged, every, "every kind of event is in the log");
}

/// Invitations answered both ways, a role change, a transfer and a leave, each in the
/// log of `ann` (whose token is `me`), who acted.
fn project_activity(server: &TestServer, ann: &Account, me: &str) {
    use ActivityKind as K;
    let bob = sign_up(server, "activity-bob");
    let call = |who: &str, method: reqwest::Method, path: String, body: Option<Value>| -> Value {
        let mut request = http().request(method, server.url(&path)).bearer_auth(who);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().expect("request");
        let status = response.status();
        let body: Value = response.json().unwrap_or(Value::Null);
        assert!(status.is_success(), "{path}: {status} {body}");
        body
    };
    let project = |who: &Account, token: &str, name: &str| -> String {
        let made = call(
            token,
            reqwest::Method::POST,
            format!("/api/{}/projects", who.id),
            Some(json!({ "name": name })),
        );
        made["id"].as_str().expect("id").to_string()
    };
    let invite = |from: &Account, token: &str, project: &str, email: &str| -> String {
        let sent = call(
            token,
            reqwest::Method::POST,
            format!("/api/{}/projects/{project}/invitations", from.id),
            Some(json!({"email": email, "role": "editor"})),
        );
        sent["id"].as_str().expect("id").to_string()
    };
    let answer = |who: &Account, token: &str, id: &str, verb: &str| {
        call(
            token,
            reqwest::Method::POST,
            format!("/api/{}/invitations/{id}/{verb}", who.id),
            None,
        );
    };

    let bob_token = bob.access_token.as_str();
    let bobs = project(&bob, bob_token, "bob's");
    answer(ann, me, &invite(&bob, bob_token, &bobs, &ann.email), "accept");
    let declined = project(&bob, bob_token, "bob's other");
    answer(
        ann,
        me,
        &invite(&bob, bob_token, &declined, &ann.email),
        "decline",
    );
    assert_newest(
        server,
        me,
        &[K::InvitationDeclined, K::InvitationAccepted],
        "invitations answered",
    );

    // `me`: ann's sessions from before the disable and the reset are over.
    let anns = project(ann, me, "ann's");
    let to_bob = invite(ann, me, &anns, &bob.email);
    answer(&bob, bob_token, &to_bob, "accept");
    let member = format!("/api/{}/projects/{anns}/members/{}", ann.id, bob.id);
    call(me, reqwest::Method::PATCH, member, Some(json!({"role": "admin"})));
    let transfer = format!("/api/{}/projects/{anns}/transfer", ann.id);
    call(
        me,
        reqwest::Method::POST,
        transfer,
        Some(json!({"user_id": bob.id})),
    );
    let leave = format!("/api/{}/projects/{bobs}/members/{}", ann.id, ann.id);
    call(me, reqwest::Method::DELETE, leave, None);
    assert_newest(
        server,
        me,
        &[
            K::MemberRemoved,
            K::ProjectTransferred,
            K::MemberRoleChanged,
            K::InvitationSent,
        ],
        "an invitation sent, a role changed, a hand-over and a leave",
    );
}
