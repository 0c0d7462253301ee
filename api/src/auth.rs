use serde::{Deserialize, Serialize};

use crate::Secret;
use time::OffsetDateTime;
use uuid::Uuid;

/// A registered account, as the API shows it (never with its password hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct User {
    pub id: Uuid,
    pub email: String,
    /// Left out when the user gave none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", oai(skip_serializing_if_is_none))]
    pub name: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// Body of `POST /api/auth/sign-up`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct SignUpRequest {
    /// A valid email address; compared without regard to case.
    pub email: String,
    /// 8 to 128 characters, and not too easy to guess (zxcvbn score 2 or more).
    pub password: Secret,
    /// An optional display name, at most 100 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// Body of `POST /api/auth/sign-in`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct SignInRequest {
    pub email: String,
    pub password: Secret,
}

/// Body of `POST /api/auth/password`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct PasswordChange {
    pub current_password: Secret,
    /// The same rules as at sign-up.
    pub new_password: Secret,
}

/// Body of `DELETE /api/auth/account`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct AccountDeletion {
    pub password: Secret,
}

/// Body of `POST /api/auth/refresh`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct RefreshRequest {
    /// The refresh token from the last sign-in or refresh; each one works once.
    pub refresh_token: Secret,
}

/// Body of `POST /api/auth/sign-out`; an empty object signs out the token's session.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct SignOutRequest {
    /// Also accepted for symmetry with sign-in; the session is the access token's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<Secret>,
    /// Sign out every session of this user, on every device.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub all: Option<bool>,
}

/// The answer to sign-up, sign-in and refresh.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct TokenResponse {
    pub user: User,
    /// A short-lived EdDSA JWT for the `Authorization: Bearer` header.
    pub access_token: Secret,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    /// A single-use token for `POST /api/auth/refresh`.
    pub refresh_token: Secret,
}

/// The answer to `GET /api/auth/session`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct SessionInfo {
    pub user: User,
    /// When the presented token expires (left out for a personal token without expiry).
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "openapi", oai(skip_serializing_if_is_none))]
    pub expires_at: Option<OffsetDateTime>,
    /// A session's access token, or a personal access token.
    #[serde(default = "session_kind")]
    pub credential: crate::CredentialKind,
    /// A personal token's scopes (a session may do everything).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", oai(skip_serializing_if_is_none))]
    pub scopes: Option<Vec<crate::TokenScope>>,
    /// For an external token: the name of the trusted issuer it is from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", oai(skip_serializing_if_is_none))]
    pub issuer: Option<String>,
}

fn session_kind() -> crate::CredentialKind {
    crate::CredentialKind::Session
}

/// One of the user's signed-in sessions (`GET /api/auth/sessions`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct SessionSummary {
    pub id: uuid::Uuid,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// The last sign-in or refresh (kept to the minute).
    #[serde(with = "time::serde::rfc3339")]
    pub last_used_at: OffsetDateTime,
    /// The `User-Agent` that signed in, cut to 200 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", oai(skip_serializing_if_is_none))]
    pub user_agent: Option<String>,
    /// The client address that signed in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", oai(skip_serializing_if_is_none))]
    pub address: Option<String>,
    /// True for the session of the token that asked.
    pub current: bool,
}

/// One public key of the JSON Web Key Set (RFC 8037 OKP key).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct Jwk {
    /// Always `OKP`.
    pub kty: String,
    /// Always `Ed25519`.
    pub crv: String,
    /// The public key, base64url without padding.
    pub x: String,
    pub kid: String,
    /// Always `EdDSA`.
    pub alg: String,
    /// Always `sig`.
    #[serde(rename = "use")]
    #[cfg_attr(feature = "openapi", oai(rename = "use"))]
    pub key_use: String,
}

/// `GET /api/auth/jwks`: the keys that verify access tokens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct Jwks {
    pub keys: Vec<Jwk>,
}
