//! A bounded cache of verified access tokens, so a token presented again skips the
//! Ed25519 check (~40 µs) for a hash and a map lookup. Safe because every hit is
//! re-checked for what can change after verification: the entry is dropped once the
//! token expires or once the key that signed it is no longer in force, and the caller
//! still checks the session against the revoked set on every request.

use std::collections::HashMap;
use std::sync::Mutex;

use sha2::{Digest, Sha256};

use super::keys::KeySet;
use super::tokens::{Claims, LEEWAY};

/// Entries kept at most; a full cache first drops expired entries, then everything.
const CAPACITY: usize = 10_000;

struct Entry {
    claims: Claims,
    kid: String,
}

#[derive(Default)]
pub struct TokenCache {
    entries: Mutex<HashMap<[u8; 32], Entry>>,
}

fn key_of(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

impl TokenCache {
    /// The claims of a token verified before, if they are still good at `now` under `keys`.
    pub fn get(&self, token: &str, keys: &KeySet, now: i64) -> Option<Claims> {
        let key = key_of(token);
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let entry = entries.get(&key)?;
        let expired = entry.claims.exp + LEEWAY.as_secs() as i64 <= now;
        if expired || !keys.verifiers.contains_key(&entry.kid) {
            entries.remove(&key);
            return None;
        }
        Some(entry.claims.clone())
    }

    pub fn insert(&self, token: &str, kid: String, claims: Claims, now: i64) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= CAPACITY {
            entries.retain(|_, e| e.claims.exp + LEEWAY.as_secs() as i64 > now);
            if entries.len() >= CAPACITY {
                entries.clear();
            }
        }
        entries.insert(key_of(token), Entry { claims, kid });
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.lock().map(|e| e.len()).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::keys::{KeySet, generate_key};
    use std::time::Duration;
    use time::OffsetDateTime;

    fn claims(exp: i64) -> Claims {
        Claims {
            iss: "i".into(),
            aud: "a".into(),
            sub: uuid::Uuid::new_v4(),
            sid: uuid::Uuid::new_v4(),
            email: "e@x.io".into(),
            iat: exp - 60,
            nbf: None,
            exp,
            jti: uuid::Uuid::new_v4(),
        }
    }

    fn key_set(active: crate::store::KeyRecord) -> KeySet {
        KeySet::for_tests(vec![active], Duration::from_secs(60), OffsetDateTime::now_utc())
    }

    #[test]
    fn hits_until_expiry_or_key_retirement() {
        let key = generate_key(
            &crate::auth::key_sealing::KeySealing::Clear,
            OffsetDateTime::now_utc(),
        )
        .expect("key");
        let kid = key.kid.clone();
        let keys = key_set(key);
        let cache = TokenCache::default();
        cache.insert("t", kid.clone(), claims(1_000), 900);
        assert!(cache.get("t", &keys, 950).is_some());
        assert!(cache.get("other", &keys, 950).is_none());
        assert!(
            cache.get("t", &keys, 1_000 + LEEWAY.as_secs() as i64).is_none(),
            "expired"
        );
        assert_eq!(cache.len(), 0, "expired entries are dropped");

        cache.insert("t", kid, claims(1_000), 900);
        let rotated = key_set(
            generate_key(
                &crate::auth::key_sealing::KeySealing::Clear,
                OffsetDateTime::now_utc(),
            )
            .expect("key"),
        );
        assert!(
            cache.get("t", &rotated, 950).is_none(),
            "its key is no longer in force"
        );
    }

    #[test]
    fn stays_bounded() {
        let keys = key_set(
            generate_key(
                &crate::auth::key_sealing::KeySealing::Clear,
                OffsetDateTime::now_utc(),
            )
            .expect("key"),
        );
        let cache = TokenCache::default();
        for i in 0..(CAPACITY + 10) {
            cache.insert(&format!("t{i}"), "kid".into(), claims(2_000), 1_000);
        }
        assert!(cache.len() <= CAPACITY);
        let _ = keys;
    }
}
