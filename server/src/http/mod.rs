//! HTTP: routes, the bearer check, and the mapping of errors to problem JSON.

// Routes return `Result<_, ProblemResponse>` as poem-openapi requires; the error is a
// whole response and is built once per failed request, so its size does not matter.
#![allow(clippy::result_large_err)]

mod access_log;
mod account_routes;
mod allow;
mod auth_routes;
pub mod bearer;
mod calendar_payload;
mod change_routes;
pub mod client_addr;
mod conditional;
mod external_path;
mod feed_routes;
mod framing;
mod headers;
pub mod idempotency;
mod json;
pub mod limits;
pub mod listener;
mod meta_routes;
mod optional_body;
pub mod problem;
mod project_routes;
mod request_headers;
mod strict;
mod task_routes;
mod token_routes;
mod two_factor_routes;

use std::sync::Arc;

use poem::middleware::CatchPanic;
use poem::{Endpoint, EndpointExt, IntoResponse, Route};
use poem_openapi::{OpenApiService, Tags};

use crate::auth::AuthService;
use crate::projects::ProjectService;
use crate::tasks::TaskService;

pub use framing::BODY_LIMIT;

#[derive(Tags)]
enum ApiTag {
    /// Accounts, tokens and sessions
    Auth,
    /// Your tasks; every route needs a bearer token for the user in the path
    Tasks,
    /// Projects shared with roles, their members and invitations
    Projects,
    /// Health and public keys
    Meta,
}

/// The services the routes call.
pub struct Services {
    pub auth: Arc<AuthService>,
    pub tasks: TaskService,
    pub projects: ProjectService,
    pub feeds: crate::feeds::FeedService,
    pub keys: idempotency::Keys,
}

/// The whole HTTP app: API, OpenAPI document, Swagger UI, middleware and error mapping.
pub fn app(
    services: Services,
    server_url: &str,
    request_timeout: std::time::Duration,
    proxies: client_addr::TrustedProxies,
) -> impl Endpoint + use<> {
    let Services {
        auth,
        tasks,
        projects,
        feeds,
        keys,
    } = services;
    let api = OpenApiService::new(
        (
            auth_routes::AuthApi {
                auth: auth.clone(),
                proxies: proxies.clone(),
            },
            account_routes::AccountApi {
                auth: auth.clone(),
                proxies: proxies.clone(),
            },
            token_routes::TokenApi {
                auth: auth.clone(),
                proxies: proxies.clone(),
            },
            two_factor_routes::TwoFactorApi {
                auth: auth.clone(),
                proxies: proxies.clone(),
            },
            task_routes::TaskApi { tasks: tasks.clone() },
            feed_routes::FeedApi {
                feeds,
                tasks: tasks.clone(),
            },
            project_routes::ProjectApi { projects, proxies },
            change_routes::ChangeApi {
                tasks,
                auth: auth.clone(),
            },
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
        // Inside the body limit, so the body it reads is already bounded.
        .around(idempotency::idempotent)
        // Before the key's path is read: an external token's own `sub` becomes our id.
        .around(external_path::own_path)
        // A dynamic call every few layers keeps the app's type shallow enough for the
        // release build's layout queries (each `around` nests its inner type twice).
        .boxed()
        .around(framing::limit_body)
        .around(request_headers::check_request_headers)
        .around(framing::check_framing)
        .boxed()
        .around(move |next, req| limits::with_deadline(next, req, request_timeout))
        .with(CatchPanic::new().with_handler(|_| problem::ProblemResponse::panicked().into_response()))
        .around(access_log::log_request)
        .boxed()
        .data(auth)
        .data(keys)
        .catch_all_error(problem::problem_from_poem_error)
        .boxed()
        // Outside the error mapping, which turns the router's 405 into a response first.
        .around(move |next, req| allow::add_allow_header(next, req, allowed.clone()))
        // Outermost, so every answer carries them, errors included.
        .around(headers::add_security_headers)
}
