//! Signing keys on PostgreSQL: the key port.

use async_trait::async_trait;

use super::{PgStore, rows};
use crate::store::{KeyRecord, KeyStorage, StoreResult, to_micros};

/// Serialises key changes: two servers starting on a new database make one first key.
const KEYS_LOCK: i64 = 0x746f_646f_6b65_7973; // "todokeys"

#[async_trait]
impl KeyStorage for PgStore {
    async fn signing_keys(&self) -> StoreResult<Vec<KeyRecord>> {
        self.observe(async {
            let client = self.client().await?;
            let rows = client
                .query(
                    "SELECT kid, secret_key, public_key, created_at, retired_at FROM signing_keys
                     ORDER BY created_at DESC",
                    &[],
                )
                .await?;
            rows.iter().map(rows::key_record).collect()
        })
        .await
    }

    async fn add_signing_key(&self, key: KeyRecord, only_if_none: bool) -> StoreResult<()> {
        self.observe(async {
            let mut client = self.client().await?;
            let tx = client.transaction().await?;
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&KEYS_LOCK])
                .await?;
            if only_if_none {
                let active: bool = tx
                    .query_one(
                        "SELECT EXISTS (SELECT 1 FROM signing_keys WHERE retired_at IS NULL)",
                        &[],
                    )
                    .await?
                    .try_get(0)?;
                if active {
                    return Ok(());
                }
            }
            tx.execute(
                "UPDATE signing_keys SET retired_at = $1 WHERE retired_at IS NULL",
                &[&to_micros(key.created_at)],
            )
            .await?;
            tx.execute(
                "INSERT INTO signing_keys (kid, secret_key, public_key, created_at) VALUES ($1, $2, $3, $4)",
                &[
                    &key.kid,
                    &key.stored_secret,
                    &key.public_key.as_slice(),
                    &to_micros(key.created_at),
                ],
            )
            .await?;
            tx.commit().await?;
            Ok(())
        })
        .await
    }

    async fn set_stored_secrets(&self, secrets: Vec<(String, Vec<u8>)>) -> StoreResult<()> {
        self.observe(async {
            let mut client = self.client().await?;
            let tx = client.transaction().await?;
            for (kid, stored) in &secrets {
                tx.execute(
                    "UPDATE signing_keys SET secret_key = $2 WHERE kid = $1",
                    &[kid, stored],
                )
                .await?;
            }
            tx.commit().await?;
            Ok(())
        })
        .await
    }
}
