//! Calendar feeds: a secret address per feed (`/feeds/<secret>.ics`) that a calendar app
//! subscribes to, since it cannot send a header. Read-only, kept only as a hash, listed
//! and revoked like personal tokens, and dead with the account (disabled or deleted).

use std::sync::Arc;

use rand::Rng;
use rand::distributions::Alphanumeric;
use sha2::{Digest, Sha256};
use todo_api::limits::{FEEDS_PER_USER, TOKEN_NAME_MAX};
use todo_api::{CreatedFeed, Feed};
use uuid::Uuid;

use crate::clock::Clock;
use crate::domain::tasks::Owner;
use crate::store::{FeedRow, FeedStorage, StoreError};
use crate::tasks::{TaskError, TaskService};

/// What a feed's secret starts with, so a secret scanner can tell what it found.
const PREFIX: &str = "todo_feed_";
const SECRET_CHARS: usize = 43;

#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    #[error("name must be 1 to {TOKEN_NAME_MAX} characters of one line")]
    InvalidName,
    #[error("an account holds at most {FEEDS_PER_USER} calendar feeds")]
    LimitReached,
    #[error("no such calendar feed")]
    NotFound,
    #[error(transparent)]
    Tasks(#[from] TaskError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Clone)]
pub struct FeedService {
    db: Arc<dyn FeedStorage>,
    tasks: TaskService,
    clock: Clock,
}

fn hash(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

fn listed(row: FeedRow) -> Feed {
    Feed {
        id: row.id,
        name: row.name,
        created_at: row.created_at,
    }
}

impl FeedService {
    pub fn new(db: Arc<dyn FeedStorage>, tasks: TaskService, clock: Clock) -> Self {
        FeedService { db, tasks, clock }
    }

    /// Makes a feed for `user`; its address is in the answer, this once.
    pub async fn create(&self, user: Uuid, name: String) -> Result<CreatedFeed, FeedError> {
        let name = name.trim().to_string();
        let length = name.chars().count();
        if length == 0 || length > TOKEN_NAME_MAX || todo_api::text::forbidden_in_line(&name).is_some() {
            return Err(FeedError::InvalidName);
        }
        let secret: String = rand::rngs::OsRng
            .sample_iter(&Alphanumeric)
            .take(SECRET_CHARS)
            .map(char::from)
            .collect();
        let secret = format!("{PREFIX}{secret}");
        let row = FeedRow {
            id: Uuid::new_v4(),
            name,
            created_at: self.clock.now(),
        };
        if !self
            .db
            .insert_feed(user, &row, hash(&secret), FEEDS_PER_USER)
            .await?
        {
            return Err(FeedError::LimitReached);
        }
        Ok(CreatedFeed {
            id: row.id,
            name: row.name,
            created_at: row.created_at,
            path: format!("/feeds/{secret}.ics"),
        })
    }

    pub async fn list(&self, user: Uuid) -> Result<Vec<Feed>, FeedError> {
        Ok(self.db.feeds(user).await?.into_iter().map(listed).collect())
    }

    pub async fn revoke(&self, user: Uuid, id: Uuid) -> Result<(), FeedError> {
        match self.db.delete_feed(user, id).await? {
            true => Ok(()),
            false => Err(FeedError::NotFound),
        }
    }

    /// The calendar behind a feed's file name (`<secret>.ics`); `NotFound` for anything
    /// but a live feed of an enabled account (a malformed name is not looked up).
    pub async fn calendar(&self, file: &str) -> Result<String, FeedError> {
        let secret = file.strip_suffix(".ics").ok_or(FeedError::NotFound)?;
        let well_formed = secret
            .strip_prefix(PREFIX)
            .is_some_and(|s| s.len() == SECRET_CHARS && s.bytes().all(|b| b.is_ascii_alphanumeric()));
        if !well_formed {
            return Err(FeedError::NotFound);
        }
        let user = self
            .db
            .feed_owner(hash(secret))
            .await?
            .ok_or(FeedError::NotFound)?;
        Ok(self.tasks.calendar(Owner::of_credential(user)).await?)
    }
}
