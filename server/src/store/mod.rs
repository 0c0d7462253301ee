//! Storage: one interface ([`Storage`]) and two backends, SQLite (`sqlite/`, the
//! embedded default) and PostgreSQL (`postgres/`, for several servers on one database).
//! Nothing outside this folder writes SQL or knows which backend runs. Each method is
//! one transaction.

mod accounts;
mod error;
mod feed;
mod location;
mod personal_tokens;
pub mod postgres;
mod records;
pub mod sqlite;
mod two_factor;

use std::sync::Arc;

use async_trait::async_trait;
use time::OffsetDateTime;
use todo_api::{Task, User};
use uuid::Uuid;

use crate::domain::tasks::{Owner, TaskDraft, TaskQuery};

pub use accounts::{AccountStorage, AccountSummary, NewActivity, ResetOutcome};
pub use error::{StoreError, StoreResult};
pub use feed::{ChangeFeed, Hint, SharedEvent};
pub use location::{DatabaseUrl, PostgresOptions};
pub use personal_tokens::{PersonalTokenRecord, PersonalTokenStorage, TokenInsert};
pub use records::*;
pub use two_factor::{CodeUse, TotpRecord, TwoFactorStorage};

/// The storage interface. Times are microseconds where they are `i64`.
#[async_trait]
pub trait Storage: AccountStorage + PersonalTokenStorage + TwoFactorStorage {
    // Users.
    async fn user_by_email(&self, email: &str) -> StoreResult<Option<UserRecord>>;
    async fn user_by_id(&self, id: Uuid) -> StoreResult<Option<User>>;
    /// Every user's id and stored email (for re-normalising addresses at start).
    async fn user_emails(&self) -> StoreResult<Vec<(Uuid, String)>>;
    /// Changes a user's email from `old` to `new`; `false` when another account already
    /// has `new` or the email is no longer `old`.
    async fn replace_email(&self, id: Uuid, old: &str, new: &str) -> StoreResult<bool>;
    /// Replaces the password hash only if it is still `old`.
    async fn replace_password_hash(&self, id: Uuid, old: &str, new: &str) -> StoreResult<bool>;

    // Sessions and refresh tokens.
    /// Starts a session with its first refresh token, inserting `new_user` first when
    /// given. Nothing is written when that user's email is taken or the (existing)
    /// account is disabled.
    async fn start_session(
        &self,
        new_user: Option<UserRecord>,
        session: NewSession,
    ) -> StoreResult<SessionStart>;
    async fn rotate_refresh_token(&self, rotation: RefreshRotation) -> StoreResult<RefreshOutcome>;
    /// Ends sessions as `sign_out` says; returns the ids ended.
    async fn sign_out(&self, sign_out: SignOut) -> StoreResult<Vec<Uuid>>;
    /// The user's active sessions (not revoked, not expired at `now`), newest first.
    async fn list_sessions(&self, user_id: Uuid, now: OffsetDateTime) -> StoreResult<Vec<SessionRecord>>;
    /// Ends every active session of the user but `keep`; returns the ids ended.
    async fn end_other_sessions(
        &self,
        user_id: Uuid,
        keep: Uuid,
        now: OffsetDateTime,
    ) -> StoreResult<Vec<Uuid>>;
    /// Deletes the user and everything of theirs (cascades), recording their sessions as
    /// ended at `now` so every server refuses their tokens; returns the ids of its sessions
    /// and unrevoked personal tokens.
    async fn delete_account(&self, user_id: Uuid, now: OffsetDateTime) -> StoreResult<Vec<Uuid>>;
    /// Ends one active session of the user; `false` when there is no such one.
    async fn end_session(&self, user_id: Uuid, session_id: Uuid, now: OffsetDateTime) -> StoreResult<bool>;
    /// Sessions revoked after `since`, with when.
    async fn revoked_since(&self, since: OffsetDateTime) -> StoreResult<Vec<(Uuid, OffsetDateTime)>>;
    /// Deletes at most `batch` sessions that ended before `sessions_before`, at most
    /// `batch` refresh tokens that expired before `tokens_before`, and at most `batch`
    /// personal tokens revoked (and as many expired) before `sessions_before`; returns
    /// how many.
    async fn delete_ended_sessions(
        &self,
        sessions_before: OffsetDateTime,
        tokens_before: OffsetDateTime,
        batch: u32,
    ) -> StoreResult<usize>;

