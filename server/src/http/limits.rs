//! A deadline per request. The connection-level limits (count, header time, silence)
//! are in `listener.rs`.

use std::time::Duration;

use poem::{Endpoint, IntoResponse, Request, Response};

use super::problem::ProblemResponse;

/// Ends a request that takes longer than `limit` (a body sent byte by byte, say) with 408.
pub async fn with_deadline<E: Endpoint>(next: E, req: Request, limit: Duration) -> poem::Result<Response> {
    match tokio::time::timeout(limit, next.call(req)).await {
        Ok(result) => Ok(result?.into_response()),
        Err(_) => Ok(ProblemResponse::request_timeout().into_response()),
    }
}
