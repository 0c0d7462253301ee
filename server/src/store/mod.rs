//! Storage: one interface ([`Storage`]) and two backends, SQLite (`sqlite/`, the
//! embedded default) and PostgreSQL (`postgres/`, for several servers on one database).
//! Nothing outside this folder writes SQL or knows which backend runs. Each method is
//! one transaction.

mod accounts;
mod error;
mod feed;
mod feeds;
mod history;
mod idempotency;
mod identities;
mod keys;
mod limits;
mod location;
mod personal_tokens;
pub mod postgres;
mod projects;
mod records;
mod sessions;
pub mod sqlite;
mod tasks;
mod two_factor;

use std::sync::Arc;

use time::OffsetDateTime;

pub use accounts::{AccountStorage, AccountSummary, NewActivity, ResetOutcome};
pub use error::{StoreError, StoreResult};
pub use feed::{ChangeFeed, Hint, SharedEvent};
pub use feeds::{FeedRow, FeedStorage};
pub use idempotency::{IdempotencyStorage, KeyClaim, StoredAnswer};
pub use identities::{IdentityCreation, IdentityHolder, IdentityStorage};
pub use keys::KeyStorage;
pub use limits::LimitStorage;
pub use location::{DatabaseUrl, PostgresOptions};
pub use personal_tokens::{PersonalTokenRecord, PersonalTokenStorage, TokenInsert};
pub use projects::{Guarded, MemberChange, NewInvitation, ProjectStorage};
pub use records::*;
pub use sessions::SessionStorage;
pub use tasks::{NewNote, NoteWrite, TaskStorage};
pub use two_factor::{CodeUse, TotpRecord, TwoFactorStorage};

/// The whole storage interface: every port, as one handle for the code that wires the
/// server together. Services take only the ports they use (`Arc<dyn TaskStorage>`, ...),
/// which a `Store` coerces to.
pub trait Storage:
    SessionStorage
    + KeyStorage
    + LimitStorage
    + TaskStorage
    + AccountStorage
    + PersonalTokenStorage
    + TwoFactorStorage
    + ProjectStorage
    + FeedStorage
    + IdempotencyStorage
    + IdentityStorage
{
}

impl<T> Storage for T where
    T: SessionStorage
        + KeyStorage
        + LimitStorage
        + TaskStorage
        + AccountStorage
        + PersonalTokenStorage
        + TwoFactorStorage
        + ProjectStorage
        + FeedStorage
        + IdempotencyStorage
        + IdentityStorage
{
}

/// How often a SQLite server looks for events committed by other processes on its file.
const CHANGE_POLL: std::time::Duration = std::time::Duration::from_millis(250);

/// The open database, whichever backend it is.
pub type Store = Arc<dyn Storage>;

/// Opens the database `url` names and brings its schema up to date.
pub async fn open(url: &DatabaseUrl, options: &PostgresOptions) -> StoreResult<Store> {
    Ok(match url {
        DatabaseUrl::Sqlite(path) => {
            let path = path.clone();
            let db = tokio::task::spawn_blocking(move || sqlite::Db::open(&path))
                .await
                .map_err(|_| StoreError::Worker(crate::workers::JobError::Stopped))??;
            db.spawn_watcher(CHANGE_POLL);
            Arc::new(db)
        }
        DatabaseUrl::Postgres(url) => Arc::new(postgres::PgStore::connect(url, options).await?),
    })
}

/// Microseconds since the Unix epoch: how every timestamp is stored, on both backends.
pub fn to_micros(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000) as i64
}

pub fn from_micros(us: i64) -> Result<OffsetDateTime, time::error::ComponentRange> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(us) * 1_000)
}

/// A stored microsecond count as a time, a value out of range being corrupt data.
pub(crate) fn stored_time(us: i64) -> StoreResult<OffsetDateTime> {
    from_micros(us).map_err(|e| StoreError::Corrupt(format!("a stored time: {e}")))
}

/// A limit's answer in stored microseconds, as times.
pub(crate) fn window_starts(
    counted: Result<i64, i64>,
) -> StoreResult<Result<OffsetDateTime, OffsetDateTime>> {
    Ok(match counted {
        Ok(start) => Ok(stored_time(start)?),
        Err(start) => Err(stored_time(start)?),
    })
}

/// A span in microseconds, as timestamps are stored.
pub(crate) fn micros_of(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

/// Copies a SQLite database into an empty PostgreSQL database (the `migrate-to` command),
/// migrating the PostgreSQL schema first.
pub async fn copy_sqlite_to_postgres(
    from: &std::path::Path,
    to: &str,
    options: &PostgresOptions,
) -> StoreResult<postgres::Copied> {
    let from = from.to_path_buf();
    if !from.exists() {
        return Err(StoreError::BadUrl(format!("{} does not exist", from.display())));
    }
    let source = tokio::task::spawn_blocking(move || sqlite::Db::open(&from))
        .await
        .map_err(|_| StoreError::Worker(crate::workers::JobError::Stopped))??;
    let snapshot = source.snapshot().await?;
    let target = postgres::PgStore::connect(to, options).await?;
    target.import(&snapshot).await
}

/// The ORDER BY of the urgency sort, the same SQL on both backends: most urgent first
/// (ascending) is due soonest (so overdue first), undated last, then higher priority,
/// then newest; descending is the exact reverse.
pub(crate) fn urgency_order(order: todo_api::SortOrder) -> String {
    let (undated, due, priority, newest) = match order {
        todo_api::SortOrder::Asc => ("ASC", "ASC", "DESC", "DESC"),
        todo_api::SortOrder::Desc => ("DESC", "DESC", "ASC", "ASC"),
    };
    format!("due_at IS NULL {undated}, due_at {due}, priority {priority}, created_at {newest}, id {newest}")
}
