//! The database and every file beside it hold password hashes and signing keys: none may
//! be readable by anyone but the server's user, whatever the umask.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use todo_e2e::api::session_status;
use todo_e2e::{TestServer, http, sign_up};

/// Every file in `dir` with its mode bits.
fn modes(dir: &Path) -> Vec<(String, u32)> {
    std::fs::read_dir(dir)
        .expect("list dir")
        .map(|entry| {
            let entry = entry.expect("entry");
            let mode = entry.metadata().expect("metadata").permissions().mode() & 0o777;
            (entry.file_name().to_string_lossy().into_owned(), mode)
        })
        .collect()
}

fn write_some(server: &TestServer) {
    let account = sign_up(server, "modes");
    let created = http()
        .post(server.url(&format!("/api/{}/tasks", account.id)))
        .bearer_auth(&account.access_token)
        .json(&serde_json::json!({"title": "in the WAL"}))
        .send()
        .expect("create");
    assert_eq!(created.status().as_u16(), 201);
}

fn assert_owner_only(dir: &Path) {
    let files = modes(dir);
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    assert!(
        names.contains(&"todo.db-wal") && names.contains(&"todo.db-shm"),
        "the WAL files exist while the server runs: {names:?}"
    );
    for (name, mode) in files {
        assert_eq!(mode & 0o077, 0, "{name} is {mode:o}");
    }
}

#[test]
fn every_database_file_is_owner_only_under_a_permissive_umask() {
    todo_e2e::sqlite_only!();
    // Process-wide and inherited by the server: the permissive default of most systems.
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o022));
    let dir = tempfile::tempdir().expect("dir");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let server = TestServer::start_in(dir, &[]);
    write_some(&server);
    assert_owner_only(server.dir.path());
}

#[test]
fn files_left_readable_are_made_owner_only_at_start() {
    todo_e2e::sqlite_only!();
    let server = TestServer::start(&[]);
    write_some(&server);
    let dir = server.stop();
    for (name, _) in modes(dir.path()) {
        std::fs::set_permissions(dir.path().join(name), std::fs::Permissions::from_mode(0o644))
            .expect("loosen");
    }
    let server = TestServer::start_in(dir, &[]);
    write_some(&server);
    assert_owner_only(server.dir.path());
}

fn stored_secret_lengths(db: &str) -> Vec<usize> {
    todo_e2e::query_column(db, "SELECT length(secret_key) FROM signing_keys")
        .iter()
        .map(|n| n.parse().expect("a length"))
        .collect()
}

