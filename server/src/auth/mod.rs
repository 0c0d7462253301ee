//! The account and token domain: passwords, signing keys, access tokens, sessions
//! (refresh and revocation) and rate limits.

mod accounts;
pub mod key_sealing;
pub mod keys;
pub mod limits;
pub mod passwords;
pub mod sessions;
pub mod token_cache;
pub mod tokens;

use std::time::Duration;

pub use accounts::{AuthService, ClientAddr};
pub use tokens::Claims;

use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("{0}")]
    InvalidField(FieldError),
    /// The password breaks the strength rules; the reason says which and how to fix it.
    #[error("{0}")]
    WeakPassword(String),
    #[error("an account with this email already exists")]
    EmailTaken,
    #[error("the email or password is wrong")]
    InvalidCredentials,
    #[error("too many attempts; try again in {} s", .retry_after.as_secs().max(1))]
    RateLimited { retry_after: Duration },
    /// The reason is for the log and the `detail`; it never contains the token.
    #[error("the access token is missing or invalid: {0}")]
    InvalidToken(&'static str),
    #[error("the refresh token is invalid, expired or already used")]
    RefreshRejected,
    #[error("the account no longer exists")]
    AccountGone,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("password hashing failed")]
    Hashing(#[source] argon2::password_hash::Error),
    /// Never answered as a wrong password: the account's stored hash is broken.
    #[error("the stored password hash of user {user_id} cannot be read")]
    UnreadableHash {
        user_id: uuid::Uuid,
        #[source]
        source: argon2::password_hash::Error,
    },
    #[error("the password threads failed")]
    PasswordWorkers(#[from] crate::workers::JobError),
    #[error("cannot start the password threads")]
    StartPasswordWorkers(#[source] std::io::Error),
    #[error("signing keys")]
    Keys(#[from] keys::KeyError),
}

/// A request field that was refused, with the reason a person can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct FieldError {
    pub field: &'static str,
    pub reason: String,
}

impl FieldError {
    pub fn new(field: &'static str, reason: impl Into<String>) -> Self {
        FieldError {
            field,
            reason: reason.into(),
        }
    }
}

impl From<FieldError> for AuthError {
    fn from(e: FieldError) -> Self {
        AuthError::InvalidField(e)
    }
}
