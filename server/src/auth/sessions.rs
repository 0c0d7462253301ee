//! Refresh tokens and the in-memory set of revoked sessions.

use std::collections::HashSet;
use std::sync::RwLock;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// A new random refresh token (256 bits) and the hash the database keeps of it.
pub fn new_refresh_token() -> (String, Vec<u8>) {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let token = URL_SAFE_NO_PAD.encode(bytes);
    let hash = hash_refresh_token(&token);
    (token, hash)
}

/// SHA-256 is enough here: the token is 256 random bits, not a guessable password.
pub fn hash_refresh_token(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// Sessions signed out (or caught reusing a refresh token) while access tokens they were
/// issued may still be unexpired. Checked on every protected request without touching
/// the database; loaded from the database at start so a restart keeps it.
#[derive(Default)]
pub struct RevokedSessions {
    ids: RwLock<HashSet<Uuid>>,
}

impl RevokedSessions {
    pub fn new(ids: impl IntoIterator<Item = Uuid>) -> Self {
        RevokedSessions {
            ids: RwLock::new(ids.into_iter().collect()),
        }
    }

    pub fn contains(&self, id: &Uuid) -> bool {
        self.ids.read().unwrap_or_else(|p| p.into_inner()).contains(id)
    }

    pub fn insert_all(&self, ids: impl IntoIterator<Item = Uuid>) {
        self.ids.write().unwrap_or_else(|p| p.into_inner()).extend(ids);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_tokens_are_random_and_hashed() {
        let (a, hash_a) = new_refresh_token();
        let (b, _) = new_refresh_token();
        assert_ne!(a, b);
        assert_eq!(hash_refresh_token(&a), hash_a);
        assert_eq!(hash_a.len(), 32);
        assert!(!hash_a.windows(a.len()).any(|w| w == a.as_bytes()));
    }

    #[test]
    fn revoked_set_remembers_ids() {
        let set = RevokedSessions::new([]);
        let id = Uuid::new_v4();
        assert!(!set.contains(&id));
        set.insert_all([id]);
        assert!(set.contains(&id));
    }
}
