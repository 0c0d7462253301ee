//! The account and token domain: passwords, signing keys, access tokens, sessions
//! (refresh and revocation) and rate limits.

mod account_changes;
mod accounts;
pub mod activity;
pub mod admin;
mod external;
pub mod key_sealing;
pub mod keys;
pub mod limits;
pub mod passwords;
pub mod personal_tokens;
pub mod reset_tokens;
pub mod sessions;
pub mod token_cache;
pub mod tokens;
mod two_factor;

use std::time::Duration;

pub use accounts::{AuthMaintenance, AuthService, ClientAddr};
pub use activity::RequestOrigin;
pub use personal_tokens::Credential;
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
    #[error("too many attempts; try again in {}", wait_for_people(*.retry_after))]
    RateLimited { retry_after: Duration },
    /// The reason is for the log and the `detail`; it never contains the token.
    #[error("the access token is missing or invalid: {0}")]
    InvalidToken(&'static str),
    #[error("this identity has no account on this server")]
    UnknownIdentity,
    #[error("{0}; retry shortly")]
    IssuerUnavailable(String),
    #[error("the refresh token is invalid, expired or already used")]
    RefreshRejected,
    #[error("the account no longer exists")]
    AccountGone,
    #[error("no such active session of yours")]
    SessionNotFound,
    #[error("the code is wrong or was used already")]
    InvalidCode,
    #[error("the sign-in expired or was finished already; sign in again")]
    InvalidMfaToken,
    #[error("{0}")]
    TwoFactorState(&'static str),
    #[error("cannot make the TOTP secret: {0}")]
    TwoFactorSecret(String),
    #[error("no such personal access token of yours")]
    TokenNotFound,
    #[error("the current password is wrong")]
    WrongPassword,
    #[error("this account is disabled; ask the server's administrator")]
    AccountDisabled,
    /// A command that needs a confirmation flag was run without it.
    #[error("{0}")]
    NotConfirmed(&'static str),
    #[error("no account has the email {0}")]
    NoSuchAccount(String),
    #[error("the reset token is unknown, expired or already used")]
    InvalidResetToken,
    /// The account changed between reading and writing it; a retry sees the change.
    #[error("the account changed meanwhile; try again")]
    AccountChanged,
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

/// A wait as people say it, rounded up: "40 s", "15 min", "2 h".
fn wait_for_people(wait: Duration) -> String {
    let secs = wait.as_secs().max(1) + u64::from(wait.subsec_nanos() > 0 && wait.as_secs() > 0);
    match secs {
        0..=89 => format!("{secs} s"),
        90..=5399 => format!("{} min", secs.div_ceil(60)),
        _ => format!("{} h", secs.div_ceil(3600)),
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_read_as_people_say_them() {
        assert_eq!(wait_for_people(Duration::from_millis(300)), "1 s");
        assert_eq!(wait_for_people(Duration::from_secs(45)), "45 s");
        assert_eq!(wait_for_people(Duration::from_secs(899)), "15 min");
        assert_eq!(wait_for_people(Duration::from_secs(3 * 3600)), "3 h");
    }
}
