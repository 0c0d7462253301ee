//! Password reset tokens: made by `todo-server users reset-password`, used once at
//! `POST /api/auth/password/reset`. Stored only as a SHA-256 hash, like refresh tokens
//! (256 random bits need no slow hash).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// Prefix of every reset token, so one pasted in the wrong place is recognisable.
const PREFIX: &str = "todo_reset_";

/// A new token and the hash the database keeps of it.
pub fn new_token() -> (String, Vec<u8>) {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let token = format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes));
    let hash = hash(&token);
    (token, hash)
}

/// Surrounding spaces (a copied line) do not count.
pub fn hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.trim().as_bytes()).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_prefixed_random_and_hash_as_pasted() {
        let (a, hash_a) = new_token();
        let (b, _) = new_token();
        assert!(a.starts_with(PREFIX) && a.len() == PREFIX.len() + 43, "{a}");
        assert_ne!(a, b);
        assert_eq!(hash(&format!(" {a}\n")), hash_a);
        assert_ne!(hash(&b), hash_a);
    }
}
