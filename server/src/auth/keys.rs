//! Signing keys: the newest key signs; a retired key keeps verifying until every token it
//! signed has expired, then leaves the JWKS. A running server re-reads the table every few
//! seconds, so `todo-server keys rotate` takes effect without a restart.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::EncodePrivateKey;
use jsonwebtoken::{DecodingKey, EncodingKey};
use time::OffsetDateTime;
use todo_api::{Jwk, Jwks};

use super::AuthError;
use super::key_sealing::{self, KeySealing};
use crate::background::Step;
use crate::clock::Clock;
use crate::store::{KeyRecord, KeyStorage};

/// What can go wrong with the signing keys.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot encode a signing key")]
    Encode(#[source] ed25519_dalek::pkcs8::Error),
    #[error("a stored public key is invalid")]
    PublicKey(#[source] jsonwebtoken::errors::Error),
    #[error("cannot sign an access token")]
    Sign(#[source] jsonwebtoken::errors::Error),
    #[error("no active signing key")]
    NoActiveKey,
    #[error("a stored signing key is malformed")]
    Malformed,
    /// The cipher says nothing more (its error is opaque by design).
    #[error("cannot seal a secret for storage")]
    Seal,
    #[error(
        "the secrets in the database are encrypted: start with --key-encryption-key-file or TODO_KEY_ENCRYPTION_KEY"
    )]
    SealedWithoutKey,
    #[error("a stored secret does not open with this key-encryption key (wrong key?)")]
    WrongKey,
}

/// Makes a fresh key pair with a random key id, its seed stored as `sealing` says,
/// made at `now`.
pub fn generate_key(sealing: &KeySealing, now: OffsetDateTime) -> Result<KeyRecord, AuthError> {
    let signing = SigningKey::generate(&mut rand::rngs::OsRng);
    let kid = uuid::Uuid::new_v4().simple().to_string();
    Ok(KeyRecord {
        stored_secret: sealing.seal(&kid, &signing.to_bytes())?,
        kid,
        public_key: signing.verifying_key().to_bytes(),
        created_at: now,
        retired_at: None,
    })
}

/// Starts a new signing key on the database (the `keys rotate` command); running
/// servers pick it up at their next reload.
pub async fn rotate(db: &dyn KeyStorage, sealing: &KeySealing, clock: &Clock) -> Result<String, AuthError> {
    let key = generate_key(sealing, clock.now())?;
    let kid = key.kid.clone();
    db.add_signing_key(key, false).await?;
    Ok(kid)
}

pub struct Signer {
    pub kid: String,
    pub key: EncodingKey,
}

/// The keys in force at one moment.
pub struct KeySet {
    pub signer: Signer,
    pub verifiers: HashMap<String, DecodingKey>,
    pub jwks: Jwks,
}

impl KeySet {
    /// `grace` is how long a retired key keeps verifying: the access-token lifetime plus
    /// the clock leeway.
    fn from_records(
        records: Vec<KeyRecord>,
        grace: Duration,
        now: OffsetDateTime,
        sealing: &KeySealing,
    ) -> Result<KeySet, AuthError> {
        let mut signer = None;
        let mut verifiers = HashMap::new();
        let mut jwks = Vec::new();
        for record in records {
            let in_force = match record.retired_at {
                None => true,
                Some(retired) => retired + grace > now,
            };
            if !in_force {
                continue;
            }
            if record.retired_at.is_none() && signer.is_none() {
                let seed = sealing.open(&record.kid, &record.stored_secret)?;
                let der = SigningKey::from_bytes(&seed)
                    .to_pkcs8_der()
                    .map_err(KeyError::Encode)?;
                signer = Some(Signer {
                    kid: record.kid.clone(),
                    key: EncodingKey::from_ed_der(der.as_bytes()),
                });
            }
            let x = URL_SAFE_NO_PAD.encode(record.public_key);
            let decoding = DecodingKey::from_ed_components(&x).map_err(KeyError::PublicKey)?;
            verifiers.insert(record.kid.clone(), decoding);
            jwks.push(Jwk {
                kty: "OKP".into(),
                crv: "Ed25519".into(),
                x,
                kid: record.kid,
                alg: "EdDSA".into(),
                key_use: "sig".into(),
            });
        }
        let signer = signer.ok_or(KeyError::NoActiveKey)?;
        Ok(KeySet {
            signer,
            verifiers,
            jwks: Jwks { keys: jwks },
        })
    }
}

#[cfg(test)]
impl KeySet {
    pub fn for_tests(records: Vec<KeyRecord>, grace: Duration, now: OffsetDateTime) -> KeySet {
        match KeySet::from_records(records, grace, now, &KeySealing::Clear) {
            Ok(set) => set,
            Err(e) => panic!("test key set: {e}"),
        }
    }
}

