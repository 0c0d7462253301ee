//! Email and password rules, and argon2id hashing on a bounded blocking pool.

use std::sync::Arc;

use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString, rand_core::OsRng};
use argon2::{Algorithm, Argon2, Block, Params, Version};

use todo_api::{Secret, text};
use unicode_normalization::UnicodeNormalization;

use super::{AuthError, FieldError};
use crate::workers::{Priority, WorkerPool};

use todo_api::limits::{EMAIL_MAX, NAME_MAX};

/// The one form of an address that a person reads as the same: trimmed, refused if it
/// holds anything invisible (zero-width, BOM, bidi or other controls), NFC, the local
/// part lower-cased and the domain in IDNA ASCII form (lower-case punycode). So
/// `A@x.io` and `a@x.io`, NFC and NFD, and `bücher.de` and `xn--bcher-kva.de` are each
/// one account. The length is checked first, before anything else reads the value.
pub fn normalize_email(raw: &str) -> Result<String, FieldError> {
    let bad = || FieldError::new("email", "email is not a valid address");
    let trimmed = raw.trim();
    if trimmed.len() > EMAIL_MAX * 4 || trimmed.chars().count() > EMAIL_MAX {
        return Err(FieldError::new(
            "email",
            format!("email has at most {EMAIL_MAX} characters"),
        ));
    }
    if trimmed.chars().any(text::is_invisible) {
        return Err(FieldError::new(
            "email",
            "email may not hold spaces, invisible or control characters",
        ));
    }
    let nfc: String = trimmed.nfc().collect();
    let (local, domain) = nfc.rsplit_once('@').ok_or_else(bad)?;
    let domain = idna::domain_to_ascii(domain).map_err(|_| bad())?;
    let email = format!("{}@{domain}", local.to_lowercase());
    if email.len() > EMAIL_MAX || !email_address::EmailAddress::is_valid(&email) {
        return Err(bad());
    }
    Ok(email)
}

/// The key of the per-account failure limit (and the address looked up): the normalised
/// address, or for input that is not one, a digest of it. The raw text never reaches
/// storage: it may hold what a database refuses (PostgreSQL takes no NUL) and has no
/// length bound; the digest has neither problem and no `@`, so it names no account.
pub fn account_key(raw: &str) -> String {
    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
    use sha2::{Digest, Sha256};
    normalize_email(raw).unwrap_or_else(|_| {
        let digest = Sha256::digest(raw.trim().as_bytes());
        format!("malformed:{}", URL_SAFE_NO_PAD.encode(digest))
    })
}

/// Passwords are compared in NFC (NIST SP 800-63B), so the same password typed on
/// systems that compose accents differently is the same password.
pub fn normalize_password(password: &str) -> Secret {
    Secret::new(password.nfc().collect::<String>())
}

pub fn normalize_name(raw: Option<String>) -> Result<Option<String>, FieldError> {
    let name = raw.map(|n| n.trim().to_string()).filter(|n| !n.is_empty());
    if name.as_deref().and_then(text::forbidden_in_line).is_some() {
        return Err(FieldError::new("name", "name may not hold control characters"));
    }
    if name.as_ref().is_some_and(|n| n.chars().count() > NAME_MAX) {
        return Err(FieldError::new(
            "name",
            format!("name has at most {NAME_MAX} characters"),
        ));
    }
    Ok(name)
}

/// Refuses passwords outside 8..=128 characters or that zxcvbn scores below 2, with
/// zxcvbn's own advice as the reason (the rule is `todo_api::password`, which the TUI
/// also checks as the user types).
pub fn check_strength(password: &str, context: &[&str]) -> Result<(), AuthError> {
    match todo_api::password::strength_problem(password, context) {
        None => Ok(()),
        Some(reason) => Err(AuthError::WeakPassword(reason)),
    }
}

/// argon2id with OWASP's parameters (19 MiB, 2 passes, 1 lane). Hashing is deliberately
/// slow, so it runs on its own threads (half the cores): a burst of sign-ins queues
/// here instead of starving the task routes.
#[derive(Clone)]
pub struct PasswordHasherPool {
    workers: Arc<WorkerPool<HashMemory>>,
    /// A hash of a random password, verified when the email is unknown so that
    /// unknown-email and wrong-password sign-ins take the same time.
    dummy_hash: Arc<String>,
}

fn argon2() -> Argon2<'static> {
    // Params::DEFAULT is OWASP's recommendation: m=19456 KiB, t=2, p=1.
    Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::DEFAULT)
}

/// One hashing thread's working memory (19 MiB), allocated at the thread's first hash
/// and then reused: a fresh allocation per hash leaves freed 19 MiB blocks in malloc
/// arenas (measured: 16 MiB idle grew to 180 MiB after eight sign-ups). A server that
/// has not hashed yet does not pay for it.
#[derive(Default)]
pub struct HashMemory(Vec<Block>);

impl HashMemory {
    pub fn new() -> HashMemory {
        HashMemory(Vec::new())
    }

