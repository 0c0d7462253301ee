//! TOTP two-factor sign-in (on whichever backend the suite runs), with the codes a
//! phone would show computed by another implementation (totp-lite) from the secret the
//! server hands out.

use serde_json::{Value, json};
use todo_api::ProblemCode;
use todo_e2e::api::{assert_problem, bearer, session_status, sign_in};
use todo_e2e::{Account, CliUser, TestServer, http, sign_up};

use todo_e2e::totp::code;

pub(crate) fn post(
    server: &TestServer,
    path: &str,
    token: Option<&str>,
    body: Value,
) -> reqwest::blocking::Response {
    let request = http().post(server.url(path)).json(&body);
    match token {
        Some(token) => bearer(request, token),
        None => request,
    }
    .send()
    .expect("request")
}

/// Sets up and turns on two-factor sign-in; returns (secret, recovery codes).
pub(crate) fn turn_on(server: &TestServer, account: &Account) -> (String, Vec<String>) {
    let setup = post(
        server,
        "/api/auth/2fa/setup",
        Some(&account.access_token),
        json!({}),
    );
    assert_eq!(setup.status().as_u16(), 200);
    let setup: Value = setup.json().expect("setup");
    let secret = setup["secret"].as_str().expect("secret").to_string();
    let url = setup["otpauth_url"].as_str().expect("url");
    assert!(
        url.starts_with("otpauth://totp/todo:") && url.contains(&format!("secret={secret}")),
        "{url}"
    );
    let codes: Vec<String> = setup["recovery_codes"]
        .as_array()
        .expect("codes")
        .iter()
        .map(|c| c.as_str().expect("code").to_string())
        .collect();
    assert_eq!(codes.len(), 10);
    let wrong = post(
        server,
        "/api/auth/2fa/enable",
        Some(&account.access_token),
        json!({"password": account.password, "code": "000000"}),
    );
    assert_problem(wrong, 403, ProblemCode::InvalidCode);
    let on = post(
        server,
        "/api/auth/2fa/enable",
        Some(&account.access_token),
        json!({"password": account.password, "code": code(&secret, 0)}),
    );
    assert_eq!(on.status().as_u16(), 204);
    (secret, codes)
}

/// Signs in with the password: returns the mfa token the answer holds.
pub(crate) fn first_step(server: &TestServer, account: &Account) -> String {
    let answer: Value = sign_in(server, &account.email, &account.password)
        .json()
        .expect("answer");
    assert_eq!(answer["mfa_required"], true, "{answer}");
    assert!(
        answer.get("access_token").is_none(),
        "no tokens before the code: {answer}"
    );
    assert_eq!(answer["methods"], json!(["totp", "recovery_code"]));
    answer["mfa_token"].as_str().expect("mfa token").to_string()
}

pub(crate) fn second_step(server: &TestServer, mfa_token: &str, code: &str) -> reqwest::blocking::Response {
    post(
        server,
        "/api/auth/sign-in/2fa",
        None,
        json!({"mfa_token": mfa_token, "code": code}),
    )
}

/// With it on, the password alone gives no tokens; a code does, once: the mfa token is
/// single use, a code is not taken twice, a wrong one is refused and logged.
#[test]
fn a_totp_code_finishes_a_sign_in_once() {
    let server = TestServer::start(&[]);
    let ann = sign_up(&server, "totp");
    let (secret, _) = turn_on(&server, &ann);
    let again = post(&server, "/api/auth/2fa/setup", Some(&ann.access_token), json!({}));
    assert_problem(again, 409, ProblemCode::TwoFactorState);

    let mfa = first_step(&server, &ann);
    assert_problem(
        second_step(&server, &mfa, "123456"),
        403,
        ProblemCode::InvalidCode,
    );
    // The step after the one enable took: a new code, within the one-step skew.
    let next = code(&secret, 1);
    let tokens = second_step(&server, &mfa, &next);
    assert_eq!(tokens.status().as_u16(), 200);
    let tokens: Value = tokens.json().expect("tokens");
    let access = tokens["access_token"].as_str().expect("access token");
    assert_eq!(session_status(&server, access), 200);
    assert_problem(
        second_step(&server, &mfa, &next),
        401,
        ProblemCode::InvalidMfaToken,
    );

    let replay = first_step(&server, &ann);
    assert_problem(
        second_step(&server, &replay, &next),
        403,
        ProblemCode::InvalidCode,
    );
    assert_problem(
        second_step(&server, &replay, &code(&secret, 0)),
        403,
        ProblemCode::InvalidCode,
    );
    assert_problem(
        second_step(&server, "made-up", &next),
        401,
        ProblemCode::InvalidMfaToken,
    );

    let log: Value = bearer(
        http().get(server.url("/api/auth/activity?limit=100")),
        &ann.access_token,
    )
    .send()
    .expect("activity")
    .json()
    .expect("entries");
    let kinds: Vec<&str> = log
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    assert!(
        kinds.contains(&"two_factor_set_up") && kinds.contains(&"two_factor_enabled"),
        "{kinds:?}"
    );
    assert_eq!(
        kinds.iter().filter(|k| **k == "two_factor_failed").count(),
        3,
        "{kinds:?}"
    );
}