    // Signing keys.
    /// All keys, newest first.
    async fn signing_keys(&self) -> StoreResult<Vec<KeyRecord>>;
    /// Retires the signing key(s) and makes `key` the one that signs; with
    /// `only_if_none` only when no key signs yet (the first start).
    async fn add_signing_key(&self, key: KeyRecord, only_if_none: bool) -> StoreResult<()>;
    /// Replaces keys' stored seeds (sealing seeds stored in the clear).
    async fn set_stored_secrets(&self, secrets: Vec<(String, Vec<u8>)>) -> StoreResult<()>;

    // Rate limits: one fixed window per key, checked and counted in one statement.
    /// `Ok(start)`: counted in the window that started at `start`; `Err(start)`: refused,
    /// the full window started at `start`.
    async fn count_attempt(
        &self,
        key: &str,
        now: i64,
        period: i64,
        limit: u32,
    ) -> StoreResult<Result<i64, i64>>;
    /// Gives back one attempt counted in the window that started at `window_start`.
    async fn uncount_attempt(&self, key: &str, window_start: i64) -> StoreResult<()>;
    /// Deletes at most `batch` windows that started before `before`.
    async fn delete_ended_windows(&self, before: i64, batch: u32) -> StoreResult<usize>;

    // Tasks, each scoped to one owner.
    /// One page of the owner's tasks and the total that match the filter.
    async fn list_tasks(&self, owner: Owner, query: &TaskQuery) -> StoreResult<(Vec<Task>, u64)>;
    async fn get_task(&self, owner: Owner, id: i64) -> StoreResult<Option<Task>>;
    /// Inserts the task, or, when the owner has a task with the draft's `source_id`
    /// already, inserts nothing and answers `Conflict` with that task.
    async fn insert_task(
        &self,
        owner: Owner,
        draft: &TaskDraft,
        now: OffsetDateTime,
    ) -> StoreResult<Written<Task>>;
    /// Replaces the editable fields (and sets `completed` when given) at `expected`.
    async fn replace_task(
        &self,
        owner: Owner,
        id: i64,
        expected: Expected,
        draft: &TaskDraft,
        completed: Option<bool>,
        now: OffsetDateTime,
    ) -> StoreResult<Written<Task>>;
    /// Sets `completed` to `target` (flips it when `None`) at `expected`; setting the
    /// value it has changes nothing, not even the version.
    async fn set_completed(
        &self,
        owner: Owner,
        id: i64,
        expected: Expected,
        target: Option<bool>,
        now: OffsetDateTime,
    ) -> StoreResult<Written<Task>>;
    async fn delete_task(
        &self,
        owner: Owner,
        id: i64,
        expected: Expected,
        now: OffsetDateTime,
    ) -> StoreResult<Written<()>>;

    // The change stream: every task write above appends an event in its own transaction.
    /// Hints that a user has new events (from this server's commits and other servers').
    fn changes(&self) -> &ChangeFeed;
    /// At most `limit` events of the owner after `after`, oldest first.
    async fn events_after(&self, owner: Owner, after: i64, limit: u32) -> StoreResult<EventPage>;
    /// Every kept event of one task, oldest first.
    async fn task_history(&self, owner: Owner, task_id: i64) -> StoreResult<Vec<EventRecord>>;
    /// Reverts the owner's latest change not yet undone, as a new change; `None` when
    /// there is nothing left that can be reverted.
    async fn undo_latest(&self, owner: Owner, now: OffsetDateTime) -> StoreResult<Option<Undone>>;
    /// Opens a stream lease (until `expires`, renewed while it runs) unless the owner
    /// already holds `cap` live ones; checked and taken in one transaction.
    async fn open_stream(
        &self,
        owner: Owner,
        lease: Uuid,
        now: i64,
        expires: i64,
        cap: u32,
    ) -> StoreResult<bool>;
    async fn renew_stream(&self, lease: Uuid, expires: i64) -> StoreResult<()>;
    async fn close_stream(&self, lease: Uuid) -> StoreResult<()>;
    /// Deletes at most `batch` events older than `before` that are not among the user's
    /// last `keep`, and expired stream leases; returns how many rows went.
    async fn delete_old_events(
        &self,
        before: OffsetDateTime,
        keep: i64,
        now: i64,
        batch: u32,
    ) -> StoreResult<usize>;
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
