//! Calendar feeds: addresses a calendar app can subscribe to without sending a header.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

/// Body of `POST /api/auth/feeds`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct FeedRequest {
    /// What it is for ("phone"), 1 to 100 characters.
    pub name: String,
}

/// A calendar feed as listed (its address is shown once, at creation).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct Feed {
    pub id: Uuid,
    pub name: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// A new calendar feed, with its address: anyone who has it reads your tasks with a due
/// date (read-only) until you revoke it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct CreatedFeed {
    pub id: Uuid,
    pub name: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// The feed's path on this server, `/feeds/<secret>.ics`: subscribe to the server's
    /// address followed by it.
    pub path: String,
}
