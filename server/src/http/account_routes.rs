//! `/api/auth/*` for the account's own settings: password, email, sessions, activity,
//! deletion, and a password reset with an administrator's token.

use std::sync::Arc;

use poem::Request;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi};
use todo_api::{
    AccountDeletion, ActivityEntry, EmailChange, PasswordChange, PasswordReset, SessionSummary, User,
};
use uuid::Uuid;

use super::ApiTag;
use super::bearer::BearerAuth;
use super::client_addr::TrustedProxies;
use super::json::SerdeJson;
use super::problem::ProblemResponse;
use super::strict::Strict;
use crate::auth::AuthService;

pub struct AccountApi {
    pub auth: Arc<AuthService>,
    pub proxies: TrustedProxies,
}

#[derive(ApiResponse)]
pub enum SessionList {
    /// Your active sessions, newest first; `current` marks the one asking.
    #[oai(status = 200)]
    Ok(SerdeJson<Vec<SessionSummary>>),
}

#[derive(ApiResponse)]
pub enum ActivityList {
    /// Newest first.
    #[oai(status = 200)]
    Ok(SerdeJson<Vec<ActivityEntry>>),
}

#[derive(ApiResponse)]
pub enum EmailChanged {
    /// Changed: the account as it is now. Tokens issued from now on carry the new email.
    #[oai(status = 200)]
    Ok(SerdeJson<User>),
}

#[derive(ApiResponse)]
pub enum Done {
    /// Done.
    #[oai(status = 204)]
    NoContent,
}

#[OpenApi(tag = "ApiTag::Auth")]
impl AccountApi {
    /// Change your password
    ///
    /// Needs the current password (a wrong one is 403 `wrong_password` and counts toward
    /// the account's failure limit, 429 beyond); the new one follows the sign-up rules.
    /// Every other session of the account ends; this one goes on.
    #[oai(path = "/api/auth/password", method = "post")]
    async fn change_password(
        &self,
        req: &Request,
        auth: BearerAuth,
        body: Json<Strict<PasswordChange>>,
    ) -> Result<Done, ProblemResponse> {
        let PasswordChange {
            current_password,
            new_password,
        } = body.0.0;
        let origin = self.proxies.origin_of(req);
        self.auth
            .change_password(auth.claims(), &origin, current_password, new_password)
            .await?;
        Ok(Done::NoContent)
    }

    /// Set a new password with a reset token
    ///
    /// The token comes from the server's administrator (`todo-server users
    /// reset-password EMAIL`); it works once, for an hour. Every session of the account
    /// ends. An unknown, used or expired token is 400 `invalid_reset_token`. Tries count
    /// toward the per-address sign-in limit.
    #[oai(path = "/api/auth/password/reset", method = "post")]
    async fn reset_password(
        &self,
        req: &Request,
        body: Json<Strict<PasswordReset>>,
    ) -> Result<Done, ProblemResponse> {
        let PasswordReset { token, new_password } = body.0.0;
        let origin = self.proxies.origin_of(req);
        self.auth.reset_password(&origin, token, new_password).await?;
        Ok(Done::NoContent)
    }

    /// Change your email
    ///
    /// Needs the password (403 `wrong_password`, counted toward the failure limit). The
    /// new address is normalised as at sign-up; 409 `email_taken` when another account
    /// has it.
    #[oai(path = "/api/auth/email", method = "post")]
    async fn change_email(
        &self,
        req: &Request,
        auth: BearerAuth,
        body: Json<Strict<EmailChange>>,
    ) -> Result<EmailChanged, ProblemResponse> {
        let EmailChange { password, new_email } = body.0.0;
        let origin = self.proxies.origin_of(req);
        let user = self
            .auth
            .change_email(auth.claims(), &origin, password, &new_email)
            .await?;
        Ok(EmailChanged::Ok(SerdeJson::new(&user)?))
    }

    /// Delete your account
    ///
    /// Needs the password (403 `wrong_password`, counted toward the failure limit). The
    /// account, its tasks, history, sessions and tokens go at once and for good; every
    /// token is refused from then on, and the email can sign up again.
    #[oai(path = "/api/auth/account", method = "delete")]
    async fn delete_account(
        &self,
        req: &Request,
        auth: BearerAuth,
        body: Json<Strict<AccountDeletion>>,
    ) -> Result<Done, ProblemResponse> {
        let origin = self.proxies.origin_of(req);
        self.auth
            .delete_account(auth.claims(), &origin, body.0.0.password)
            .await?;
        Ok(Done::NoContent)
    }

    /// Where you are signed in
    #[oai(path = "/api/auth/sessions", method = "get")]
    async fn sessions(&self, auth: BearerAuth) -> Result<SessionList, ProblemResponse> {
        let sessions = self.auth.sessions(auth.claims()).await?;
        Ok(SessionList::Ok(SerdeJson::new(&sessions)?))
    }

    /// Sign one of your sessions out
    ///
    /// Another user's session, or one already ended, is 404 `session_not_found`.
    #[oai(path = "/api/auth/sessions/:id", method = "delete")]
    async fn end_session(
        &self,
        req: &Request,
        auth: BearerAuth,
        id: Path<Uuid>,
    ) -> Result<Done, ProblemResponse> {
        let origin = self.proxies.origin_of(req);
        self.auth.end_session(auth.claims(), &origin, id.0).await?;
        Ok(Done::NoContent)
    }

    /// Your account's security events
    ///
    /// Sign-ins (and failed ones), sign-outs, reused refresh tokens, password and email
    /// changes, ended sessions, reset tokens and admin actions, newest first, kept at
    /// least 90 days. `limit`: 1 to 100 (100 by default); `before`: the id of the last
    /// entry of the previous page.
    #[oai(path = "/api/auth/activity", method = "get")]
    async fn activity(
        &self,
        auth: BearerAuth,
        limit: Query<Option<u32>>,
        before: Query<Option<i64>>,
    ) -> Result<ActivityList, ProblemResponse> {
        let entries = self.auth.activity(auth.claims(), before.0, limit.0).await?;
        Ok(ActivityList::Ok(SerdeJson::new(&entries)?))
    }
}
