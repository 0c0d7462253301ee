//! One log line per request, at debug level: method, path, status and time. Never the
//! query, headers, body or an error's text, so no token, password or other value a
//! client sent reaches the log at any level (poem's own `Tracing` logs error texts,
//! which quote what failed to parse).

use std::time::Instant;

use poem::{Endpoint, IntoResponse, Request, Response};

pub async fn log_request<E: Endpoint>(next: E, req: Request) -> poem::Result<Response> {
    // Off (the default level): no copy of the path, no clock read, per request.
    if !tracing::enabled!(tracing::Level::DEBUG) {
        return next.call(req).await.map(IntoResponse::into_response);
    }
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let started = Instant::now();
    let result = next.call(req).await.map(IntoResponse::into_response);
    let status = match &result {
        Ok(response) => response.status(),
        Err(e) => e.status(),
    };
    tracing::debug!(
        %method,
        %path,
        status = status.as_u16(),
        micros = started.elapsed().as_micros() as u64,
        "request"
    );
    result
}
