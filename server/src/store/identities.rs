//! The identities port: an account's identities at other issuers, keyed by
//! `(issuer, subject)` (never by email). The database decides who holds one: two servers
//! meeting a new identity at once make one account.

use async_trait::async_trait;
use time::OffsetDateTime;
use uuid::Uuid;

use super::{StoreResult, UserRecord};

/// Who holds an identity now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdentityHolder {
    pub user: Uuid,
    pub disabled: bool,
    /// External tokens issued before this are refused (`users revoke-external`).
    pub not_before: Option<OffsetDateTime>,
}

/// How making an account for an identity went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentityCreation {
    /// This call made it, or another did first: the holder either way.
    Held(IdentityHolder),
    /// Another account has the email: nothing was written.
    EmailTaken,
}

#[async_trait]
pub trait IdentityStorage: Send + Sync + 'static {
    /// The account holding `(issuer, subject)`.
    async fn identity_holder(&self, issuer: &str, subject: &str) -> StoreResult<Option<IdentityHolder>>;
    /// In one transaction: the account `user` and its identity, unless the identity is
    /// held already (then its holder, and no account is made).
    async fn create_identity_account(
        &self,
        issuer: &str,
        subject: &str,
        user: UserRecord,
        now: OffsetDateTime,
    ) -> StoreResult<IdentityCreation>;
    /// Refuses every external token of `user` issued before `now`; false if no such user.
    async fn revoke_external(&self, user: Uuid, now: OffsetDateTime) -> StoreResult<bool>;
    /// Gives `user` the identity, unless another account holds it already; the holder.
    async fn link_identity(
        &self,
        issuer: &str,
        subject: &str,
        user: Uuid,
        now: OffsetDateTime,
    ) -> StoreResult<Option<IdentityHolder>>;
}
