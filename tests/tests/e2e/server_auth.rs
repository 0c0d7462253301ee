//! Accounts, tokens, sessions, keys and limits over HTTP against the real server.

use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::pkcs8::EncodePrivateKey;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use todo_api::ProblemCode;
use todo_e2e::api::{assert_problem, bearer, session_status, sign_in, sign_up_with};
use todo_e2e::{Account, TestServer, binary, http, sign_up, strong_password, unique_email};

fn post(server: &TestServer, path: &str, body: Value) -> reqwest::blocking::Response {
    http().post(server.url(path)).json(&body).send().expect("post")
}

fn token_header(token: &str) -> Value {
    let part = token.split('.').next().expect("header");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).expect("b64")).expect("json")
}

fn token_claims(token: &str) -> Value {
    let part = token.split('.').nth(1).expect("payload");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).expect("b64")).expect("json")
}

#[test]
fn sign_up_sign_in_session_and_duplicate_email() {
    let server = TestServer::start(&[]);
    let email = unique_email("Ann");
    let password = strong_password();
    let response = post(
        &server,
        "/api/auth/sign-up",
        json!({"email": email, "password": password, "name": "Ann"}),
    );
    assert_eq!(response.status().as_u16(), 201);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().expect("json");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    assert_eq!(body["user"]["email"], email.to_lowercase());
    assert_eq!(body["user"]["name"], "Ann");
    assert!(body["user"].get("password_hash").is_none());
    let user_id = body["user"]["id"].as_str().expect("id").to_string();

    let header = token_header(body["access_token"].as_str().expect("token"));
    assert_eq!(header["alg"], "EdDSA");
    assert_eq!(header["typ"], "JWT");
    assert!(header["kid"].is_string());
    let claims = token_claims(body["access_token"].as_str().expect("token"));
    assert_eq!(claims["sub"], user_id.as_str());
    assert_eq!(claims["iss"], server.base_url.as_str());
    assert_eq!(claims["aud"], server.base_url.as_str());
    for claim in ["sid", "email", "iat", "nbf", "exp", "jti"] {
        assert!(!claims[claim].is_null(), "claim {claim} missing");
    }

    // The same email in another case, with another password: refused, original intact.
    let again = post(
        &server,
        "/api/auth/sign-up",
        json!({"email": email.to_uppercase(), "password": strong_password()}),
    );
    assert_problem(again, 409, ProblemCode::EmailTaken);
    let signed_in = post(
        &server,
        "/api/auth/sign-in",
        json!({"email": email, "password": password}),
    );
    assert_eq!(signed_in.status().as_u16(), 200);
    let signed_in: Value = signed_in.json().expect("json");
    assert_eq!(signed_in["user"]["id"], user_id.as_str());

    let session: Value = bearer(
        http().get(server.url("/api/auth/session")),
        signed_in["access_token"].as_str().expect("t"),
    )
    .send()
    .expect("session")
    .json()
    .expect("json");
    assert_eq!(session["user"]["id"], user_id.as_str());
    assert!(session["expires_at"].as_str().is_some_and(|s| s.ends_with('Z')));
}

#[test]
fn sign_up_refuses_bad_emails_and_weak_passwords_with_reasons() {
    let server = TestServer::start(&[]);
    let body = assert_problem(
        post(
            &server,
            "/api/auth/sign-up",
            json!({"email": "nope", "password": strong_password()}),
        ),
        422,
        ProblemCode::InvalidField,
    );
    assert_eq!(body["field"], "email");
    let body = assert_problem(
        post(
            &server,
            "/api/auth/sign-up",
            json!({"email": unique_email("w"), "password": "password1"}),
        ),
        422,
        ProblemCode::WeakPassword,
    );
    assert_eq!(body["field"], "password");
    assert!(
        body["detail"]
            .as_str()
            .expect("detail")
            .contains("too easy to guess")
    );
    let body = assert_problem(
        post(
            &server,
            "/api/auth/sign-up",
            json!({"email": unique_email("s"), "password": "x7#"}),
        ),
        422,
        ProblemCode::WeakPassword,
    );
    assert!(body["detail"].as_str().expect("detail").contains("8 to 128"));
    assert_problem(
        post(&server, "/api/auth/sign-up", json!({"email": unique_email("m")})),
        400,
        ProblemCode::InvalidBody,
    );
}

