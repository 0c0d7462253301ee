//! The SQLite backend: a writer thread with group commit, reader threads, migrations,
//! and one module of SQL per table.

mod accounts;
mod dependencies;
mod events;
mod export;
mod feeds;
mod idempotency;
mod identities;
mod keys;
mod limits;
mod migrations;
mod notes;
mod personal_tokens;
mod projects;
mod sessions;
mod task_statements;
mod tasks;
mod two_factor;
mod users;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::error::Health;
use super::{StoreError, StoreResult};
use crate::workers::{JobError, Priority, WorkerPool};

use rusqlite::config::DbConfig;
use rusqlite::{Connection, OpenFlags};

/// Separates faults the caller may retry (locks, full disk) from real bugs.
pub(super) fn classify(err: rusqlite::Error) -> StoreError {
    use rusqlite::ErrorCode as C;
    match err.sqlite_error_code() {
        Some(C::DatabaseBusy | C::DatabaseLocked) => StoreError::Busy,
        Some(C::ReadOnly | C::DiskFull | C::CannotOpen | C::SystemIoFailure) => StoreError::Unwritable,
        Some(C::ConstraintViolation) if is_foreign_key_failure(&err) => StoreError::OwnerGone,
        _ => StoreError::Sqlite(err),
    }
}

fn is_foreign_key_failure(err: &rusqlite::Error) -> bool {
    matches!(err, rusqlite::Error::SqliteFailure(e, _) if e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY)
}

/// The same failure, for each caller whose write was in a batch that failed to commit.
pub(super) fn for_another_caller(err: &StoreError) -> StoreError {
    match err {
        StoreError::Busy => StoreError::Busy,
        StoreError::Unwritable => StoreError::Unwritable,
        StoreError::OwnerGone => StoreError::OwnerGone,
        other => StoreError::NotCommitted(crate::error_chain(other)),
    }
}

/// A connection inside a write transaction. Only [`Db::write`] and [`write_blocking`]
/// make one, and every store function that changes data takes it, so a read (which
/// gets a plain `&Connection`) cannot write. Reads work on it too (it derefs to the
/// connection).
pub struct WriteTx<'c>(&'c Connection);

impl std::ops::Deref for WriteTx<'_> {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        self.0
    }
}

impl<'c> WriteTx<'c> {
    /// Only the store opens transactions.
    pub(in crate::store) fn new(conn: &'c Connection) -> Self {
        WriteTx(conn)
    }
}

const READERS: usize = 4;

/// The database: one writer thread that commits batches (SQLite allows one writer at a
/// time anyway) and a few reader threads, which WAL mode lets run beside the writer.
/// SQLite never runs on the async runtime.
#[derive(Clone)]
pub struct Db {
    inner: Arc<DbInner>,
}

struct DbInner {
    /// Jobs for the writer thread (see `writer.rs`).
    writer: writer::JobSender,
    readers: WorkerPool<Connection>,
    /// The readers' health; the writer thread keeps its own.
    read_health: Health,
    feed: super::ChangeFeed,
}

impl Db {
    /// Opens (creating if needed) the database file and brings its schema up to date.
    pub fn open(path: &Path) -> StoreResult<Db> {
        prepare_folder(path)?;
        create_owner_only(path)?;
        restrict_file_modes(path)?;
        let mut writer = open_connection(path)?;
        migrations::run(&mut writer)?;
        // Again, now that the WAL and shared-memory files exist. Only by path (chmod):
        // see `restrict_file_modes`.
        restrict_file_modes(path)?;
        let connections = (0..READERS)
            .map(|_| open_connection(path))
            .collect::<StoreResult<Vec<_>>>()?;
        let readers = WorkerPool::start("sqlite-reader", connections, Priority::Normal)
            .map_err(StoreError::StartThreads)?;
        let (jobs, queue) = crate::workers::job_queue();
        let writer_health = Health::new("writes");
        // The thread ends when the last `Db` clone (and so the job sender) is dropped.
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || writer::run(writer, queue, writer_health))
            .map_err(StoreError::StartThreads)?;
        Ok(Db {
            inner: Arc::new(DbInner {
                writer: jobs,
                readers,
                read_health: Health::new("reads"),
                feed: super::ChangeFeed::default(),
            }),
        })
    }

    /// Every `interval`, looks for events other processes committed on this file and
    /// wakes their users' streams. Ends when the last `Db` is dropped.
    pub fn spawn_watcher(&self, interval: std::time::Duration) {
        let weak = Arc::downgrade(&self.inner);
        tokio::spawn(async move {
            // Where to start: read at once, before the server takes requests, so no row
            // written after the start goes unreported.
            let mut since: Option<i64> = None;
            loop {
                let Some(inner) = weak.upgrade() else { return };
                let db = Db { inner };
                let outcome = match since {
                    None => db.read(events::newest_id).await.map(|id| (Vec::new(), id)),
                    Some(after) => db.read(move |c| events::changed_since(c, after)).await,
                };
                match outcome {
                    Ok((users, newest)) => {
                        for (user, seq) in users {
                            db.inner.feed.publish(user, seq);
                        }
                        since = Some(newest);
                    }
                    Err(e) => tracing::debug!(error = %e, "could not look for new events; will retry"),
                }
                drop(db);
                tokio::time::sleep(interval).await;
            }
        });
    }

    /// Everything the database holds, from one snapshot.
    pub async fn snapshot(&self) -> StoreResult<crate::store::Snapshot> {
        self.read(export::snapshot).await
    }

    /// Runs `f` on a reader connection.
    pub async fn read<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        let outcome = self
            .inner
            .readers
            .run(move |conn| f(conn).map_err(classify))
            .await?;
        self.inner.read_health.observe(outcome)
    }

    /// Runs `f` as one atomic write (a savepoint in the writer's current batch) and
    /// returns once it is committed and durable. If `f` fails, none of it is kept.
    pub async fn write<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&WriteTx<'_>) -> rusqlite::Result<T> + Send + 'static,
    {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let job: Box<dyn writer::WriteJob> = Box::new(writer::Job::new(f, reply));
        let stopped = |_| StoreError::Worker(JobError::Stopped);
        self.inner.writer.send(job).map_err(stopped)?;
        answer.await.map_err(|_| StoreError::Worker(JobError::Stopped))?
    }
}

