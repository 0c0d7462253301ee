//! The storage interface for account administration and the activity log: a second
//! trait beside [`Storage`](super::Storage) (every backend implements both), so each
//! backend keeps these transactions in a file of their own.

use async_trait::async_trait;
use time::OffsetDateTime;
use todo_api::{ActivityEntry, ActivityKind, User};
use uuid::Uuid;

use super::StoreResult;

/// An entry for the activity log.
pub struct NewActivity {
    pub user_id: Uuid,
    pub at: OffsetDateTime,
    pub kind: ActivityKind,
    pub address: Option<String>,
    pub user_agent: Option<String>,
    pub session_id: Option<Uuid>,
}

/// An account as the admin commands show it.
pub struct AccountSummary {
    pub user: User,
    pub disabled_at: Option<OffsetDateTime>,
    pub active_sessions: i64,
    pub tasks: i64,
}

/// A password set with a reset token: every session of the account ends with it.
pub struct ResetOutcome {
    pub user_id: Uuid,
    pub ended_sessions: Vec<Uuid>,
}

#[async_trait]
pub trait AccountStorage: Send + Sync + 'static {
    async fn record_activity(&self, entry: NewActivity) -> StoreResult<()>;
    /// At most `limit` of the user's entries older than entry `before`, newest first.
    async fn activity(
        &self,
        user_id: Uuid,
        before: Option<i64>,
        limit: u32,
    ) -> StoreResult<Vec<ActivityEntry>>;
    /// Deletes at most `batch` activity entries from before `activity_before` and at most
    /// `batch` reset tokens and mfa challenges that expired before `resets_before`;
    /// returns how many.
    async fn delete_old_account_records(
        &self,
        activity_before: OffsetDateTime,
        resets_before: OffsetDateTime,
        batch: u32,
    ) -> StoreResult<usize>;

    /// Every account (or the one with `email`), oldest first, with counts at `now`.
    async fn accounts(&self, email: Option<&str>, now: OffsetDateTime) -> StoreResult<Vec<AccountSummary>>;
    /// Disables the account (ending every session in the same transaction; returns
    /// their ids) or, with `None`, enables it again. `false` in the flag when no such user.
    async fn set_disabled(
        &self,
        user_id: Uuid,
        disabled_at: Option<OffsetDateTime>,
        now: OffsetDateTime,
    ) -> StoreResult<Option<Vec<Uuid>>>;

    /// Stores a reset token's hash for the user, valid until `expires_at`.
    async fn add_reset_token(
        &self,
        user_id: Uuid,
        token_hash: Vec<u8>,
        expires_at: OffsetDateTime,
    ) -> StoreResult<()>;
    /// The user a reset token that is unused and unexpired at `now` belongs to.
    async fn reset_token_owner(&self, token_hash: Vec<u8>, now: OffsetDateTime) -> StoreResult<Option<Uuid>>;
    /// In one transaction: uses the token (if still unused and unexpired), sets the
    /// password hash and ends every session of its user. `None` when the token did not
    /// work.
    async fn use_reset_token(
        &self,
        token_hash: Vec<u8>,
        password_hash: String,
        now: OffsetDateTime,
    ) -> StoreResult<Option<ResetOutcome>>;
}
