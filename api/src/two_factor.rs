//! TOTP two-factor sign-in (RFC 6238): setup, enable, disable, and the second step of
//! a sign-in (`/api/auth/2fa/*`, `/api/auth/sign-in/2fa`).

use serde::{Deserialize, Serialize};

use crate::{Secret, TokenResponse};

/// The answer to `POST /api/auth/2fa/setup`: add the secret to an authenticator app,
/// keep the recovery codes somewhere safe, then turn it on with a code.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct TwoFactorSetup {
    /// The shared secret, base32 (for typing into an app).
    pub secret: Secret,
    /// `otpauth://totp/...`, the same secret for a QR code.
    pub otpauth_url: Secret,
    /// Ten single-use codes that stand in for a TOTP code, shown this once.
    pub recovery_codes: Vec<Secret>,
}

/// Body of `POST /api/auth/2fa/enable`: the password as well as a code, so a stolen
/// access token alone cannot turn on a second factor and lock the owner out.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct TwoFactorEnable {
    /// The account's current password.
    pub password: Secret,
    /// A code from the authenticator app.
    pub code: Secret,
}

/// Body of `POST /api/auth/2fa/disable`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct TwoFactorDisable {
    pub password: Secret,
    /// A TOTP code or a recovery code.
    pub code: Secret,
}

/// How the second step of a sign-in may be passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Enum))]
#[cfg_attr(feature = "openapi", oai(rename_all = "snake_case"))]
pub enum MfaMethod {
    Totp,
    RecoveryCode,
}

/// The answer to a sign-in with the right password when two-factor sign-in is on: no
/// tokens yet; send a code with `mfa_token` to `POST /api/auth/sign-in/2fa`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct MfaChallenge {
    /// Always true.
    pub mfa_required: bool,
    /// Single use, valid for 5 minutes.
    pub mfa_token: Secret,
    pub methods: Vec<MfaMethod>,
}

/// Body of `POST /api/auth/sign-in/2fa`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct MfaSignIn {
    pub mfa_token: Secret,
    /// A TOTP code or a recovery code.
    pub code: Secret,
}

/// Body of `POST /api/auth/token-exchange` (RFC 8693's names): a JWT from a trusted
/// issuer, for a session of this server.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct TokenExchangeRequest {
    pub subject_token: Secret,
    /// `urn:ietf:params:oauth:token-type:jwt` (or `...:access_token`, `...:id_token`).
    pub subject_token_type: String,
}

/// The token types an exchange takes.
pub const EXCHANGED_TOKEN_TYPES: [&str; 3] = [
    "urn:ietf:params:oauth:token-type:jwt",
    "urn:ietf:params:oauth:token-type:access_token",
    "urn:ietf:params:oauth:token-type:id_token",
];

/// What `POST /api/auth/sign-in` answers: tokens, or a second step to take.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Union))]
#[cfg_attr(feature = "openapi", oai(one_of))]
pub enum SignInAnswer {
    Tokens(TokenResponse),
    MfaRequired(MfaChallenge),
}

/// Seconds an mfa token lives.
pub const MFA_TOKEN_TTL_SECS: u64 = 300;
/// Recovery codes made at each setup.
pub const RECOVERY_CODES: usize = 10;
