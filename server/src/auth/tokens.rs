//! Access tokens: EdDSA JWTs signed with the current key, and the verifier every
//! protected route runs.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, Header, Validation};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use super::AuthError;
use super::keys::KeySet;

/// Clock skew tolerated on `exp` and `nbf`.
pub const LEEWAY: Duration = Duration::from_secs(10);

/// Header parameters that would let a token choose its own key or add rules we do not
/// implement (RFC 7515 §4.1). A token carrying any of them is refused.
const FORBIDDEN_HEADER_PARAMS: [&str; 6] = ["crit", "jku", "jwk", "x5u", "x5c", "x5t"];

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub aud: String,
    pub sub: Uuid,
    pub sid: Uuid,
    pub email: String,
    pub iat: i64,
    #[serde(default)]
    pub nbf: Option<i64>,
    pub exp: i64,
    pub jti: Uuid,
}

/// Who tokens are from and for, and how long they live.
#[derive(Debug, Clone)]
pub struct TokenPolicy {
    pub issuer: String,
    pub audience: String,
    pub access_ttl: Duration,
}

impl TokenPolicy {
    pub fn claims_for(&self, user_id: Uuid, session_id: Uuid, email: &str, now: OffsetDateTime) -> Claims {
        let iat = now.unix_timestamp();
        Claims {
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            sub: user_id,
            sid: session_id,
            email: email.to_string(),
            iat,
            nbf: Some(iat),
            exp: iat + self.access_ttl.as_secs() as i64,
            jti: Uuid::new_v4(),
        }
    }

    pub fn sign(&self, keys: &KeySet, claims: &Claims) -> Result<String, AuthError> {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(keys.signer.kid.clone());
        jsonwebtoken::encode(&header, claims, &keys.signer.key)
            .map_err(|e| AuthError::Keys(super::keys::KeyError::Sign(e)))
    }

    /// Checks a compact JWS: only EdDSA, only from the key its `kid` names, none of the
    /// header parameters that let a token pick its key, then signature, `iss`, `aud`,
    /// `exp`, `nbf` (with [`LEEWAY`], against `now`, the server's clock in Unix seconds)
    /// and the presence of `exp`, `iat` and `sub`.
    pub fn verify(&self, keys: &KeySet, token: &str, now: i64) -> Result<Claims, AuthError> {
        self.verify_with_kid(keys, token, now).map(|(claims, _)| claims)
    }

    /// [`verify`](Self::verify), also returning the id of the key that signed.
    pub fn verify_with_kid(
        &self,
        keys: &KeySet,
        token: &str,
        now: i64,
    ) -> Result<(Claims, String), AuthError> {
        let kid = checked_kid(token)?;
        let key = keys
            .verifiers
            .get(&kid)
            .ok_or(AuthError::InvalidToken("signed by an unknown key"))?;
        let mut validation = Validation::new(Algorithm::EdDSA);
        // Times are checked below against the injected clock, not the library's.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["exp", "iat", "sub", "iss", "aud"]);
        let claims = jsonwebtoken::decode::<Claims>(token, key, &validation)
            .map(|data| data.claims)
            .map_err(|e| {
                use jsonwebtoken::errors::ErrorKind as K;
                AuthError::InvalidToken(match e.kind() {
                    K::ExpiredSignature => "expired",
                    K::ImmatureSignature => "not valid yet",
                    K::InvalidIssuer => "wrong issuer",
                    K::InvalidAudience => "wrong audience",
                    K::InvalidSignature => "bad signature",
                    K::MissingRequiredClaim(_) => "a required claim is missing",
                    _ => "malformed",
                })
            })?;
        let leeway = LEEWAY.as_secs() as i64;
        if claims.exp + leeway <= now {
            return Err(AuthError::InvalidToken("expired"));
        }
        if claims.nbf.is_some_and(|nbf| nbf - leeway > now) {
            return Err(AuthError::InvalidToken("not valid yet"));
        }
        Ok((claims, kid))
    }
}

/// Reads the protected header by hand, because jsonwebtoken ignores `crit` and the
/// key-carrying parameters instead of refusing them.
fn checked_kid(token: &str) -> Result<String, AuthError> {
    let malformed = AuthError::InvalidToken("malformed");
    let header_b64 = token
        .split('.')
        .next()
        .ok_or(AuthError::InvalidToken("malformed"))?;
    let header_json = URL_SAFE_NO_PAD
        .decode(header_b64)
        .map_err(|_| AuthError::InvalidToken("malformed"))?;
    let header: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&header_json).map_err(|_| malformed)?;
    if header.get("alg").and_then(|a| a.as_str()) != Some("EdDSA") {
        return Err(AuthError::InvalidToken("algorithm not allowed"));
    }
    if FORBIDDEN_HEADER_PARAMS.iter().any(|p| header.contains_key(*p)) {
        return Err(AuthError::InvalidToken("header parameter not allowed"));
    }
    if let Some(typ) = header.get("typ")
        && !typ.as_str().is_some_and(|t| t.eq_ignore_ascii_case("JWT"))
    {
        return Err(AuthError::InvalidToken("not a JWT"));
    }
    header
        .get("kid")
        .and_then(|k| k.as_str())
        .map(str::to_owned)
        .ok_or(AuthError::InvalidToken("no key id"))
}
