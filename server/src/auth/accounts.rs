//! Sign-up, sign-in, refresh, sign-out and the bearer check: the auth use cases.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use todo_api::{ActivityKind, Secret, SignInAnswer, TokenResponse, User};
use uuid::Uuid;

use super::AuthError;
use super::activity::{ActivityLog, RequestOrigin};
use super::key_sealing::KeySealing;
use super::keys::KeyRing;
use super::limits::RateLimiter;
use super::passwords::{self, PasswordHasherPool};
use super::personal_tokens::{Credential, PersonalTokenCache};
use super::sessions::{self, RevokedSessions};
use super::token_cache::TokenCache;
use super::tokens::{Claims, TokenPolicy};
use crate::background::Step;
use crate::clock::Clock;
use crate::config::ResolvedConfig as Config;
use crate::store::{NewSession, RefreshOutcome, RefreshRotation, SessionStart, SignOut, Store, UserRecord};
use time::OffsetDateTime;

/// The address a request came from, the key of per-address limits.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub Option<IpAddr>);

impl ClientAddr {
    pub(super) fn key(&self) -> String {
        self.0.map_or_else(|| "unknown".to_string(), |ip| ip.to_string())
    }
}

pub(super) struct Limits {
    sign_ups: RateLimiter,
    pub(super) sign_ins: RateLimiter,
    pub(super) failed_sign_ins: RateLimiter,
}

pub struct AuthService {
    pub(super) db: Store,
    keys: Arc<KeyRing>,
    pub(super) policy: TokenPolicy,
    refresh_ttl: Duration,
    session_lifetime: Duration,
    pub(super) hasher: PasswordHasherPool,
    pub(super) revoked: RevokedSessions,
    /// How long an access token may verify after it was issued (lifetime + leeway).
    token_grace: Duration,
    verified: TokenCache,
    pub(super) limits: Limits,
    pub(super) activity: ActivityLog,
    pub(super) personal_tokens: PersonalTokenCache,
    /// Seals two-factor secrets at rest (as the signing keys are).
    pub(super) secrets: KeySealing,
    pub(super) clock: Clock,
    /// The issuers whose tokens are accepted besides ours, if any.
    pub(super) federation: Option<crate::federation::Federation>,
}

pub(super) fn limited(retry_after: Duration) -> AuthError {
    AuthError::RateLimited { retry_after }
}

impl AuthService {
    /// The activity log, for the other services that record in it.
    pub fn activity_log(&self) -> ActivityLog {
        self.activity.clone()
    }

    pub async fn new(db: Store, config: &Config) -> Result<AuthService, AuthError> {
        let grace = config.access_ttl + super::tokens::LEEWAY;
        Self::renormalize_emails(&db).await?;
        let clock = config.clock.clone();
        let keys =
            Arc::new(KeyRing::load(db.clone(), grace, config.key_sealing.clone(), clock.clone()).await?);
        super::two_factor::seal_clear_secrets(&db, &config.key_sealing).await?;
        let now = clock.now();
        let revoked = db
            .revoked_since(now - grace)
            .await?
            .into_iter()
            .map(|(id, at)| (id, (now - at).try_into().unwrap_or_default()));
        let hasher = PasswordHasherPool::new().await?;
        let l = &config.limits;
        let off = |n: u32| if l.disabled { 0 } else { n };
        Ok(AuthService {
            personal_tokens: PersonalTokenCache::new(grace),
            secrets: config.key_sealing.clone(),
            activity: ActivityLog::new(db.clone(), clock.clone()),
            db: db.clone(),
            keys,
            policy: TokenPolicy {
                issuer: config.issuer.clone(),
                audience: config.audience.clone(),
                access_ttl: config.access_ttl,
            },
            refresh_ttl: config.refresh_ttl,
            session_lifetime: config.session_lifetime,
            hasher,
            revoked: RevokedSessions::new(grace, revoked),
            token_grace: grace,
            verified: TokenCache::default(),
            limits: Limits {
                sign_ups: RateLimiter::new(
                    db.clone(),
                    clock.clone(),
                    "sign_up",
                    off(l.sign_ups_per_minute),
                    Duration::from_secs(60),
                ),
                sign_ins: RateLimiter::new(
                    db.clone(),
                    clock.clone(),
                    "sign_in",
                    off(l.sign_ins_per_minute),
                    Duration::from_secs(60),
                ),
                failed_sign_ins: RateLimiter::new(
                    db.clone(),
                    clock.clone(),
                    "failed_sign_in",
                    off(l.failed_sign_ins_per_account),
                    l.failed_sign_in_window,
                ),
            },
            clock,
            federation: match config.trusted_issuers.is_empty() {
                true => None,
                false => Some(crate::federation::Federation::new(
                    config.trusted_issuers.clone(),
                )?),
            },
        })
    }

