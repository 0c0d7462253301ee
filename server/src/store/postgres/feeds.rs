//! The feed port on PostgreSQL: the `calendar_feeds` table.

use async_trait::async_trait;
use uuid::Uuid;

use super::{PgStore, rows};
use crate::store::{FeedRow, FeedStorage, StoreResult, to_micros};

#[async_trait]
impl FeedStorage for PgStore {
    async fn insert_feed(
        &self,
        user: Uuid,
        feed: &FeedRow,
        secret_hash: Vec<u8>,
        cap: usize,
    ) -> StoreResult<bool> {
        self.observe(async {
            let mut client = self.client().await?;
            let tx = client.transaction().await?;
            // The user's row lock: two feeds made at once count one after the other.
            let enabled = tx
                .query_opt(
                    "SELECT 1 FROM users WHERE id = $1 AND disabled_at IS NULL FOR UPDATE",
                    &[&user],
                )
                .await?;
            if enabled.is_none() {
                tx.rollback().await?;
                return Ok(false);
            }
            let n = tx
                .execute(
                    "INSERT INTO calendar_feeds (id, user_id, name, secret_hash, created_at)
                     SELECT $1, $2, $3, $4, $5
                     WHERE (SELECT count(*) FROM calendar_feeds WHERE user_id = $2) < $6",
                    &[
                        &feed.id,
                        &user,
                        &feed.name,
                        &secret_hash,
                        &to_micros(feed.created_at),
                        &(cap as i64),
                    ],
                )
                .await?;
            tx.commit().await?;
            Ok(n == 1)
        })
        .await
    }

    async fn feeds(&self, user: Uuid) -> StoreResult<Vec<FeedRow>> {
        self.observe(async {
            let client = self.client().await?;
            client
                .query(
                    "SELECT id, name, created_at FROM calendar_feeds WHERE user_id = $1 ORDER BY created_at, id",
                    &[&user],
                )
                .await?
                .iter()
                .map(|r| {
                    Ok(FeedRow {
                        id: r.try_get(0)?,
                        name: r.try_get(1)?,
                        created_at: rows::time(r.try_get(2)?)?,
                    })
                })
                .collect()
        })
        .await
    }

    async fn delete_feed(&self, user: Uuid, id: Uuid) -> StoreResult<bool> {
        self.observe(async {
            let client = self.client().await?;
            let n = client
                .execute(
                    "DELETE FROM calendar_feeds WHERE id = $1 AND user_id = $2",
                    &[&id, &user],
                )
                .await?;
            Ok(n == 1)
        })
        .await
    }

    async fn feed_owner(&self, secret_hash: Vec<u8>) -> StoreResult<Option<Uuid>> {
        self.observe(async {
            let client = self.client().await?;
            let row = client
                .query_opt(
                    "SELECT f.user_id FROM calendar_feeds f JOIN users u ON u.id = f.user_id
                     WHERE f.secret_hash = $1 AND u.disabled_at IS NULL",
                    &[&secret_hash],
                )
                .await?;
            Ok(match row {
                Some(r) => Some(r.try_get(0)?),
                None => None,
            })
        })
        .await
    }
}
