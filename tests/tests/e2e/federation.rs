//! Tokens from a real Better Auth (npm `better-auth` with its JWT plugin, started with
//! node from `tests/node`): used directly on the task routes (with Better Auth's own user
//! id in the path, as the seed's frontend builds it) and exchanged for a session of ours;
//! each user sees only their tasks; forged and foreign tokens are refused by class; a key
//! rotation at Better Auth is followed; two servers meeting a new identity make one
//! account. Without node or `npm ci --prefix tests/node` the tests say SKIPPED
//! (`TODO_REQUIRE_NODE=1`, set by `.ci/run`, fails instead).

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::Method;
use serde_json::{Value, json};
use todo_e2e::api::call_with;
use todo_e2e::{TestServer, http};

fn node_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("node")
}

/// Whether Better Auth can run here; `false` (after saying SKIPPED) when not.
fn available(test: &str) -> bool {
    let node = Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    let installed = node_dir().join("node_modules/better-auth/package.json").exists();
    if node && installed {
        return true;
    }
    assert!(
        std::env::var_os("TODO_REQUIRE_NODE").is_none(),
        "TODO_REQUIRE_NODE is set but node or tests/node/node_modules is missing"
    );
    eprintln!("SKIPPED {test}: needs node and `npm ci --prefix tests/node`");
    false
}

/// The session cookies an answer sets, as a `Cookie` header.
fn cookies(answer: &reqwest::blocking::Response) -> String {
    answer
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok()?.split(';').next().map(str::to_string))
        .collect::<Vec<_>>()
        .join("; ")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// A running Better Auth; `issuer` is the URL its tokens name (its own by default).
struct BetterAuth {
    child: Child,
    url: String,
    issuer: String,
}