/// A recovery code stands in for a TOTP code once (as typed, in any case, without
/// its dash); turning it off needs the password and a code, after which the password
/// alone signs in again.
#[test]
fn recovery_codes_work_once_and_turning_it_off_needs_password_and_code() {
    let server = TestServer::start(&[]);
    let ann = sign_up(&server, "totp-recovery");
    let (secret, codes) = turn_on(&server, &ann);
    let typed = codes[0].replace('-', "").to_uppercase();
    let mfa = first_step(&server, &ann);
    assert_eq!(second_step(&server, &mfa, &typed).status().as_u16(), 200);
    let mfa = first_step(&server, &ann);
    assert_problem(
        second_step(&server, &mfa, &codes[0]),
        403,
        ProblemCode::InvalidCode,
    );
    assert_eq!(second_step(&server, &mfa, &codes[1]).status().as_u16(), 200);

    let off = |password: &str, code: &str| {
        post(
            &server,
            "/api/auth/2fa/disable",
            Some(&ann.access_token),
            json!({"password": password, "code": code}),
        )
    };
    assert_problem(off("wrong", &codes[2]), 403, ProblemCode::WrongPassword);
    assert_problem(off(&ann.password, "999999"), 403, ProblemCode::InvalidCode);
    assert_eq!(off(&ann.password, &code(&secret, 1)).status().as_u16(), 204);
    let plain: Value = sign_in(&server, &ann.email, &ann.password)
        .json()
        .expect("tokens");
    assert!(plain["access_token"].is_string(), "{plain}");
    assert_problem(off(&ann.password, &codes[3]), 409, ProblemCode::TwoFactorState);
}

/// Wrong codes count toward the account's failure limit (429 beyond), and an mfa token
/// works for its 5 minutes and not after: the server's clock is moved (by the file it
/// reads its offset from), nothing waits.
#[test]
fn wrong_codes_are_limited_and_mfa_tokens_expire() {
    let clock = tempfile::tempdir().expect("dir");
    let offset = clock.path().join("offset");
    let clock_flag = offset.display().to_string();
    let server = TestServer::start(&["--failed-signin-limit", "3", "--test-clock-file", &clock_flag]);
    let ann = sign_up(&server, "totp-limit");
    let (secret, _) = turn_on(&server, &ann);
    let mfa = first_step(&server, &ann);
    for _ in 0..3 {
        assert_problem(
            second_step(&server, &mfa, "111111"),
            403,
            ProblemCode::InvalidCode,
        );
    }
    assert_problem(
        second_step(&server, &mfa, &code(&secret, 1)),
        429,
        ProblemCode::RateLimited,
    );

    let other = sign_up(&server, "totp-expiry");
    let (other_secret, _) = turn_on(&server, &other);
    // 4 min 30 s later (nine 30-second steps): still good.
    let in_time = first_step(&server, &other);
    std::fs::write(&offset, "270").expect("move the clock");
    assert_eq!(
        second_step(&server, &in_time, &code(&other_secret, 9))
            .status()
            .as_u16(),
        200,
        "within its 5 minutes"
    );
    // Issued now, used 5 min 5 s later: refused.
    let late = first_step(&server, &other);
    std::fs::write(&offset, "575").expect("move the clock");
    assert_problem(
        second_step(&server, &late, &code(&other_secret, 19)),
        401,
        ProblemCode::InvalidMfaToken,
    );
}

