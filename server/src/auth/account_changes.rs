//! What a signed-in person changes about their own account: password, email, sessions,
//! deletion; the activity log; and a password set with an administrator's reset token.

use todo_api::{ActivityEntry, ActivityKind, Secret, SessionSummary, User};
use uuid::Uuid;

use super::accounts::{AuthService, limited};
use super::activity::RequestOrigin;
use super::{AuthError, Claims, FieldError, passwords, reset_tokens};
use crate::store::UserRecord;

/// The sign-up strength rules for a new password, refused as the field `new_password`.
fn check_new_password(new: &Secret, user: &User) -> Result<(), AuthError> {
    let mut context = vec![user.email.as_str()];
    context.extend(user.name.as_deref());
    passwords::check_strength(new.expose(), &context).map_err(|e| match e {
        AuthError::WeakPassword(reason) => AuthError::InvalidField(FieldError::new("new_password", reason)),
        other => other,
    })
}

impl AuthService {
    /// Changes the password after checking the current one (a wrong one counts toward
    /// the account's failure limit, as a failed sign-in does), then ends every other
    /// session of the account.
    pub async fn change_password(
        &self,
        claims: &Claims,
        origin: &RequestOrigin,
        current: Secret,
        new: Secret,
    ) -> Result<(), AuthError> {
        let stored = self.check_password(claims, origin, current).await?;
        let new = passwords::normalize_password(new.expose());
        check_new_password(&new, &stored.user)?;
        let rehashed = self.hasher.hash(new).await?;
        // Only over the hash just checked: if the password changed meanwhile, the one
        // given is no longer the current one (a retry checks it again).
        if !self
            .db
            .replace_password_hash(claims.sub, &stored.password_hash, &rehashed)
            .await?
        {
            return Err(AuthError::WrongPassword);
        }
        let ended = self
            .db
            .end_other_sessions(claims.sub, claims.sid, self.clock.now())
            .await?;
        self.revoked.insert_all(ended);
        self.activity
            .record(
                claims.sub,
                ActivityKind::PasswordChanged,
                origin,
                Some(claims.sid),
            )
            .await;
        Ok(())
    }

    /// Changes the email after checking the password: normalised as at sign-up, 409
    /// when another account has it. Tokens issued from now on carry the new one.
    pub async fn change_email(
        &self,
        claims: &Claims,
        origin: &RequestOrigin,
        password: Secret,
        new_email: &str,
    ) -> Result<User, AuthError> {
        let new_email = passwords::normalize_email(new_email)
            .map_err(|e| AuthError::InvalidField(FieldError::new("new_email", e.reason)))?;
        let stored = self.check_password(claims, origin, password).await?;
        if stored.user.email != new_email {
            if self.db.user_by_email(&new_email).await?.is_some() {
                return Err(AuthError::EmailTaken);
            }
            // Only from the email just read: a change made meanwhile is not overwritten
            // unseen, and the unique index settles two accounts racing for one address.
            if !self
                .db
                .replace_email(claims.sub, &stored.user.email, &new_email)
                .await?
            {
                return Err(match self.db.user_by_email(&new_email).await? {
                    Some(_) => AuthError::EmailTaken,
                    None => AuthError::AccountChanged,
                });
            }
            self.activity
                .record(claims.sub, ActivityKind::EmailChanged, origin, Some(claims.sid))
                .await;
        }
        Ok(User {
            email: new_email,
            ..stored.user
        })
    }

    /// Checks the account's password before a change that needs it: a wrong one is
    /// `WrongPassword` and counts toward the account's failure limit, as a failed
    /// sign-in does. Returns the account with its hash as checked.
    pub(super) async fn check_password(
        &self,
        claims: &Claims,
        origin: &RequestOrigin,
        password: Secret,
    ) -> Result<UserRecord, AuthError> {
        let account_key = passwords::account_key(&claims.email);
        let attempt = self
            .limits
            .failed_sign_ins
            .reserve(&account_key)
            .await?
            .map_err(limited)?;
        let user = self
            .db
            .user_by_id(claims.sub)
            .await?
            .ok_or(AuthError::AccountGone)?;
        let stored = self
            .db
            .user_by_email(&user.email)
            .await?
            .filter(|r| r.user.id == claims.sub)
            .ok_or(AuthError::AccountGone)?;
        let hash = Some((stored.user.id, stored.password_hash.clone()));
        let Some(password_hash) = self.verify_password(password, hash, Some(&stored.user)).await? else {
            attempt.spend();
            self.activity
                .record(claims.sub, ActivityKind::SignInFailed, origin, Some(claims.sid))
                .await;
            return Err(AuthError::WrongPassword);
        };
        Ok(UserRecord {
            password_hash,
            ..stored
        })
    }

