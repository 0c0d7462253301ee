//! The codes an authenticator app would show, computed with totp-lite (not the
//! server's implementation) from the base32 secret the server hands out.

use std::time::{SystemTime, UNIX_EPOCH};

/// The secret's bytes, from the base32 the server hands out.
pub fn secret_bytes(secret_base32: &str) -> Vec<u8> {
    data_encoding::BASE32_NOPAD
        .decode(secret_base32.trim_end_matches('=').as_bytes())
        .expect("a base32 secret")
}

/// The code for the time step `offset` steps from now (30-second steps, 6 digits).
pub fn code(secret_base32: &str, offset: i64) -> String {
    let secret = secret_bytes(secret_base32);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let at = (now as i64 + offset * 30).max(0) as u64;
    totp_lite::totp_custom::<totp_lite::Sha1>(30, 6, &secret, at)
}