    /// At least `count` blocks, grown (and then kept) when a hash needs more.
    fn blocks(&mut self, count: usize) -> &mut [Block] {
        if self.0.len() < count {
            self.0.resize(count, Block::default());
        }
        &mut self.0[..count]
    }
}

/// A PHC string with today's parameters, a random salt and a random digest. Verifying
/// against it costs exactly what verifying a real hash costs, and it matches no password,
/// so it needs no hashing (and no working memory) at start.
fn dummy_hash() -> Result<String, AuthError> {
    let salt = SaltString::generate(&mut OsRng);
    let digest: [u8; Params::DEFAULT_OUTPUT_LEN] = rand::random();
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&Params::DEFAULT).map_err(internal)?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&digest).map_err(internal)?),
    };
    Ok(phc.to_string())
}

fn internal(e: argon2::password_hash::Error) -> AuthError {
    AuthError::Hashing(e)
}

fn hash_blocking(memory: &mut HashMemory, password: &[u8]) -> Result<String, AuthError> {
    let salt = SaltString::generate(&mut OsRng);
    let mut salt_buf = [0u8; 64];
    let salt_bytes = salt.decode_b64(&mut salt_buf).map_err(internal)?;
    let argon2 = argon2();
    let output = Output::init_with(Params::DEFAULT_OUTPUT_LEN, |out| {
        argon2
            .hash_password_into_with_memory(
                password,
                salt_bytes,
                out,
                memory.blocks(Params::DEFAULT.block_count()),
            )
            .map_err(|_| argon2::password_hash::Error::Password)
    })
    .map_err(internal)?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&Params::DEFAULT).map_err(internal)?,
        salt: Some(salt.as_salt()),
        hash: Some(output),
    };
    Ok(phc.to_string())
}

/// Why a stored hash could not be checked.
#[derive(Debug)]
enum VerifyError {
    /// The PHC string does not parse or names parameters we cannot use.
    Unreadable(argon2::password_hash::Error),
    Hashing(argon2::password_hash::Error),
}

/// Recomputes the stored hash with the stored parameters; `Output`'s comparison is
/// constant-time. A stored hash that does not parse is an error, never a mismatch: it
/// would lock its owner out silently.
fn verify_blocking(memory: &mut HashMemory, password: &[u8], stored: &str) -> Result<bool, VerifyError> {
    use argon2::password_hash::Error as E;
    let unreadable = VerifyError::Unreadable;
    let parsed = PasswordHash::new(stored).map_err(unreadable)?;
    let params = Params::try_from(&parsed).map_err(unreadable)?;
    let salt = parsed.salt.ok_or(VerifyError::Unreadable(E::SaltInvalid(
        argon2::password_hash::errors::InvalidValue::Malformed,
    )))?;
    let expected = parsed.hash.ok_or(VerifyError::Unreadable(E::PhcStringField))?;
    let algorithm = Algorithm::try_from(parsed.algorithm).map_err(unreadable)?;
    let version = match parsed.version {
        Some(v) => Version::try_from(v).map_err(|e| VerifyError::Unreadable(e.into()))?,
        None => Version::V0x13,
    };
    let mut salt_buf = [0u8; 64];
    let salt_bytes = salt.decode_b64(&mut salt_buf).map_err(unreadable)?;
    let blocks = memory.blocks(params.block_count());
    let argon2 = Argon2::new(algorithm, version, params);
    let computed = Output::init_with(expected.len(), |out| {
        argon2
            .hash_password_into_with_memory(password, salt_bytes, out, blocks)
            .map_err(|_| E::Password)
    })
    .map_err(VerifyError::Hashing)?;
    Ok(computed == expected)
}

