//! `/api/auth/2fa/*`: setting TOTP two-factor sign-in up, on and off (a signed-in
//! session only). The second step of a sign-in is in `auth_routes`.

use std::sync::Arc;

use poem::Request;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi};
use todo_api::{TwoFactorDisable, TwoFactorEnable, TwoFactorSetup};

use super::ApiTag;
use super::bearer::BearerAuth;
use super::client_addr::TrustedProxies;
use super::json::SerdeJson;
use super::problem::ProblemResponse;
use super::strict::Strict;
use crate::auth::AuthService;

pub struct TwoFactorApi {
    pub auth: Arc<AuthService>,
    pub proxies: TrustedProxies,
}

#[derive(ApiResponse)]
pub enum SetUp {
    /// The secret (for an authenticator app) and ten recovery codes, shown this once.
    /// Not on until `POST /api/auth/2fa/enable` with a code.
    #[oai(status = 200)]
    Ok(SerdeJson<TwoFactorSetup>, #[oai(header = "Cache-Control")] String),
}

#[derive(ApiResponse)]
pub enum Changed {
    /// Done.
    #[oai(status = 204)]
    NoContent,
}

#[OpenApi(tag = "ApiTag::Auth")]
impl TwoFactorApi {
    /// Set up two-factor sign-in
    ///
    /// Makes a new TOTP secret and ten single-use recovery codes, replacing an earlier
    /// setup that was not turned on. While two-factor sign-in is on: 409
    /// `two_factor_state`.
    #[oai(path = "/api/auth/2fa/setup", method = "post")]
    async fn setup(&self, req: &Request, auth: BearerAuth) -> Result<SetUp, ProblemResponse> {
        let origin = self.proxies.origin_of(req);
        let setup = self.auth.setup_two_factor(auth.claims(), &origin).await?;
        Ok(SetUp::Ok(SerdeJson::new(&setup)?, "no-store".into()))
    }

    /// Turn two-factor sign-in on
    ///
    /// Needs the password (403 `wrong_password`) and a code from the app the setup was
    /// added to (403 `invalid_code`). From then on a sign-in needs a code after the
    /// password.
    #[oai(path = "/api/auth/2fa/enable", method = "post")]
    async fn enable(
        &self,
        req: &Request,
        auth: BearerAuth,
        body: Json<Strict<TwoFactorEnable>>,
    ) -> Result<Changed, ProblemResponse> {
        let origin = self.proxies.origin_of(req);
        let body = body.0.0;
        self.auth
            .enable_two_factor(auth.claims(), &origin, body.password, body.code)
            .await?;
        Ok(Changed::NoContent)
    }

    /// Turn two-factor sign-in off
    ///
    /// Needs the password and a TOTP or recovery code; wrong ones count toward the
    /// account's failure limit.
    #[oai(path = "/api/auth/2fa/disable", method = "post")]
    async fn disable(
        &self,
        req: &Request,
        auth: BearerAuth,
        body: Json<Strict<TwoFactorDisable>>,
    ) -> Result<Changed, ProblemResponse> {
        let TwoFactorDisable { password, code } = body.0.0;
        let origin = self.proxies.origin_of(req);
        self.auth
            .disable_two_factor(auth.claims(), &origin, password, code)
            .await?;
        Ok(Changed::NoContent)
    }
}