impl BetterAuth {
    fn start(claiming: Option<&str>) -> BetterAuth {
        let port = free_port();
        let url = format!("http://127.0.0.1:{port}");
        let mut command = Command::new("node");
        command
            .arg(node_dir().join("better-auth.mjs"))
            .env("PORT", port.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        if let Some(base) = claiming {
            command
                .env("BASE_URL", base)
                .env("SECRET", "another-secret-of-at-least-32-characters");
        }
        let mut child = command.spawn().expect("node starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("better auth prints its address");
        assert!(line.starts_with("listening on"), "{line:?}");
        BetterAuth {
            child,
            issuer: claiming.unwrap_or(&url).to_string(),
            url,
        }
    }

    /// Signs a new user up; (their Better Auth id, a JWT from `/api/auth/token`).
    fn sign_up(&self, tag: &str) -> (String, String) {
        self.sign_up_as(&todo_e2e::unique_email(tag))
    }

    fn sign_up_as(&self, email: &str) -> (String, String) {
        let answer = http()
            .post(format!("{}/api/auth/sign-up/email", self.url))
            .header("origin", &self.url)
            .json(&json!({"email": email, "password": "Correct-Horse-Battery-9!", "name": "Test"}))
            .send()
            .expect("sign-up");
        assert!(answer.status().is_success(), "{answer:?}");
        let cookie = cookies(&answer);
        let user: Value = answer.json().expect("json");
        (
            user["user"]["id"].as_str().expect("id").to_string(),
            self.token(&cookie),
        )
    }

    /// Signs in again: a new JWT for the user.
    fn sign_in_token(&self, email: &str) -> String {
        let answer = http()
            .post(format!("{}/api/auth/sign-in/email", self.url))
            .header("origin", &self.url)
            .json(&json!({"email": email, "password": "Correct-Horse-Battery-9!"}))
            .send()
            .expect("sign-in");
        assert!(answer.status().is_success(), "{answer:?}");
        self.token(&cookies(&answer))
    }

    fn token(&self, cookie: &str) -> String {
        let answer: Value = http()
            .get(format!("{}/api/auth/token", self.url))
            .header("origin", &self.url)
            .header("cookie", cookie)
            .send()
            .expect("token")
            .json()
            .expect("json");
        answer["token"].as_str().expect("a JWT").to_string()
    }

    fn rotate(&self) {
        let rotated = http()
            .post(format!("{}/test/rotate", self.url))
            .send()
            .expect("rotate");
        assert!(rotated.status().is_success());
    }
}

impl Drop for BetterAuth {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Our server trusting `issuer` (create accounts on first use), with a test clock.
fn trusting(issuer: &BetterAuth, dir: &tempfile::TempDir) -> Vec<String> {
    let config = dir.path().join("todo.toml");
    std::fs::write(
        &config,
        format!(
            "no_rate_limit = true\n\n[[trusted_issuer]]\nname = \"better-auth\"\nissuer = \"{0}\"\njwks_url = \"{1}/api/auth/jwks\"\naudiences = [\"{0}\"]\nalgorithms = [\"EdDSA\"]\ncreate_accounts = true\n",
            issuer.issuer, issuer.url
        ),
    )
    .expect("config");
    let clock = dir.path().join("clock");
    std::fs::write(&clock, "0").expect("clock");
    vec![
        "--config".into(),
        config.display().to_string(),
        "--test-clock-file".into(),
        clock.display().to_string(),
    ]
}

fn args(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

#[test]
fn better_auth_tokens_reach_their_own_tasks_directly_and_by_exchange() {
    if !available("better_auth_tokens_reach_their_own_tasks_directly_and_by_exchange") {
        return;
    }
    let better_auth = BetterAuth::start(None);
    let dir = tempfile::tempdir().expect("dir");
    let server = TestServer::start(&args(&trusting(&better_auth, &dir)));
    let (ann_sub, ann) = better_auth.sign_up("ann");

    // As the seed's frontend does: Better Auth's id in the path, its JWT as the bearer.
    let (status, made) = call_with(
        &server,
        &ann,
        &ann_sub,
        Method::POST,
        "/api/{me}/tasks",
        Some(json!({"title": "Plan the launch"})),
    );
    assert_eq!(status, 201, "{made}");
    let our_id = made["user_id"].as_str().expect("our id").to_string();
    assert_ne!(our_id, ann_sub, "an account of ours, with our id");
    let (status, listed) = call_with(&server, &ann, &our_id, Method::GET, "/api/{me}/tasks", None);
    assert_eq!(status, 200, "our id in the path works too");
    assert_eq!(listed[0]["title"], "Plan the launch");
    let (status, session) = call_with(&server, &ann, "", Method::GET, "/api/auth/session", None);
    assert_eq!(status, 200);
    assert_eq!(
        (session["credential"].as_str(), session["issuer"].as_str()),
        (Some("external"), Some("better-auth"))
    );
    let (status, refused) = call_with(&server, &ann, "", Method::GET, "/api/auth/sessions", None);
    assert_eq!(
        (status, refused["code"].as_str()),
        (403, Some("insufficient_scope")),
        "account routes need a session"
    );

    // Another Better Auth user: not on Ann's path, and Ann's task is not theirs.
    let (bob_sub, bob) = better_auth.sign_up("bob");
    let (status, _) = call_with(&server, &bob, &ann_sub, Method::GET, "/api/{me}/tasks", None);
    assert_eq!(status, 403, "another user's path");
    let task = format!("/api/{{me}}/tasks/{}", made["id"]);
    let (status, _) = call_with(&server, &bob, &bob_sub, Method::GET, &task, None);
    assert_eq!(status, 404, "another user's task is not found");

    // Exchanged: a real session of ours, on the same account.
    let exchanged = http()
        .post(server.url("/api/auth/token-exchange"))
        .json(&json!({"subject_token": ann, "subject_token_type": "urn:ietf:params:oauth:token-type:jwt"}))
        .send()
        .expect("exchange");
    assert_eq!(exchanged.status().as_u16(), 200);
    let tokens: Value = exchanged.json().expect("tokens");
    let access = tokens["access_token"].as_str().expect("access");
    assert_eq!(tokens["user"]["id"], our_id.as_str());
    let (status, listed) = call_with(&server, access, &our_id, Method::GET, "/api/{me}/tasks", None);
    assert_eq!((status, listed.as_array().map(Vec::len)), (200, Some(1)));
    let (status, sessions) = call_with(&server, access, "", Method::GET, "/api/auth/sessions", None);
    assert_eq!(status, 200, "a session may manage the account");
    assert_eq!(sessions.as_array().map(Vec::len), Some(1), "{sessions}");

    // The CLI does the same exchange with the JWT on stdin, and then works as usual.
    let cli = todo_e2e::CliUser::new(&server);
    cli.run_with_stdin(&["auth", "signin", "--with-token"], Some(&ann))
        .ok();
    let listed = cli.run(&["list", "--json"]).ok().json();
    assert_eq!(listed[0]["title"], "Plan the launch", "{listed}");
    let refused = cli.run_with_stdin(&["auth", "signin", "--with-token"], Some("not-a-jwt"));
    assert_eq!(refused.code, 4, "a token that is not accepted: {refused:?}");
}

/// A token made to look like Better Auth's, `header` and `claims` as given, signed with
/// a key Better Auth never had.
fn forged(header: Value, claims: &Value) -> String {
    let key = ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]);
    let head = URL_SAFE_NO_PAD.encode(header.to_string());
    let body = URL_SAFE_NO_PAD.encode(claims.to_string());
    let signing_input = format!("{head}.{body}");
    use ed25519_dalek::Signer;
    let signature = URL_SAFE_NO_PAD.encode(key.sign(signing_input.as_bytes()).to_bytes());
    format!("{signing_input}.{signature}")
}

fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("payload");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64")).expect("json")
}

fn header_of(token: &str) -> Value {
    let head = token.split('.').next().expect("header");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(head).expect("base64")).expect("json")
}

