//! The `signing_keys` table: Ed25519 key pairs, the newest unretired one signs.

use async_trait::async_trait;
use rusqlite::{Connection, params};
use time::OffsetDateTime;

use super::{Db, WriteTx, from_micros, to_micros};
use crate::store::{KeyRecord, KeyStorage, StoreResult};

fn key_bytes(v: Vec<u8>) -> rusqlite::Result<[u8; 32]> {
    v.try_into().map_err(|_| {
        rusqlite::Error::FromSqlConversionFailure(
            0,
            rusqlite::types::Type::Blob,
            "a stored signing key is not 32 bytes".into(),
        )
    })
}

/// All keys, newest first.
pub fn all(conn: &Connection) -> rusqlite::Result<Vec<KeyRecord>> {
    let mut stmt = conn.prepare_cached(
        "SELECT kid, secret_key, public_key, created_at, retired_at FROM signing_keys
         ORDER BY created_at DESC",
    )?;
    stmt.query_map([], |r| {
        Ok(KeyRecord {
            kid: r.get(0)?,
            stored_secret: r.get(1)?,
            public_key: key_bytes(r.get(2)?)?,
            created_at: from_micros(r.get(3)?)?,
            retired_at: r.get::<_, Option<i64>>(4)?.map(from_micros).transpose()?,
        })
    })?
    .collect()
}

/// Retires the signing key(s) and makes `key` the one that signs.
pub fn rotate(tx: &WriteTx<'_>, key: &KeyRecord, now: OffsetDateTime) -> rusqlite::Result<()> {
    tx.execute(
        "UPDATE signing_keys SET retired_at = ?1 WHERE retired_at IS NULL",
        [to_micros(now)],
    )?;
    tx.execute(
        "INSERT INTO signing_keys (kid, secret_key, public_key, created_at) VALUES (?1, ?2, ?3, ?4)",
        params![
            key.kid,
            key.stored_secret,
            key.public_key,
            to_micros(key.created_at)
        ],
    )?;
    Ok(())
}

/// Whether any key may still sign.
pub fn has_active(tx: &Connection) -> rusqlite::Result<bool> {
    tx.query_row(
        "SELECT EXISTS (SELECT 1 FROM signing_keys WHERE retired_at IS NULL)",
        [],
        |r| r.get(0),
    )
}

/// Replaces a key's stored seed (sealing keys that were stored in the clear).
pub fn set_stored_secret(tx: &WriteTx<'_>, kid: &str, stored: &[u8]) -> rusqlite::Result<()> {
    tx.execute(
        "UPDATE signing_keys SET secret_key = ?2 WHERE kid = ?1",
        params![kid, stored],
    )?;
    Ok(())
}

#[async_trait]
impl KeyStorage for Db {
    async fn signing_keys(&self) -> StoreResult<Vec<KeyRecord>> {
        self.read(all).await
    }

    async fn add_signing_key(&self, key: KeyRecord, only_if_none: bool) -> StoreResult<()> {
        self.write(move |tx| {
            if only_if_none && has_active(tx)? {
                return Ok(());
            }
            rotate(tx, &key, key.created_at)
        })
        .await
    }

    async fn set_stored_secrets(&self, secrets: Vec<(String, Vec<u8>)>) -> StoreResult<()> {
        self.write(move |tx| {
            for (kid, stored) in &secrets {
                set_stored_secret(tx, kid, stored)?;
            }
            Ok(())
        })
        .await
    }
}
