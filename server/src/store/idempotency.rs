//! The port for `Idempotency-Key`: a write's first answer, kept per user and key for a
//! day and claimed in the database, so a retry on any server gets that answer instead of
//! a second write.

use async_trait::async_trait;
use time::OffsetDateTime;
use uuid::Uuid;

use super::StoreResult;

/// An answer as kept for a retry: status, the headers that matter, body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAnswer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// What claiming a key found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyClaim {
    /// Nobody had it (or a claim was left by a request that died): run the request.
    Claimed,
    /// Answered before, for the same request: send this again.
    Answered(StoredAnswer),
    /// A request with this key is still running.
    InProgress,
    /// The key was used for another request (another method, path or body).
    Reused,
}

impl KeyClaim {
    /// What a key already claimed means for `request`: the kept answer (`answer`, once
    /// there is one) for the same request, or why not. One rule for every backend.
    pub fn of_existing(request: &[u8], claimed_for: &[u8], answer: Option<StoredAnswer>) -> KeyClaim {
        match answer {
            _ if claimed_for != request => KeyClaim::Reused,
            None => KeyClaim::InProgress,
            Some(answer) => KeyClaim::Answered(answer),
        }
    }
}

#[async_trait]
pub trait IdempotencyStorage: Send + Sync + 'static {
    /// Claims `key` of `user` for the request hashed `request`, in one statement: a
    /// running claim older than `stale_before` is taken over; an expired answer is
    /// forgotten.
    async fn claim_key(
        &self,
        user: Uuid,
        key: &str,
        request: Vec<u8>,
        now: OffsetDateTime,
        stale_before: OffsetDateTime,
    ) -> StoreResult<KeyClaim>;
    /// Keeps the answer of the claimed request until `expires`.
    async fn answer_key(
        &self,
        user: Uuid,
        key: &str,
        answer: StoredAnswer,
        expires: OffsetDateTime,
    ) -> StoreResult<()>;
    /// Lets the key go (the request failed on the server's side: a retry runs it again).
    async fn release_key(&self, user: Uuid, key: &str) -> StoreResult<()>;
    /// Deletes at most `batch` answers past their day; how many went.
    async fn delete_expired_keys(&self, now: OffsetDateTime, batch: u32) -> StoreResult<usize>;
}

/// Headers as stored: a JSON list of pairs.
pub(crate) fn headers_to_text(headers: &[(String, String)]) -> String {
    serde_json::to_string(headers).unwrap_or_else(|_| "[]".into())
}

pub(crate) fn headers_from_text(text: &str) -> Vec<(String, String)> {
    serde_json::from_str(text).unwrap_or_default()
}
