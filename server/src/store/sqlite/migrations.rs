//! Versioned schema migrations, tracked in `PRAGMA user_version`. Each entry runs once,
//! in order, inside one transaction with its version bump.

use rusqlite::Connection;

use super::{StoreError, StoreResult};

const MIGRATIONS: &[&str] = &[
    // 1: accounts, sessions, refresh tokens, signing keys, tasks.
    "CREATE TABLE users (
        id            TEXT PRIMARY KEY,
        email         TEXT NOT NULL UNIQUE,
        name          TEXT,
        password_hash TEXT NOT NULL,
        created_at    INTEGER NOT NULL
     );
     CREATE TABLE sessions (
        id          TEXT PRIMARY KEY,
        user_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        created_at  INTEGER NOT NULL,
        expires_at  INTEGER NOT NULL,
        revoked_at  INTEGER
     );
     CREATE INDEX sessions_by_user ON sessions(user_id);
     CREATE INDEX sessions_revoked ON sessions(revoked_at) WHERE revoked_at IS NOT NULL;
     CREATE TABLE refresh_tokens (
        token_hash  BLOB PRIMARY KEY,
        session_id  TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        expires_at  INTEGER NOT NULL,
        used_at     INTEGER
     );
     CREATE INDEX refresh_tokens_by_session ON refresh_tokens(session_id);
     CREATE TABLE signing_keys (
        kid         TEXT PRIMARY KEY,
        secret_key  BLOB NOT NULL,
        public_key  BLOB NOT NULL,
        created_at  INTEGER NOT NULL,
        retired_at  INTEGER
     );
     CREATE TABLE tasks (
        id           INTEGER PRIMARY KEY AUTOINCREMENT,
        user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        title        TEXT NOT NULL,
        description  TEXT NOT NULL DEFAULT '',
        completed    INTEGER NOT NULL DEFAULT 0,
        priority     INTEGER NOT NULL DEFAULT 1,
        due_at       INTEGER,
        tags         TEXT NOT NULL DEFAULT '[]',
        created_at   INTEGER NOT NULL,
        updated_at   INTEGER NOT NULL,
        completed_at INTEGER
     );
     CREATE INDEX tasks_by_user_created ON tasks(user_id, created_at);
     CREATE INDEX tasks_by_user_completed ON tasks(user_id, completed, created_at);",
    // 2: the background clean-up finds ended sessions and expired refresh tokens by index.
    "CREATE INDEX sessions_by_expiry ON sessions(expires_at);
     CREATE INDEX refresh_tokens_by_expiry ON refresh_tokens(expires_at);",
    // 3: rate-limit windows, shared by every server on the database.
    "CREATE TABLE rate_limits (
        key          TEXT PRIMARY KEY,
        window_start INTEGER NOT NULL,
        count        INTEGER NOT NULL
     ) WITHOUT ROWID;
     CREATE INDEX rate_limits_by_start ON rate_limits(window_start);",
    // 4: task versions, for conditional writes (If-Match).
    "ALTER TABLE tasks ADD COLUMN version INTEGER NOT NULL DEFAULT 1;",
    // 5: the change stream: one event per task change, numbered per user in commit order
    //    (`users.event_seq` is the counter), and leases of open streams.
    "ALTER TABLE users ADD COLUMN event_seq INTEGER NOT NULL DEFAULT 0;
     CREATE TABLE task_events (
        id       INTEGER PRIMARY KEY AUTOINCREMENT,
        user_id  TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        seq      INTEGER NOT NULL,
        kind     TEXT NOT NULL,
        task_id  INTEGER NOT NULL,
        version  INTEGER NOT NULL,
        task     TEXT,
        undoes   INTEGER,
        at       INTEGER NOT NULL,
        UNIQUE (user_id, seq)
     );
     CREATE INDEX task_events_by_task ON task_events(user_id, task_id, seq);
     CREATE INDEX task_events_undone ON task_events(user_id, undoes) WHERE undoes IS NOT NULL;
     CREATE INDEX task_events_by_at ON task_events(at);
     CREATE TABLE stream_leases (
        id          TEXT PRIMARY KEY,
        user_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        expires_at  INTEGER NOT NULL
     );
     CREATE INDEX stream_leases_by_user ON stream_leases(user_id, expires_at);",
    // 6: where and when each session was used, for the session list.
    "ALTER TABLE sessions ADD COLUMN last_used_at INTEGER;
     ALTER TABLE sessions ADD COLUMN user_agent TEXT;
     ALTER TABLE sessions ADD COLUMN client_addr TEXT;",
    // 7: sessions of deleted accounts, kept (as revocations are) until their last access
    //    token has expired, so every server refuses them.
    "CREATE TABLE ended_sessions (
        id        TEXT PRIMARY KEY,
        ended_at  INTEGER NOT NULL
     ) WITHOUT ROWID;
     CREATE INDEX ended_sessions_by_time ON ended_sessions(ended_at);",
    // 8: disabled accounts, the activity log and password reset tokens (hashed).
    "ALTER TABLE users ADD COLUMN disabled_at INTEGER;
     CREATE TABLE activity (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        user_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        at          INTEGER NOT NULL,
        kind        TEXT NOT NULL,
        address     TEXT,
        user_agent  TEXT,
        session_id  TEXT
     );
     CREATE INDEX activity_by_user ON activity(user_id, id);
     CREATE INDEX activity_by_at ON activity(at);
     CREATE TABLE password_resets (
        token_hash  BLOB PRIMARY KEY,
        user_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        expires_at  INTEGER NOT NULL,
        used_at     INTEGER
     ) WITHOUT ROWID;
     CREATE INDEX password_resets_by_user ON password_resets(user_id);
     CREATE INDEX password_resets_by_expiry ON password_resets(expires_at);",
    // 9: personal access tokens (hashed); a revoked one is read as a revocation.
    "CREATE TABLE personal_tokens (
        id           TEXT PRIMARY KEY,
        user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        name         TEXT NOT NULL,
        token_hash   BLOB NOT NULL UNIQUE,
        scopes       TEXT NOT NULL,
        created_at   INTEGER NOT NULL,
        expires_at   INTEGER,
        last_used_at INTEGER,
        revoked_at   INTEGER
     );
     CREATE INDEX personal_tokens_by_user ON personal_tokens(user_id);
     CREATE INDEX personal_tokens_revoked ON personal_tokens(revoked_at) WHERE revoked_at IS NOT NULL;",
    // 10: TOTP two-factor sign-in: the secret (on once `enabled_at` is set; `last_step`
    //     refuses a code's replay), hashed recovery codes, and pending second steps.
    "CREATE TABLE totp_secrets (
        user_id     TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
        secret      BLOB NOT NULL,
        enabled_at  INTEGER,
        last_step   INTEGER NOT NULL DEFAULT -1
     ) WITHOUT ROWID;
     CREATE TABLE recovery_codes (
        user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        code_hash  BLOB NOT NULL,
        used_at    INTEGER,
        PRIMARY KEY (user_id, code_hash)
     ) WITHOUT ROWID;
     CREATE TABLE mfa_challenges (
        token_hash  BLOB PRIMARY KEY,
        user_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        expires_at  INTEGER NOT NULL,
        used_at     INTEGER
     ) WITHOUT ROWID;
     CREATE INDEX mfa_challenges_by_user ON mfa_challenges(user_id);
     CREATE INDEX mfa_challenges_by_expiry ON mfa_challenges(expires_at);",
    // 11: tags follow the tag rules (no whitespace, no leading #, each once without
    //     regard to case): stored ones that do not are repaired by `repair_tags`.
    "SELECT 1;",
    // 12: where an imported task came from, unique per user, so an import runs once.
    "ALTER TABLE tasks ADD COLUMN source_id TEXT;
     CREATE UNIQUE INDEX tasks_by_source ON tasks(user_id, source_id) WHERE source_id IS NOT NULL;",
    // 13: projects shared with roles (`role` is a rank: 1 viewer, 2 editor, 3 admin,
    //     4 owner), invitations by address, tasks in projects (`user_id` is then the
    //     project's owner; `created_by`/`updated_by` NULL read as `user_id`), and who
    //     made each event (`actor`, NULL read as the stream's user), for undo.
    "CREATE TABLE projects (
        id          TEXT PRIMARY KEY,
        owner_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        name        TEXT NOT NULL,
        name_key    TEXT NOT NULL,
        version     INTEGER NOT NULL DEFAULT 1,
        created_at  INTEGER NOT NULL,
        updated_at  INTEGER NOT NULL,
        UNIQUE (owner_id, name_key)
     );
     CREATE TABLE project_members (
        project_id  TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
        user_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        role        INTEGER NOT NULL,
        added_at    INTEGER NOT NULL,
        PRIMARY KEY (project_id, user_id)
     ) WITHOUT ROWID;
     CREATE INDEX project_members_by_user ON project_members(user_id, project_id, role);
     CREATE TABLE invitations (
        id          TEXT PRIMARY KEY,
        project_id  TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
        email       TEXT NOT NULL,
        role        INTEGER NOT NULL,
        invited_by  TEXT NOT NULL,
        created_at  INTEGER NOT NULL,
        expires_at  INTEGER NOT NULL,
        UNIQUE (project_id, email)
     );
     CREATE INDEX invitations_by_email ON invitations(email, expires_at);
     ALTER TABLE tasks ADD COLUMN project_id TEXT REFERENCES projects(id) ON DELETE CASCADE;
     ALTER TABLE tasks ADD COLUMN created_by TEXT;
     ALTER TABLE tasks ADD COLUMN updated_by TEXT;
     CREATE INDEX tasks_by_project ON tasks(project_id, created_at) WHERE project_id IS NOT NULL;
     ALTER TABLE task_events ADD COLUMN actor TEXT;",
    // 14: repeating tasks: the rule and its zone, and each instance's series and number
    //     (unique: completing one instance twice makes one successor).
    "ALTER TABLE tasks ADD COLUMN recurrence_rule TEXT;
     ALTER TABLE tasks ADD COLUMN recurrence_tz TEXT;
     ALTER TABLE tasks ADD COLUMN series_id TEXT;
     ALTER TABLE tasks ADD COLUMN occurrence INTEGER;
     CREATE UNIQUE INDEX tasks_by_series ON tasks(series_id, occurrence) WHERE series_id IS NOT NULL;",
    // 15: notes on tasks, in the order they were added.
    "CREATE TABLE task_notes (
        id          TEXT PRIMARY KEY,
        task_id     INTEGER NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
        position    INTEGER NOT NULL,
        author_id   TEXT NOT NULL,
        text        TEXT NOT NULL,
        created_at  INTEGER NOT NULL,
        UNIQUE (task_id, position)
     );",
    // 16: subtasks, and the change an event is a part of (a task deleted with its
    //     subtasks is undone as one).
    "ALTER TABLE tasks ADD COLUMN parent_id INTEGER;
     CREATE INDEX tasks_by_parent ON tasks(parent_id) WHERE parent_id IS NOT NULL;
     ALTER TABLE task_events ADD COLUMN change_group TEXT;
     CREATE INDEX task_events_by_group ON task_events(user_id, change_group) WHERE change_group IS NOT NULL;",
    // 17: waiting and reminders, each with the moment it was claimed (once: whichever
    //     server's background step claims it first sends its event).
    "ALTER TABLE tasks ADD COLUMN wait_until INTEGER;
     ALTER TABLE tasks ADD COLUMN woke_at INTEGER;
     ALTER TABLE tasks ADD COLUMN remind_at INTEGER;
     ALTER TABLE tasks ADD COLUMN remind_before TEXT;
     ALTER TABLE tasks ADD COLUMN reminded_at INTEGER;
     CREATE INDEX tasks_to_remind ON tasks(remind_at) WHERE remind_at IS NOT NULL AND reminded_at IS NULL;
     CREATE INDEX tasks_to_wake ON tasks(wait_until) WHERE wait_until IS NOT NULL AND woke_at IS NULL;",
    // 18: the tasks a task waits for.
    "CREATE TABLE task_dependencies (
        task_id     INTEGER NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
        depends_on  INTEGER NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
        PRIMARY KEY (task_id, depends_on)
     ) WITHOUT ROWID;
     CREATE INDEX task_dependencies_by_target ON task_dependencies(depends_on, task_id);",
    // 19: calendar feeds, found by their secret's hash.
    "CREATE TABLE calendar_feeds (
        id           TEXT PRIMARY KEY,
        user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        name         TEXT NOT NULL,
        secret_hash  BLOB NOT NULL UNIQUE,
        created_at   INTEGER NOT NULL
     );
     CREATE INDEX calendar_feeds_by_user ON calendar_feeds(user_id);",
    // 20: the first answer to a write sent with an Idempotency-Key, kept a day.
    "CREATE TABLE idempotency_keys (
        user_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        key         TEXT NOT NULL,
        request     BLOB NOT NULL,
        claimed_at  INTEGER NOT NULL,
        answered    INTEGER NOT NULL,
        status      INTEGER,
        headers     TEXT,
        body        BLOB,
        expires_at  INTEGER NOT NULL,
        PRIMARY KEY (user_id, key)
     );
     CREATE INDEX idempotency_keys_by_expiry ON idempotency_keys(expires_at);",
    // 21: identities at other issuers (Better Auth, OpenID providers).
    "CREATE TABLE external_identities (
        issuer     TEXT NOT NULL,
        subject    TEXT NOT NULL,
        user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (issuer, subject)
     );
     CREATE INDEX external_identities_by_user ON external_identities(user_id);",
    // 22: external tokens issued before this moment are refused (users revoke-external).
    "ALTER TABLE users ADD COLUMN external_not_before INTEGER;",
];