#[test]
fn forged_foreign_and_expired_tokens_are_refused_and_a_rotation_is_followed() {
    if !available("forged_foreign_and_expired_tokens_are_refused_and_a_rotation_is_followed") {
        return;
    }
    let better_auth = BetterAuth::start(None);
    let dir = tempfile::tempdir().expect("dir");
    let server = TestServer::start(&args(&trusting(&better_auth, &dir)));
    let (sub, good) = better_auth.sign_up("carol");
    let tasks = |token: &str| call_with(&server, token, &sub, Method::GET, "/api/{me}/tasks", None);
    assert_eq!(tasks(&good).0, 200, "the control: a real token works");

    let claims = claims_of(&good);
    let kid = header_of(&good)["kid"].clone();
    let jwks = format!("{}/api/auth/jwks", better_auth.url);
    let unsigned = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(json!({"alg": "none"}).to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let attacker_jwk = json!({"kty": "OKP", "crv": "Ed25519", "x": URL_SAFE_NO_PAD.encode(ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]).verifying_key().to_bytes())});
    let classes = [
        ("alg none", unsigned),
        ("HS256 with the public key", {
            let jwk: Value = http().get(&jwks).send().expect("jwks").json().expect("json");
            let public = URL_SAFE_NO_PAD
                .decode(jwk["keys"][0]["x"].as_str().expect("x"))
                .expect("x");
            jsonwebtoken::encode(
                &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
                &claims,
                &jsonwebtoken::EncodingKey::from_secret(&public),
            )
            .expect("hs256")
        }),
        (
            "its kid, another key",
            forged(json!({"alg": "EdDSA", "kid": kid}), &claims),
        ),
        (
            "a key URL in jku",
            forged(
                json!({"alg": "EdDSA", "kid": "mine", "jku": "http://127.0.0.1:9/jwks"}),
                &claims,
            ),
        ),
        (
            "a key in jwk",
            forged(json!({"alg": "EdDSA", "jwk": attacker_jwk}), &claims),
        ),
        (
            "a certificate URL in x5u",
            forged(json!({"alg": "EdDSA", "x5u": "http://127.0.0.1:9/cert"}), &claims),
        ),
    ];
    for (class, token) in &classes {
        let (status, problem) = tasks(token);
        assert_eq!(
            (status, problem["code"].as_str()),
            (401, Some("invalid_token")),
            "{class}"
        );
    }

    // A second Better Auth that claims the first's issuer: its keys are not the first's.
    let impostor = BetterAuth::start(Some(&better_auth.issuer));
    let (_, foreign) = impostor.sign_up("mallory");
    assert_eq!(claims_of(&foreign)["iss"], claims["iss"], "the same iss string");
    assert_eq!(tasks(&foreign).0, 401, "another instance's keys");

    // Rotated at Better Auth: a token under the new key verifies once the server looks
    // again (an unknown kid fetches at most every 30 s, so move its clock past that).
    better_auth.rotate();
    let (sub2, rotated) = better_auth.sign_up("dave");
    assert_ne!(header_of(&rotated)["kid"], kid, "a new key");
    std::fs::write(dir.path().join("clock"), "31").expect("clock");
    let (status, _) = call_with(&server, &rotated, &sub2, Method::GET, "/api/{me}/tasks", None);
    assert_eq!(status, 200, "the new key is fetched");

    // Expired: Better Auth's tokens live 15 minutes; move the server's clock past that.
    std::fs::write(dir.path().join("clock"), "1000").expect("clock");
    assert_eq!(tasks(&good).0, 401, "expired");
}