/// One immediate write transaction on a connection, for callers outside the runtime
/// (the `keys rotate` command).
pub(super) fn write_blocking<T>(
    conn: &mut Connection,
    f: impl FnOnce(&WriteTx<'_>) -> rusqlite::Result<T>,
) -> StoreResult<T> {
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(classify)?;
    let value = f(&WriteTx::new(&tx)).map_err(classify)?;
    tx.commit().map_err(classify)?;
    Ok(value)
}

/// Opens one connection with the pragmas every connection needs.
pub fn open_connection(path: &Path) -> StoreResult<Connection> {
    let flags =
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(classify)?;
    // WAL lets readers run beside the writer. synchronous=FULL syncs the WAL on every
    // commit, so an acknowledged write survives a power cut, not only a killed process.
    // Foreign keys are off by default in SQLite and are per connection. Temporary tables
    // and sort spills stay in memory, so no temporary file ever holds user data.
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = FULL;
         PRAGMA foreign_keys = ON;
         PRAGMA busy_timeout = 5000;
         PRAGMA temp_store = MEMORY;",
    )
    .map_err(classify)?;
    // Plans must not depend on bound values: without this, SQLite (built with STAT4)
    // re-prepares a cached statement whenever `LIMIT ?` is bound, that is on every list.
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)
        .map_err(classify)?;
    register_tag_key(&conn).map_err(classify)?;
    Ok(conn)
}

/// `todo_tag_key(text)`: a tag in the form tags compare in (Unicode lower case, as the
/// API crate defines it; SQLite's own `lower` knows only ASCII).
pub(super) fn register_tag_key(conn: &Connection) -> rusqlite::Result<()> {
    use rusqlite::functions::FunctionFlags;
    conn.create_scalar_function(
        "todo_tag_key",
        1,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| Ok(ctx.get::<Option<String>>(0)?.map(|t| todo_api::tags::tag_key(&t))),
    )
}

fn prepare_folder(path: &Path) -> StoreResult<()> {
    let Some(folder) = path.parent().filter(|p| !p.as_os_str().is_empty()) else {
        return Ok(());
    };
    if folder.exists() {
        return Ok(());
    }
    let folder_err = |source| StoreError::Folder {
        path: folder.to_path_buf(),
        source,
    };
    std::fs::create_dir_all(folder).map_err(folder_err)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(folder, std::fs::Permissions::from_mode(0o700)).map_err(folder_err)?;
    }
    Ok(())
}

/// The files SQLite keeps beside the database. Each holds pages of it, so each holds
/// what the database holds.
const COMPANION_SUFFIXES: [&str; 3] = ["-wal", "-shm", "-journal"];

/// The companion files of the database at `path`.
fn companions(path: &Path) -> impl Iterator<Item = PathBuf> + '_ {
    COMPANION_SUFFIXES.iter().map(move |suffix| {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        PathBuf::from(name)
    })
}