/// The current [`KeySet`], swapped atomically on reload.
pub struct KeyRing {
    db: Arc<dyn KeyStorage>,
    grace: Duration,
    sealing: KeySealing,
    clock: Clock,
    /// Read on every request without a lock; swapped whole on reload.
    current: ArcSwap<KeySet>,
}

impl KeyRing {
    /// Loads the keys, creating the first one on a new database, and with a
    /// key-encryption key seals any seed still stored in the clear.
    pub async fn load(
        db: Arc<dyn KeyStorage>,
        grace: Duration,
        sealing: KeySealing,
        clock: Clock,
    ) -> Result<KeyRing, AuthError> {
        let first = generate_key(&sealing, clock.now())?;
        db.add_signing_key(first, true).await?;
        if matches!(sealing, KeySealing::Sealed(_)) {
            Self::seal_clear_seeds(db.as_ref(), &sealing).await?;
        } else {
            tracing::warn!(
                "signing keys and two-factor secrets are stored in the clear in the database; set a key-encryption key (--key-encryption-key-file) so that a copy of the database can neither forge tokens nor make two-factor codes"
            );
        }
        let set = Self::read_set(db.as_ref(), grace, &sealing, clock.now()).await?;
        Ok(KeyRing {
            db,
            grace,
            sealing,
            clock,
            current: ArcSwap::from_pointee(set),
        })
    }

    async fn seal_clear_seeds(db: &dyn KeyStorage, sealing: &KeySealing) -> Result<(), AuthError> {
        let records = db.signing_keys().await?;
        let mut resealed = Vec::new();
        for record in records
            .iter()
            .filter(|r| !key_sealing::is_sealed(&r.stored_secret))
        {
            let seed = sealing.open(&record.kid, &record.stored_secret)?;
            resealed.push((record.kid.clone(), sealing.seal(&record.kid, &seed)?));
        }
        if resealed.is_empty() {
            return Ok(());
        }
        let count = resealed.len();
        db.set_stored_secrets(resealed).await?;
        tracing::info!(count, "sealed signing keys that were stored in the clear");
        Ok(())
    }

    async fn read_set(
        db: &dyn KeyStorage,
        grace: Duration,
        sealing: &KeySealing,
        now: OffsetDateTime,
    ) -> Result<KeySet, AuthError> {
        let records = db.signing_keys().await?;
        KeySet::from_records(records, grace, now, sealing)
    }

    pub fn current(&self) -> Arc<KeySet> {
        self.current.load_full()
    }

    /// Re-reads the keys; returns the signing kid when it changed.
    pub async fn reload(&self) -> Result<Option<String>, AuthError> {
        let set = Self::read_set(self.db.as_ref(), self.grace, &self.sealing, self.clock.now()).await?;
        // Only this task stores into `current`, so load-compare-store cannot race.
        let current = self.current.load();
        let changed = current.signer.kid != set.signer.kid || current.jwks != set.jwks;
        let new_kid = (current.signer.kid != set.signer.kid).then(|| set.signer.kid.clone());
        if changed {
            self.current.store(Arc::new(set));
        }
        Ok(new_kid)
    }
}

/// The background step that re-reads the keys, so a key started by `keys rotate` (on
/// any server) signs here within its interval.
pub struct KeyReload(pub Arc<KeyRing>);

impl Step for KeyReload {
    type Error = AuthError;

    async fn run(&mut self) -> Result<(), AuthError> {
        if let Some(kid) = self.0.reload().await? {
            tracing::info!(%kid, "now signing with a new key");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retired_keys_verify_until_their_grace_ends() {
        let now = OffsetDateTime::now_utc();
        let key = || generate_key(&KeySealing::Clear, OffsetDateTime::now_utc()).expect("key");
        let active = key();
        let mut recent = key();
        recent.retired_at = Some(now - Duration::from_secs(60));
        let mut old = key();
        old.retired_at = Some(now - Duration::from_secs(3600));
        let kids = [active.kid.clone(), recent.kid.clone(), old.kid.clone()];
        let set = KeySet::from_records(
            vec![active, recent, old],
            Duration::from_secs(900),
            now,
            &KeySealing::Clear,
        )
        .expect("key set");
        assert_eq!(set.signer.kid, kids[0]);
        assert!(set.verifiers.contains_key(&kids[1]));
        assert!(!set.verifiers.contains_key(&kids[2]));
        let published: Vec<_> = set.jwks.keys.iter().map(|k| k.kid.clone()).collect();
        assert_eq!(published, vec![kids[0].clone(), kids[1].clone()]);
    }

    #[test]
    fn a_set_without_an_active_key_is_an_error() {
        let mut retired = generate_key(&KeySealing::Clear, OffsetDateTime::now_utc()).expect("key");
        retired.retired_at = Some(OffsetDateTime::now_utc());
        let now = OffsetDateTime::now_utc();
        assert!(
            KeySet::from_records(vec![retired], Duration::from_secs(60), now, &KeySealing::Clear).is_err()
        );
    }
}
