//! The PostgreSQL backend, for several servers on one database: a connection pool
//! (deadpool-postgres over tokio-postgres), migrations under an advisory lock, and the
//! same storage interface as SQLite. Every write is one transaction committed with
//! `synchronous_commit = on` before the caller is answered.

mod accounts;
mod dependencies;
mod events;
mod feeds;
mod idempotency;
mod identities;
mod import;
mod keys;
mod limits;
mod listen;
mod migrations;
mod notes;
mod notify;
mod personal_tokens;
mod projects;
mod rows;
mod sessions;
mod task_statements;
mod tasks;
mod tls;
mod two_factor;

use std::str::FromStr;
use std::sync::Arc;

use deadpool_postgres::{Manager, ManagerConfig, Pool, PoolError, RecyclingMethod, Runtime};
use tokio_postgres::error::SqlState;

pub use import::Copied;

use super::error::Health;
use super::{PostgresOptions, StoreError, StoreResult};

pub struct PgStore {
    pool: Pool,
    health: Arc<Health>,
    feed: Arc<super::ChangeFeed>,
    notices: notify::Notices,
}

impl PgStore {
    /// Connects, checks the server answers, and migrates the schema (once, however many
    /// servers start together).
    pub async fn connect(url: &str, options: &PostgresOptions) -> StoreResult<PgStore> {
        let mut config = tokio_postgres::Config::from_str(url)
            .map_err(|_| StoreError::BadUrl("the PostgreSQL URL cannot be parsed".into()))?;
        // A 2xx means committed and flushed (whatever the server's default), and no
        // statement holds a connection for ever.
        let ours = format!(
            "-c synchronous_commit=on -c statement_timeout={}",
            options.statement_timeout.as_millis()
        );
        let merged = match config.get_options() {
            Some(theirs) if !theirs.is_empty() => format!("{theirs} {ours}"),
            _ => ours,
        };
        config
            .options(&merged)
            .application_name("todo-server")
            .connect_timeout(options.connect_timeout);
        let listener_config = config.clone();
        let manager = Manager::from_config(
            config,
            tls::connector(options.ca_file.as_deref())?,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(options.pool_size)
            .wait_timeout(Some(options.connect_timeout))
            .create_timeout(Some(options.connect_timeout))
            .recycle_timeout(Some(options.connect_timeout))
            .runtime(Runtime::Tokio1)
            .build()
            .map_err(|e| StoreError::BadUrl(format!("cannot build the connection pool: {e}")))?;
        let store = PgStore {
            notices: notify::spawn(pool.clone()),
            pool,
            // One server for reads and writes: when it is away, both are.
            health: Arc::new(Health::new("reads and writes")),
            feed: Arc::default(),
        };
        let mut client = store.client().await?;
        migrations::run(&mut client).await?;
        listen::spawn(
            listener_config,
            tls::connector(options.ca_file.as_deref())?,
            &store.feed,
        );
        Ok(store)
    }

    async fn client(&self) -> StoreResult<deadpool_postgres::Object> {
        Ok(self.pool.get().await?)
    }

    /// After a commit: this server's streams get the event at once, the others' by a
    /// notice.
    fn published(&self, user: uuid::Uuid, event: super::EventRecord) {
        let _ = self.notices.send((user, event.seq));
        self.feed.publish_event(user, event);
    }

    /// Runs one operation, logging a fault once when it starts and once when it ends.
    async fn observe<T>(&self, work: impl Future<Output = StoreResult<T>>) -> StoreResult<T> {
        self.health.observe(work.await)
    }

    /// The user of an unused, unexpired single-use token.
    async fn unspent_token_owner(
        &self,
        kind: crate::store::SingleUseToken,
        token_hash: &[u8],
        now: time::OffsetDateTime,
    ) -> StoreResult<Option<uuid::Uuid>> {
        let sql = format!(
            "SELECT user_id FROM {} WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2",
            kind.table()
        );
        self.observe(async {
            let client = self.client().await?;
            let row = client
                .query_opt(&sql, &[&token_hash, &crate::store::to_micros(now)])
                .await?;
            Ok(row.map(|r| r.try_get(0)).transpose()?)
        })
        .await
    }

    /// Runs one statement; whether it changed exactly one row (the use-once writes).
    async fn changed_one(
        &self,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> StoreResult<bool> {
        self.observe(async {
            let client = self.client().await?;
            Ok(client.execute(sql, params).await? == 1)
        })
        .await
    }
}

impl From<tokio_postgres::Error> for StoreError {
    /// Separates faults that go away by themselves (the server down, restarting, out of
    /// room, a lock or a timeout) from bugs.
    fn from(err: tokio_postgres::Error) -> StoreError {
        let Some(code) = err.code() else {
            let io = std::error::Error::source(&err).is_some_and(|s| s.is::<std::io::Error>());
            return if err.is_closed() || io {
                StoreError::Unreachable(Box::new(err))
            } else {
                StoreError::Postgres(err)
            };
        };
        let class = &code.code()[..2];
        if class == "08" || class == "53" || class == "57" && *code != SqlState::QUERY_CANCELED {
            StoreError::Unreachable(Box::new(err))
        } else if class == "40" || *code == SqlState::QUERY_CANCELED || *code == SqlState::LOCK_NOT_AVAILABLE
        {
            StoreError::Busy
        } else if *code == SqlState::READ_ONLY_SQL_TRANSACTION {
            StoreError::Unwritable
        } else if *code == SqlState::FOREIGN_KEY_VIOLATION {
            StoreError::OwnerGone
        } else {
            StoreError::Postgres(err)
        }
    }
}

impl From<PoolError> for StoreError {
    fn from(err: PoolError) -> StoreError {
        match err {
            PoolError::Backend(e) => e.into(),
            // Every connection busy for the whole wait: the database is overloaded.
            PoolError::Timeout(deadpool_postgres::TimeoutType::Wait) => StoreError::Busy,
            other => StoreError::Unreachable(Box::new(other)),
        }
    }
}

/// Deletes at most `batch` rows of `table` whose `column` is before `before`; how many.
/// Deletes at most `batch` rows of `table` whose `column` is before `before`, found by
/// their `key` (a batch at a time, so no request waits behind a long delete).
pub(super) async fn delete_batch(
    c: &deadpool_postgres::Object,
    table: &str,
    key: &str,
    column: &str,
    before: i64,
    batch: i64,
) -> Result<u64, tokio_postgres::Error> {
    let sql = format!(
        "DELETE FROM {table} WHERE {key} IN (SELECT {key} FROM {table} WHERE {column} < $1 LIMIT $2)"
    );
    c.execute(&sql, &[&before, &batch]).await
}