#[test]
fn unknown_email_and_wrong_password_get_the_same_answer() {
    let server = TestServer::start(&[]);
    let ann = sign_up(&server, "ann");
    let wrong = assert_problem(
        post(
            &server,
            "/api/auth/sign-in",
            json!({"email": ann.email, "password": "not-the-password"}),
        ),
        401,
        ProblemCode::InvalidCredentials,
    );
    let unknown = assert_problem(
        post(
            &server,
            "/api/auth/sign-in",
            json!({"email": unique_email("ghost"), "password": "not-the-password"}),
        ),
        401,
        ProblemCode::InvalidCredentials,
    );
    assert_eq!(wrong, unknown);
    let wrong_text = wrong.to_string();
    assert!(
        !wrong_text.contains("not-the-password"),
        "the password is never echoed"
    );
}

#[test]
fn refresh_rotates_and_a_reused_refresh_token_revokes_the_session() {
    let server = TestServer::start(&[]);
    let ann = sign_up(&server, "ann");
    let first = post(
        &server,
        "/api/auth/refresh",
        json!({"refresh_token": ann.refresh_token}),
    );
    assert_eq!(first.status().as_u16(), 200);
    let first: Value = first.json().expect("json");
    let next_refresh = first["refresh_token"].as_str().expect("refresh").to_string();
    let next_access = first["access_token"].as_str().expect("access").to_string();
    assert_ne!(next_refresh, ann.refresh_token);
    assert_eq!(session_status(&server, &next_access), 200);
    assert_eq!(
        token_claims(&next_access)["sid"],
        token_claims(&ann.access_token)["sid"]
    );

    // The old token again: reuse. The whole session ends, including the new pair.
    assert_problem(
        post(
            &server,
            "/api/auth/refresh",
            json!({"refresh_token": ann.refresh_token}),
        ),
        401,
        ProblemCode::InvalidRefreshToken,
    );
    assert_problem(
        post(
            &server,
            "/api/auth/refresh",
            json!({"refresh_token": next_refresh}),
        ),
        401,
        ProblemCode::InvalidRefreshToken,
    );
    assert_eq!(
        session_status(&server, &next_access),
        401,
        "access tokens of the session stop at once"
    );
    assert_problem(
        post(&server, "/api/auth/refresh", json!({"refresh_token": "made-up"})),
        401,
        ProblemCode::InvalidRefreshToken,
    );
}

#[test]
fn sign_out_ends_one_session_or_all_of_them_at_once() {
    let server = TestServer::start(&[]);
    let ann = sign_up(&server, "ann");
    let sign_in = || -> Account {
        let body: Value = post(
            &server,
            "/api/auth/sign-in",
            json!({"email": ann.email, "password": ann.password}),
        )
        .json()
        .expect("json");
        Account {
            access_token: body["access_token"].as_str().expect("t").into(),
            refresh_token: body["refresh_token"].as_str().expect("t").into(),
            ..ann.clone()
        }
    };
    let laptop = sign_in();
    let phone = sign_in();

    let out = bearer(http().post(server.url("/api/auth/sign-out")), &ann.access_token)
        .json(&json!({}))
        .send()
        .expect("sign-out");
    assert_eq!(out.status().as_u16(), 204);
    assert_eq!(session_status(&server, &ann.access_token), 401);
    assert_problem(
        post(
            &server,
            "/api/auth/refresh",
            json!({"refresh_token": ann.refresh_token}),
        ),
        401,
        ProblemCode::InvalidRefreshToken,
    );
    assert_eq!(
        session_status(&server, &laptop.access_token),
        200,
        "other sessions go on"
    );

    let out = bearer(
        http().post(server.url("/api/auth/sign-out")),
        &laptop.access_token,
    )
    .json(&json!({"all": true}))
    .send()
    .expect("sign-out");
    assert_eq!(out.status().as_u16(), 204);
    assert_eq!(session_status(&server, &laptop.access_token), 401);
    assert_eq!(session_status(&server, &phone.access_token), 401);
    assert_problem(
        post(
            &server,
            "/api/auth/refresh",
            json!({"refresh_token": phone.refresh_token}),
        ),
        401,
        ProblemCode::InvalidRefreshToken,
    );
}