/// Creates the database file owner-only (0600) when it does not exist yet, before SQLite
/// opens it: SQLite gives the files it creates beside it the database's own mode.
///
/// This is the only place the server opens the file itself, and only before any SQLite
/// connection holds it: POSIX locks belong to the process and file, and closing *any*
/// descriptor of the file drops them all. A server that did so after opening would look
/// unlocked to another program reading the file (`sqlite3`, a backup), which would then
/// checkpoint and delete the WAL under it, losing acknowledged writes.
fn create_owner_only(path: &Path) -> StoreResult<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        let created = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path);
        match created {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(source) => {
                return Err(StoreError::FileMode {
                    path: path.to_path_buf(),
                    source,
                });
            }
        }
    }
    Ok(())
}

/// The database holds password hashes and private signing keys, and its WAL, shared
/// memory and journal hold copies of its pages: every one is owner-only (0600), whatever
/// the umask and whatever mode an earlier version or another tool left. Run at every
/// start, before and after SQLite opens the file. By path only (stat and chmod, never
/// open): see [`create_owner_only`] for why the file must not be opened here.
fn restrict_file_modes(path: &Path) -> StoreResult<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let fail = |p: &Path| {
            let path = p.to_path_buf();
            move |source| StoreError::FileMode { path, source }
        };
        for file in std::iter::once(path.to_path_buf()).chain(companions(path)) {
            let mode = match std::fs::metadata(&file) {
                Ok(meta) => meta.permissions().mode() & 0o777,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(fail(&file)(e)),
            };
            if mode != 0o600 {
                tracing::warn!(file = %file.display(), mode = format!("{mode:o}"), "database file was not owner-only; set to 0600");
                std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600))
                    .map_err(fail(&file))?;
            }
        }
    }
    Ok(())
}

pub(super) use super::to_micros;

/// The user of an unused, unexpired single-use token.
fn unspent_token_owner(
    c: &Connection,
    kind: crate::store::SingleUseToken,
    token_hash: &[u8],
    now: time::OffsetDateTime,
) -> rusqlite::Result<Option<uuid::Uuid>> {
    use rusqlite::OptionalExtension;
    let sql = format!(
        "SELECT user_id FROM {} WHERE token_hash = ?1 AND used_at IS NULL AND expires_at > ?2",
        kind.table()
    );
    c.query_row(&sql, rusqlite::params![token_hash, to_micros(now)], |r| {
        r.get::<_, String>(0)
    })
    .optional()?
    .map(parse_uuid)
    .transpose()
}

/// A stored id.
fn parse_uuid(s: String) -> rusqlite::Result<uuid::Uuid> {
    s.parse()
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e)))
}

/// A stored timestamp, as rusqlite wants a conversion failure.
fn from_micros(us: i64) -> rusqlite::Result<time::OffsetDateTime> {
    super::from_micros(us).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Integer, Box::new(e))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A bug that panics inside a database job costs that one caller an error: the
    /// writer and the readers go on, and the next write and read succeed.
    #[tokio::test]
    async fn a_panicking_job_does_not_take_the_database_down() {
        let dir = tempfile::tempdir().expect("dir");
        let db = Db::open(&dir.path().join("t.db")).expect("open");
        for _ in 0..3 {
            let write = db
                .write(|_| -> rusqlite::Result<()> { panic!("injected write failure") })
                .await;
            assert!(
                matches!(write, Err(StoreError::Worker(JobError::Panicked(_)))),
                "{write:?}"
            );
            let read = db
                .read(|_| -> rusqlite::Result<()> { panic!("injected read failure") })
                .await;
            assert!(
                matches!(read, Err(StoreError::Worker(JobError::Panicked(_)))),
                "{read:?}"
            );
        }
        let written = db
            .write(|tx| tx.execute("CREATE TABLE after_panics (x INTEGER)", []))
            .await;
        assert!(written.is_ok(), "{written:?}");
        for _ in 0..8 {
            let read = db
                .read(|c| c.query_row("SELECT count(*) FROM after_panics", [], |r| r.get::<_, i64>(0)))
                .await;
            assert_eq!(read.ok(), Some(0));
        }
    }

    #[test]
    fn read_only_and_locked_databases_are_transient_faults() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("t.db");
        let writer = open_connection(&path).expect("open");
        writer
            .execute_batch("CREATE TABLE t (x INTEGER)")
            .expect("create");

        let read_only =
            Connection::open_with_flags(&path, OpenFlags::SQLITE_OPEN_READ_ONLY).expect("open ro");
        let err = read_only
            .execute("INSERT INTO t VALUES (1)", [])
            .expect_err("read-only");
        assert!(classify(err).is_transient());

        writer.execute_batch("BEGIN EXCLUSIVE").expect("lock");
        let other = Connection::open(&path).expect("open");
        other
            .busy_timeout(std::time::Duration::from_millis(10))
            .expect("timeout");
        let err = other.execute("INSERT INTO t VALUES (2)", []).expect_err("locked");
        assert!(matches!(classify(err), StoreError::Busy));
    }
}
