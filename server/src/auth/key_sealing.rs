//! Secrets sealed at rest: the signing keys and the two-factor (TOTP) secrets. With a
//! key-encryption key (from a 0600 file or the environment, never from the database),
//! each is stored encrypted with XChaCha20-Poly1305, bound to what it belongs to (a key
//! id, a user id); a copy of the database alone (a backup, a stolen disk, a WAL file
//! read through a loose mode) then can neither forge tokens nor make two-factor codes.
//! Without one, they are stored in the clear as before, and the server says so at start.

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE};
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};

use super::keys::KeyError;

/// The first byte of a sealed seed; a clear seed is exactly 32 bytes and has none.
const SEALED_V1: u8 = 1;
const NONCE_LEN: usize = 24;
const SEED_LEN: usize = 32;

/// 32 random bytes, given base64-encoded. Never printed.
#[derive(Clone)]
pub struct KeyEncryptionKey(Key);

impl std::fmt::Debug for KeyEncryptionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyEncryptionKey(..)")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KekError {
    #[error("the key-encryption key must be 32 bytes in base64 (e.g. `head -c 32 /dev/urandom | base64`)")]
    Malformed,
    #[error("cannot read the key-encryption key file {path}: {source}")]
    Unreadable {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the key-encryption key file {path} is readable by others (mode {mode:o}); chmod 600 it")]
    TooOpen { path: String, mode: u32 },
}

impl KeyEncryptionKey {
    pub fn from_base64(text: &str) -> Result<Self, KekError> {
        let text = text.trim();
        let bytes = STANDARD
            .decode(text)
            .or_else(|_| URL_SAFE.decode(text))
            .map_err(|_| KekError::Malformed)?;
        let key: [u8; 32] = bytes.try_into().map_err(|_| KekError::Malformed)?;
        Ok(KeyEncryptionKey(key.into()))
    }

    /// Reads the key from a file that only its owner may read, as ssh does for its keys.
    pub fn from_file(path: &Path) -> Result<Self, KekError> {
        let shown = path.display().to_string();
        let unreadable = |source| KekError::Unreadable {
            path: shown.clone(),
            source,
        };
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(path).map_err(unreadable)?.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                return Err(KekError::TooOpen { path: shown, mode });
            }
        }
        Self::from_base64(&std::fs::read_to_string(path).map_err(unreadable)?)
    }
}

/// How seeds are stored: sealed with a key-encryption key, or in the clear.
#[derive(Clone, Debug, Default)]
pub enum KeySealing {
    #[default]
    Clear,
    Sealed(KeyEncryptionKey),
}

/// True when stored bytes are a sealed seed rather than a clear one.
pub fn is_sealed(stored: &[u8]) -> bool {
    stored.len() != SEED_LEN
}

impl KeySealing {
    /// The bytes to store for `seed`. The key id is authenticated with it, so a sealed
    /// seed moved to another key's row does not open.
    pub fn seal(&self, kid: &str, seed: &[u8; SEED_LEN]) -> Result<Vec<u8>, KeyError> {
        self.seal_bytes(kid.as_bytes(), seed)
    }

    /// The bytes to store for `secret`, sealed with `bound_to` authenticated alongside
    /// (so it does not open in another row); the secret itself without a key.
    pub fn seal_bytes(&self, bound_to: &[u8], secret: &[u8]) -> Result<Vec<u8>, KeyError> {
        let KeySealing::Sealed(kek) = self else {
            return Ok(secret.to_vec());
        };
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let sealed = XChaCha20Poly1305::new(&kek.0)
            .encrypt(
                &nonce,
                Payload {
                    msg: secret,
                    aad: bound_to,
                },
            )
            .map_err(|_| KeyError::Seal)?;
        let mut stored = Vec::with_capacity(1 + NONCE_LEN + sealed.len());
        stored.push(SEALED_V1);
        stored.extend_from_slice(&nonce);
        stored.extend_from_slice(&sealed);
        Ok(stored)
    }

    /// The seed from stored bytes, sealed or clear.
    pub fn open(&self, kid: &str, stored: &[u8]) -> Result<[u8; SEED_LEN], KeyError> {
        let seed = self.open_bytes(kid.as_bytes(), stored, SEED_LEN)?;
        seed.try_into().map_err(|_| KeyError::Malformed)
    }

    /// A secret from stored bytes: exactly `clear_len` bytes is a clear one (a sealed
    /// one is longer by its version, nonce and tag).
    pub fn open_bytes(&self, bound_to: &[u8], stored: &[u8], clear_len: usize) -> Result<Vec<u8>, KeyError> {
        if stored.len() == clear_len {
            return Ok(stored.to_vec());
        }
        let KeySealing::Sealed(kek) = self else {
            return Err(KeyError::SealedWithoutKey);
        };
        let (version, rest) = stored.split_first().ok_or(KeyError::Malformed)?;
        if *version != SEALED_V1 || rest.len() < NONCE_LEN {
            return Err(KeyError::Malformed);
        }
        let (nonce, sealed) = rest.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| KeyError::Malformed)?;
        let secret = XChaCha20Poly1305::new(&kek.0)
            .decrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: sealed,
                    aad: bound_to,
                },
            )
            // The tag did not verify: another key, or another row's secret.
            .map_err(|_| KeyError::WrongKey)?;
        if secret.len() != clear_len {
            return Err(KeyError::Malformed);
        }
        Ok(secret)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kek(byte: u8) -> KeySealing {
        KeySealing::Sealed(KeyEncryptionKey([byte; 32].into()))
    }

    #[test]
    fn a_sealed_seed_opens_only_with_its_key_and_its_kid() {
        let seed = [7u8; 32];
        let stored = kek(1).seal("kid-a", &seed).expect("seal");
        assert!(is_sealed(&stored));
        assert!(
            !stored.windows(32).any(|w| w == seed),
            "the seed is not in the clear"
        );
        assert_eq!(kek(1).open("kid-a", &stored).expect("open"), seed);
        assert!(kek(2).open("kid-a", &stored).is_err(), "another key");
        assert!(kek(1).open("kid-b", &stored).is_err(), "another row");
        assert!(KeySealing::Clear.open("kid-a", &stored).is_err(), "no key");
    }

    #[test]
    fn a_sealed_secret_of_any_length_opens_only_where_it_belongs() {
        let secret = [5u8; 20];
        let stored = kek(1).seal_bytes(b"totp:ann", &secret).expect("seal");
        assert_eq!(stored.len(), 1 + 24 + 20 + 16);
        assert_eq!(kek(1).open_bytes(b"totp:ann", &stored, 20).expect("open"), secret);
        assert!(
            kek(1).open_bytes(b"totp:bob", &stored, 20).is_err(),
            "another user's row"
        );
        assert!(
            kek(1).open_bytes(b"totp:ann", &stored, 32).is_err(),
            "another kind"
        );
        assert_eq!(
            kek(1).open_bytes(b"totp:ann", &secret, 20).expect("clear"),
            secret
        );
    }

    #[test]
    fn clear_seeds_still_open_and_keys_parse_from_base64() {
        let seed = [9u8; 32];
        assert_eq!(kek(1).open("k", &seed).expect("clear"), seed);
        assert_eq!(KeySealing::Clear.seal("k", &seed).expect("clear"), seed.to_vec());
        let text = STANDARD.encode([3u8; 32]);
        assert!(KeyEncryptionKey::from_base64(&format!(" {text}\n")).is_ok());
        assert!(KeyEncryptionKey::from_base64("c2hvcnQ=").is_err());
        assert_eq!(format!("{:?}", kek(1)), "Sealed(KeyEncryptionKey(..))");
    }
}