/// Sign-out and refresh-token reuse both hold across a restart, beside a positive
/// control: a session that did neither still works after the same restart.
#[test]
fn signed_out_and_replayed_sessions_stay_refused_after_a_restart() {
    let server = TestServer::start(&[]);
    let ann = sign_up(&server, "ann");
    let bob = sign_up(&server, "bob");
    let kept = sign_up(&server, "kept");
    bearer(http().post(server.url("/api/auth/sign-out")), &ann.access_token)
        .json(&json!({}))
        .send()
        .expect("sign-out");
    let rotated = post(
        &server,
        "/api/auth/refresh",
        json!({"refresh_token": bob.refresh_token}),
    );
    assert_eq!(rotated.status().as_u16(), 200);
    let rotated: Value = rotated.json().expect("tokens");
    let db = server.database();
    let dir = server.stop();
    // The same database and issuer, so the token's signature and claims are still good.
    let claims = token_claims(&ann.access_token);
    let issuer = claims["iss"].as_str().expect("iss");
    let restarted = TestServer::start_in(dir, &["--issuer", issuer]);
    assert_eq!(restarted.database(), db);
    assert_eq!(
        session_status(&restarted, &kept.access_token),
        200,
        "positive control"
    );
    assert_eq!(session_status(&restarted, &ann.access_token), 401);
    // Bob's first refresh token, used before the restart, is presented again: a replay.
    assert_problem(
        post(
            &restarted,
            "/api/auth/refresh",
            json!({"refresh_token": bob.refresh_token}),
        ),
        401,
        ProblemCode::InvalidRefreshToken,
    );
    let newer = rotated["refresh_token"].as_str().expect("refresh");
    assert_problem(
        post(&restarted, "/api/auth/refresh", json!({"refresh_token": newer})),
        401,
        ProblemCode::InvalidRefreshToken,
    );
    let access = rotated["access_token"].as_str().expect("access");
    assert_eq!(
        session_status(&restarted, access),
        401,
        "the replay ended the session"
    );
}

// ---- The 401 matrix -------------------------------------------------------------------

/// The server's current signing key, read from its database.
fn server_key(server: &TestServer) -> (String, ed25519_dalek::SigningKey) {
    let db = server.database();
    let active = |column: &str| {
        let sql = format!("SELECT {column} FROM signing_keys WHERE retired_at IS NULL");
        todo_e2e::query_column(&db, &sql).remove(0)
    };
    let kid = active("kid");
    let hex = active(&todo_e2e::hex_of(&db, "secret_key"));
    let seed: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
        .collect();
    let seed: [u8; 32] = seed.try_into().expect("32 bytes");
    (kid, ed25519_dalek::SigningKey::from_bytes(&seed))
}

fn sign_eddsa(key: &ed25519_dalek::SigningKey, header: Header, claims: &Value) -> String {
    let der = key.to_pkcs8_der().expect("der");
    jsonwebtoken::encode(&header, claims, &EncodingKey::from_ed_der(der.as_bytes())).expect("sign")
}

/// Builds `header.payload.signature` from raw JSON, signing with `key` when given.
fn raw_token(header: &Value, claims: &Value, key: Option<&ed25519_dalek::SigningKey>) -> String {
    use ed25519_dalek::Signer;
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let signature = key
        .map(|k| URL_SAFE_NO_PAD.encode(k.sign(input.as_bytes()).to_bytes()))
        .unwrap_or_default();
    format!("{input}.{signature}")
}

/// A signed-up user and the server's own key, to forge tokens that differ from a good
/// one in exactly one way. Setting it up checks that the forging recipe itself is right:
/// the same recipe with good claims is accepted.
struct Forge {
    server: TestServer,
    ann: Account,
    kid: String,
    key: ed25519_dalek::SigningKey,
    good: Value,
}

impl Forge {
    fn new() -> Forge {
        let server = TestServer::start(&[]);
        let ann = sign_up(&server, "ann");
        let (kid, key) = server_key(&server);
        let good = token_claims(&ann.access_token);
        let forge = Forge {
            server,
            ann,
            kid,
            key,
            good,
        };
        let control = forge.signed(&forge.good);
        assert_eq!(
            session_status(&forge.server, &control),
            200,
            "control token must pass"
        );
        let control_raw = forge.raw(json!({"alg": "EdDSA", "typ": "JWT", "kid": forge.kid}));
        assert_eq!(
            session_status(&forge.server, &control_raw),
            200,
            "raw control token must pass"
        );
        forge
    }

    fn now(&self) -> i64 {
        self.good["iat"].as_i64().expect("iat")
    }

    /// The good claims with `name` set to `value`.
    fn with(&self, name: &str, value: Value) -> Value {
        let mut claims = self.good.clone();
        claims[name] = value;
        claims
    }

    fn header(&self, kid: &str) -> Header {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(kid.to_string());
        header
    }

    /// `claims` signed with the server's own key, as the server would.
    fn signed(&self, claims: &Value) -> String {
        sign_eddsa(&self.key, self.header(&self.kid), claims)
    }

    /// The good claims under a hand-written header, signed with the server's key.
    fn raw(&self, header: Value) -> String {
        raw_token(&header, &self.good, Some(&self.key))
    }