/// Runs `todo-server args...` to its end and returns whether it succeeded and what it
/// wrote on stderr.
fn run_server_command(args: &[&str]) -> (bool, String) {
    let output = std::process::Command::new(todo_e2e::binary("todo-server"))
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("todo-server runs");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// With a key-encryption key, the signing keys in the database are sealed (those made
/// before it too), tokens they signed keep working, and the database alone is not enough
/// to start a server or to forge tokens.
#[test]
fn signing_keys_are_sealed_at_rest_with_a_key_encryption_key() {
    // A fixed issuer: tokens name it, and the restarted server binds another port.
    let issuer = ["--issuer", "http://todo.test"];
    let server = TestServer::start(&issuer);
    let before = sign_up(&server, "kek");
    let db = server.database();
    let dir = server.stop();
    assert_eq!(stored_secret_lengths(&db), [32], "clear seed before");

    let kek = dir.path().join("kek");
    let key = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, [42u8; 32]);
    std::fs::write(&kek, key).expect("write kek");
    std::fs::set_permissions(&kek, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let kek_arg = kek.to_string_lossy().into_owned();
    let server = TestServer::start_in(
        dir,
        &[&issuer[..], &["--key-encryption-key-file", &kek_arg]].concat(),
    );
    assert_eq!(
        session_status(&server, &before.access_token),
        200,
        "old tokens still verify"
    );
    let (rotated, stderr) = run_server_command(&[
        "keys",
        "rotate",
        "--database",
        &db,
        "--key-encryption-key-file",
        &kek_arg,
    ]);
    assert!(rotated, "{stderr}");
    let lengths = stored_secret_lengths(&db);
    assert_eq!(lengths.len(), 2);
    assert!(lengths.iter().all(|n| *n != 32), "every seed sealed: {lengths:?}");
    // Kept: the folder holds the key file.
    let _dir = server.stop();
    let db_arg = db.clone();

    // stdin is closed: a server that does start stops at once, and succeeds.
    let serve = [
        "--exit-with-stdin",
        "--bind",
        "127.0.0.1:0",
        "--database",
        &db_arg,
    ];
    let (started, stderr) = run_server_command(&serve);
    assert!(!started, "a server without the key must not start");
    assert!(stderr.contains("key-encryption-key"), "{stderr}");

    std::fs::set_permissions(&kek, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let (started, stderr) =
        run_server_command(&[&serve[..], &["--key-encryption-key-file", &kek_arg]].concat());
    assert!(!started, "a key file others can read is refused");
    assert!(stderr.contains("chmod 600"), "{stderr}");
}

fn row_count(db: &str, table: &str) -> i64 {
    todo_e2e::query_column(db, &format!("SELECT count(*) FROM {table}"))[0]
        .parse()
        .expect("a count")
}

/// Polls until `table` is empty; returns how long it took, or panics after `limit`.
fn wait_until_empty(db: &str, table: &str, limit: std::time::Duration) -> std::time::Duration {
    let start = std::time::Instant::now();
    loop {
        let rows = row_count(db, table);
        if rows == 0 {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < limit,
            "{table} still holds {rows} rows after {limit:?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

/// Sessions and refresh tokens do not pile up: across several token lifetimes of
/// sign-ups, refreshes and sign-outs, the background clean-up deletes each once it can
/// no longer be used (refresh tokens at expiry, sessions when their last access token
/// has expired too: lifetime + 10 s leeway).
#[test]
fn ended_sessions_expired_refresh_tokens_and_revoked_personal_tokens_are_deleted_in_the_background() {
    let server = TestServer::start(&[
        "--access-ttl",
        "1s",
        "--refresh-ttl",
        "1s",
        "--maintenance-interval",
        "200ms",
        "--no-rate-limit",
    ]);
    let db = server.database();
    for _ in 0..3 {
        for _ in 0..5 {
            let account = sign_up(&server, "churn");
            let refreshed = http()
                .post(server.url("/api/auth/refresh"))
                .json(&serde_json::json!({"refresh_token": account.refresh_token}))
                .send()
                .expect("refresh");
            assert_eq!(refreshed.status().as_u16(), 200);
            // A personal token made and revoked: its row goes too, so a create/revoke
            // loop cannot grow the database without bound.
            let created: serde_json::Value = http()
                .post(server.url("/api/auth/tokens"))
                .bearer_auth(&account.access_token)
                .json(&serde_json::json!({"name": "churn", "scopes": ["tasks:read"]}))
                .send()
                .expect("create token")
                .json()
                .expect("token");
            let id = created["id"].as_str().expect("token id");
            let revoked = http()
                .delete(server.url(&format!("/api/auth/tokens/{id}")))
                .bearer_auth(&account.access_token)
                .send()
                .expect("revoke");
            assert_eq!(revoked.status().as_u16(), 204);
            let signed_out = http()
                .post(server.url("/api/auth/sign-out"))
                .bearer_auth(&account.access_token)
                .json(&serde_json::json!({}))
                .send()
                .expect("sign-out");
            assert_eq!(signed_out.status().as_u16(), 204);
        }
        assert!(row_count(&db, "refresh_tokens") > 0);
        assert!(row_count(&db, "personal_tokens") > 0);
        std::thread::sleep(std::time::Duration::from_millis(1100));
    }
    wait_until_empty(&db, "refresh_tokens", std::time::Duration::from_secs(5));
    wait_until_empty(&db, "sessions", std::time::Duration::from_secs(20));
    wait_until_empty(&db, "personal_tokens", std::time::Duration::from_secs(5));
}
