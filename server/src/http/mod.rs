//! HTTP: routes, the bearer check, and the mapping of errors to problem JSON.

// Routes return `Result<_, ProblemResponse>` as poem-openapi requires; the error is a
// whole response and is built once per failed request, so its size does not matter.
#![allow(clippy::result_large_err)]

mod allow;
mod auth_routes;
pub mod bearer;
mod json;
pub mod limits;
mod meta_routes;
pub mod problem;
mod strict;
mod task_routes;

use std::sync::Arc;

use poem::middleware::{CatchPanic, Tracing};
use poem::{Endpoint, EndpointExt, IntoResponse, Request, Response, Route};
use poem_openapi::{OpenApiService, Tags};
use tokio::io::AsyncReadExt;

use crate::auth::AuthService;
use crate::tasks::TaskService;

/// Bodies larger than this are refused with 413 before they are read.
pub const BODY_LIMIT: usize = 64 * 1024;

#[derive(Tags)]
enum ApiTag {
    /// Accounts, tokens and sessions
    Auth,
    /// Your tasks; every route needs a bearer token for the user in the path
    Tasks,
    /// Health and public keys
    Meta,
}

/// The whole HTTP app: API, OpenAPI document, Swagger UI, middleware and error mapping.
pub fn app(
    auth: Arc<AuthService>,
    tasks: TaskService,
    server_url: &str,
    request_timeout: std::time::Duration,
) -> impl Endpoint + use<> {
    let api = OpenApiService::new(
        (
            auth_routes::AuthApi { auth: auth.clone() },
            task_routes::TaskApi { tasks },
            meta_routes::MetaApi { auth: auth.clone() },
        ),
        "todo",
        env!("CARGO_PKG_VERSION"),
    )
    .description(
        "A self-hosted task manager. Sign up or sign in to get an access token, press \
         Authorize, then use the task routes with your user id. Every error is RFC 9457 \
         problem JSON with a stable `code`.",
    )
    .server(server_url);
    let allowed = Arc::new(allow::AllowedMethods::from_spec(&api.spec()));
    let spec = api.spec_endpoint();
    let docs = api.swagger_ui();
    Route::new()
        .at("/openapi.json", spec)
        .nest("/docs", docs)
        .nest("/", api)
        .around(limit_body)
        .around(move |next, req| limits::with_deadline(next, req, request_timeout))
        .with(CatchPanic::new().with_handler(|_| problem::ProblemResponse::panicked().into_response()))
        .with(Tracing)
        .data(auth)
        .catch_all_error(problem::problem_from_poem_error)
        // Outside the error mapping, which turns the router's 405 into a response first.
        .around(move |next, req| allow::add_allow_header(next, req, allowed.clone()))
}

/// Refuses bodies over [`BODY_LIMIT`] with 413: at once when `Content-Length` says so,
/// and after reading at most the limit when the body is chunked. Unlike poem's
/// `SizeLimit`, a request without a body needs no `Content-Length`.
async fn limit_body<E: Endpoint>(next: E, mut req: Request) -> poem::Result<Response> {
    let too_large = || poem::Error::from_status(poem::http::StatusCode::PAYLOAD_TOO_LARGE);
    let declared = req
        .headers()
        .get(poem::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    match declared {
        Some(len) if len > BODY_LIMIT as u64 => return Err(too_large()),
        Some(_) => {}
        None if req.headers().contains_key(poem::http::header::TRANSFER_ENCODING) => {
            let mut bytes = Vec::new();
            req.take_body()
                .into_async_read()
                .take(BODY_LIMIT as u64 + 1)
                .read_to_end(&mut bytes)
                .await
                .map_err(|_| poem::Error::from_status(poem::http::StatusCode::BAD_REQUEST))?;
            if bytes.len() > BODY_LIMIT {
                return Err(too_large());
            }
            req.set_body(bytes);
        }
        None => {}
    }
    Ok(next.call(req).await?.into_response())
}