    /// Each case is 401 `invalid_token` with the bearer challenge, on a task route and
    /// on the session route, and no answer echoes the real token.
    fn assert_refused(&self, cases: Vec<(&str, Option<String>)>) {
        let task_url = self.server.url(&format!("/api/{}/tasks", self.ann.id));
        for (name, authorization) in cases {
            for request in [
                http().get(&task_url),
                http().get(self.server.url("/api/auth/session")),
            ] {
                let request = match &authorization {
                    Some(value) => request.header("Authorization", value),
                    None => request,
                };
                let response = request.send().expect("request");
                assert_eq!(
                    response
                        .headers()
                        .get("www-authenticate")
                        .and_then(|v| v.to_str().ok()),
                    Some(r#"Bearer error="invalid_token""#),
                    "{name}"
                );
                let body = assert_problem(response, 401, ProblemCode::InvalidToken);
                assert!(
                    !body.to_string().contains(&self.ann.access_token),
                    "{name}: no token in the body"
                );
            }
        }
    }
}

fn bearer_header(token: &str) -> Option<String> {
    Some(format!("Bearer {token}"))
}

#[test]
fn a_missing_or_malformed_authorization_is_401_before_the_body_is_read() {
    let forge = Forge::new();
    forge.assert_refused(vec![
        ("no header", None),
        ("Basic", Some("Basic YW5uOnBhc3N3b3Jk".into())),
        ("Bearer with nothing", Some("Bearer".into())),
        ("Bearer and a space", Some("Bearer ".into())),
        ("garbage", bearer_header("not.a.jwt")),
    ]);
    let r = http()
        .post(forge.server.url(&format!("/api/{}/tasks", forge.ann.id)))
        .header("content-type", "application/json")
        .body("{")
        .send()
        .expect("post");
    assert_problem(r, 401, ProblemCode::InvalidToken);
}

#[test]
fn a_token_not_signed_by_the_servers_key_is_401() {
    let forge = Forge::new();
    let stranger = ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng);
    let public_jwk: Value = http()
        .get(forge.server.url("/api/auth/jwks"))
        .send()
        .expect("jwks")
        .json()
        .expect("json");
    let public_x = public_jwk["keys"][0]["x"].as_str().expect("x").to_string();
    let hs256_with_public_key = {
        let mut h = Header::new(Algorithm::HS256);
        h.kid = Some(forge.kid.clone());
        jsonwebtoken::encode(&h, &forge.good, &EncodingKey::from_secret(public_x.as_bytes())).expect("hs256")
    };
    let tampered = {
        let parts: Vec<&str> = forge.ann.access_token.split('.').collect();
        let forged = URL_SAFE_NO_PAD.encode(forge.with("email", json!("mallory@example.com")).to_string());
        format!("{}.{}.{}", parts[0], forged, parts[2])
    };
    let alg_none = raw_token(
        &json!({"alg": "none", "typ": "JWT", "kid": forge.kid}),
        &forge.good,
        None,
    );
    forge.assert_refused(vec![
        (
            "another Ed25519 key",
            bearer_header(&sign_eddsa(&stranger, forge.header(&forge.kid), &forge.good)),
        ),
        ("alg none", bearer_header(&alg_none)),
        (
            "HS256 keyed with the public key",
            bearer_header(&hs256_with_public_key),
        ),
        ("tampered payload", bearer_header(&tampered)),
        (
            "unknown kid",
            bearer_header(&sign_eddsa(&forge.key, forge.header("no-such-key"), &forge.good)),
        ),
    ]);
}

#[test]
fn a_properly_signed_token_with_claims_outside_the_policy_is_401() {
    let forge = Forge::new();
    let now = forge.now();
    let mut without_sub = forge.good.clone();
    without_sub.as_object_mut().expect("object").remove("sub");
    forge.assert_refused(vec![
        (
            "expired beyond leeway",
            bearer_header(&forge.signed(&forge.with("exp", json!(now - 120)))),
        ),
        (
            "nbf in the future",
            bearer_header(&forge.signed(&forge.with("nbf", json!(now + 600)))),
        ),
        (
            "wrong iss",
            bearer_header(&forge.signed(&forge.with("iss", json!("http://evil.example")))),
        ),
        (
            "wrong aud",
            bearer_header(&forge.signed(&forge.with("aud", json!("someone-else")))),
        ),
        ("missing sub", bearer_header(&forge.signed(&without_sub))),
    ]);
}

#[test]
fn a_header_that_names_its_own_key_or_critical_extensions_is_401() {
    let forge = Forge::new();
    let kid = forge.kid.clone();
    forge.assert_refused(vec![
        (
            "jku header",
            bearer_header(
                &forge.raw(
                    json!({"alg": "EdDSA", "typ": "JWT", "kid": kid, "jku": "http://evil.example/jwks"}),
                ),
            ),
        ),
        (
            "embedded jwk",
            bearer_header(&forge.raw(json!({"alg": "EdDSA", "kid": kid, "jwk": {"kty": "OKP"}}))),
        ),
        (
            "crit header",
            bearer_header(&forge.raw(json!({"alg": "EdDSA", "kid": kid, "crit": ["exp"]}))),
        ),
    ]);
}

