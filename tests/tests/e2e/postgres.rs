//! Several servers on one PostgreSQL database, whatever backend the rest of the suite
//! runs on: replicas that start together, share sign-outs, limits and keys, lose nothing
//! acknowledged when one is killed, and ride out PostgreSQL going away.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use todo_api::ProblemCode;
use todo_e2e::api::{assert_problem, concurrent_wrong_passwords, session_status};
use todo_e2e::postgres::{PgCluster, available};
use todo_e2e::{Account, TestServer, http, sign_up};

const ISSUER: [&str; 2] = ["--issuer", "http://todo.test"];

/// Three servers started at the same moment on one new database.
fn three_replicas(url: &str, extra: &[&str]) -> Vec<TestServer> {
    let args: Vec<String> = ISSUER.iter().chain(extra).map(|s| s.to_string()).collect();
    let starting: Vec<_> = (0..3)
        .map(|_| {
            let (url, args) = (url.to_string(), args.clone());
            std::thread::spawn(move || {
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                TestServer::start_on(&url, &args)
            })
        })
        .collect();
    starting
        .into_iter()
        .map(|t| t.join().expect("a replica starts"))
        .collect()
}

fn create(server: &TestServer, user: &Account, title: &str) -> reqwest::blocking::Response {
    http()
        .post(server.url(&format!("/api/{}/tasks", user.id)))
        .bearer_auth(&user.access_token)
        .json(&json!({ "title": title }))
        .send()
        .expect("create")
}

