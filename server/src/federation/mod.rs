//! Tokens from other issuers (Better Auth, an OpenID provider): which issuers are
//! trusted ([`issuers`]), their keys ([`jwks`]), and the check of a token against them.
//! What the account side does with a verified identity is `auth::external`.

pub mod issuers;
mod jwks;

use base64::Engine;
use serde::Deserialize;
use time::OffsetDateTime;

pub use issuers::{IssuerError, TrustedIssuer};

/// Why an external token was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum FederationError {
    /// The token fails a check (the reason is for logs; the client gets `invalid_token`).
    #[error("{0}")]
    Invalid(&'static str),
    /// The issuer's keys cannot be had now.
    #[error("{0}")]
    Unavailable(String),
}

/// What this server reads of an external token's claims.
#[derive(Debug, Clone, Deserialize)]
pub struct ExternalClaims {
    pub sub: String,
    #[serde(default)]
    pub email: Option<String>,
    /// OpenID's name for it.
    #[serde(default)]
    pub email_verified: Option<bool>,
    /// Better Auth's.
    #[serde(default, rename = "emailVerified")]
    pub email_verified_camel: Option<bool>,
    #[serde(default)]
    pub name: Option<String>,
    pub exp: i64,
    #[serde(default)]
    pub nbf: Option<i64>,
    #[serde(default)]
    pub iat: Option<i64>,
}

impl ExternalClaims {
    pub fn verified_email(&self) -> bool {
        self.email_verified.or(self.email_verified_camel).unwrap_or(false)
    }
}

/// How far `exp`, `nbf` and `iat` may be off (clocks differ between hosts).
const LEEWAY: i64 = 60;

pub struct Federation {
    issuers: Vec<TrustedIssuer>,
    keys: jwks::KeyCache,
}

impl Federation {
    pub fn new(issuers: Vec<TrustedIssuer>) -> Result<Federation, FederationError> {
        Ok(Federation {
            issuers,
            keys: jwks::KeyCache::new()?,
        })
    }

    pub fn issuers(&self) -> &[TrustedIssuer] {
        &self.issuers
    }

    /// The trusted issuer a JWT says it is from (not yet checked), if any.
    pub fn claimed_issuer(&self, token: &str) -> Option<&TrustedIssuer> {
        #[derive(Deserialize)]
        struct Iss {
            iss: Option<String>,
        }
        let payload = token.split('.').nth(1)?;
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .ok()?;
        let iss = serde_json::from_slice::<Iss>(&bytes).ok()?.iss?;
        self.issuers.iter().find(|i| i.issuer() == iss)
    }

    /// Checks `token` as from `issuer`: its pinned algorithms only, a key from its JWKS
    /// (never one the token names or carries), `iss` exact, `aud` one of its audiences,
    /// `exp` required, `nbf`/`iat` with a minute's leeway, at `now`.
    pub async fn verify(
        &self,
        issuer: &TrustedIssuer,
        token: &str,
        now: OffsetDateTime,
    ) -> Result<ExternalClaims, FederationError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| FederationError::Invalid("not a JWT"))?;
        let pinned = issuer.algorithms().iter().any(|a| a.jsonwebtoken() == header.alg);
        if !pinned {
            return Err(FederationError::Invalid(
                "an algorithm the issuer is not pinned to",
            ));
        }
        let key = self.keys.key(issuer, header.kid.as_deref(), now).await?;
        let mut validation = jsonwebtoken::Validation::new(header.alg);
        validation.set_issuer(&[issuer.issuer()]);
        validation.set_audience(issuer.audiences());
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        // Times are checked below against the injected clock.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        let claims = jsonwebtoken::decode::<ExternalClaims>(token, &key, &validation)
            .map_err(|_| FederationError::Invalid("the signature or a claim is wrong"))?
            .claims;
        let now = now.unix_timestamp();
        if claims.exp + LEEWAY < now {
            return Err(FederationError::Invalid("the token has expired"));
        }
        if claims.nbf.is_some_and(|nbf| nbf - LEEWAY > now)
            || claims.iat.is_some_and(|iat| iat - LEEWAY > now)
        {
            return Err(FederationError::Invalid("the token is not valid yet"));
        }
        if claims.sub.is_empty() || claims.sub.len() > 255 {
            return Err(FederationError::Invalid(
                "the token's subject is empty or too long",
            ));
        }
        Ok(claims)
    }
}