// ---- Keys -------------------------------------------------------------------------------

#[test]
fn jwks_is_published_and_an_independent_jose_library_verifies_our_tokens() {
    use jwt_simple::prelude::*;
    let server = TestServer::start(&[]);
    let ann = sign_up(&server, "ann");
    for path in ["/api/auth/jwks", "/.well-known/jwks.json"] {
        let response = http().get(server.url(path)).send().expect("jwks");
        assert_eq!(response.status().as_u16(), 200);
        assert!(
            response.headers()["cache-control"]
                .to_str()
                .expect("ascii")
                .contains("max-age=")
        );
        let jwks: Value = response.json().expect("json");
        let key = &jwks["keys"][0];
        assert_eq!(
            (
                key["kty"].as_str(),
                key["crv"].as_str(),
                key["alg"].as_str(),
                key["use"].as_str()
            ),
            (Some("OKP"), Some("Ed25519"), Some("EdDSA"), Some("sig"))
        );
        assert_eq!(key["kid"], token_header(&ann.access_token)["kid"]);
        assert!(key.get("d").is_none(), "no private part");

        // jwt-simple shares no code with the server's jsonwebtoken.
        let x = URL_SAFE_NO_PAD
            .decode(key["x"].as_str().expect("x"))
            .expect("b64");
        let public = Ed25519PublicKey::from_bytes(&x).expect("public key");
        let options = VerificationOptions {
            allowed_issuers: Some(HashSet::from_strings(&[&server.base_url])),
            allowed_audiences: Some(HashSet::from_strings(&[&server.base_url])),
            ..Default::default()
        };
        let claims = public
            .verify_token::<JWTClaims<serde_json::Map<String, Value>>>(&ann.access_token, Some(options))
            .expect("independent verification");
        assert_eq!(claims.subject.as_deref(), Some(ann.id.as_str()));
        let stranger = Ed25519KeyPair::generate().public_key();
        assert!(
            stranger
                .verify_token::<NoCustomClaims>(&ann.access_token, None)
                .is_err()
        );
    }
}

