//! HTTP: routes, the bearer check, and the mapping of errors to problem JSON.

mod auth_routes;
pub mod bearer;
mod meta_routes;
pub mod problem;
mod task_routes;

use std::sync::Arc;

use poem::middleware::{SizeLimit, Tracing};
use poem::{Endpoint, EndpointExt, Route};
use poem_openapi::{OpenApiService, Tags};

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
pub fn app(auth: Arc<AuthService>, tasks: TaskService, server_url: &str) -> impl Endpoint + use<> {
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
    let spec = api.spec_endpoint();
    let docs = api.swagger_ui();
    Route::new()
        .at("/openapi.json", spec)
        .nest("/docs", docs)
        .nest("/", api)
        .with(SizeLimit::new(BODY_LIMIT))
        .with(Tracing)
        .data(auth)
        .catch_all_error(problem::problem_from_poem_error)
}