    /// Deletes the account after checking its password: the user, tasks, history,
    /// sessions and tokens go in one transaction, every token is refused at once (on
    /// every server: the ended sessions are recorded where revocations are read), and
    /// the email can be used again.
    pub async fn delete_account(
        &self,
        claims: &Claims,
        origin: &RequestOrigin,
        password: Secret,
    ) -> Result<(), AuthError> {
        self.check_password(claims, origin, password).await?;
        let ended = self.db.delete_account(claims.sub, self.clock.now()).await?;
        self.revoked.insert_all(ended.into_iter().chain([claims.sid]));
        tracing::info!(user_id = %claims.sub, "account deleted");
        Ok(())
    }

    /// The user's active sessions, the caller's marked.
    pub async fn sessions(&self, claims: &Claims) -> Result<Vec<SessionSummary>, AuthError> {
        let records = self.db.list_sessions(claims.sub, self.clock.now()).await?;
        Ok(records
            .into_iter()
            .map(|r| SessionSummary {
                current: r.id == claims.sid,
                id: r.id,
                created_at: r.created_at,
                last_used_at: r.last_used_at,
                user_agent: r.user_agent,
                address: r.client_addr,
            })
            .collect())
    }

    /// Ends one of the user's sessions: its tokens are refused at once (here, and on
    /// other servers within a second).
    pub async fn end_session(
        &self,
        claims: &Claims,
        origin: &RequestOrigin,
        session_id: Uuid,
    ) -> Result<(), AuthError> {
        if !self
            .db
            .end_session(claims.sub, session_id, self.clock.now())
            .await?
        {
            return Err(AuthError::SessionNotFound);
        }
        self.revoked.insert_all([session_id]);
        self.activity
            .record(claims.sub, ActivityKind::SessionEnded, origin, Some(session_id))
            .await;
        Ok(())
    }

    /// The account's activity, newest first: at most `limit` entries older than entry
    /// `before`.
    pub async fn activity(
        &self,
        claims: &Claims,
        before: Option<i64>,
        limit: Option<u32>,
    ) -> Result<Vec<ActivityEntry>, AuthError> {
        let max = todo_api::limits::ACTIVITY_PAGE_MAX;
        let limit = match limit {
            None => max,
            Some(n) if (1..=max).contains(&n) => n,
            Some(_) => {
                return Err(AuthError::InvalidField(FieldError::new(
                    "limit",
                    format!("limit must be from 1 to {max}"),
                )));
            }
        };
        Ok(self.db.activity(claims.sub, before, limit).await?)
    }

    /// Sets a new password with a reset token from `todo-server users reset-password`:
    /// the token works once and within its hour, and every session of the account ends.
    /// Tries are counted per client address, as sign-ins are.
    pub async fn reset_password(
        &self,
        origin: &RequestOrigin,
        token: Secret,
        new_password: Secret,
    ) -> Result<(), AuthError> {
        self.limits
            .sign_ins
            .hit(&origin.client.key())
            .await?
            .map_err(limited)?;
        let hash = reset_tokens::hash(token.expose());
        let now = self.clock.now();
        let user_id = self
            .db
            .reset_token_owner(hash.clone(), now)
            .await?
            .ok_or(AuthError::InvalidResetToken)?;
        let user = self
            .db
            .user_by_id(user_id)
            .await?
            .ok_or(AuthError::InvalidResetToken)?;
        let new_password = passwords::normalize_password(new_password.expose());
        check_new_password(&new_password, &user)?;
        let rehashed = self.hasher.hash(new_password).await?;
        let outcome = self
            .db
            .use_reset_token(hash, rehashed, self.clock.now())
            .await?
            .ok_or(AuthError::InvalidResetToken)?;
        self.revoked.insert_all(outcome.ended_sessions);
        self.activity
            .record(outcome.user_id, ActivityKind::PasswordReset, origin, None)
            .await;
        Ok(())
    }
}