#[test]
fn keys_rotate_takes_effect_without_a_restart_and_old_tokens_keep_working() {
    let server = TestServer::start(&["--key-reload", "200ms"]);
    let ann = sign_up(&server, "ann");
    let old_kid = token_header(&ann.access_token)["kid"].clone();
    let out = std::process::Command::new(binary("todo-server"))
        .args(["keys", "rotate", "--database"])
        .arg(server.database())
        .output()
        .expect("rotate");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let deadline = Instant::now() + Duration::from_secs(10);
    let new_token = loop {
        let body: Value = post(
            &server,
            "/api/auth/sign-in",
            json!({"email": ann.email, "password": ann.password}),
        )
        .json()
        .expect("json");
        let token = body["access_token"].as_str().expect("token").to_string();
        if token_header(&token)["kid"] != old_kid {
            break token;
        }
        assert!(
            Instant::now() < deadline,
            "the server never picked up the new key"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(session_status(&server, &new_token), 200);
    assert_eq!(
        session_status(&server, &ann.access_token),
        200,
        "the old key still verifies"
    );
    let jwks: Value = http()
        .get(server.url("/api/auth/jwks"))
        .send()
        .expect("jwks")
        .json()
        .expect("json");
    let kids: Vec<&Value> = jwks["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .map(|k| &k["kid"])
        .collect();
    assert_eq!(kids.len(), 2);
    assert!(kids.contains(&&old_kid) && kids.contains(&&token_header(&new_token)["kid"]));
}

// ---- Limits -----------------------------------------------------------------------------

#[test]
fn sign_ups_per_address_are_limited_with_retry_after() {
    let server = TestServer::start(&["--signup-limit", "2"]);
    sign_up(&server, "one");
    sign_up(&server, "two");
    let response = post(
        &server,
        "/api/auth/sign-up",
        json!({"email": unique_email("three"), "password": strong_password()}),
    );
    let retry: u64 = response.headers()["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!((1..=60).contains(&retry));
    assert_problem(response, 429, ProblemCode::RateLimited);
}

#[test]
fn failed_sign_ins_lock_the_account_but_not_others() {
    let server = TestServer::start(&["--failed-signin-limit", "3"]);
    let ann = sign_up(&server, "ann");
    let bob = sign_up(&server, "bob");
    for _ in 0..3 {
        assert_problem(
            post(
                &server,
                "/api/auth/sign-in",
                json!({"email": ann.email, "password": "guess-guess"}),
            ),
            401,
            ProblemCode::InvalidCredentials,
        );
    }
    let locked = post(
        &server,
        "/api/auth/sign-in",
        json!({"email": ann.email, "password": ann.password}),
    );
    assert!(locked.headers().contains_key("retry-after"));
    assert_problem(locked, 429, ProblemCode::RateLimited);
    let other = post(
        &server,
        "/api/auth/sign-in",
        json!({"email": bob.email, "password": bob.password}),
    );
    assert_eq!(other.status().as_u16(), 200);
}

#[test]
fn sign_in_attempts_per_address_are_limited_and_limits_can_be_switched_off() {
    let limited = TestServer::start(&["--signin-limit", "2"]);
    let body = json!({"email": unique_email("x"), "password": "whatever-1"});
    assert_eq!(
        post(&limited, "/api/auth/sign-in", body.clone())
            .status()
            .as_u16(),
        401
    );
    assert_eq!(
        post(&limited, "/api/auth/sign-in", body.clone())
            .status()
            .as_u16(),
        401
    );
    assert_problem(
        post(&limited, "/api/auth/sign-in", body.clone()),
        429,
        ProblemCode::RateLimited,
    );

    let open = TestServer::start(&["--signin-limit", "2", "--no-rate-limit"]);
    for _ in 0..4 {
        assert_eq!(
            post(&open, "/api/auth/sign-in", body.clone()).status().as_u16(),
            401
        );
    }
}

// ---- Documentation ---------------------------------------------------------------------

#[test]
fn openapi_document_and_swagger_ui_are_served() {
    let server = TestServer::start(&[]);
    let spec: Value = http()
        .get(server.url("/openapi.json"))
        .send()
        .expect("spec")
        .json()
        .expect("json");
    assert!(spec["openapi"].as_str().is_some_and(|v| v.starts_with("3.")));
    for path in [
        "/api/auth/sign-up",
        "/api/auth/sign-in",
        "/api/auth/refresh",
        "/api/auth/sign-out",
        "/api/auth/session",
        "/api/auth/jwks",
        "/.well-known/jwks.json",
        "/healthz",
        "/api/{user_id}/tasks",
        "/api/{user_id}/tasks/{id}",
        "/api/{user_id}/tasks/{id}/complete",
    ] {
        assert!(spec["paths"].get(path).is_some(), "{path} undocumented");
    }
    let schemes = &spec["components"]["securitySchemes"];
    let bearer_scheme = schemes
        .as_object()
        .and_then(|m| m.values().next())
        .expect("a security scheme");
    assert_eq!(bearer_scheme["scheme"], "bearer");
    let list = &spec["paths"]["/api/{user_id}/tasks"]["get"]["responses"];
    for status in ["200", "401", "403", "422"] {
        assert!(list.get(status).is_some(), "list lacks {status}");
    }
    assert!(list["401"]["content"].get("application/problem+json").is_some());
    let docs = http().get(server.url("/docs")).send().expect("docs");
    assert_eq!(docs.status().as_u16(), 200);
    let html = docs.text().expect("html");
    assert!(html.contains("swagger"), "Swagger UI page");
    // Swagger UI is embedded: no script or stylesheet comes from the network.
    for tag in html
        .split('<')
        .filter(|t| t.starts_with("script") || t.starts_with("link"))
    {
        let tag = &tag[..tag.find('>').unwrap_or(tag.len())];
        assert!(!tag.contains("http"), "external resource in <{tag}>");
    }
    assert_eq!(
        http()
            .get(server.url("/healthz"))
            .send()
            .expect("health")
            .status()
            .as_u16(),
        200
    );
}

/// A password or refresh token sent in the wrong JSON shape (a number, a bare string, a
/// string holding the object, nested, in an array) is named in the answer by what was
/// wrong, never echoed; and no log line carries it, even at `RUST_LOG=trace`.
#[test]
fn secrets_in_malformed_bodies_reach_neither_the_answer_nor_the_log() {
    let log_dir = tempfile::tempdir().expect("dir");
    let log = log_dir.path().join("server.log");
    let server = TestServer::start_tracing(&log, &[]);
    let account = sign_up(&server, "shapes");
    let secret = "Sekrit-7741-Value";
    let number_secret = 774_193_552_i64;
    let shapes = [
        json!(secret),
        json!(number_secret),
        json!(format!(
            r#"{{"email":"a@b.co","password":"{secret}","refresh_token":"{secret}"}}"#
        )),
        json!([secret, secret]),
        json!({"email": "a@b.co", "password": number_secret}),
        json!({"email": "a@b.co", "password": {"p": secret}}),
        json!({"email": "a@b.co", "password": [secret]}),
        json!({"refresh_token": number_secret}),
        json!({"refresh_token": [secret]}),
        json!({"email": secret, "password": secret, "name": [secret]}),
    ];
    let mut answers = String::new();
    for route in [
        "/api/auth/sign-in",
        "/api/auth/sign-up",
        "/api/auth/refresh",
        "/api/auth/sign-out",
    ] {
        for shape in &shapes {
            let response = bearer(http().post(server.url(route)), &account.access_token)
                .json(shape)
                .send()
                .expect("request");
            let status = response.status().as_u16();
            let body = response.text().expect("body");
            assert!(status < 500, "{route} {shape}: {status} {body}");
            answers.push_str(&body);
        }
    }
    // A query value is not echoed either.
    let bad_query = bearer(
        http().get(server.url(&format!(
            "/api/{}/tasks?limit={secret}&status={secret}",
            account.id
        ))),
        &account.access_token,
    )
    .send()
    .expect("list");
    answers.push_str(&bad_query.text().expect("body"));
    drop(server);
    let logged = std::fs::read_to_string(&log).expect("log");
    assert!(logged.contains("request"), "the trace log was written");
    for needle in [secret.to_string(), number_secret.to_string()] {
        assert!(!answers.contains(&needle), "echoed: {answers}");
        assert!(!logged.contains(&needle), "logged: {logged}");
    }
}

/// Each pair reads as one address to a person: NFC and NFD, an IDN domain and its
/// punycode, any letter case. The second of each pair is the same account.
#[test]
fn addresses_that_read_the_same_are_one_account() {
    let server = TestServer::start(&["--no-rate-limit"]);
    let password = strong_password();
    let pairs = [
        ("jos\u{e9}@example.com", "JOSE\u{301}@example.com"),
        ("ann@b\u{fc}cher.de", "ann@xn--bcher-kva.de"),
        ("bo@xn--mnchen-3ya.de", "Bo@M\u{dc}NCHEN.de"),
    ];
    for (first, second) in pairs {
        assert_eq!(sign_up_with(&server, first, &password).status().as_u16(), 201);
        assert_problem(
            sign_up_with(&server, second, &password),
            409,
            ProblemCode::EmailTaken,
        );
        assert_eq!(
            sign_in(&server, second, &password).status().as_u16(),
            200,
            "{second}"
        );
    }
}

#[test]
fn invisible_characters_and_overlong_addresses_are_refused_before_use() {
    let server = TestServer::start(&["--no-rate-limit"]);
    let password = strong_password();
    for email in [
        "a\u{200b}nn@example.com",
        "\u{feff}ann@example.com",
        "ann@exa\u{202e}mple.com",
        "ann\u{2060}@example.com",
        "an\u{1b}n@example.com",
    ] {
        let body = assert_problem(
            sign_up_with(&server, email, &password),
            422,
            ProblemCode::InvalidField,
        );
        assert_eq!(body["field"], "email", "{email:?}");
    }
    let huge = format!("{}@example.com", "a".repeat(60_000));
    let body = assert_problem(
        sign_up_with(&server, &huge, &password),
        422,
        ProblemCode::InvalidField,
    );
    assert!(
        body["detail"].as_str().is_some_and(|d| d.contains("254")),
        "{body}"
    );
    assert_problem(
        sign_in(&server, &huge, &password),
        401,
        ProblemCode::InvalidCredentials,
    );
}

/// A password typed in decomposed form on one system and composed on another is one
/// password (NFC before hashing, NIST SP 800-63B).
#[test]
fn passwords_are_compared_in_nfc() {
    let server = TestServer::start(&[]);
    let email = unique_email("nfc");
    let decomposed = format!("cafe\u{301}-{}", strong_password());
    let composed = decomposed.replace("e\u{301}", "\u{e9}");
    assert_eq!(sign_up_with(&server, &email, &decomposed).status().as_u16(), 201);
    assert_eq!(sign_in(&server, &email, &composed).status().as_u16(), 200);
    assert_eq!(sign_in(&server, &email, &decomposed).status().as_u16(), 200);
}

/// Rows written before normalisation: the address is brought to its normal form at
/// start, and a password hashed in decomposed form still signs in (and is rehashed).
#[test]
fn accounts_stored_before_normalisation_keep_working() {
    use argon2::password_hash::{PasswordHasher, SaltString, rand_core::OsRng};
    let server = TestServer::start(&[]);
    let ann = sign_up(&server, "legacy");
    let db = server.database();
    let dir = server.stop();
    let decomposed = format!("nai\u{308}ve-{}", strong_password());
    let legacy_hash = argon2::Argon2::default()
        .hash_password(decomposed.as_bytes(), &SaltString::generate(&mut OsRng))
        .expect("hash")
        .to_string();
    let legacy_email = "Zo\u{308}e@B\u{fc}cher.de";
    // Literals: none of the three holds a quote.
    todo_e2e::query_column(
        &db,
        &format!(
            "UPDATE users SET email = '{legacy_email}', password_hash = '{legacy_hash}' WHERE id = '{}'",
            ann.id
        ),
    );
    let server = TestServer::start_in(dir, &[]);
    let composed = decomposed.replace("i\u{308}", "\u{ef}");
    for password in [&decomposed, &composed, &decomposed] {
        let response = sign_in(&server, "z\u{f6}e@xn--bcher-kva.de", password);
        assert_eq!(response.status().as_u16(), 200, "{password:?}");
    }
}

fn header(response: &reqwest::blocking::Response, name: &str) -> String {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

/// Tokens, users and tasks are never kept by a cache (errors included), nothing is
/// sniffed, and the key set keeps its own public cache policy.
#[test]
fn answers_with_tokens_or_user_data_are_never_cached() {
    let server = TestServer::start(&[]);
    let ann = sign_up(&server, "nostore");
    let responses = [
        ("sign-in", sign_in(&server, &ann.email, &ann.password)),
        (
            "list",
            bearer(
                http().get(server.url(&format!("/api/{}/tasks", ann.id))),
                &ann.access_token,
            )
            .send()
            .expect("list"),
        ),
        (
            "session",
            bearer(http().get(server.url("/api/auth/session")), &ann.access_token)
                .send()
                .expect("session"),
        ),
        (
            "401",
            http()
                .get(server.url(&format!("/api/{}/tasks", ann.id)))
                .send()
                .expect("401"),
        ),
        (
            "404 route",
            http().get(server.url("/nowhere")).send().expect("404"),
        ),
    ];
    for (what, response) in responses {
        assert_eq!(header(&response, "cache-control"), "no-store", "{what}");
        assert_eq!(header(&response, "x-content-type-options"), "nosniff", "{what}");
    }
    let jwks = http()
        .get(server.url("/.well-known/jwks.json"))
        .send()
        .expect("jwks");
    assert_eq!(header(&jwks, "cache-control"), "public, max-age=60");
}

/// The Swagger UI may run its own inline scripts and nothing else, and no other site
/// may frame it.
#[test]
fn the_docs_page_allows_only_its_own_scripts_and_no_framing() {
    use base64::Engine;
    use sha2::Digest;
    let server = TestServer::start(&[]);
    let page = http().get(server.url("/docs/")).send().expect("docs");
    assert_eq!(page.status().as_u16(), 200);
    let policy = header(&page, "content-security-policy");
    assert_eq!(header(&page, "x-content-type-options"), "nosniff");
    let html = page.text().expect("html");
    assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
    assert!(policy.contains("default-src 'none'"), "{policy}");
    assert!(
        !policy.contains("'unsafe-inline' 'unsafe-eval'") && !policy.contains("script-src 'unsafe-inline'"),
        "{policy}"
    );
    // As a browser reads the page: a script's text runs to the first `</script` after
    // its opening tag, whatever it holds (Swagger UI's bundle holds the text `<script`).
    let mut scripts: Vec<&str> = Vec::new();
    let mut rest = html.as_str();
    while let Some(start) = rest.find("<script") {
        let tag = &rest[start..];
        let body = &tag[tag.find('>').expect("tag end") + 1..];
        let end = body.find("</script").expect("script end");
        scripts.push(&body[..end]);
        rest = &body[end..];
    }
    assert!(!scripts.is_empty());
    assert!(
        scripts.iter().any(|s| s.len() > 1_000_000),
        "the Swagger UI bundle is one script, hashed whole"
    );
    for script in scripts {
        let hash = base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(script.as_bytes()));
        assert!(
            policy.contains(&format!("'sha256-{hash}'")),
            "a script of the page is not allowed"
        );
    }
}

/// Refreshing slides a session forward, but never past its absolute lifetime.
#[test]
fn a_session_ends_at_its_absolute_lifetime_however_often_it_is_refreshed() {
    let server = TestServer::start(&["--session-lifetime", "3s", "--refresh-ttl", "1h"]);
    let ann = sign_up(&server, "lifetime");
    let refresh = |token: &str| {
        http()
            .post(server.url("/api/auth/refresh"))
            .json(&json!({"refresh_token": token}))
            .send()
            .expect("refresh")
    };
    let mut token = ann.refresh_token.clone();
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(2) {
        let response = refresh(&token);
        assert_eq!(response.status().as_u16(), 200, "within the lifetime");
        let body: Value = response.json().expect("json");
        token = body["refresh_token"].as_str().expect("token").to_string();
        std::thread::sleep(Duration::from_millis(500));
    }
    std::thread::sleep(Duration::from_millis(1_500));
    assert_problem(refresh(&token), 401, ProblemCode::InvalidRefreshToken);
}