/// The migration whose step is [`repair_tags`].
const REPAIR_TAGS: usize = 11;

/// Rewrites the tags of tasks written before the tag rules: `#` dropped from the front,
/// whitespace joined by `-`, repeats (in any case) dropped. Versions stay: nothing but the
/// spelling of a tag changes.
fn repair_tags(tx: &super::WriteTx<'_>) -> rusqlite::Result<()> {
    let found: Vec<(i64, String)> = tx
        .prepare(
            "SELECT id, tags FROM tasks
             WHERE tags GLOB '*\"#*' OR tags GLOB '*[ \t]*'
                OR (SELECT count(*) FROM json_each(tags)) <> (SELECT count(DISTINCT todo_tag_key(value)) FROM json_each(tags))",
        )?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    for (id, tags) in found {
        let Ok(tags) = serde_json::from_str::<Vec<String>>(&tags) else {
            continue;
        };
        let repaired =
            todo_api::limits::unique_tags(tags.iter().filter_map(|t| todo_api::tags::repaired_tag(t)));
        let json = serde_json::to_string(&repaired).unwrap_or_else(|_| "[]".into());
        tx.execute(
            "UPDATE tasks SET tags = ?2 WHERE id = ?1",
            rusqlite::params![id, json],
        )?;
    }
    Ok(())
}

