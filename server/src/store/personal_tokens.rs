//! The storage interface for personal access tokens: a third trait beside
//! [`Storage`](super::Storage), implemented by every backend.

use async_trait::async_trait;
use time::OffsetDateTime;
use todo_api::TokenScope;
use uuid::Uuid;

use super::StoreResult;

/// A personal access token as stored (its secret only as a hash, kept apart).
#[derive(Debug, Clone)]
pub struct PersonalTokenRecord {
    pub id: Uuid,
    pub user_id: Uuid,
    pub name: String,
    pub scopes: Vec<TokenScope>,
    pub created_at: OffsetDateTime,
    pub expires_at: Option<OffsetDateTime>,
    pub last_used_at: Option<OffsetDateTime>,
    pub revoked: bool,
}

/// Scopes as stored: their names, space-separated.
pub(crate) fn scopes_to_text(scopes: &[TokenScope]) -> String {
    scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" ")
}

/// Names this server does not know are dropped (a token never gains a scope by it).
pub(crate) fn scopes_from_text(text: &str) -> Vec<TokenScope> {
    text.split_whitespace().filter_map(TokenScope::parse).collect()
}

/// How storing a new token went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenInsert {
    Inserted,
    /// The user holds `cap` unrevoked tokens already; nothing was written.
    CapReached,
    /// The account is disabled or gone, or the session asking has ended (perhaps a moment
    /// ago, on another server or by an administrator); nothing was written.
    CredentialEnded,
}

#[async_trait]
pub trait PersonalTokenStorage: Send + Sync + 'static {
    /// Stores a new token, asked for by the session `session_id`, in one transaction that
    /// checks the account is enabled, the session unrevoked and the cap not reached. A
    /// disable, deletion or sign-out committing at the same time either comes first (and
    /// the token is refused) or after (and revokes it with the rest).
    async fn insert_personal_token(
        &self,
        token: PersonalTokenRecord,
        token_hash: Vec<u8>,
        cap: usize,
        session_id: Uuid,
    ) -> StoreResult<TokenInsert>;
    /// The user's unrevoked tokens, newest first.
    async fn personal_tokens(&self, user_id: Uuid) -> StoreResult<Vec<PersonalTokenRecord>>;
    async fn personal_token_by_hash(&self, token_hash: Vec<u8>) -> StoreResult<Option<PersonalTokenRecord>>;
    /// `false` when the user has no such unrevoked token.
    async fn revoke_personal_token(&self, user_id: Uuid, id: Uuid, now: OffsetDateTime) -> StoreResult<bool>;
    /// Sets `last_used_at` unless it is less than a minute old.
    async fn touch_personal_token(&self, id: Uuid, now: OffsetDateTime) -> StoreResult<()>;
}
