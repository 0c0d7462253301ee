//! The database and every file beside it hold password hashes and signing keys: none may
//! be readable by anyone but the server's user, whatever the umask.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

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