    /// The background step that reads the sessions revoked since the last look, by any
    /// process on this database, so a sign-out through another server is refused here too
    /// within about its interval.
    pub fn revocation_sync(self: Arc<Self>) -> RevocationSync {
        RevocationSync {
            since: self.clock.now() - REVOCATION_OVERLAP,
            auth: self,
        }
    }

    /// Keeps every table and map bounded: deletes ended sessions and expired refresh
    /// tokens in small batches (each its own write, so requests wait behind none of
    /// them), forgets revoked sessions whose tokens have all expired, and drops ended
    /// rate-limit windows.
    pub async fn maintain(&self) -> Result<(), AuthError> {
        const BATCH: u32 = 500;
        self.revoked.sweep();
        // A window older than the longest period has ended for every limiter.
        let longest = [
            &self.limits.sign_ups,
            &self.limits.sign_ins,
            &self.limits.failed_sign_ins,
        ]
        .iter()
        .map(|l| l.period())
        .max()
        .unwrap_or_default();
        RateLimiter::sweep(self.db.as_ref(), self.clock.now(), longest).await?;
        self.activity.delete_old(BATCH).await?;
        let grace = self.token_grace;
        loop {
            let now = self.clock.now();
            let deleted = self.db.delete_ended_sessions(now - grace, now, BATCH).await?;
            if deleted < BATCH as usize {
                return Ok(());
            }
        }
    }

    /// Whether the session was signed out or revoked (here or on another server).
    pub fn is_signed_out(&self, session_id: &Uuid) -> bool {
        self.revoked.contains(session_id)
    }

    /// The background step that re-reads the signing keys.
    pub fn key_reload(&self) -> super::keys::KeyReload {
        super::keys::KeyReload(self.keys.clone())
    }

    pub fn keys(&self) -> &KeyRing {
        &self.keys
    }

    /// The bearer check for either credential: a personal access token (`todo_pat_...`)
    /// or a session's access token.
    pub async fn authenticate_any(&self, token: &str) -> Result<(Claims, Credential), AuthError> {
        if token.starts_with(todo_api::PERSONAL_TOKEN_PREFIX) {
            return self.authenticate_personal(token).await;
        }
        if self.is_external(token) {
            return self.authenticate_external(token).await;
        }
        Ok((self.authenticate(token)?, Credential::Session))
    }

    /// The bearer check: a valid token from a session that is still signed in.
    pub fn authenticate(&self, token: &str) -> Result<Claims, AuthError> {
        let keys = self.keys.current();
        let now = self.clock.now().unix_timestamp();
        let claims = match self.verified.get(token, &keys, now) {
            Some(claims) => claims,
            None => {
                let (claims, kid) = self.policy.verify_with_kid(&keys, token, now)?;
                self.verified.insert(token, kid, claims.clone(), now);
                claims
            }
        };
        // Checked on every request, cached or not: sign-out takes effect at once.
        if self.revoked.contains(&claims.sid) {
            return Err(AuthError::InvalidToken("the session was signed out"));
        }
        Ok(claims)
    }

