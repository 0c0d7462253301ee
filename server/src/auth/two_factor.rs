//! TOTP two-factor sign-in (RFC 6238: SHA-1, 6 digits, 30 s steps, one step of clock
//! skew either way). A code is taken once: its time step must be later than the last
//! one taken. Ten recovery codes, stored hashed, each usable once. With it on, a
//! sign-in's right password earns a 5-minute, single-use mfa token instead of tokens.

use rand::Rng;
use sha2::{Digest, Sha256};
use todo_api::{
    ActivityKind, MfaChallenge, MfaMethod, RECOVERY_CODES, Secret, TokenResponse, TwoFactorSetup, User,
};
use totp_rs::{Algorithm, Builder, Totp};
use uuid::Uuid;

use super::accounts::limited;
use super::activity::RequestOrigin;
use super::key_sealing::KeySealing;
use super::{AuthError, AuthService, Claims, passwords, sessions};
use crate::store::{CodeUse, TotpRecord};

const ISSUER: &str = "todo";
/// Bytes of a TOTP secret (160 bits, as RFC 4226 recommends).
const SECRET_LEN: usize = 20;

/// What a sealed secret is bound to: its user (a sealed secret copied to another
/// user's row does not open).
fn sealed_for(user: Uuid) -> Vec<u8> {
    [b"totp:".as_slice(), user.as_bytes()].concat()
}
const STEP_SECS: u64 = 30;
/// Recovery codes read `abcde-fghij`, from letters and digits that are not confused.
const RECOVERY_ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";

fn totp(secret: &[u8], account: &str) -> Result<Totp, AuthError> {
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_skew(1)
        .with_step_duration(STEP_SECS)
        .with_secret(secret.to_vec().into_boxed_slice())
        .with_issuer(Some(ISSUER))
        .with_account_name(account.replace(':', "_"))
        .build()
        .map_err(|e| AuthError::TwoFactorSecret(e.to_string()))
}

fn new_recovery_code() -> String {
    let mut rng = rand::rngs::OsRng;
    let mut pick = || RECOVERY_ALPHABET[rng.gen_range(0..RECOVERY_ALPHABET.len())] as char;
    let first: String = (0..5).map(|_| pick()).collect();
    let second: String = (0..5).map(|_| pick()).collect();
    format!("{first}-{second}")
}

/// A code as typed: spaces and dashes do not count, nor case.
fn normalized(code: &str) -> String {
    code.chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .flat_map(char::to_lowercase)
        .collect()
}

fn recovery_hash(code: &str) -> Vec<u8> {
    Sha256::digest(normalized(code).as_bytes()).to_vec()
}

/// How a code checked out.
enum CodeCheck {
    Totp,
    RecoveryCode,
    Wrong,
    /// The sign-in's mfa token was used (or expired) meanwhile; the code was not spent.
    ChallengeSpent,
}

/// Seals the secrets still stored in the clear (set up before the key-encryption key was
/// given), as the signing keys are at start. Each is replaced only if unchanged, so a
/// setup racing this keeps its own secret.
pub(super) async fn seal_clear_secrets(
    db: &crate::store::Store,
    sealing: &KeySealing,
) -> Result<(), AuthError> {
    if matches!(sealing, KeySealing::Clear) {
        return Ok(());
    }
    let mut count = 0;
    for (user, secret) in db.totp_secrets_of_length(SECRET_LEN).await? {
        let sealed = sealing.seal_bytes(&sealed_for(user), &secret)?;
        if db.replace_totp_secret(user, secret, sealed).await? {
            count += 1;
        }
    }
    if count > 0 {
        tracing::info!(count, "sealed two-factor secrets that were stored in the clear");
    }
    Ok(())
}

impl AuthService {
    /// Makes a new secret and recovery codes (not yet on: `enable` turns it on with a
    /// code). Refused while two-factor sign-in is on.
    pub async fn setup_two_factor(
        &self,
        claims: &Claims,
        origin: &RequestOrigin,
    ) -> Result<TwoFactorSetup, AuthError> {
        let user = self
            .db
            .user_by_id(claims.sub)
            .await?
            .ok_or(AuthError::AccountGone)?;
        let mut secret = [0u8; SECRET_LEN];
        rand::rngs::OsRng.fill(&mut secret);
        let generator = totp(&secret, &user.email)?;
        let codes: Vec<String> = (0..RECOVERY_CODES).map(|_| new_recovery_code()).collect();
        let hashes = codes.iter().map(|c| recovery_hash(c)).collect();
        let stored = self.secrets.seal_bytes(&sealed_for(claims.sub), &secret)?;
        if !self.db.begin_totp(claims.sub, stored, hashes).await? {
            return Err(AuthError::TwoFactorState(
                "two-factor sign-in is on already; turn it off first",
            ));
        }
        self.activity
            .record(claims.sub, ActivityKind::TwoFactorSetUp, origin, Some(claims.sid))
            .await;
        Ok(TwoFactorSetup {
            secret: Secret::new(generator.secret().to_base32()),
            otpauth_url: Secret::new(
                generator
                    .to_url()
                    .map_err(|e| AuthError::TwoFactorSecret(e.to_string()))?,
            ),
            recovery_codes: codes.into_iter().map(Secret::new).collect(),
        })
    }

