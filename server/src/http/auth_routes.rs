//! `/api/auth/*` for signing in and out: sign-up, sign-in, refresh, sign-out, session.
//! The account's own settings are in `account_routes`.

use std::sync::Arc;

use poem::Request;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi};
use todo_api::{
    MfaSignIn, RefreshRequest, Secret, SessionInfo, SignInAnswer, SignInRequest, SignOutRequest,
    SignUpRequest, TokenResponse,
};

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
pub enum SignInAnswered {
    /// The right email and password: a new token pair, or, when two-factor sign-in is
    /// on, `mfa_required` with a token for `POST /api/auth/sign-in/2fa`.
    #[oai(status = 200)]
    Ok(SerdeJson<SignInAnswer>, #[oai(header = "Cache-Control")] String),
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
            .sign_up(&self.proxies.origin_of(req), &email, password, name)
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
    ) -> Result<SignInAnswered, ProblemResponse> {
        let SignInRequest { email, password } = body.0.0;
        let answer = self
            .auth
            .sign_in(&self.proxies.origin_of(req), &email, password)
            .await?;
        Ok(SignInAnswered::Ok(SerdeJson::new(&answer)?, NO_STORE.into()))
    }

    /// Finish a sign-in with a second factor
    ///
    /// The `mfa_token` from the sign-in and a TOTP code (or a recovery code) give the
    /// usual token pair. A wrong code is 403 `invalid_code` and counts toward the
    /// account's failure limit; the mfa token is spent by the first right code and
    /// lives 5 minutes (then 401 `invalid_mfa_token`).
    #[oai(path = "/api/auth/sign-in/2fa", method = "post")]
    async fn sign_in_second_step(
        &self,
        req: &Request,
        body: Json<Strict<MfaSignIn>>,
    ) -> Result<SignedIn, ProblemResponse> {
        let MfaSignIn { mfa_token, code } = body.0.0;
        let tokens = self
            .auth
            .sign_in_second_step(&self.proxies.origin_of(req), mfa_token, code)
            .await?;
        Ok(SignedIn::Ok(SerdeJson::new(&tokens)?, NO_STORE.into()))
    }

    /// Trade a token from a trusted issuer for a session
    ///
    /// RFC 8693's names: `subject_token` is a JWT from an issuer in the server's
    /// `[[trusted_issuer]]` list (Better Auth, an OpenID provider), checked against its
    /// keys, issuer, audience and expiry. Answers the usual token pair of a real session
    /// (listed, refreshed, signed out at once). An identity without an account here is
    /// made one or linked as the issuer's settings say, else 401 `unknown_identity`.
    #[oai(path = "/api/auth/token-exchange", method = "post")]
    async fn token_exchange(
        &self,
        req: &Request,
        body: Json<Strict<todo_api::TokenExchangeRequest>>,
    ) -> Result<SignedIn, ProblemResponse> {
        let exchange = body.0.0;
        if !todo_api::EXCHANGED_TOKEN_TYPES.contains(&exchange.subject_token_type.as_str()) {
            return Err(crate::auth::AuthError::InvalidField(crate::auth::FieldError::new(
                "subject_token_type",
                "urn:ietf:params:oauth:token-type:jwt is the type this server takes",
            ))
            .into());
        }
        let origin = self.proxies.origin_of(req);
        let tokens = self
            .auth
            .exchange(&origin, exchange.subject_token.expose())
            .await?;
        Ok(SignedIn::Ok(SerdeJson::new(&tokens)?, NO_STORE.into()))
    }

    /// Trade a refresh token for a new pair
    ///
    /// Each refresh token works once. Presenting a used one signs out its whole session.
    #[oai(path = "/api/auth/refresh", method = "post")]
    async fn refresh(
        &self,
        req: &Request,
        body: Json<Strict<RefreshRequest>>,
    ) -> Result<SignedIn, ProblemResponse> {
        let origin = self.proxies.origin_of(req);
        let tokens = self
            .auth
            .refresh(&origin, body.0.0.refresh_token.expose())
            .await?;
        Ok(SignedIn::Ok(SerdeJson::new(&tokens)?, NO_STORE.into()))
    }

    /// Sign out
    ///
    /// Ends the token's session (send `{}`), or with `all: true` every session of the user.
    #[oai(path = "/api/auth/sign-out", method = "post")]
    async fn sign_out(
        &self,
        req: &Request,
        auth: BearerAuth,
        body: Json<Strict<SignOutRequest>>,
    ) -> Result<SignedOut, ProblemResponse> {
        let request = body.0.0;
        self.auth
            .sign_out(
                auth.claims(),
                &self.proxies.origin_of(req),
                request.refresh_token.as_ref().map(Secret::expose),
                request.all.unwrap_or(false),
            )
            .await?;
        Ok(SignedOut::NoContent)
    }

    /// The signed-in user and when the token expires
    #[oai(path = "/api/auth/session", method = "get")]
    async fn session(&self, auth: BearerAuth) -> Result<CurrentSession, ProblemResponse> {
        Ok(CurrentSession::Ok(SerdeJson::new(
            &self.auth.session(auth.claims(), auth.credential()).await?,
        )?))
    }
}
