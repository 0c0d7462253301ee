//! Accounts for identities at other issuers. A token from a trusted issuer is checked
//! against it (`crate::federation`); its identity `(issuer, sub)` then names the account:
//! found, made on first use (`create_accounts`), or linked to the account with the same
//! email when the token says it is verified (`link_verified_email`). Anything else is
//! 401 `unknown_identity`. A disabled account refuses its external tokens at once: the
//! holder is read on every request.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use todo_api::{Secret, User};
use uuid::Uuid;

use super::personal_tokens::Credential;
use super::tokens::Claims;
use super::{AuthError, AuthService, passwords};
use crate::federation::{ExternalClaims, FederationError, TrustedIssuer};
use crate::store::{IdentityCreation, IdentityHolder, UserRecord};

impl From<FederationError> for AuthError {
    fn from(e: FederationError) -> AuthError {
        match e {
            FederationError::Invalid(reason) => {
                // Which check failed is for the log only.
                tracing::debug!(reason, "external token refused");
                AuthError::InvalidToken("not accepted from its issuer")
            }
            FederationError::Unavailable(why) => AuthError::IssuerUnavailable(why),
        }
    }
}

impl AuthService {
    /// Whether `token` says it is from a trusted issuer (not yet checked).
    pub fn is_external(&self, token: &str) -> bool {
        self.federation
            .as_ref()
            .is_some_and(|f| f.claimed_issuer(token).is_some())
    }

    /// The issuers this server trusts.
    pub fn trusted_issuers(&self) -> &[TrustedIssuer] {
        self.federation.as_ref().map_or(&[], |f| f.issuers())
    }

    /// An external token, checked: the claims it acts with (our user id as `sub`) and
    /// what it may do (its issuer's scopes).
    pub(super) async fn authenticate_external(&self, token: &str) -> Result<(Claims, Credential), AuthError> {
        let federation = self
            .federation
            .as_ref()
            .ok_or(AuthError::InvalidToken("not a token of this server"))?;
        let issuer = federation
            .claimed_issuer(token)
            .ok_or(AuthError::InvalidToken("not a token of this server"))?;
        let now = self.clock.now();
        let external = federation.verify(issuer, token, now).await?;
        let holder = self.identity_account(issuer, &external).await?;
        if holder.disabled {
            return Err(AuthError::AccountDisabled);
        }
        // Revoked: issued before the revocation (a token without `iat` counts as old).
        if holder
            .not_before
            .is_some_and(|not_before| external.iat.unwrap_or(i64::MIN) < not_before.unix_timestamp())
        {
            return Err(AuthError::InvalidToken("revoked"));
        }
        let claims = Claims {
            iss: issuer.issuer().to_string(),
            aud: self.policy.audience.clone(),
            sub: holder.user,
            // No session of ours: sign-out and the session list do not apply.
            sid: Uuid::nil(),
            email: external.email.clone().unwrap_or_default(),
            iat: external.iat.unwrap_or(external.exp),
            nbf: external.nbf,
            exp: external.exp,
            jti: Uuid::nil(),
        };
        let credential = Credential::External {
            issuer: issuer.name().to_string(),
            subject: external.sub,
            scopes: issuer.scopes().to_vec(),
        };
        Ok((claims, credential))
    }

    /// The account holding the identity: found, linked by a verified email, or made.
    async fn identity_account(
        &self,
        issuer: &TrustedIssuer,
        external: &ExternalClaims,
    ) -> Result<IdentityHolder, AuthError> {
        if let Some(holder) = self.db.identity_holder(issuer.issuer(), &external.sub).await? {
            return Ok(holder);
        }
        let now = self.clock.now();
        let email = external
            .email
            .as_deref()
            .and_then(|e| passwords::normalize_email(e).ok())
            .ok_or(AuthError::UnknownIdentity)?;
        if issuer.link_verified_email() && external.verified_email() {
            let found = self.db.user_by_email(&passwords::account_key(&email)).await?;
            if let Some(record) = found
                && let Some(holder) = self
                    .db
                    .link_identity(issuer.issuer(), &external.sub, record.user.id, now)
                    .await?
            {
                return Ok(holder);
            }
        }
        if !issuer.create_accounts() {
            return Err(AuthError::UnknownIdentity);
        }
        // No password until the person sets one: a secret nobody knows, hashed, so a
        // password sign-in fails like any wrong password.
        let mut unknown = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut unknown);
        let password_hash = self
            .hasher
            .hash(Secret::new(URL_SAFE_NO_PAD.encode(unknown)))
            .await?;
        let record = UserRecord {
            user: User {
                id: Uuid::new_v4(),
                email,
                name: passwords::normalize_name(external.name.clone()).ok().flatten(),
                created_at: now,
            },
            password_hash,
            disabled_at: None,
        };
        match self
            .db
            .create_identity_account(issuer.issuer(), &external.sub, record, now)
            .await?
        {
            IdentityCreation::Held(holder) => Ok(holder),
            IdentityCreation::EmailTaken => Err(AuthError::UnknownIdentity),
        }
    }
}