impl PasswordHasherPool {
    pub async fn new() -> Result<Self, AuthError> {
        // Half the cores, at background priority: a sign-in flood queues here and takes
        // only what the task routes leave idle.
        let threads = (std::thread::available_parallelism().map_or(1, |n| n.get()) / 2).max(1);
        let memory = (0..threads).map(|_| HashMemory::new()).collect();
        let workers = WorkerPool::start("argon2", memory, Priority::Background)
            .map_err(AuthError::StartPasswordWorkers)?;
        Ok(PasswordHasherPool {
            workers: Arc::new(workers),
            dummy_hash: Arc::new(dummy_hash()?),
        })
    }

    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut HashMemory) -> T + Send + 'static,
    ) -> Result<T, AuthError> {
        Ok(self.workers.run(f).await?)
    }

    pub async fn hash(&self, password: Secret) -> Result<String, AuthError> {
        self.run(move |memory| hash_blocking(memory, password.expose().as_bytes()))
            .await?
    }

    /// Verifies against an account's `(user id, stored hash)`, or against the dummy hash
    /// when there is no account. A stored hash that cannot be read is logged (by the
    /// caller's 500, with the user id and never the hash) and is not a wrong password.
    pub async fn verify(
        &self,
        password: Secret,
        account: Option<(uuid::Uuid, String)>,
    ) -> Result<bool, AuthError> {
        let (user_id, hash) = match account {
            Some((id, hash)) => (Some(id), hash),
            None => (None, self.dummy_hash.as_str().to_owned()),
        };
        let outcome = self
            .run(move |memory| verify_blocking(memory, password.expose().as_bytes(), &hash))
            .await?;
        match (outcome, user_id) {
            (Ok(matches), Some(_)) => Ok(matches),
            (Ok(_), None) => Ok(false),
            (Err(VerifyError::Unreadable(source)), Some(user_id)) => {
                Err(AuthError::UnreadableHash { user_id, source })
            }
            (Err(VerifyError::Unreadable(e) | VerifyError::Hashing(e)), _) => Err(AuthError::Hashing(e)),
        }
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
    fn addresses_that_read_the_same_are_one_address() {
        let nfc = normalize_email("jos\u{e9}@example.com").expect("nfc");
        assert_eq!(normalize_email("jose\u{301}@example.com"), Ok(nfc));
        let idn = normalize_email("ann@B\u{fc}cher.de").expect("idn");
        assert_eq!(idn, "ann@xn--bcher-kva.de");
        assert_eq!(normalize_email("ann@xn--bcher-kva.de"), Ok(idn));
        for invisible in [
            "a\u{200b}nn@x.io",
            "\u{feff}ann@x.io",
            "ann@x\u{202e}.io",
            "an\u{7}n@x.io",
        ] {
            assert!(normalize_email(invisible).is_err(), "{invisible:?}");
        }
        let long = format!("{}@example.com", "a".repeat(60_000));
        assert!(normalize_email(&long).is_err());
        assert!(account_key(&long).chars().count() <= EMAIL_MAX);
        let (nul, soh) = (account_key("\0"), account_key("\u{1}"));
        assert!(nul.chars().all(|c| c.is_ascii_graphic()), "{nul:?}");
        assert_ne!(nul, soh, "each malformed address keeps its own limit");
    }

    #[test]
    fn weak_and_short_passwords_are_refused_with_a_reason() {
        let short = check_strength("abc", &[]).expect_err("short").to_string();
        assert!(short.contains("8 to 128"));
        let weak = check_strength("password", &[]).expect_err("weak").to_string();
        assert!(weak.starts_with("password is too easy to guess"), "{weak}");
        assert!(check_strength(&"x".repeat(129), &[]).is_err());
        assert!(check_strength("correct horse battery staple", &[]).is_ok());
    }

    #[test]
    fn hashes_are_standard_phc_strings_both_ways() {
        use argon2::password_hash::{PasswordHasher, PasswordVerifier};
        let mut memory = HashMemory::new();
        let ours = hash_blocking(&mut memory, b"harbour-violet").expect("hash");
        let parsed = PasswordHash::new(&ours).expect("PHC");
        assert!(
            argon2().verify_password(b"harbour-violet", &parsed).is_ok(),
            "the crate verifies ours"
        );
        assert!(argon2().verify_password(b"wrong", &parsed).is_err());
        let salt = SaltString::generate(&mut OsRng);
        let theirs = argon2()
            .hash_password(b"harbour-violet", &salt)
            .expect("hash")
            .to_string();
        assert!(
            verify_blocking(&mut memory, b"harbour-violet", &theirs).expect("readable"),
            "we verify the crate's"
        );
        assert!(!verify_blocking(&mut memory, b"wrong", &theirs).expect("readable"));
        assert!(matches!(
            verify_blocking(&mut memory, b"harbour-violet", "not a hash"),
            Err(VerifyError::Unreadable(_))
        ));
    }

    #[test]
    fn the_dummy_hash_costs_what_a_real_one_costs_and_matches_nothing() {
        let mut memory = HashMemory::new();
        let real = PasswordHash::new(&hash_blocking(&mut memory, b"harbour-violet").expect("hash"))
            .expect("PHC")
            .params
            .to_string();
        let dummy = dummy_hash().expect("dummy");
        assert_eq!(PasswordHash::new(&dummy).expect("PHC").params.to_string(), real);
        assert!(!verify_blocking(&mut memory, b"harbour-violet", &dummy).expect("readable"));
        assert!(!verify_blocking(&mut memory, b"", &dummy).expect("readable"));
    }

    #[tokio::test]
    async fn hash_verifies_only_the_right_password() {
        let pool = PasswordHasherPool::new().await.expect("pool");
        let hash = pool.hash(Secret::new("tr0ub4dor&3-xyz")).await.expect("hash");
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        let id = uuid::Uuid::new_v4();
        assert!(
            pool.verify(Secret::new("tr0ub4dor&3-xyz"), Some((id, hash.clone())))
                .await
                .expect("verify")
        );
        assert!(
            !pool
                .verify("wrong".into(), Some((id, hash)))
                .await
                .expect("verify")
        );
        assert!(!pool.verify(Secret::new("anything"), None).await.expect("verify"));
        let broken = pool
            .verify(Secret::new("anything"), Some((id, "$argon2id$broken".into())))
            .await;
        assert!(
            matches!(broken, Err(AuthError::UnreadableHash { user_id, .. }) if user_id == id),
            "{broken:?}"
        );
    }
}