#[test]
fn two_servers_meeting_a_new_identity_at_once_make_one_account() {
    if !available("two_servers_meeting_a_new_identity_at_once_make_one_account") {
        return;
    }
    let better_auth = BetterAuth::start(None);
    let dir = tempfile::tempdir().expect("dir");
    let flags = trusting(&better_auth, &dir);
    let first = TestServer::start(&args(&flags));
    let second = TestServer::start_replica(&first, &args(&flags));
    let (sub, token) = better_auth.sign_up("erin");
    let statuses: Vec<u16> = std::thread::scope(|s| {
        let sent: Vec<_> = (0..12)
            .map(|n| {
                let (server, token, sub) = (if n % 2 == 0 { &first } else { &second }, &token, &sub);
                s.spawn(move || call_with(server, token, sub, Method::GET, "/api/{me}/tasks", None).0)
            })
            .collect();
        sent.into_iter().map(|t| t.join().expect("client")).collect()
    });
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    let email = claims_of(&token)["email"].as_str().expect("email").to_string();
    let accounts = todo_e2e::query_column(
        &first.database(),
        &format!("SELECT id FROM users WHERE email = '{email}'"),
    );
    assert_eq!(accounts.len(), 1, "one account: {accounts:?}");
}

/// `todo-server users revoke-external EMAIL` refuses the external tokens issued to the
/// account until then (they carry no id); a token issued after works.
#[test]
fn revoke_external_refuses_the_tokens_issued_until_then() {
    if !available("revoke_external_refuses_the_tokens_issued_until_then") {
        return;
    }
    let better_auth = BetterAuth::start(None);
    let dir = tempfile::tempdir().expect("dir");
    let server = TestServer::start(&args(&trusting(&better_auth, &dir)));
    let email = todo_e2e::unique_email("frank");
    let (sub, old) = better_auth.sign_up_as(&email);
    let tasks = |token: &str| call_with(&server, token, &sub, Method::GET, "/api/{me}/tasks", None).0;
    assert_eq!(tasks(&old), 200);
    let revoked = Command::new(todo_e2e::binary("todo-server"))
        .args([
            "users",
            "revoke-external",
            &email,
            "--database",
            &server.database(),
        ])
        .output()
        .expect("the command runs");
    assert!(revoked.status.success(), "{revoked:?}");
    assert_eq!(tasks(&old), 401, "issued before: refused");
    // Better Auth's `iat` is in whole seconds: a token from its next second works.
    let fresh = (0..40).find_map(|_| {
        std::thread::sleep(std::time::Duration::from_millis(100));
        let token = better_auth.sign_in_token(&email);
        (tasks(&token) == 200).then_some(token)
    });
    assert!(fresh.is_some(), "a token issued after the revocation works");
}
