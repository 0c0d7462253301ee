//! Refresh tokens and the in-memory set of revoked sessions.

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::{Duration, Instant};

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
/// the database; loaded from the database at start so a restart keeps it. An entry is
/// forgotten once every token of its session has expired (no token is issued after
/// revocation, so that is the revocation time plus the token lifetime and leeway): the
/// set holds only the last token lifetime's sign-outs.
pub struct RevokedSessions {
    /// How long after revocation a token of the session may still verify.
    remember_for: Duration,
    ids: RwLock<HashMap<Uuid, Instant>>,
}

impl RevokedSessions {
    /// `revoked`: sessions with how long ago they were revoked.
    pub fn new(remember_for: Duration, revoked: impl IntoIterator<Item = (Uuid, Duration)>) -> Self {
        let set = RevokedSessions {
            remember_for,
            ids: RwLock::new(HashMap::new()),
        };
        set.insert_seen(revoked);
        set
    }

    /// Adds sessions revoked elsewhere (another process on the same database), each with
    /// how long ago; one already known keeps its entry.
    pub fn insert_seen(&self, revoked: impl IntoIterator<Item = (Uuid, Duration)>) {
        let now = Instant::now();
        let mut set = self.ids.write().unwrap_or_else(|p| p.into_inner());
        for (id, ago) in revoked {
            if ago < self.remember_for {
                set.entry(id).or_insert(now + (self.remember_for - ago));
            }
        }
    }

    pub fn contains(&self, id: &Uuid) -> bool {
        self.ids
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .contains_key(id)
    }

    pub fn insert_all(&self, ids: impl IntoIterator<Item = Uuid>) {
        let forget_at = Instant::now() + self.remember_for;
        let mut set = self.ids.write().unwrap_or_else(|p| p.into_inner());
        set.extend(ids.into_iter().map(|id| (id, forget_at)));
    }

    /// Forgets sessions whose tokens have all expired.
    pub fn sweep(&self) {
        let now = Instant::now();
        self.ids
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|_, forget_at| *forget_at > now);
    }

    pub fn len(&self) -> usize {
        self.ids.read().unwrap_or_else(|p| p.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
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
        // 256 random bits, and what is stored is not them.
        let secret = URL_SAFE_NO_PAD.decode(&a).expect("base64url");
        assert_eq!(secret.len(), 32);
        assert_ne!(hash_a, secret);
    }

    #[test]
    fn revoked_set_remembers_ids() {
        let set = RevokedSessions::new(Duration::from_secs(60), []);
        let id = Uuid::new_v4();
        assert!(!set.contains(&id));
        set.insert_all([id]);
        assert!(set.contains(&id));
    }

    /// Across many token lifetimes the set holds only the last lifetime's sign-outs.
    #[test]
    fn revoked_set_forgets_sessions_whose_tokens_have_expired() {
        let set = RevokedSessions::new(
            Duration::from_millis(20),
            [(Uuid::new_v4(), Duration::from_secs(1))],
        );
        assert!(set.is_empty(), "revoked long ago: nothing to remember");
        for _ in 0..10 {
            set.insert_all((0..100).map(|_| Uuid::new_v4()));
            std::thread::sleep(Duration::from_millis(25));
            set.sweep();
            assert!(set.is_empty(), "{} left", set.len());
        }
        let recent = Uuid::new_v4();
        set.insert_all([recent]);
        set.sweep();
        assert!(set.contains(&recent), "still within its tokens' lifetime");
    }
}
