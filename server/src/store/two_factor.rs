//! The storage interface for TOTP two-factor sign-in: a fourth trait beside
//! [`Storage`](super::Storage). Each "use" is one conditional write, so of two requests
//! racing with one code, one wins.

use async_trait::async_trait;
use time::OffsetDateTime;
use uuid::Uuid;

use super::StoreResult;

/// A user's TOTP secret, on or only set up, and the last time step a code was taken for.
pub struct TotpRecord {
    pub secret: Vec<u8>,
    pub enabled: bool,
    pub last_step: i64,
}

/// How a code went: taken (with its sign-in's mfa challenge, when one was given), wrong
/// or used before, or sent on a challenge that was spent (or expired) meanwhile. Code and
/// challenge are spent together or not at all, so of several codes sent at once on one
/// challenge, only the one that signs in is spent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeUse {
    Taken,
    Refused,
    ChallengeSpent,
}

#[async_trait]
pub trait TwoFactorStorage: Send + Sync + 'static {
    /// Stores a new secret (not yet on) and recovery codes in place of any earlier
    /// setup; `false` (nothing written) when two-factor sign-in is on already.
    async fn begin_totp(
        &self,
        user_id: Uuid,
        secret: Vec<u8>,
        recovery_hashes: Vec<Vec<u8>>,
    ) -> StoreResult<bool>;
    async fn totp(&self, user_id: Uuid) -> StoreResult<Option<TotpRecord>>;
    /// Every stored secret exactly `len` bytes long (those kept in the clear), with its
    /// user.
    async fn totp_secrets_of_length(&self, len: usize) -> StoreResult<Vec<(Uuid, Vec<u8>)>>;
    /// Replaces a user's stored secret if it is still `old` (a new setup meanwhile
    /// wins); `false` when it was not.
    async fn replace_totp_secret(&self, user_id: Uuid, old: Vec<u8>, new: Vec<u8>) -> StoreResult<bool>;
    /// Turns the set-up secret `secret` (as stored) on, taking `step`; `false` when it
    /// is on already or another setup replaced it.
    async fn enable_totp(
        &self,
        user_id: Uuid,
        secret: Vec<u8>,
        step: i64,
        now: OffsetDateTime,
    ) -> StoreResult<bool>;
    /// Removes the secret and the recovery codes; `false` when it was not on.
    async fn disable_totp(&self, user_id: Uuid) -> StoreResult<bool>;
    /// Takes time step `step` if it is later than the last one taken (no replay), and
    /// spends `challenge` (the mfa token's hash) with it when given.
    async fn use_totp_step(
        &self,
        user_id: Uuid,
        step: i64,
        challenge: Option<Vec<u8>>,
        now: OffsetDateTime,
    ) -> StoreResult<CodeUse>;
    /// Uses an unused recovery code of the user, and spends `challenge` with it when given.
    async fn use_recovery_code(
        &self,
        user_id: Uuid,
        code_hash: Vec<u8>,
        challenge: Option<Vec<u8>>,
        now: OffsetDateTime,
    ) -> StoreResult<CodeUse>;
    async fn add_mfa_challenge(
        &self,
        token_hash: Vec<u8>,
        user_id: Uuid,
        expires_at: OffsetDateTime,
    ) -> StoreResult<()>;
    /// The user of an unused, unexpired mfa token.
    async fn mfa_challenge_user(&self, token_hash: Vec<u8>, now: OffsetDateTime)
    -> StoreResult<Option<Uuid>>;
}