    pub async fn sign_up(
        &self,
        origin: &RequestOrigin,
        email: &str,
        password: Secret,
        name: Option<String>,
    ) -> Result<TokenResponse, AuthError> {
        self.limits
            .sign_ups
            .hit(&origin.client.key())
            .await?
            .map_err(limited)?;
        let email = passwords::normalize_email(email)?;
        let name = passwords::normalize_name(name)?;
        let password = passwords::normalize_password(password.expose());
        let mut context = vec![email.as_str()];
        context.extend(name.as_deref());
        passwords::check_strength(password.expose(), &context)?;

        if self.db.user_by_email(&email).await?.is_some() {
            return Err(AuthError::EmailTaken);
        }
        let record = UserRecord {
            user: User {
                id: Uuid::new_v4(),
                email,
                name,
                created_at: self.clock.now(),
            },
            password_hash: self.hasher.hash(password).await?,
            disabled_at: None,
        };
        let user = record.user.clone();
        let (refresh_token, session_id, started) =
            self.start_session(user.id, Some(record), None, origin).await?;
        if started != SessionStart::Started {
            return Err(AuthError::EmailTaken);
        }
        self.activity
            .record(user.id, ActivityKind::SignIn, origin, Some(session_id))
            .await;
        self.token_response(user, session_id, refresh_token)
    }

    /// With the right password for a disabled account: 403 `account_disabled` (checked
    /// after the password, so the answer tells nothing to someone without it).
    pub async fn sign_in(
        &self,
        origin: &RequestOrigin,
        email: &str,
        password: Secret,
    ) -> Result<SignInAnswer, AuthError> {
        self.limits
            .sign_ins
            .hit(&origin.client.key())
            .await?
            .map_err(limited)?;
        // Unknown and malformed emails go through the same path as wrong passwords, so the
        // answer and its timing tell nothing about which accounts exist.
        let account_key = passwords::account_key(email);
        // Reserved before the password is checked: a burst of guesses cannot all be
        // checked before the first failure is counted.
        let attempt = self
            .limits
            .failed_sign_ins
            .reserve(&account_key)
            .await?
            .map_err(limited)?;
        let record = self.db.user_by_email(&account_key).await?;
        let (user, hash) = match &record {
            Some(r) => (Some(r.user.clone()), Some((r.user.id, r.password_hash.clone()))),
            None => (None, None),
        };
        let verified = self.verify_password(password, hash, user.as_ref()).await?;
        let Some(user) = user else {
            attempt.spend();
            return Err(AuthError::InvalidCredentials);
        };
        let Some(verified_hash) = verified else {
            attempt.spend();
            self.activity
                .record(user.id, ActivityKind::SignInFailed, origin, None)
                .await;
            return Err(AuthError::InvalidCredentials);
        };
        drop(attempt);
        if self.wants_second_factor(user.id).await? {
            if record.is_some_and(|r| r.disabled_at.is_some()) {
                return Err(self.refuse_disabled(&user, origin).await);
            }
            return Ok(SignInAnswer::MfaRequired(self.challenge(&user).await?));
        }
        self.finish_sign_in(user, verified_hash, origin)
            .await
            .map(SignInAnswer::Tokens)
    }

    async fn refuse_disabled(&self, user: &User, origin: &RequestOrigin) -> AuthError {
        self.activity
            .record(user.id, ActivityKind::SignInRefused, origin, None)
            .await;
        AuthError::AccountDisabled
    }

    /// Starts the session of a sign-in whose every factor checked out against the
    /// password hash `verified_hash` (refused when the account is disabled, or its
    /// password changed, even if that happened a moment ago).
    pub(super) async fn finish_sign_in(
        &self,
        user: User,
        verified_hash: String,
        origin: &RequestOrigin,
    ) -> Result<TokenResponse, AuthError> {
        let (refresh_token, session_id, started) = self
            .start_session(user.id, None, Some(verified_hash), origin)
            .await?;
        match started {
            SessionStart::Started => {}
            SessionStart::CredentialsChanged => return Err(AuthError::InvalidCredentials),
            SessionStart::AccountDisabled | SessionStart::EmailTaken => {
                return Err(self.refuse_disabled(&user, origin).await);
            }
        }
        self.activity
            .record(user.id, ActivityKind::SignIn, origin, Some(session_id))
            .await;
        self.token_response(user, session_id, refresh_token)
    }