pub fn run(conn: &mut Connection) -> StoreResult<()> {
    let current: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let current = usize::try_from(current).unwrap_or(usize::MAX);
    if current > MIGRATIONS.len() {
        return Err(StoreError::Corrupt(format!(
            "database schema version {current} is newer than this server ({})",
            MIGRATIONS.len()
        )));
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(current) {
        let version = index + 1;
        super::write_blocking(conn, |tx| {
            tx.execute_batch(sql)?;
            if version == REPAIR_TAGS {
                repair_tags(tx)?;
            }
            tx.pragma_update(None, "user_version", version as i64)
        })?;
        tracing::info!(version, "applied database migration");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_bring_a_new_database_to_the_latest_version_once() {
        let mut conn = Connection::open_in_memory().expect("in-memory db");
        super::super::register_tag_key(&conn).expect("function");
        run(&mut conn).expect("first run");
        run(&mut conn).expect("second run is a no-op");
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .expect("version");
        assert_eq!(version as usize, MIGRATIONS.len());
    }

    #[test]
    fn tags_written_before_the_rules_are_repaired() {
        let mut conn = Connection::open_in_memory().expect("in-memory db");
        super::super::register_tag_key(&conn).expect("function");
        conn.pragma_update(None, "foreign_keys", false).expect("fk off");
        for (index, sql) in MIGRATIONS.iter().enumerate().take(REPAIR_TAGS - 1) {
            conn.execute_batch(sql).expect("migrate");
            conn.pragma_update(None, "user_version", (index + 1) as i64)
                .expect("version");
        }
        conn.execute(
            "INSERT INTO tasks (user_id, title, tags, created_at, updated_at) VALUES ('u', 't', ?1, 0, 0)",
            [r##"["#home","two words","Work","work","ok"]"##],
        )
        .expect("insert");
        run(&mut conn).expect("repair");
        let tags: String = conn
            .query_row("SELECT tags FROM tasks", [], |r| r.get(0))
            .expect("tags");
        assert_eq!(tags, r#"["home","two-words","Work","ok"]"#);
    }

    #[test]
    fn a_newer_schema_is_refused() {
        let mut conn = Connection::open_in_memory().expect("in-memory db");
        conn.pragma_update(None, "user_version", 99).expect("set");
        assert!(matches!(run(&mut conn), Err(StoreError::Corrupt(_))));
    }
}
