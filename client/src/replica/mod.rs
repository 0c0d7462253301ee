//! The local replica of one account on one server: its tasks as last seen, the change
//! stream's position, and the writes made while the server could not be reached, each
//! with its `Idempotency-Key` and the version it was based on. A SQLite file (0600, in a
//! 0700 folder) in the XDG data folder, shared by the CLI and the TUI.
//!
//! The tasks are never ahead of what the server committed: only answers and events from
//! the server write them. Queued writes stay in their own table, shown as such, until
//! the server has applied them (see [`crate::sync`]).

mod filter;
mod queue;

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension, params};
use time::OffsetDateTime;
use todo_api::Task;
use uuid::Uuid;

pub use filter::matching;
pub use queue::{Conflict, QueuedWrite, Write};

/// Why the replica could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum ReplicaError {
    #[error("the local copy at {path}: {source}")]
    Sqlite {
        path: String,
        #[source]
        source: rusqlite::Error,
    },
    #[error("the local copy at {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the local copy at {path} holds something unreadable: {reason}")]
    Corrupt { path: String, reason: String },
}

/// The folder replicas live in: `$XDG_DATA_HOME/todo/replicas` on Linux.
pub fn replicas_dir() -> PathBuf {
    directories::ProjectDirs::from("", "", "todo")
        .map(|d| d.data_dir().join("replicas"))
        .unwrap_or_else(|| PathBuf::from(".todo-replicas"))
}

/// The file of `user`'s replica of `server`: one folder per server (its address made a
/// file name), one file per account.
pub fn replica_path(dir: &Path, server: &str, user: Uuid) -> PathBuf {
    let server: String = server
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    dir.join(server).join(format!("{user}.db"))
}

const SCHEMA: &str = "
    CREATE TABLE IF NOT EXISTS tasks (id INTEGER PRIMARY KEY, version INTEGER NOT NULL, task TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS queue (
        n INTEGER PRIMARY KEY AUTOINCREMENT,
        idempotency_key TEXT NOT NULL UNIQUE,
        task_id INTEGER,
        base_version INTEGER,
        write TEXT NOT NULL,
        queued_at INTEGER NOT NULL,
        conflict TEXT
    );";

/// How current the replica is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Freshness {
    /// The last change-stream event applied (`None`: never caught up).
    pub seq: Option<i64>,
    /// When it last caught up with the server.
    pub synced_at: Option<OffsetDateTime>,
    pub tasks: usize,
    pub queued: usize,
    pub conflicts: usize,
}

/// One account's replica. Shareable between tasks (one connection behind a lock: its
/// statements are short).
pub struct Replica {
    conn: std::sync::Mutex<Connection>,
    path: PathBuf,
}

impl Replica {
    /// Opens (making it, 0600, if need be) the replica at `path`.
    pub fn open(path: &Path) -> Result<Replica, ReplicaError> {
        let io = |source| ReplicaError::Io {
            path: path.display().to_string(),
            source,
        };
        if let Some(dir) = path.parent() {
            private_dir(dir).map_err(io)?;
        }
        private_file(path).map_err(io)?;
        let conn = Connection::open(path).map_err(|source| ReplicaError::Sqlite {
            path: path.display().to_string(),
            source,
        })?;
        let replica = Replica {
            conn: std::sync::Mutex::new(conn),
            path: path.to_path_buf(),
        };
        // The TUI and a script may use it at once: wait for the other's write.
        replica.run(|c| {
            c.busy_timeout(std::time::Duration::from_secs(5))?;
            c.pragma_update(None, "journal_mode", "WAL")?;
            c.execute_batch(SCHEMA)
        })?;
        Ok(replica)
    }

    /// The replica of the account `user` on `server`, in the default folder.
    pub fn for_account(server: &str, user: Uuid) -> Result<Replica, ReplicaError> {
        Replica::open(&replica_path(&replicas_dir(), server, user))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn run<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T, ReplicaError> {
        // A panic while holding it left nothing half-done in SQLite: go on with it.
        let conn = self
            .conn
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&conn).map_err(|source| self.sqlite(source))
    }

    fn sqlite(&self, source: rusqlite::Error) -> ReplicaError {
        ReplicaError::Sqlite {
            path: self.path.display().to_string(),
            source,
        }
    }

    fn corrupt(&self, reason: impl std::fmt::Display) -> ReplicaError {
        ReplicaError::Corrupt {
            path: self.path.display().to_string(),
            reason: reason.to_string(),
        }
    }

