//! The port for accounts' sign-in state: users, sessions and refresh tokens.

use async_trait::async_trait;
use time::OffsetDateTime;
use todo_api::User;
use uuid::Uuid;

use super::{
    NewSession, RefreshOutcome, RefreshRotation, SessionRecord, SessionStart, SignOut, StoreResult,
    UserRecord,
};

#[async_trait]
pub trait SessionStorage: Send + Sync + 'static {
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
}