/// The CLI: `auth 2fa setup --json` and `enable --code`, then `auth signin` takes the
/// code as the second stdin line, and `auth 2fa disable`.
#[test]
fn the_cli_signs_in_with_a_code() {
    let server = TestServer::start(&[]);
    let cli = CliUser::new(&server);
    let (email, password) = cli.sign_up("totp-cli");
    let setup = cli.run(&["auth", "2fa", "setup", "--json"]).ok().json();
    let secret = setup["secret"].as_str().expect("secret").to_string();
    let no_password = cli.run(&["auth", "2fa", "enable", "--code", &code(&secret, 0)]);
    assert_eq!(no_password.code, 2, "{no_password:?}");
    cli.run_with_stdin(
        &[
            "auth",
            "2fa",
            "enable",
            "--code",
            &code(&secret, 0),
            "--password-stdin",
        ],
        Some(&format!("{password}\n")),
    )
    .ok();

    let no_code = cli.run_with_stdin(
        &["auth", "signin", "--email", &email, "--password-stdin"],
        Some(&format!("{password}\n")),
    );
    assert_eq!(no_code.code, 2, "{no_code:?}");
    assert!(no_code.stderr.contains("two-factor code"), "{no_code:?}");
    cli.run_with_stdin(
        &["auth", "signin", "--email", &email, "--password-stdin"],
        Some(&format!("{password}\n{}\n", code(&secret, 1))),
    )
    .ok();
    assert_eq!(
        cli.run(&["auth", "status", "--json"]).ok().json()["signed_in"],
        true
    );
    let wrong = cli.run_with_stdin(
        &[
            "auth",
            "signin",
            "--email",
            &email,
            "--password-stdin",
            "--code",
            "000000",
        ],
        Some(&format!("{password}\n")),
    );
    assert_ne!(wrong.code, 0);
    assert!(wrong.stderr.contains("code is wrong"), "{wrong:?}");
    let recovery = setup["recovery_codes"][0].as_str().expect("code");
    cli.run_with_stdin(
        &["auth", "2fa", "disable", "--password-stdin", "--code", recovery],
        Some(&format!("{password}\n")),
    )
    .ok();
    cli.run_with_stdin(
        &["auth", "signin", "--email", &email, "--password-stdin"],
        Some(&format!("{password}\n")),
    )
    .ok();
}

fn stored_secrets(db: &str) -> Vec<String> {
    todo_e2e::query_column(
        db,
        &format!("SELECT {} FROM totp_secrets", todo_e2e::hex_of(db, "secret")),
    )
}

/// With a key-encryption key, the TOTP secret in the database is sealed (bound to its
/// user), the one set up before the key too: a copy of the database does not give the
/// secret, and codes still work.
#[test]
fn the_secret_is_sealed_at_rest_with_a_key_encryption_key() {
    use std::os::unix::fs::PermissionsExt;
    let server = TestServer::start(&[]);
    let before = sign_up(&server, "totp-before");
    let (early_secret, _) = turn_on(&server, &before);
    let db = server.database();
    let hex = |secret: &str| -> String {
        todo_e2e::totp::secret_bytes(secret)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    };
    assert_eq!(
        stored_secrets(&db),
        [hex(&early_secret)],
        "in the clear without a key"
    );
    let dir = server.stop();

    let keys = tempfile::tempdir().expect("dir");
    let kek = keys.path().join("kek");
    let key = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, [7u8; 32]);
    std::fs::write(&kek, key).expect("write kek");
    std::fs::set_permissions(&kek, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let kek_arg = kek.to_string_lossy().into_owned();
    let server = TestServer::start_in(dir, &["--key-encryption-key-file", &kek_arg]);
    let ann = sign_up(&server, "totp-sealed");
    let (secret, _) = turn_on(&server, &ann);

    let stored = stored_secrets(&db);
    assert_eq!(stored.len(), 2);
    for (row, clear) in stored.iter().zip([hex(&early_secret), hex(&secret)]) {
        assert_eq!(row.len(), 2 * (1 + 24 + 20 + 16), "version, nonce, secret, tag");
        assert!(!row.contains(&clear), "no secret is in the database in the clear");
    }
    assert!(!stored.contains(&hex(&secret)));

    // The next step: the one enabling took is used.
    for (account, secret) in [(&before, &early_secret), (&ann, &secret)] {
        let mfa = first_step(&server, account);
        let signed_in = second_step(&server, &mfa, &code(secret, 1));
        assert_eq!(
            signed_in.status().as_u16(),
            200,
            "codes from the sealed secret work"
        );
    }
}
