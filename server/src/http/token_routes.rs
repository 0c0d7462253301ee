//! `/api/auth/tokens`: personal access tokens for scripts and CI (a signed-in session
//! manages them; a personal token cannot).

use std::sync::Arc;

use poem::Request;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi};
use todo_api::{CreatedToken, PersonalToken, TokenRequest};
use uuid::Uuid;

use super::ApiTag;
use super::bearer::BearerAuth;
use super::client_addr::TrustedProxies;
use super::json::SerdeJson;
use super::problem::ProblemResponse;
use super::strict::Strict;
use crate::auth::AuthService;

pub struct TokenApi {
    pub auth: Arc<AuthService>,
    pub proxies: TrustedProxies,
}

#[derive(ApiResponse)]
pub enum TokenCreated {
    /// Made: `token` is its secret, shown this once.
    #[oai(status = 201)]
    Created(SerdeJson<CreatedToken>, #[oai(header = "Cache-Control")] String),
}

#[derive(ApiResponse)]
pub enum TokenList {
    /// Your unrevoked tokens, newest first, without their secrets.
    #[oai(status = 200)]
    Ok(SerdeJson<Vec<PersonalToken>>),
}

#[derive(ApiResponse)]
pub enum TokenRevoked {
    /// Revoked: refused from now on, on every server within a second.
    #[oai(status = 204)]
    NoContent,
}

#[OpenApi(tag = "ApiTag::Auth")]
impl TokenApi {
    /// Make a personal access token
    ///
    /// For scripts and CI: `Authorization: Bearer todo_pat_...` on your task routes and
    /// event stream, as its scopes allow (`tasks:read`; `tasks:write`, which implies
    /// read). `expires_in_days` 1 to 366, or null for a token that never expires (it
    /// then works until revoked, wherever it was copied). At most 50 per account. A
    /// password change does not revoke tokens; deleting the account does.
    #[oai(path = "/api/auth/tokens", method = "post")]
    async fn create(
        &self,
        req: &Request,
        auth: BearerAuth,
        body: Json<Strict<TokenRequest>>,
    ) -> Result<TokenCreated, ProblemResponse> {
        let origin = self.proxies.origin_of(req);
        let created = self
            .auth
            .create_personal_token(auth.claims(), &origin, body.0.0)
            .await?;
        Ok(TokenCreated::Created(
            SerdeJson::new(&created)?,
            "no-store".into(),
        ))
    }

    /// Your personal access tokens
    #[oai(path = "/api/auth/tokens", method = "get")]
    async fn list(&self, auth: BearerAuth) -> Result<TokenList, ProblemResponse> {
        let tokens = self.auth.personal_tokens(auth.claims()).await?;
        Ok(TokenList::Ok(SerdeJson::new(&tokens)?))
    }

    /// Revoke a personal access token
    ///
    /// Another user's token, or one already revoked, is 404 `token_not_found`.
    #[oai(path = "/api/auth/tokens/:id", method = "delete")]
    async fn revoke(
        &self,
        req: &Request,
        auth: BearerAuth,
        id: Path<Uuid>,
    ) -> Result<TokenRevoked, ProblemResponse> {
        let origin = self.proxies.origin_of(req);
        self.auth
            .revoke_personal_token(auth.claims(), &origin, id.0)
            .await?;
        Ok(TokenRevoked::NoContent)
    }
}