fn titles(server: &TestServer, user: &Account) -> Vec<String> {
    let page: Vec<Value> = http()
        .get(server.url(&format!("/api/{}/tasks?limit=500", user.id)))
        .bearer_auth(&user.access_token)
        .send()
        .expect("list")
        .json()
        .expect("tasks");
    page.iter()
        .map(|t| t["title"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// Replicas started together migrate once; a sign-out on one is refused by the others
/// within a second; a burst of wrong passwords spread over all three stops at the
/// per-account limit; a stream on one sees the changes made through the other two, in
/// order; and each user's tasks, written through any replica, are that
/// user's alone on every replica.
#[test]
fn three_replicas_share_one_database() {
    let Some(bin) = available("three_replicas_share_one_database") else {
        return;
    };
    let cluster = PgCluster::shared(&bin);
    let url = cluster.create_database();
    let limits = [
        "--failed-signin-limit",
        "5",
        "--signin-limit",
        "0",
        "--signup-limit",
        "0",
    ];
    let replicas = three_replicas(&url, &limits);
    let db = url.rsplit('/').next().expect("name");
    assert_eq!(
        cluster.psql(db, "SELECT count(*) = max(version) FROM schema_migrations"),
        "t",
        "every migration applied once"
    );
    assert_eq!(
        cluster.psql(db, "SELECT count(*) FROM signing_keys WHERE retired_at IS NULL"),
        "1",
        "one first key, however many servers started"
    );

    // Sign-out through A, refused by B and C.
    let ann = sign_up(&replicas[0], "pg-ann");
    for r in &replicas {
        assert_eq!(session_status(r, &ann.access_token), 200);
    }
    let signed_out = http()
        .post(replicas[0].url("/api/auth/sign-out"))
        .bearer_auth(&ann.access_token)
        .json(&json!({}))
        .send()
        .expect("sign-out");
    assert_eq!(signed_out.status().as_u16(), 204);
    let start = Instant::now();
    for r in &replicas[1..] {
        while session_status(r, &ann.access_token) != 401 {
            assert!(
                start.elapsed() < Duration::from_millis(1500),
                "a replica still accepts the signed-out token after {:?}",
                start.elapsed()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    // Wrong passwords spread over the three.
    let victim = sign_up(&replicas[1], "pg-burst");
    let servers: Vec<&TestServer> = replicas.iter().collect();
    let statuses = concurrent_wrong_passwords(&servers, &victim.email, 18, |_| http());
    let checked = statuses.iter().filter(|s| **s == 401).count();
    assert!(checked <= 5, "{checked} passwords were checked: {statuses:?}");
    assert_eq!(
        checked + statuses.iter().filter(|s| **s == 429).count(),
        18,
        "{statuses:?}"
    );

    // A stream on C sees what is written through A and B, in order.
    let mut on_c = todo_e2e::sse::EventReader::open(&replicas[2], &victim, None).expect("stream on C");
    for n in 0..6 {
        create(&replicas[n % 2], &victim, &format!("via-{n}"));
    }
    let seen = on_c.take(6, Duration::from_secs(5));
    let seqs: Vec<i64> = seen.iter().filter_map(|m| m.data["seq"].as_i64()).collect();
    assert_eq!(seqs, [1, 2, 3, 4, 5, 6]);

    // Isolation: every user writes through every replica and reads through another.
    let users: Vec<Account> = (0..12)
        .map(|i| sign_up(&replicas[i % 3], &format!("pg-iso{i}")))
        .collect();
    let mut ids = HashSet::new();
    for (i, user) in users.iter().enumerate() {
        for n in 0..3 {
            let created = create(&replicas[(i + n) % 3], user, &format!("{}-{n}", user.email));
            assert_eq!(created.status().as_u16(), 201);
            let task: Value = created.json().expect("task");
            assert!(
                ids.insert(task["id"].as_i64().expect("id")),
                "ids unique across replicas"
            );
        }
    }
    for (i, user) in users.iter().enumerate() {
        let mine = titles(&replicas[(i + 2) % 3], user);
        assert_eq!(mine.len(), 3, "{mine:?}");
        assert!(mine.iter().all(|t| t.starts_with(&user.email)), "{mine:?}");
        let other = &users[(i + 1) % users.len()];
        let theirs = http()
            .get(replicas[i % 3].url(&format!("/api/{}/tasks", other.id)))
            .bearer_auth(&user.access_token)
            .send()
            .expect("list");
        assert_problem(theirs, 403, ProblemCode::Forbidden);
    }
}

/// One replica killed with SIGKILL in the middle of a stream of creates: every create
/// that was answered 201 is there, read through the survivors, which never stopped.
#[test]
fn a_killed_replica_loses_nothing_acknowledged() {
    let Some(bin) = available("a_killed_replica_loses_nothing_acknowledged") else {
        return;
    };
    let url = PgCluster::shared(&bin).create_database();
    let mut replicas = three_replicas(&url, &["--no-rate-limit"]);
    let user = sign_up(&replicas[0], "pg-kill");
    let victim_url = replicas[2].base_url.clone();
    let writer = {
        let (user, base) = (user.clone(), victim_url.clone());
        std::thread::spawn(move || {
            let mut acknowledged = Vec::new();
            for n in 0..10_000 {
                let title = format!("kill-{n}");
                let sent = http()
                    .post(format!("{base}/api/{}/tasks", user.id))
                    .bearer_auth(&user.access_token)
                    .json(&json!({ "title": title }))
                    .send();
                match sent {
                    Ok(r) if r.status().as_u16() == 201 => acknowledged.push(title),
                    _ => break,
                }
            }
            acknowledged
        })
    };
    std::thread::sleep(Duration::from_millis(700));
    drop(replicas.pop()); // SIGKILL
    let acknowledged = writer.join().expect("writer");
    assert!(
        !acknowledged.is_empty(),
        "some creates were answered before the kill"
    );
    for survivor in &replicas {
        let stored: HashSet<String> = titles_all(survivor, &user);
        let lost: Vec<&String> = acknowledged.iter().filter(|t| !stored.contains(*t)).collect();
        assert!(lost.is_empty(), "acknowledged but lost: {lost:?}");
        assert_eq!(create(survivor, &user, "after").status().as_u16(), 201);
    }
}

fn titles_all(server: &TestServer, user: &Account) -> HashSet<String> {
    let mut all = HashSet::new();
    loop {
        let page: Vec<Value> = http()
            .get(server.url(&format!("/api/{}/tasks?limit=500&offset={}", user.id, all.len())))
            .bearer_auth(&user.access_token)
            .send()
            .expect("list")
            .json()
            .expect("tasks");
        if page.is_empty() {
            return all;
        }
        all.extend(
            page.iter()
                .map(|t| t["title"].as_str().unwrap_or_default().to_string()),
        );
    }
}

/// PostgreSQL stopped under two running replicas: requests that need it answer 503 with
/// `Retry-After` (nothing hangs, nothing says 500), and once it is back both serve again
/// without a restart, with everything acknowledged before still there.
#[test]
fn postgres_going_away_gives_503_then_both_replicas_recover() {
    let Some(bin) = available("postgres_going_away_gives_503_then_both_replicas_recover") else {
        return;
    };
    let cluster = PgCluster::start(&bin);
    let url = cluster.create_database();
    let args = [&ISSUER[..], &["--pg-connect-timeout", "1s"]].concat();
    let a = TestServer::start_on(&url, &args);
    let b = TestServer::start_on(&url, &args);
    let user = sign_up(&a, "pg-down");
    assert_eq!(create(&b, &user, "before").status().as_u16(), 201);

    cluster.stop_server();
    for server in [&a, &b] {
        let started = Instant::now();
        let response = create(server, &user, "during");
        assert!(started.elapsed() < Duration::from_secs(10), "answered promptly");
        assert_eq!(response.status().as_u16(), 503);
        assert!(response.headers().contains_key("retry-after"));
        assert_problem(response, 503, ProblemCode::Unavailable);
        let health = http().get(server.url("/healthz")).send().expect("healthz");
        assert_eq!(health.status().as_u16(), 200, "the process itself is alive");
    }

    cluster.start_server();
    for server in [&a, &b] {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let status = create(server, &user, "after").status().as_u16();
            if status == 201 {
                break;
            }
            assert_eq!(status, 503, "only 503 while reconnecting");
            assert!(Instant::now() < deadline, "no recovery within 15 s");
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    let stored = titles(&a, &user);
    assert!(stored.contains(&"before".to_string()), "{stored:?}");
    assert!(!stored.contains(&"during".to_string()), "{stored:?}");
}

/// `keys rotate --database postgres://...` while two replicas run: both sign with the
/// new key within a few seconds, and tokens signed before still verify on both.
#[test]
fn a_key_rotated_on_postgres_reaches_every_replica() {
    let Some(bin) = available("a_key_rotated_on_postgres_reaches_every_replica") else {
        return;
    };
    let url = PgCluster::shared(&bin).create_database();
    let a = TestServer::start_on(&url, &ISSUER);
    let b = TestServer::start_on(&url, &ISSUER);
    let before = sign_up(&a, "pg-rotate");
    let rotated = std::process::Command::new(todo_e2e::binary("todo-server"))
        .args(["keys", "rotate", "--database", &url])
        .output()
        .expect("keys rotate");
    assert!(
        rotated.status.success(),
        "{}",
        String::from_utf8_lossy(&rotated.stderr)
    );
    let kid = String::from_utf8_lossy(&rotated.stdout)
        .trim()
        .rsplit(' ')
        .next()
        .unwrap_or_default()
        .to_string();
    for server in [&a, &b] {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let fresh = sign_up(server, "pg-rotated");
            if token_kid(&fresh.access_token) == kid {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{} never signed with {kid}",
                server.base_url
            );
            std::thread::sleep(Duration::from_millis(250));
        }
        assert_eq!(session_status(server, &before.access_token), 200);
    }
}

fn token_kid(token: &str) -> String {
    use base64::Engine;
    let header = token.split('.').next().unwrap_or_default();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header)
        .expect("header");
    let header: Value = serde_json::from_slice(&bytes).expect("json");
    header["kid"].as_str().unwrap_or_default().to_string()
}

fn all_tasks(server: &TestServer, user: &Account) -> Vec<Value> {
    http()
        .get(server.url(&format!(
            "/api/{}/tasks?limit=500&sort=created&order=asc",
            user.id
        )))
        .bearer_auth(&user.access_token)
        .send()
        .expect("list")
        .json()
        .expect("tasks")
}

/// A SQLite database made by this release, copied with `migrate-to` into an empty
/// PostgreSQL database: a server on the copy accepts the same access and refresh tokens,
/// still refuses the signed-out session, lists the same tasks field for field, and
/// numbers new tasks after the copied ones. A second copy into it is refused.
#[test]
fn migrate_to_copies_a_sqlite_database_into_postgres() {
    let Some(bin) = available("migrate_to_copies_a_sqlite_database_into_postgres") else {
        return;
    };
    let folder = tempfile::tempdir().expect("dir");
    let sqlite = folder.path().join("todo.db").display().to_string();
    let old = TestServer::start_on(&sqlite, &ISSUER);
    let ann = sign_up(&old, "copy-ann");
    let bob = sign_up(&old, "copy-bob");
    let gone = sign_up(&old, "copy-gone");
    for (user, body) in [
        (&ann, json!({"title": "plain"})),
        (
            &ann,
            json!({"title": "full", "description": "d", "priority": "high",
                      "due_at": "2031-02-03T04:05:06Z", "tags": ["a", "b"]}),
        ),
        (&bob, json!({"title": "bob's"})),
    ] {
        let created = http()
            .post(old.url(&format!("/api/{}/tasks", user.id)))
            .bearer_auth(&user.access_token)
            .json(&body)
            .send()
            .expect("create");
        assert_eq!(created.status().as_u16(), 201);
    }
    // A project ann shares with bob, with a task in it, and an invitation still open.
    let project: Value = http()
        .post(old.url(&format!("/api/{}/projects", ann.id)))
        .bearer_auth(&ann.access_token)
        .json(&json!({"name": "Shared"}))
        .send()
        .expect("project")
        .json()
        .expect("json");
    let project_id = project["id"].as_str().expect("id").to_string();
    let invite = |email: &str| -> Value {
        http()
            .post(old.url(&format!("/api/{}/projects/{project_id}/invitations", ann.id)))
            .bearer_auth(&ann.access_token)
            .json(&json!({"email": email, "role": "editor"}))
            .send()
            .expect("invite")
            .json()
            .expect("json")
    };
    let to_bob = invite(&bob.email);
    invite("later@example.com");
    let accepted = http()
        .post(old.url(&format!(
            "/api/{}/invitations/{}/accept",
            bob.id,
            to_bob["id"].as_str().expect("id")
        )))
        .bearer_auth(&bob.access_token)
        .send()
        .expect("accept");
    assert_eq!(accepted.status().as_u16(), 200);
    let shared = http()
        .post(old.url(&format!("/api/{}/tasks", bob.id)))
        .bearer_auth(&bob.access_token)
        .json(&json!({"title": "shared", "project_id": project_id}))
        .send()
        .expect("shared task");
    assert_eq!(shared.status().as_u16(), 201);
    let shared: Value = shared.json().expect("task");
    let noted = http()
        .post(old.url(&format!("/api/{}/tasks/{}/notes", bob.id, shared["id"])))
        .bearer_auth(&bob.access_token)
        .json(&json!({"text": "a note comes along"}))
        .send()
        .expect("note");
    assert_eq!(noted.status().as_u16(), 201);
    let first: Value = all_tasks(&old, &ann)
        .into_iter()
        .find(|t| t["project_id"].is_null())
        .expect("a personal task");
    let done = http()
        .patch(old.url(&format!("/api/{}/tasks/{}/complete", ann.id, first["id"])))
        .bearer_auth(&ann.access_token)
        .send()
        .expect("complete");
    assert_eq!(done.status().as_u16(), 200);
    let signed_out = http()
        .post(old.url("/api/auth/sign-out"))
        .bearer_auth(&gone.access_token)
        .json(&json!({}))
        .send()
        .expect("sign-out");
    assert_eq!(signed_out.status().as_u16(), 204);
    let (ann_before, bob_before) = (all_tasks(&old, &ann), all_tasks(&old, &bob));
    let history = |server: &TestServer, user: &Account, id: &Value| -> Value {
        http()
            .get(server.url(&format!("/api/{}/tasks/{id}/history", user.id)))
            .bearer_auth(&user.access_token)
            .send()
            .expect("history")
            .json()
            .expect("json")
    };
    let ann_history = history(&old, &ann, &first["id"]);
    assert_eq!(
        ann_history.as_array().map(Vec::len),
        Some(2),
        "created, completed"
    );
    let activity = |server: &TestServer, user: &Account| -> Value {
        http()
            .get(server.url("/api/auth/activity"))
            .bearer_auth(&user.access_token)
            .send()
            .expect("activity")
            .json()
            .expect("json")
    };
    let bob_activity = activity(&old, &bob);
    drop(old);

    let url = PgCluster::shared(&bin).create_database();
    let migrate = |target: &str| {
        std::process::Command::new(todo_e2e::binary("todo-server"))
            .args(["migrate-to", target, "--database", &sqlite])
            .output()
            .expect("migrate-to runs")
    };
    let copied = migrate(&url);
    let stdout = String::from_utf8_lossy(&copied.stdout);
    assert!(
        copied.status.success(),
        "{}",
        String::from_utf8_lossy(&copied.stderr)
    );
    assert!(stdout.contains("copied 3 users"), "{stdout}");
    assert!(stdout.contains("4 tasks"), "{stdout}");
    assert!(stdout.contains("1 projects"), "{stdout}");
    assert!(
        stdout.contains("7 activity entries"),
        "three sign-ups, a sign-out, two invitations sent and one accepted: {stdout}"
    );

    let new = TestServer::start_on(&url, &ISSUER);
    assert_eq!(
        history(&new, &ann, &first["id"]),
        ann_history,
        "the history came along"
    );
    assert_eq!(activity(&new, &bob), bob_activity, "and the activity log");
    assert_eq!(all_tasks(&new, &ann), ann_before);
    assert_eq!(all_tasks(&new, &bob), bob_before, "bob's own and the shared task");
    let shared_now: Value = http()
        .get(new.url(&format!("/api/{}/tasks/{}", ann.id, shared["id"])))
        .bearer_auth(&ann.access_token)
        .send()
        .expect("shared task")
        .json()
        .expect("json");
    assert_eq!(
        shared_now["notes"][0]["text"], "a note comes along",
        "{shared_now}"
    );
    assert_eq!(shared_now["notes"][0]["author_id"], bob.id.as_str());
    let members: Value = http()
        .get(new.url(&format!("/api/{}/projects/{project_id}/members", bob.id)))
        .bearer_auth(&bob.access_token)
        .send()
        .expect("members")
        .json()
        .expect("json");
    assert_eq!(members.as_array().map(Vec::len), Some(2), "{members}");
    let open: Value = http()
        .get(new.url(&format!("/api/{}/projects/{project_id}/invitations", ann.id)))
        .bearer_auth(&ann.access_token)
        .send()
        .expect("invitations")
        .json()
        .expect("json");
    assert_eq!(open[0]["email"], "later@example.com", "{open}");
    assert_eq!(
        session_status(&new, &gone.access_token),
        401,
        "signed out stays out"
    );
    let refreshed = http()
        .post(new.url("/api/auth/refresh"))
        .json(&json!({"refresh_token": ann.refresh_token}))
        .send()
        .expect("refresh");
    assert_eq!(refreshed.status().as_u16(), 200, "the refresh token carried over");
    let next: Value = create(&new, &bob, "after the move").json().expect("task");
    let highest = ann_before
        .iter()
        .chain(&bob_before)
        .filter_map(|t| t["id"].as_i64())
        .max()
        .expect("ids");
    assert!(next["id"].as_i64().expect("id") > highest, "{next}");
    let next_history = history(&new, &bob, &next["id"]);
    assert_eq!(
        next_history[0]["seq"], 6,
        "bob's numbering goes on after his five events (his task, the invitation, his joining, the shared task, his note)"
    );

    let again = migrate(&url);
    assert!(!again.status.success());
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(stderr.contains("empty database"), "{stderr}");
    assert!(
        !stderr.contains("postgres://todo@"),
        "the URL is not echoed: {stderr}"
    );
}

/// `sslmode=require`: the server connects over TLS when it trusts the certificate
/// (`--pg-ca-file`), PostgreSQL confirms the connection is encrypted, and without that
/// CA the server refuses to start rather than trust an unknown certificate.
#[test]
fn sslmode_require_connects_over_verified_tls_only() {
    let Some(bin) = available("sslmode_require_connects_over_verified_tls_only") else {
        return;
    };
    let (cluster, ca) = PgCluster::start_tls(&bin);
    let url = format!("{}?sslmode=require", cluster.create_database());
    let untrusted = std::process::Command::new(todo_e2e::binary("todo-server"))
        .args(["--bind", "127.0.0.1:0", "--exit-with-stdin", "--database", &url])
        .stdin(std::process::Stdio::null())
        .output()
        .expect("todo-server runs");
    assert!(
        !untrusted.status.success(),
        "an unknown certificate is not trusted"
    );
    let stderr = String::from_utf8_lossy(&untrusted.stderr);
    assert!(stderr.to_lowercase().contains("certificate"), "{stderr}");

    let ca = ca.display().to_string();
    let server = TestServer::start_on(&url, &["--pg-ca-file", &ca]);
    let user = sign_up(&server, "pg-tls");
    assert_eq!(create(&server, &user, "over tls").status().as_u16(), 201);
    let db = url
        .rsplit('/')
        .next()
        .and_then(|s| s.split('?').next())
        .expect("name");
    let encrypted = cluster.psql(
        db,
        "SELECT bool_and(s.ssl) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid)
         WHERE a.application_name = 'todo-server'",
    );
    assert_eq!(encrypted, "t", "every server connection is encrypted");
}
