//! The port for signing keys.

use async_trait::async_trait;

use super::{KeyRecord, StoreResult};

#[async_trait]
pub trait KeyStorage: Send + Sync + 'static {
    /// All keys, newest first.
    async fn signing_keys(&self) -> StoreResult<Vec<KeyRecord>>;
    /// Retires the signing key(s) and makes `key` the one that signs; with
    /// `only_if_none` only when no key signs yet (the first start).
    async fn add_signing_key(&self, key: KeyRecord, only_if_none: bool) -> StoreResult<()>;
    /// Replaces keys' stored seeds (sealing seeds stored in the clear).
    async fn set_stored_secrets(&self, secrets: Vec<(String, Vec<u8>)>) -> StoreResult<()>;
}