    /// A token from a trusted issuer for a session of ours (`POST /api/auth/token-exchange`).
    pub async fn exchange(
        &self,
        origin: &RequestOrigin,
        subject_token: &str,
    ) -> Result<TokenResponse, AuthError> {
        if !self.is_external(subject_token) {
            return Err(AuthError::InvalidToken("not a token of a trusted issuer"));
        }
        let (claims, _) = self.authenticate_external(subject_token).await?;
        let user = self
            .db
            .user_by_id(claims.sub)
            .await?
            .ok_or(AuthError::AccountGone)?;
        let (refresh_token, session_id, started) = self.start_session(user.id, None, None, origin).await?;
        match started {
            SessionStart::Started => {}
            SessionStart::CredentialsChanged => return Err(AuthError::InvalidToken("the account changed")),
            SessionStart::AccountDisabled | SessionStart::EmailTaken => {
                return Err(self.refuse_disabled(&user, origin).await);
            }
        }
        self.activity
            .record(user.id, ActivityKind::SignIn, origin, Some(session_id))
            .await;
        self.token_response(user, session_id, refresh_token)
    }

    /// Checks the password in NFC; an account whose hash was made before passwords were
    /// normalised may hold the other form, so that is tried second (for unknown emails
    /// too, against the dummy hash, so timing still tells nothing) and, when it matches,
    /// the hash is remade from the NFC form. Answers the hash stored now that the
    /// password matched (the one given, or the remade one), `None` for a wrong password.
    pub(super) async fn verify_password(
        &self,
        password: Secret,
        hash: Option<(Uuid, String)>,
        user: Option<&User>,
    ) -> Result<Option<String>, AuthError> {
        let stored = hash.as_ref().map(|(_, h)| h.clone());
        let nfc = passwords::normalize_password(password.expose());
        if self.hasher.verify(nfc.clone(), hash.clone()).await? {
            return Ok(stored);
        }
        if nfc == password || !self.hasher.verify(password, hash.clone()).await? {
            return Ok(None);
        }
        if let (Some(user), Some((_, old))) = (user, hash) {
            let rehashed = self.hasher.hash(nfc).await?;
            if self.db.replace_password_hash(user.id, &old, &rehashed).await? {
                return Ok(Some(rehashed));
            }
        }
        Ok(stored)
    }

    /// Brings every stored email to today's normal form (see
    /// [`passwords::normalize_email`]). An address that now reads the same as another
    /// account's is left as it was and reported: merging accounts is the owner's call.
    async fn renormalize_emails(db: &Store) -> Result<(), AuthError> {
        let stored = db.user_emails().await?;
        let changes: Vec<(Uuid, String, String)> = stored
            .into_iter()
            .filter_map(|(id, email)| {
                let normal = passwords::normalize_email(&email).ok()?;
                (normal != email).then_some((id, email, normal))
            })
            .collect();
        for (id, old, normal) in changes {
            if db.replace_email(id, &old, &normal).await? {
                tracing::info!(user_id = %id, "email brought to its normal form");
            } else {
                tracing::warn!(user_id = %id, "email reads the same as another account's; left unchanged, this account cannot sign in by email until it is resolved");
            }
        }
        Ok(())
    }

    /// Creates a session with its first refresh token, inserting `new_user` in the same
    /// transaction when given.
    async fn start_session(
        &self,
        user_id: Uuid,
        new_user: Option<UserRecord>,
        verified_password_hash: Option<String>,
        origin: &RequestOrigin,
    ) -> Result<(String, Uuid, SessionStart), AuthError> {
        let (token, hash) = sessions::new_refresh_token();
        let session_id = Uuid::new_v4();
        let now = self.clock.now();
        let expires = now + self.refresh_ttl.min(self.session_lifetime);
        let session = NewSession {
            session_id,
            user_id,
            refresh_hash: hash,
            now,
            expires_at: expires,
            user_agent: origin.user_agent.clone(),
            client_addr: origin.address(),
            verified_password_hash,
        };
        let started = self.db.start_session(new_user, session).await?;
        Ok((token, session_id, started))
    }

