//! `/api/auth/*`: sign-up, sign-in, refresh, sign-out, session.

use std::sync::Arc;

use poem::Request;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi};
use todo_api::{
    AccountDeletion, PasswordChange, RefreshRequest, Secret, SessionInfo, SessionSummary, SignInRequest,
    SignOutRequest, SignUpRequest, TokenResponse,
};
use uuid::Uuid;

use super::ApiTag;
use super::bearer::BearerAuth;
use super::client_addr::TrustedProxies;
use super::json::SerdeJson;
use super::problem::ProblemResponse;
use super::strict::Strict;
use crate::auth::AuthService;

pub struct AuthApi {
    pub auth: Arc<AuthService>,
    pub proxies: TrustedProxies,
}

const NO_STORE: &str = "no-store";

/// The `User-Agent` a sign-in came with, kept with the session for the session list.
fn user_agent(req: &Request) -> Option<&str> {
    req.headers()
        .get(poem::http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
}

#[derive(ApiResponse)]
pub enum SessionList {
    /// Your active sessions, newest first; `current` marks the one asking.
    #[oai(status = 200)]
    Ok(SerdeJson<Vec<SessionSummary>>),
}

#[derive(ApiResponse)]
pub enum AccountDeleted {
    /// Deleted, with everything of it.
    #[oai(status = 204)]
    NoContent,
}

#[derive(ApiResponse)]
pub enum PasswordChanged {
    /// Changed; every other session is signed out.
    #[oai(status = 204)]
    NoContent,
}

#[derive(ApiResponse)]
pub enum SessionEnded {
    /// The session is signed out; its tokens are refused at once.
    #[oai(status = 204)]
    NoContent,
}

#[derive(ApiResponse)]
pub enum SignedUp {
    /// The account was created and signed in.
    #[oai(status = 201)]
    Created(SerdeJson<TokenResponse>, #[oai(header = "Cache-Control")] String),
}

#[derive(ApiResponse)]
pub enum SignedIn {
    /// Signed in: a new token pair.
    #[oai(status = 200)]
    Ok(SerdeJson<TokenResponse>, #[oai(header = "Cache-Control")] String),
}

#[derive(ApiResponse)]
pub enum SignedOut {
    /// The session (or every session) is signed out; its tokens stop working at once.
    #[oai(status = 204)]
    NoContent,
}

#[derive(ApiResponse)]
pub enum CurrentSession {
    #[oai(status = 200)]
    Ok(SerdeJson<SessionInfo>),
}

#[OpenApi(tag = "ApiTag::Auth")]
impl AuthApi {
    /// Create an account
    ///
    /// Password: 8 to 128 characters, zxcvbn score at least 2 (the reason is given when
    /// refused). Limited to 10 sign-ups per client address per minute by default.
    #[oai(path = "/api/auth/sign-up", method = "post")]
    async fn sign_up(
        &self,
        req: &Request,
        body: Json<Strict<SignUpRequest>>,
    ) -> Result<SignedUp, ProblemResponse> {
        let SignUpRequest {
            email,
            password,
            name,
        } = body.0.0;
        let tokens = self
            .auth
            .sign_up(
                self.proxies.client_of(req),
                user_agent(req),
                &email,
                password,
                name,
            )
            .await?;
        Ok(SignedUp::Created(SerdeJson::new(&tokens)?, NO_STORE.into()))
    }

    /// Sign in
    ///
    /// An unknown email and a wrong password get the same answer in about the same time.
    /// Limited to 30 attempts per client address per minute, and 5 failures per account
    /// per 15 minutes, by default.
    #[oai(path = "/api/auth/sign-in", method = "post")]
    async fn sign_in(
        &self,
        req: &Request,
        body: Json<Strict<SignInRequest>>,
    ) -> Result<SignedIn, ProblemResponse> {
        let SignInRequest { email, password } = body.0.0;
        let tokens = self
            .auth
            .sign_in(self.proxies.client_of(req), user_agent(req), &email, password)
            .await?;
        Ok(SignedIn::Ok(SerdeJson::new(&tokens)?, NO_STORE.into()))
    }

    /// Trade a refresh token for a new pair
    ///
    /// Each refresh token works once. Presenting a used one signs out its whole session.
    #[oai(path = "/api/auth/refresh", method = "post")]
    async fn refresh(&self, body: Json<Strict<RefreshRequest>>) -> Result<SignedIn, ProblemResponse> {
        let tokens = self.auth.refresh(body.0.0.refresh_token.expose()).await?;
        Ok(SignedIn::Ok(SerdeJson::new(&tokens)?, NO_STORE.into()))
    }

    /// Sign out
    ///
    /// Ends the token's session (send `{}`), or with `all: true` every session of the user.
    #[oai(path = "/api/auth/sign-out", method = "post")]
    async fn sign_out(
        &self,
        auth: BearerAuth,
        body: Json<Strict<SignOutRequest>>,
    ) -> Result<SignedOut, ProblemResponse> {
        let request = body.0.0;
        self.auth
            .sign_out(
                auth.claims(),
                request.refresh_token.as_ref().map(Secret::expose),
                request.all.unwrap_or(false),
            )
            .await?;
        Ok(SignedOut::NoContent)
    }

    /// Change your password
    ///
    /// Needs the current password (a wrong one is 403 `wrong_password` and counts toward
    /// the account's failure limit, 429 beyond); the new one follows the sign-up rules.
    /// Every other session of the account ends; this one goes on.
    #[oai(path = "/api/auth/password", method = "post")]
    async fn change_password(
        &self,
        auth: BearerAuth,
        body: Json<Strict<PasswordChange>>,
    ) -> Result<PasswordChanged, ProblemResponse> {
        let PasswordChange {
            current_password,
            new_password,
        } = body.0.0;
        self.auth
            .change_password(auth.claims(), current_password, new_password)
            .await?;
        Ok(PasswordChanged::NoContent)
    }

    /// Delete your account
    ///
    /// Needs the password (403 `wrong_password`, counted toward the failure limit). The
    /// account, its tasks, history, sessions and tokens go at once and for good; every
    /// token is refused from then on, and the email can sign up again.
    #[oai(path = "/api/auth/account", method = "delete")]
    async fn delete_account(
        &self,
        auth: BearerAuth,
        body: Json<Strict<AccountDeletion>>,
    ) -> Result<AccountDeleted, ProblemResponse> {
        self.auth.delete_account(auth.claims(), body.0.0.password).await?;
        Ok(AccountDeleted::NoContent)
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
    async fn end_session(&self, auth: BearerAuth, id: Path<Uuid>) -> Result<SessionEnded, ProblemResponse> {
        self.auth.end_session(auth.claims(), id.0).await?;
        Ok(SessionEnded::NoContent)
    }

    /// The signed-in user and when the token expires
    #[oai(path = "/api/auth/session", method = "get")]
    async fn session(&self, auth: BearerAuth) -> Result<CurrentSession, ProblemResponse> {
        Ok(CurrentSession::Ok(SerdeJson::new(
            &self.auth.session(auth.claims()).await?,
        )?))
    }
}
