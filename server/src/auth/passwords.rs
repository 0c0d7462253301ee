//! Email and password rules, and argon2id hashing on a bounded blocking pool.

use std::sync::Arc;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng};
use argon2::{Algorithm, Argon2, Params, Version};

use super::{AuthError, FieldError};
use crate::workers::WorkerPool;

pub const PASSWORD_MIN: usize = 8;
pub const PASSWORD_MAX: usize = 128;
pub const NAME_MAX: usize = 100;
const EMAIL_MAX: usize = 254;

/// Lower-cases and checks an email address, so `A@x.io` and `a@x.io` are one account.
pub fn normalize_email(raw: &str) -> Result<String, FieldError> {
    let email = raw.trim().to_lowercase();
    if email.len() > EMAIL_MAX || !email_address::EmailAddress::is_valid(&email) {
        return Err(FieldError::new("email", "email is not a valid address"));
    }
    Ok(email)
}

pub fn normalize_name(raw: Option<String>) -> Result<Option<String>, FieldError> {
    let name = raw.map(|n| n.trim().to_string()).filter(|n| !n.is_empty());
    if name.as_ref().is_some_and(|n| n.chars().count() > NAME_MAX) {
        return Err(FieldError::new(
            "name",
            format!("name has at most {NAME_MAX} characters"),
        ));
    }
    Ok(name)
}

/// Refuses passwords outside 8..=128 characters or that zxcvbn scores below 2,
/// with zxcvbn's own advice as the reason.
pub fn check_strength(password: &str, context: &[&str]) -> Result<(), FieldError> {
    let len = password.chars().count();
    if !(PASSWORD_MIN..=PASSWORD_MAX).contains(&len) {
        return Err(FieldError::new(
            "password",
            format!("password must be {PASSWORD_MIN} to {PASSWORD_MAX} characters"),
        ));
    }
    let estimate = zxcvbn::zxcvbn(password, context);
    if u8::from(estimate.score()) >= 2 {
        return Ok(());
    }
    let mut reason = String::from("password is too easy to guess");
    if let Some(feedback) = estimate.feedback() {
        if let Some(warning) = feedback.warning() {
            reason.push_str(&format!(": {warning}"));
        }
        if let Some(tip) = feedback.suggestions().first() {
            reason.push_str(&format!(" ({tip})"));
        }
    }
    Err(FieldError::new("password", reason))
}

/// argon2id with OWASP's parameters (19 MiB, 2 passes, 1 lane). Hashing is deliberately
/// slow, so it runs on its own threads (half the cores): a burst of sign-ins queues
/// here instead of starving the task routes.
#[derive(Clone)]
pub struct PasswordHasherPool {
    workers: Arc<WorkerPool<()>>,
    /// A hash of a random password, verified when the email is unknown so that
    /// unknown-email and wrong-password sign-ins take the same time.
    dummy_hash: Arc<String>,
}

fn argon2() -> Argon2<'static> {
    // Params::DEFAULT is OWASP's recommendation: m=19456 KiB, t=2, p=1.
    Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::DEFAULT)
}

fn hash_blocking(password: &[u8]) -> Result<String, AuthError> {
    let salt = SaltString::generate(&mut OsRng);
    argon2()
        .hash_password(password, &salt)
        .map(|h| h.to_string())
        .map_err(|e| AuthError::Internal(format!("password hashing failed: {e}")))
}

fn verify_blocking(password: &[u8], hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| argon2().verify_password(password, &parsed).is_ok())
        .unwrap_or(false)
}

impl PasswordHasherPool {
    pub fn new() -> Result<Self, AuthError> {
        // Half the cores: a sign-in flood queues here and leaves the rest to the tasks.
        let threads = (std::thread::available_parallelism().map_or(1, |n| n.get()) / 2).max(1);
        let workers = WorkerPool::start("argon2", vec![(); threads])
            .map_err(|e| AuthError::Internal(format!("cannot start password threads: {e}")))?;
        let random: [u8; 16] = rand::random();
        Ok(PasswordHasherPool {
            workers: Arc::new(workers),
            dummy_hash: Arc::new(hash_blocking(&random)?),
        })
    }

    async fn run<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> Result<T, AuthError> {
        self.workers
            .run(move |_| f())
            .await
            .ok_or_else(|| AuthError::Internal("password worker failed".into()))
    }

    pub async fn hash(&self, password: String) -> Result<String, AuthError> {
        self.run(move || hash_blocking(password.as_bytes())).await?
    }

    /// Verifies against `hash`, or against the dummy hash when there is no account.
    pub async fn verify(&self, password: String, hash: Option<String>) -> Result<bool, AuthError> {
        let has_account = hash.is_some();
        let hash = hash.unwrap_or_else(|| self.dummy_hash.as_str().to_owned());
        let matches = self
            .run(move || verify_blocking(password.as_bytes(), &hash))
            .await?;
        Ok(matches && has_account)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_is_lowercased_and_checked() {
        assert_eq!(
            normalize_email(" Ann@Example.COM "),
            Ok("ann@example.com".to_string())
        );
        assert!(normalize_email("not-an-email").is_err());
        assert!(normalize_email("").is_err());
    }

    #[test]
    fn weak_and_short_passwords_are_refused_with_a_reason() {
        let short = check_strength("abc", &[]).expect_err("short");
        assert!(short.reason.contains("8 to 128"));
        let weak = check_strength("password", &[]).expect_err("weak");
        assert!(
            weak.reason.starts_with("password is too easy to guess"),
            "{}",
            weak.reason
        );
        assert!(check_strength(&"x".repeat(129), &[]).is_err());
        assert!(check_strength("correct horse battery staple", &[]).is_ok());
    }

    #[tokio::test]
    async fn hash_verifies_only_the_right_password() {
        let pool = PasswordHasherPool::new().expect("pool");
        let hash = pool.hash("tr0ub4dor&3-xyz".into()).await.expect("hash");
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(
            pool.verify("tr0ub4dor&3-xyz".into(), Some(hash.clone()))
                .await
                .expect("verify")
        );
        assert!(!pool.verify("wrong".into(), Some(hash)).await.expect("verify"));
        assert!(!pool.verify("anything".into(), None).await.expect("verify"));
    }
}