    /// Turns a set-up secret on once the password and a code from it verify. Only that
    /// secret: a setup made meanwhile (another secret) is not turned on unproved.
    pub async fn enable_two_factor(
        &self,
        claims: &Claims,
        origin: &RequestOrigin,
        password: Secret,
        code: Secret,
    ) -> Result<(), AuthError> {
        let user = self.check_password(claims, origin, password).await?.user;
        let record = match self.db.totp(claims.sub).await? {
            Some(r) if !r.enabled => r,
            Some(_) => return Err(AuthError::TwoFactorState("two-factor sign-in is on already")),
            None => {
                return Err(AuthError::TwoFactorState(
                    "set two-factor sign-in up first (POST /api/auth/2fa/setup)",
                ));
            }
        };
        let step = self
            .generator(&user, &record)?
            .check(
                &normalized(code.expose()),
                self.clock.now().unix_timestamp().max(0) as u64,
            )
            .ok_or(AuthError::InvalidCode)?;
        let step = i64::try_from(step).map_err(|_| AuthError::InvalidCode)?;
        if !self
            .db
            .enable_totp(claims.sub, record.secret, step, self.clock.now())
            .await?
        {
            return Err(AuthError::TwoFactorState(
                "two-factor sign-in is on already, or was set up again meanwhile: set it up again",
            ));
        }
        self.activity
            .record(
                claims.sub,
                ActivityKind::TwoFactorEnabled,
                origin,
                Some(claims.sid),
            )
            .await;
        Ok(())
    }

    /// Turns two-factor sign-in off: needs the password and a TOTP or recovery code.
    pub async fn disable_two_factor(
        &self,
        claims: &Claims,
        origin: &RequestOrigin,
        password: Secret,
        code: Secret,
    ) -> Result<(), AuthError> {
        let stored = self.check_password(claims, origin, password).await?;
        let record = match self.db.totp(claims.sub).await? {
            Some(r) if r.enabled => r,
            _ => return Err(AuthError::TwoFactorState("two-factor sign-in is not on")),
        };
        self.check_second_factor(&stored.user, &record, &code, None, origin)
            .await?;
        if !self.db.disable_totp(claims.sub).await? {
            return Err(AuthError::TwoFactorState("two-factor sign-in is not on"));
        }
        self.activity
            .record(
                claims.sub,
                ActivityKind::TwoFactorDisabled,
                origin,
                Some(claims.sid),
            )
            .await;
        Ok(())
    }

    /// Whether the account signs in with a second factor.
    pub(super) async fn wants_second_factor(&self, user_id: Uuid) -> Result<bool, AuthError> {
        Ok(self.db.totp(user_id).await?.is_some_and(|r| r.enabled))
    }

    /// The answer to the right password when a second factor is on.
    pub(super) async fn challenge(&self, user: &User) -> Result<MfaChallenge, AuthError> {
        let (token, hash) = sessions::new_refresh_token();
        let ttl = time::Duration::seconds(todo_api::MFA_TOKEN_TTL_SECS as i64);
        self.db
            .add_mfa_challenge(hash, user.id, self.clock.now() + ttl)
            .await?;
        Ok(MfaChallenge {
            mfa_required: true,
            mfa_token: Secret::new(token),
            methods: vec![MfaMethod::Totp, MfaMethod::RecoveryCode],
        })
    }

    /// The second step of a sign-in: the mfa token and a code give the usual tokens.
    /// Wrong codes count toward the account's failure limit; the mfa token is spent by
    /// the first right code.
    pub async fn sign_in_second_step(
        &self,
        origin: &RequestOrigin,
        mfa_token: Secret,
        code: Secret,
    ) -> Result<TokenResponse, AuthError> {
        self.limits
            .sign_ins
            .hit(&origin.client.key())
            .await?
            .map_err(limited)?;
        let hash = sessions::hash_refresh_token(mfa_token.expose());
        let now = self.clock.now();
        let user_id = self
            .db
            .mfa_challenge_user(hash.clone(), now)
            .await?
            .ok_or(AuthError::InvalidMfaToken)?;
        let user = self
            .db
            .user_by_id(user_id)
            .await?
            .ok_or(AuthError::InvalidMfaToken)?;
        // Read before the challenge is spent: a password change committing after this
        // read either spent the challenge first or refuses the session below.
        let password_hash = self
            .db
            .user_by_email(&user.email)
            .await?
            .filter(|r| r.user.id == user_id)
            .ok_or(AuthError::InvalidMfaToken)?
            .password_hash;
        let record = self
            .db
            .totp(user_id)
            .await?
            .filter(|r| r.enabled)
            .ok_or(AuthError::InvalidMfaToken)?;
        self.check_second_factor(&user, &record, &code, Some(hash), origin)
            .await?;
        self.finish_sign_in(user, password_hash, origin).await
    }

