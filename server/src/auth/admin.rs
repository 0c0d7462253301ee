//! The administrator's use cases (`todo-server users ...`), run against the database
//! beside running servers: what they change reaches every server through the database
//! (ended sessions are read as revocations within a second).

use std::time::Duration;

use time::OffsetDateTime;
use todo_api::ActivityKind;

use super::activity::{ActivityLog, RequestOrigin};
use super::{AuthError, passwords, reset_tokens};
use crate::clock::Clock;
use crate::store::{AccountSummary, Store};

pub struct Admin {
    db: Store,
    activity: ActivityLog,
    clock: Clock,
}

/// A reset token to hand to the account's owner, shown once.
pub struct IssuedResetToken {
    pub token: String,
    pub expires_at: OffsetDateTime,
}

impl Admin {
    pub fn new(db: Store, clock: Clock) -> Admin {
        Admin {
            activity: ActivityLog::new(db.clone(), clock.clone()),
            db,
            clock,
        }
    }

    pub async fn list(&self) -> Result<Vec<AccountSummary>, AuthError> {
        Ok(self.db.accounts(None, self.clock.now()).await?)
    }

    /// The account with this email (compared as sign-in compares it).
    pub async fn show(&self, email: &str) -> Result<AccountSummary, AuthError> {
        let key = passwords::account_key(email);
        self.db
            .accounts(Some(&key), self.clock.now())
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| AuthError::NoSuchAccount(email.trim().to_string()))
    }

    /// Refuses sign-in from now on and ends every session; returns how many ended.
    /// Refuses every token from another issuer issued to the account before now (they
    /// carry no id to revoke one by one); tokens issued after still work.
    pub async fn revoke_external(&self, email: &str) -> Result<(), AuthError> {
        let account = self.show(email).await?;
        // From the next whole second: `iat` counts in seconds, so a token issued in this
        // one is refused too.
        let now = self.clock.now();
        let from = now.replace_nanosecond(0).unwrap_or(now) + time::Duration::seconds(1);
        match self.db.revoke_external(account.user.id, from).await? {
            true => Ok(()),
            false => Err(AuthError::NoSuchAccount(email.trim().to_string())),
        }
    }

    pub async fn disable(&self, email: &str) -> Result<usize, AuthError> {
        let account = self.show(email).await?;
        let now = self.clock.now();
        let ended = self
            .db
            .set_disabled(account.user.id, Some(self.clock.now()), now)
            .await?
            .ok_or_else(|| AuthError::NoSuchAccount(email.trim().to_string()))?;
        self.activity
            .record(
                account.user.id,
                ActivityKind::AccountDisabled,
                &RequestOrigin::command_line(),
                None,
            )
            .await;
        Ok(ended.len())
    }

    pub async fn enable(&self, email: &str) -> Result<(), AuthError> {
        let account = self.show(email).await?;
        self.db
            .set_disabled(account.user.id, None, self.clock.now())
            .await?
            .ok_or_else(|| AuthError::NoSuchAccount(email.trim().to_string()))?;
        self.activity
            .record(
                account.user.id,
                ActivityKind::AccountEnabled,
                &RequestOrigin::command_line(),
                None,
            )
            .await;
        Ok(())
    }

    /// Deletes the account and everything of it, as the owner's own deletion does.
    pub async fn delete(&self, email: &str) -> Result<AccountSummary, AuthError> {
        let account = self.show(email).await?;
        self.db.delete_account(account.user.id, self.clock.now()).await?;
        Ok(account)
    }

    /// Turns two-factor sign-in off for an owner who lost the app and the recovery codes
    /// (recorded in their activity log); `false` when it was not on.
    pub async fn reset_two_factor(&self, email: &str) -> Result<bool, AuthError> {
        let account = self.show(email).await?;
        if !self.db.disable_totp(account.user.id).await? {
            return Ok(false);
        }
        self.activity
            .record(
                account.user.id,
                ActivityKind::TwoFactorReset,
                &RequestOrigin::command_line(),
                None,
            )
            .await;
        Ok(true)
    }

    /// A one-time password reset token for the account, valid for `ttl`.
    pub async fn issue_reset_token(&self, email: &str, ttl: Duration) -> Result<IssuedResetToken, AuthError> {
        let account = self.show(email).await?;
        let (token, hash) = reset_tokens::new_token();
        let expires_at = self.clock.now() + ttl;
        self.db.add_reset_token(account.user.id, hash, expires_at).await?;
        self.activity
            .record(
                account.user.id,
                ActivityKind::ResetTokenIssued,
                &RequestOrigin::command_line(),
                None,
            )
            .await;
        Ok(IssuedResetToken { token, expires_at })
    }
}
