//! The feed port on SQLite: the `calendar_feeds` table.

use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};
use uuid::Uuid;

use super::{Db, from_micros, parse_uuid, to_micros};
use crate::store::{FeedRow, FeedStorage, StoreResult};

#[async_trait]
impl FeedStorage for Db {
    async fn insert_feed(
        &self,
        user: Uuid,
        feed: &FeedRow,
        secret_hash: Vec<u8>,
        cap: usize,
    ) -> StoreResult<bool> {
        let feed = feed.clone();
        self.write(move |tx| {
            let n = tx
                .prepare_cached(
                    "INSERT INTO calendar_feeds (id, user_id, name, secret_hash, created_at)
                     SELECT ?1, ?2, ?3, ?4, ?5
                     WHERE (SELECT COUNT(*) FROM calendar_feeds WHERE user_id = ?2) < ?6
                       AND EXISTS (SELECT 1 FROM users WHERE id = ?2 AND disabled_at IS NULL)",
                )?
                .execute(params![
                    feed.id.to_string(),
                    user.to_string(),
                    feed.name,
                    secret_hash,
                    to_micros(feed.created_at),
                    cap as i64
                ])?;
            Ok(n == 1)
        })
        .await
    }

    async fn feeds(&self, user: Uuid) -> StoreResult<Vec<FeedRow>> {
        self.read(move |c| {
            c.prepare_cached(
                "SELECT id, name, created_at FROM calendar_feeds WHERE user_id = ?1 ORDER BY created_at, id",
            )?
            .query_map([user.to_string()], |r| {
                Ok(FeedRow {
                    id: parse_uuid(r.get(0)?)?,
                    name: r.get(1)?,
                    created_at: from_micros(r.get(2)?)?,
                })
            })?
            .collect()
        })
        .await
    }

    async fn delete_feed(&self, user: Uuid, id: Uuid) -> StoreResult<bool> {
        self.write(move |tx| {
            let n = tx
                .prepare_cached("DELETE FROM calendar_feeds WHERE id = ?1 AND user_id = ?2")?
                .execute(params![id.to_string(), user.to_string()])?;
            Ok(n == 1)
        })
        .await
    }

    async fn feed_owner(&self, secret_hash: Vec<u8>) -> StoreResult<Option<Uuid>> {
        self.read(move |c| {
            c.prepare_cached(
                "SELECT f.user_id FROM calendar_feeds f JOIN users u ON u.id = f.user_id
                 WHERE f.secret_hash = ?1 AND u.disabled_at IS NULL",
            )?
            .query_row([secret_hash], |r| parse_uuid(r.get(0)?))
            .optional()
        })
        .await
    }
}
