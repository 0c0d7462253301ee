//! Public routes: health and the JSON Web Key Set.

use std::sync::Arc;

use poem_openapi::payload::PlainText;
use poem_openapi::{ApiResponse, OpenApi};
use todo_api::Jwks;

use super::ApiTag;
use super::json::SerdeJson;
use super::problem::ProblemResponse;
use crate::auth::AuthService;

pub struct MetaApi {
    pub auth: Arc<AuthService>,
}

/// Clients may cache the key set this long; on an unknown `kid` they should fetch again.
const JWKS_CACHE: &str = "public, max-age=60";

#[derive(ApiResponse)]
pub enum KeySet {
    /// The public keys that verify access tokens: the signing key and retired keys whose
    /// tokens may still be unexpired.
    #[oai(status = 200)]
    Ok(SerdeJson<Jwks>, #[oai(header = "Cache-Control")] String),
}

impl MetaApi {
    fn jwks(&self) -> Result<KeySet, ProblemResponse> {
        Ok(KeySet::Ok(
            SerdeJson::new(&self.auth.keys().current().jwks)?,
            JWKS_CACHE.into(),
        ))
    }
}

#[OpenApi(tag = "ApiTag::Meta")]
impl MetaApi {
    /// Liveness check
    #[oai(path = "/healthz", method = "get")]
    async fn healthz(&self) -> PlainText<&'static str> {
        PlainText("ok")
    }

    /// The JSON Web Key Set
    #[oai(path = "/api/auth/jwks", method = "get")]
    async fn api_jwks(&self) -> Result<KeySet, ProblemResponse> {
        self.jwks()
    }

    /// The JSON Web Key Set, at its well-known address
    #[oai(path = "/.well-known/jwks.json", method = "get")]
    async fn well_known_jwks(&self) -> Result<KeySet, ProblemResponse> {
        self.jwks()
    }
}