    fn token_response(
        &self,
        user: User,
        session_id: Uuid,
        refresh_token: String,
    ) -> Result<TokenResponse, AuthError> {
        let claims = self
            .policy
            .claims_for(user.id, session_id, &user.email, self.clock.now());
        let access_token = self.policy.sign(&self.keys.current(), &claims)?;
        Ok(TokenResponse {
            user,
            access_token: Secret::new(access_token),
            token_type: "Bearer".into(),
            expires_in: self.policy.access_ttl.as_secs() as i64,
            refresh_token: Secret::new(refresh_token),
        })
    }

    /// Trades a refresh token for a new pair. A token presented twice means it was stolen
    /// or replayed: the whole session is revoked.
    pub async fn refresh(
        &self,
        origin: &RequestOrigin,
        refresh_token: &str,
    ) -> Result<TokenResponse, AuthError> {
        let (token, next) = sessions::new_refresh_token();
        let rotation = RefreshRotation {
            presented: sessions::hash_refresh_token(refresh_token),
            next,
            now: self.clock.now(),
            refresh_ttl: self.refresh_ttl,
            session_lifetime: self.session_lifetime,
        };
        match self.db.rotate_refresh_token(rotation).await? {
            RefreshOutcome::Rotated {
                user: Some(user),
                session_id,
            } => self.token_response(user, session_id, token),
            RefreshOutcome::Rotated { user: None, .. } => Err(AuthError::AccountGone),
            RefreshOutcome::Reused { session_id, user_id } => {
                tracing::warn!(%session_id, "refresh token reused; session revoked");
                self.revoked.insert_all([session_id]);
                self.activity
                    .record(
                        user_id,
                        ActivityKind::RefreshTokenReused,
                        origin,
                        Some(session_id),
                    )
                    .await;
                Err(AuthError::RefreshRejected)
            }
            RefreshOutcome::Rejected => Err(AuthError::RefreshRejected),
        }
    }

    /// Ends the token's session, the session of `refresh_token` if it is the same
    /// user's, or with `all` every session of the user.
    pub async fn sign_out(
        &self,
        claims: &Claims,
        origin: &RequestOrigin,
        refresh_token: Option<&str>,
        all: bool,
    ) -> Result<(), AuthError> {
        let session_id = claims.sid;
        let revoked = self
            .db
            .sign_out(SignOut {
                user_id: claims.sub,
                session_id,
                refresh_hash: refresh_token.map(sessions::hash_refresh_token),
                all,
                now: self.clock.now(),
            })
            .await?;
        self.revoked.insert_all(revoked.into_iter().chain([session_id]));
        self.activity
            .record(claims.sub, ActivityKind::SignOut, origin, Some(session_id))
            .await;
        Ok(())
    }
}

/// How far back before its last look each revocation read goes, so a sign-out committed
/// while the last look ran is not missed.
const REVOCATION_OVERLAP: Duration = Duration::from_secs(5);

/// See [`AuthService::revocation_sync`].
pub struct RevocationSync {
    auth: Arc<AuthService>,
    since: OffsetDateTime,
}

impl Step for RevocationSync {
    type Error = AuthError;

    async fn run(&mut self) -> Result<(), AuthError> {
        let started = self.auth.clock.now();
        let revoked = self.auth.db.revoked_since(self.since).await?;
        let now = self.auth.clock.now();
        self.auth.revoked.insert_seen(
            revoked
                .into_iter()
                .map(|(id, at)| (id, (now - at).try_into().unwrap_or_default())),
        );
        self.since = started - REVOCATION_OVERLAP;
        Ok(())
    }
}

/// The background step of [`AuthService::maintain`].
pub struct AuthMaintenance(pub Arc<AuthService>);

impl Step for AuthMaintenance {
    type Error = AuthError;

    async fn run(&mut self) -> Result<(), AuthError> {
        self.0.maintain().await
    }
}
