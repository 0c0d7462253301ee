//! The port for calendar feeds: a secret address per feed, kept only as a hash.

use async_trait::async_trait;
use time::OffsetDateTime;
use uuid::Uuid;

use super::StoreResult;

/// A feed as stored.
#[derive(Debug, Clone)]
pub struct FeedRow {
    pub id: Uuid,
    pub name: String,
    pub created_at: OffsetDateTime,
}

#[async_trait]
pub trait FeedStorage: Send + Sync + 'static {
    /// Stores a feed of `user`'s, found by `secret_hash`, unless they hold `cap` already
    /// (`false`: nothing written); counted and written in one transaction.
    async fn insert_feed(
        &self,
        user: Uuid,
        feed: &FeedRow,
        secret_hash: Vec<u8>,
        cap: usize,
    ) -> StoreResult<bool>;
    async fn feeds(&self, user: Uuid) -> StoreResult<Vec<FeedRow>>;
    /// Deletes it (its address stops working at once); `false` when there was none.
    async fn delete_feed(&self, user: Uuid, id: Uuid) -> StoreResult<bool>;
    /// The account whose feed has this hash, while it is enabled.
    async fn feed_owner(&self, secret_hash: Vec<u8>) -> StoreResult<Option<Uuid>>;
}
