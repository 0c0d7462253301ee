//! The todo server as a library: `main.rs`, the tests and the benchmarks all build the
//! app through [`serve`] or [`build_app`].
//!
//! Layout: `http/` (routes, bearer check, problem JSON), `auth/` and `tasks/` (the
//! domain), `store/` (the storage interface, with SQLite and PostgreSQL backends).

pub mod auth;
pub mod background;
pub mod clock;
pub mod commands;
pub mod config;
pub mod domain;
pub mod federation;
pub mod feeds;
pub mod http;
pub mod projects;
pub mod store;
pub mod tasks;
pub mod workers;

use std::sync::Arc;

use poem::Endpoint;

use crate::auth::{AuthError, AuthMaintenance, AuthService};
use crate::config::{Config, ResolvedConfig};
use crate::projects::ProjectService;
use crate::store::{Store, StoreError};
use crate::tasks::{TaskMaintenance, TaskService, TaskTimers};

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("cannot open the database")]
    Store(#[from] StoreError),
    #[error("cannot start")]
    Auth(#[from] AuthError),
    #[error("cannot listen on {addr}")]
    Bind {
        addr: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "--no-rate-limit switches off every limit on sign-in and sign-up: it serves only on loopback, not {addr} (add --no-rate-limit-anywhere to force it)"
    )]
    LimitsOffBeyondLoopback { addr: std::net::SocketAddr },
    #[error("server failed")]
    Io(#[from] std::io::Error),
}

/// An error and every cause under it, on one line: "cannot open the database: ...".
pub fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut chain = error.to_string();
    let mut cause = error.source();
    while let Some(e) = cause {
        chain.push_str(": ");
        chain.push_str(&e.to_string());
        cause = e.source();
    }
    chain
}

/// How often due reminders and wake-ups are looked for.
const TIMER_TICK: std::time::Duration = std::time::Duration::from_secs(1);

/// Builds the app on an open database: the services (whose start-up steps run here,
/// before any request), then the background steps, each at its interval until
/// `shutdown`.
pub async fn build_app(
    db: Store,
    config: &ResolvedConfig,
    request_timeout: std::time::Duration,
    shutdown: background::Shutdown,
) -> Result<impl Endpoint + use<>, ServerError> {
    use background::every;
    let auth = Arc::new(AuthService::new(db.clone(), config).await?);
    let tasks = TaskService::new(
        db.clone(),
        db.clone(),
        config.event_retention,
        config.clock.clone(),
    );
    let storage = db.clone();
    let projects = ProjectService::new(db, auth.activity_log(), config.clock.clone());
    every(
        "key reload",
        config.key_reload_interval,
        shutdown.clone(),
        auth.key_reload(),
    );
    every(
        "revocation sync",
        config.revocation_sync_interval,
        shutdown.clone(),
        auth.clone().revocation_sync(),
    );
    let maintenance = config.maintenance_interval;
    every(
        "account clean-up",
        maintenance,
        shutdown.clone(),
        AuthMaintenance(auth.clone()),
    );
    every(
        "event clean-up",
        maintenance,
        shutdown.clone(),
        TaskMaintenance(tasks.clone()),
    );
    let shutdown_keys = shutdown.clone();
    // Reminders and wake-ups: what came due while the server was down goes out at once,
    // then each within a tick of its moment (claimed in the database, so once however
    // many servers run).
    if let Err(e) = tasks.fire_timers().await {
        tracing::warn!(error = %error_chain(&e), "reminders due while the server was down: will retry");
    }
    every("reminders", TIMER_TICK, shutdown, TaskTimers(tasks.clone()));
    let feeds = feeds::FeedService::new(storage.clone(), tasks.clone(), config.clock.clone());
    let keys = http::idempotency::Keys {
        store: storage,
        clock: config.clock.clone(),
    };
    every(
        "idempotency key clean-up",
        maintenance,
        shutdown_keys,
        http::idempotency::KeyMaintenance(keys.clone()),
    );
    let services = http::Services {
        auth,
        tasks,
        projects,
        feeds,
        keys,
    };
    Ok(http::app(
        services,
        &config.issuer,
        request_timeout,
        http::client_addr::TrustedProxies::new(config.trusted_proxies.clone()),
    ))
}

/// Opens the database, binds, prints the address and serves until SIGINT or SIGTERM.
pub async fn serve(config: Config) -> Result<(), ServerError> {
    let db = store::open(&config.database, &config.postgres).await?;
    let bind_err = |source| ServerError::Bind {
        addr: config.bind.clone(),
        source,
    };
    let listener = tokio::net::TcpListener::bind(config.bind.as_str())
        .await
        .map_err(bind_err)?;
    let bound = listener.local_addr().map_err(bind_err)?;
    if config.limits.disabled {
        if !bound.ip().is_loopback() && !config.limits.disabled_off_loopback {
            return Err(ServerError::LimitsOffBeyondLoopback { addr: bound });
        }
        tracing::warn!(
            "every rate limit is OFF (--no-rate-limit): password guessing and sign-up floods are not limited; for benchmarks on loopback only"
        );
    }
    let resolved = config.resolve(bound);
    let limits = &config.connections;
    let (stop_background, background_shutdown) = background::shutdown();
    let app = build_app(db, &resolved, limits.request_timeout, background_shutdown).await?;
    tracing::info!(database = %config.database, issuer = %resolved.issuer, "todo-server ready");
    // The one line on stdout: scripts and tests read the address from it.
    println!("listening on http://{bound}");
    // Boxed: the middleware stack is a deeply nested type, too deep for the compiler to
    // lay out again inside every connection future of a release build.
    let app = poem::EndpointExt::boxed(app);
    http::listener::serve(listener, app, limits, shutdown_signal(config.exit_on_stdin_eof)).await?;
    stop_background.fire();
    tracing::info!("todo-server stopped");
    Ok(())
}

/// Resolves at EOF on stdin (only when asked for; otherwise never).
async fn stdin_closed(watch: bool) {
    use tokio::io::AsyncReadExt;
    if !watch {
        return std::future::pending().await;
    }
    let mut stdin = tokio::io::stdin();
    let mut buf = [0u8; 64];
    while matches!(stdin.read(&mut buf).await, Ok(n) if n > 0) {}
}

async fn shutdown_signal(exit_on_stdin_eof: bool) {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
        () = stdin_closed(exit_on_stdin_eof) => {},
    }
    tracing::info!("shutting down");
}