    /// Checks a TOTP or recovery code, counted toward the account's failure limit when
    /// wrong, and logged. With `challenge` (a sign-in's mfa token hash) the code and the
    /// challenge are spent together.
    async fn check_second_factor(
        &self,
        user: &User,
        record: &TotpRecord,
        code: &Secret,
        challenge: Option<Vec<u8>>,
        origin: &RequestOrigin,
    ) -> Result<(), AuthError> {
        let attempt = self
            .limits
            .failed_sign_ins
            .reserve(&passwords::account_key(&user.email))
            .await?
            .map_err(limited)?;
        match self.check_code(user, record, code, challenge).await? {
            CodeCheck::ChallengeSpent => Err(AuthError::InvalidMfaToken),
            CodeCheck::Totp => Ok(()),
            CodeCheck::RecoveryCode => {
                self.activity
                    .record(user.id, ActivityKind::RecoveryCodeUsed, origin, None)
                    .await;
                Ok(())
            }
            CodeCheck::Wrong => {
                attempt.spend();
                self.activity
                    .record(user.id, ActivityKind::TwoFactorFailed, origin, None)
                    .await;
                Err(AuthError::InvalidCode)
            }
        }
    }

    /// The code generator of `user`'s stored secret, opened if it is sealed.
    fn generator(&self, user: &User, record: &TotpRecord) -> Result<Totp, AuthError> {
        let secret = self
            .secrets
            .open_bytes(&sealed_for(user.id), &record.secret, SECRET_LEN)?;
        totp(&secret, &user.email)
    }

    async fn check_code(
        &self,
        user: &User,
        record: &TotpRecord,
        code: &Secret,
        challenge: Option<Vec<u8>>,
    ) -> Result<CodeCheck, AuthError> {
        let code = normalized(code.expose());
        let now = self.clock.now();
        let (used, taken) = if code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()) {
            let Some(step) = self
                .generator(user, record)?
                .check(&code, self.clock.now().unix_timestamp().max(0) as u64)
            else {
                return Ok(CodeCheck::Wrong);
            };
            let step = i64::try_from(step).map_err(|_| AuthError::InvalidCode)?;
            // Taken once: a replay within its window, or an older code, is wrong.
            let used = self.db.use_totp_step(user.id, step, challenge, now).await?;
            (used, CodeCheck::Totp)
        } else {
            let used = self
                .db
                .use_recovery_code(user.id, recovery_hash(&code), challenge, now)
                .await?;
            (used, CodeCheck::RecoveryCode)
        };
        Ok(match used {
            CodeUse::Taken => taken,
            CodeUse::Refused => CodeCheck::Wrong,
            CodeUse::ChallengeSpent => CodeCheck::ChallengeSpent,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovery_codes_read_in_two_groups_and_hash_as_typed() {
        let code = new_recovery_code();
        assert_eq!(code.len(), 11);
        assert_eq!(&code[5..6], "-");
        assert_eq!(
            recovery_hash(&code.to_uppercase().replace('-', " ")),
            recovery_hash(&code)
        );
        assert_ne!(recovery_hash(&new_recovery_code()), recovery_hash(&code));
    }

    #[test]
    fn the_otpauth_url_names_the_issuer_and_account() {
        let generator = totp(&[7u8; 20], "ann@example.com").expect("totp");
        let url = generator.to_url().expect("url");
        assert!(url.starts_with("otpauth://totp/todo:ann%40example.com?"), "{url}");
        assert!(url.contains("issuer=todo"), "{url}");
    }

    /// RFC 6238 appendix B, SHA-1, with the test secret "12345678901234567890".
    #[test]
    fn codes_match_the_rfc_test_vectors() {
        let generator = totp(b"12345678901234567890", "x").expect("totp");
        assert_eq!(generator.generate(59).to_string(), "287082");
        assert_eq!(generator.generate(1_111_111_109).to_string(), "081804");
        assert_eq!(
            generator.check("081804", 1_111_111_109 + 30),
            Some(1_111_111_109 / 30)
        );
    }
}