    /// Every task as last seen, in id order.
    pub fn tasks(&self) -> Result<Vec<Task>, ReplicaError> {
        let rows: Vec<String> = self.run(|c| {
            c.prepare_cached("SELECT task FROM tasks ORDER BY id")?
                .query_map([], |r| r.get(0))?
                .collect()
        })?;
        rows.iter()
            .map(|json| serde_json::from_str(json).map_err(|e| self.corrupt(e)))
            .collect()
    }

    pub fn task(&self, id: i64) -> Result<Option<Task>, ReplicaError> {
        let json: Option<String> = self.run(|c| {
            c.prepare_cached("SELECT task FROM tasks WHERE id = ?1")?
                .query_row([id], |r| r.get(0))
                .optional()
        })?;
        json.map(|j| serde_json::from_str(&j).map_err(|e| self.corrupt(e)))
            .transpose()
    }

    /// Keeps `tasks` as the server answered them; an older version than the one kept is
    /// ignored (answers and events may arrive out of order).
    pub fn keep(&self, tasks: &[Task]) -> Result<(), ReplicaError> {
        let rows = tasks
            .iter()
            .map(|t| Ok((t.id, t.version, serde_json::to_string(t)?)))
            .collect::<Result<Vec<_>, serde_json::Error>>()
            .map_err(|e| self.corrupt(e))?;
        self.run(|c| {
            let tx = c.unchecked_transaction()?;
            for (id, version, json) in &rows {
                tx.prepare_cached(
                    "INSERT INTO tasks (id, version, task) VALUES (?1, ?2, ?3)
                     ON CONFLICT (id) DO UPDATE SET version = excluded.version, task = excluded.task
                      WHERE excluded.version >= tasks.version",
                )?
                .execute(params![id, version, json])?;
            }
            tx.commit()
        })
    }

    /// Forgets a task the server deleted (up to `version`: a newer copy stays).
    pub fn forget(&self, id: i64, version: i64) -> Result<(), ReplicaError> {
        self.run(|c| {
            c.prepare_cached("DELETE FROM tasks WHERE id = ?1 AND version <= ?2")?
                .execute(params![id, version])
                .map(drop)
        })
    }

    /// Forgets every task of a project the account no longer sees.
    pub fn forget_project(&self, project: Uuid) -> Result<(), ReplicaError> {
        let tasks = self.tasks()?;
        let gone: Vec<i64> = tasks
            .iter()
            .filter(|t| t.project_id == Some(project))
            .map(|t| t.id)
            .collect();
        for id in gone {
            self.forget(id, i64::MAX)?;
        }
        Ok(())
    }

    /// Replaces every task with `tasks` (a full reload) at stream position `seq`.
    pub fn reload(&self, tasks: &[Task], seq: i64, now: OffsetDateTime) -> Result<(), ReplicaError> {
        self.run(|c| c.execute("DELETE FROM tasks", []).map(drop))?;
        self.keep(tasks)?;
        self.caught_up(seq, now)
    }

    /// Records that every event up to `seq` is applied, at `now`.
    pub fn caught_up(&self, seq: i64, now: OffsetDateTime) -> Result<(), ReplicaError> {
        self.set_meta("seq", &seq.to_string())?;
        self.set_meta("synced_at", &now.unix_timestamp().to_string())
    }

    fn set_meta(&self, key: &str, value: &str) -> Result<(), ReplicaError> {
        self.run(|c| {
            c.prepare_cached(
                "INSERT INTO meta (key, value) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            )?
            .execute(params![key, value])
            .map(drop)
        })
    }

    fn meta(&self, key: &str) -> Result<Option<String>, ReplicaError> {
        self.run(|c| {
            c.prepare_cached("SELECT value FROM meta WHERE key = ?1")?
                .query_row([key], |r| r.get(0))
                .optional()
        })
    }

    pub fn freshness(&self) -> Result<Freshness, ReplicaError> {
        let number = |v: Option<String>| v.and_then(|v| v.parse::<i64>().ok());
        let (tasks, queued, conflicts): (i64, i64, i64) = self.run(|c| {
            c.query_row(
                "SELECT (SELECT COUNT(*) FROM tasks), (SELECT COUNT(*) FROM queue WHERE conflict IS NULL),
                        (SELECT COUNT(*) FROM queue WHERE conflict IS NOT NULL)",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
        })?;
        Ok(Freshness {
            seq: number(self.meta("seq")?),
            synced_at: number(self.meta("synced_at")?)
                .and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok()),
            tasks: tasks as usize,
            queued: queued as usize,
            conflicts: conflicts as usize,
        })
    }
}

fn private_dir(dir: &Path) -> std::io::Result<()> {
    if dir.exists() {
        return Ok(());
    }
    std::fs::create_dir_all(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

/// Makes the file 0600 before SQLite opens it (its journal files take the same mode).
fn private_file(path: &Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path).map(drop)
}

#[cfg(test)]
mod tests;
