//! Checks on a request's framing before any route sees it: a `Host` header as RFC 9112
//! requires, a transfer coding this server can decode, and a body cut at the limit while
//! it is read.

use poem::http::header::{CONTENT_LENGTH, HOST, TRANSFER_ENCODING};
use poem::http::{StatusCode, Version};
use poem::{Endpoint, IntoResponse, Request, Response};
use tokio::io::AsyncReadExt;

use todo_api::ProblemCode;

use super::problem::generic;

/// Bodies larger than this are refused with 413, never buffered past it.
pub const BODY_LIMIT: usize = todo_api::limits::BODY_MAX_BYTES;

/// Refuses a request with no `Host` or with several (400, RFC 9112 section 3.2), and a
/// `Transfer-Encoding` other than plain `chunked` (501): a body in a coding we would not
/// decode must not reach a route as if it were JSON.
pub async fn check_framing<E: Endpoint>(next: E, req: Request) -> poem::Result<Response> {
    let hosts = req.headers().get_all(HOST).iter().count();
    let host_required = req.version() == Version::HTTP_11;
    if hosts > 1 || (host_required && hosts == 0) {
        return Ok(generic(
            StatusCode::BAD_REQUEST,
            ProblemCode::BadRequest,
            "an HTTP/1.1 request needs exactly one Host header",
        ));
    }
    // No allocation on the hot path: most requests have no Transfer-Encoding at all.
    let mut codings = req.headers().get_all(TRANSFER_ENCODING).iter();
    let refused = match (codings.next(), codings.next()) {
        (None, _) => false,
        (Some(only), None) => !only.as_bytes().trim_ascii().eq_ignore_ascii_case(b"chunked"),
        (Some(_), Some(_)) => true,
    };
    if refused {
        return Ok(generic(
            StatusCode::NOT_IMPLEMENTED,
            ProblemCode::UnsupportedTransferEncoding,
            "only `Transfer-Encoding: chunked` is supported",
        ));
    }
    Ok(next.call(req).await?.into_response())
}

/// Refuses bodies over [`BODY_LIMIT`] with 413: at once when `Content-Length` says so
/// (the connection enforces that length), and otherwise after reading at most the limit
/// plus one byte. Only an HTTP/1 request with neither header has no body to read; any
/// other framing (chunked, or a protocol where the length is optional) is read capped.
pub async fn limit_body<E: Endpoint>(next: E, mut req: Request) -> poem::Result<Response> {
    let too_large = || poem::Error::from_status(StatusCode::PAYLOAD_TOO_LARGE);
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let http1 = matches!(
        req.version(),
        Version::HTTP_10 | Version::HTTP_11 | Version::HTTP_09
    );
    match declared {
        Some(len) if len > BODY_LIMIT as u64 => return Err(too_large()),
        Some(_) => {}
        None if http1 && !req.headers().contains_key(TRANSFER_ENCODING) => {}
        None => {
            let mut bytes = Vec::new();
            req.take_body()
                .into_async_read()
                .take(BODY_LIMIT as u64 + 1)
                .read_to_end(&mut bytes)
                .await
                .map_err(|_| poem::Error::from_status(StatusCode::BAD_REQUEST))?;
            if bytes.len() > BODY_LIMIT {
                return Err(too_large());
            }
            req.set_body(bytes);
        }
    }
    Ok(next.call(req).await?.into_response())
}
