use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use todo_server::auth::key_sealing::{KeyEncryptionKey, KeySealing};
use todo_server::config::{Config, ConnectionLimits, RateLimits, default_database};
use todo_server::store::{DatabaseUrl, PostgresOptions};

mod config_file;

/// The todo server: accounts, EdDSA access tokens and per-user tasks over SQLite.
///
/// Example: todo-server --bind 127.0.0.1:8000 --database ./todo.db
#[derive(Parser)]
#[command(version, about, long_about = None, args_override_self = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(Args)]
struct KeyEncryptionArgs {
    /// File (mode 0600) holding a base64 key-encryption key of 32 bytes: signing keys
    /// are then stored encrypted, so a copy of the database cannot forge tokens.
    /// Create one with `head -c 32 /dev/urandom | base64 > kek && chmod 600 kek`
    #[arg(long, env = "TODO_KEY_ENCRYPTION_KEY_FILE", global = true)]
    key_encryption_key_file: Option<PathBuf>,
}

impl KeyEncryptionArgs {
    /// The file, else `TODO_KEY_ENCRYPTION_KEY` (base64), else keys in the clear.
    fn sealing(&self) -> Result<KeySealing, String> {
        let kek = match (
            &self.key_encryption_key_file,
            std::env::var("TODO_KEY_ENCRYPTION_KEY"),
        ) {
            (Some(path), _) => KeyEncryptionKey::from_file(path),
            (None, Ok(text)) => KeyEncryptionKey::from_base64(&text),
            (None, Err(_)) => return Ok(KeySealing::Clear),
        };
        kek.map(KeySealing::Sealed).map_err(|e| e.to_string())
    }
}

#[derive(Args)]
struct ClockArg {
    /// For tests: the system time moved by the seconds written in this file, read again
    /// as it changes (a test moves the server's time instead of waiting)
    #[arg(long, global = true, hide = true)]
    test_clock_file: Option<PathBuf>,
}

impl ClockArg {
    fn clock(&self) -> todo_server::clock::Clock {
        match &self.test_clock_file {
            Some(path) => {
                tracing::warn!(file = %path.display(), "the clock is moved by a test file (--test-clock-file)");
                todo_server::clock::Clock::offset_by_file(path.clone())
            }
            None => todo_server::clock::Clock::system(),
        }
    }
}

#[derive(Args)]
struct DatabaseArg {
    /// A SQLite file (a path or sqlite://path; created with its folder (0700) and mode
    /// 0600), or a PostgreSQL URL (postgres://user:password@host/db?sslmode=require) for
    /// several servers on one database [default: todo.db in the user's data folder]
    #[arg(long, env = "TODO_DATABASE", global = true)]
    database: Option<String>,
    /// PostgreSQL connections per server
    #[arg(long, env = "TODO_PG_POOL_SIZE", default_value_t = 16, global = true)]
    pg_pool_size: usize,
    /// PostgreSQL statements running longer are cancelled (the request gets 503)
    #[arg(long, env = "TODO_PG_STATEMENT_TIMEOUT", default_value = "5s", value_parser = humantime::parse_duration, global = true)]
    pg_statement_timeout: Duration,
    /// How long a request waits for a PostgreSQL connection before 503
    #[arg(long, env = "TODO_PG_CONNECT_TIMEOUT", default_value = "5s", value_parser = humantime::parse_duration, global = true)]
    pg_connect_timeout: Duration,
    /// CA certificates (PEM) to trust for PostgreSQL's TLS certificate, besides the
    /// system's (with sslmode=require, or the default prefer)
    #[arg(long, env = "TODO_PG_CA_FILE", global = true)]
    pg_ca_file: Option<PathBuf>,
}

impl DatabaseArg {
    fn url(&self) -> Result<DatabaseUrl, String> {
        match &self.database {
            Some(text) => text.parse().map_err(|e| todo_server::error_chain(&e)),
            None => Ok(DatabaseUrl::Sqlite(default_database())),
        }
    }

    /// The database an admin command works on: it must exist already (a mistyped path
    /// would otherwise be created, empty, and the command would act on nothing).
    fn existing_url(&self) -> Result<DatabaseUrl, String> {
        let url = self.url()?;
        if let DatabaseUrl::Sqlite(path) = &url
            && !path.exists()
        {
            return Err(format!(
                "no database at {} (give --database, or start the server once to create it)",
                path.display()
            ));
        }
        Ok(url)
    }

    fn postgres(&self) -> PostgresOptions {
        PostgresOptions {
            pool_size: self.pg_pool_size.max(1),
            statement_timeout: self.pg_statement_timeout,
            connect_timeout: self.pg_connect_timeout,
            ca_file: self.pg_ca_file.clone(),
        }
    }
}

#[derive(Args)]
struct ServeArgs {
    /// A TOML file in which any flag may stand (its name with `_` for `-`; flags and
    /// environment variables win), and any number of `[[trusted_issuer]]` tables
    #[arg(long, env = "TODO_CONFIG")]
    config: Option<PathBuf>,
    /// Address to listen on; port 0 picks a free port (printed on stdout)
    #[arg(long, env = "TODO_BIND", default_value = "127.0.0.1:8000")]
    bind: String,
    #[command(flatten)]
    database: DatabaseArg,
    #[command(flatten)]
    key_encryption: KeyEncryptionArgs,
    #[command(flatten)]
    clock: ClockArg,
    /// Token issuer (`iss`) [default: http://<bound address>]
    #[arg(long, env = "TODO_ISSUER")]
    issuer: Option<String>,
    /// Token audience (`aud`) [default: the issuer]
    #[arg(long, env = "TODO_AUDIENCE")]
    audience: Option<String>,
    /// Lifetime of access tokens, e.g. 15m, 30s, 1h
    #[arg(long, env = "TODO_ACCESS_TTL", default_value = "15m", value_parser = humantime::parse_duration)]
    access_ttl: Duration,
    /// Idle lifetime of a session's refresh token, e.g. 7d
    #[arg(long, env = "TODO_REFRESH_TTL", default_value = "7d", value_parser = humantime::parse_duration)]
    refresh_ttl: Duration,
    /// Absolute lifetime of a session: it ends this long after sign-in, however often
    /// it is refreshed
    #[arg(long, env = "TODO_SESSION_LIFETIME", default_value = "30d", value_parser = humantime::parse_duration)]
    session_lifetime: Duration,
    /// Sign-ups allowed per client address per minute (0: no limit)
    #[arg(long, env = "TODO_SIGNUP_LIMIT", default_value_t = 10)]
    signup_limit: u32,
    /// Sign-in attempts allowed per client address per minute (0: no limit)
    #[arg(long, env = "TODO_SIGNIN_LIMIT", default_value_t = 30)]
    signin_limit: u32,
    /// Failed sign-ins allowed per account per 15 minutes (0: no limit)
    #[arg(long, env = "TODO_FAILED_SIGNIN_LIMIT", default_value_t = 5)]
    failed_signin_limit: u32,
    /// How long the per-account failed sign-in window lasts
    #[arg(long, env = "TODO_FAILED_SIGNIN_WINDOW", default_value = "15m", value_parser = humantime::parse_duration)]
    failed_signin_window: Duration,
    /// Reverse proxies (CIDR, comma-separated) whose X-Forwarded-For names the client for
    /// rate limits; from any other peer the header is ignored
    #[arg(long, env = "TODO_TRUSTED_PROXY", value_delimiter = ',', num_args = 1..)]
    trusted_proxy: Vec<ipnet::IpNet>,
    /// Switch every rate limit off (for benchmarks on loopback only: refused on any other
    /// address)
    #[arg(long, env = "TODO_NO_RATE_LIMIT")]
    no_rate_limit: bool,
    /// Allow --no-rate-limit on an address other than loopback
    #[arg(long, requires = "no_rate_limit", hide = true)]
    no_rate_limit_anywhere: bool,
    /// Most connections open at once; more wait in the listen backlog
    #[arg(long, env = "TODO_MAX_CONNECTIONS", default_value_t = 1024)]
    max_connections: usize,
    /// Close a connection with no traffic for this long
    #[arg(long, env = "TODO_IDLE_TIMEOUT", default_value = "60s", value_parser = humantime::parse_duration)]
    idle_timeout: Duration,
    /// Close a connection whose request line and headers are not complete within this
    /// (also how long a keep-alive connection waits for its next request)
    #[arg(long, env = "TODO_HEADER_TIMEOUT", default_value = "10s", value_parser = humantime::parse_duration)]
    header_timeout: Duration,
    /// Answer 408 to a request not complete and answered within this long
    #[arg(long, env = "TODO_REQUEST_TIMEOUT", default_value = "30s", value_parser = humantime::parse_duration)]
    request_timeout: Duration,
    /// Stop when stdin closes (test harnesses use it so no server outlives them)
    #[arg(long, hide = true)]
    exit_with_stdin: bool,
    /// How often to look for a key started by `keys rotate`
    #[arg(long, env = "TODO_KEY_RELOAD", default_value = "2s", value_parser = humantime::parse_duration, hide = true)]
    key_reload: Duration,
    /// How often expired sessions, refresh tokens and limit windows are cleaned up
    #[arg(long, env = "TODO_MAINTENANCE_INTERVAL", default_value = "60s", value_parser = humantime::parse_duration, hide = true)]
    maintenance_interval: Duration,
    /// Events kept per user at least (older ones go once past --events-kept-for too)
    #[arg(long, env = "TODO_EVENTS_KEPT", default_value_t = todo_api::limits::EVENTS_KEPT, hide = true)]
    events_kept: i64,
    /// Events younger than this are kept whatever their number
    #[arg(long, env = "TODO_EVENTS_KEPT_FOR", default_value = "7d", value_parser = humantime::parse_duration, hide = true)]
    events_kept_for: Duration,
    /// How often an open event stream sends a heartbeat comment
    #[arg(long, env = "TODO_STREAM_HEARTBEAT", default_value = "15s", value_parser = humantime::parse_duration, hide = true)]
    stream_heartbeat: Duration,
    /// How often sign-outs made through other servers on the same database are read
    #[arg(long, env = "TODO_REVOCATION_SYNC", default_value = "500ms", value_parser = humantime::parse_duration, hide = true)]
    revocation_sync: Duration,
    /// From the config file's `[[trusted_issuer]]` tables.
    #[arg(skip)]
    trusted_issuers: Vec<todo_server::federation::TrustedIssuer>,
}

#[derive(Subcommand)]
enum Command {
    /// Manage signing keys
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Manage accounts: list, show, disable, enable, delete, reset a password
    Users {
        #[command(subcommand)]
        command: todo_server::commands::UsersCommand,
    },
    /// Copy this SQLite database (--database) into an empty PostgreSQL database: users,
    /// sessions, refresh tokens, signing keys, projects, tasks and their history, in one
    /// transaction. Stop the
    /// server first; then start servers with --database set to the URL.
    ///
    /// Example: todo-server migrate-to postgres://todo@db.internal/todo --database ./todo.db
    MigrateTo {
        /// The PostgreSQL URL to copy into
        url: String,
    },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Start a new signing key; a running server signs with it within seconds, and the
    /// old key keeps verifying until its tokens expire.
    ///
    /// Example: todo-server keys rotate --database ./todo.db
    Rotate,
}

fn main() -> ExitCode {
    // Every file this process creates (the database, its WAL and shared memory, any
    // temporary file) is owner-only, whatever umask it was started with.
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,poem=warn"));
    // The PostgreSQL driver logs every statement's parameters at debug level (emails,
    // password hashes, token hashes) and the server's notices at info: never below
    // warn, whatever RUST_LOG asks.
    let filter = match "tokio_postgres=warn".parse() {
        Ok(cap) => filter.add_directive(cap),
        Err(_) => filter,
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    let (args, issuers) = match config_file::arguments() {
        Ok(found) => found,
        Err(message) => {
            eprintln!("todo-server: {message}");
            return ExitCode::FAILURE;
        }
    };
    let mut cli = Cli::parse_from(args);
    cli.serve.trusted_issuers = issuers;
    let result = match cli.command {
        Some(Command::Keys {
            command: KeysCommand::Rotate,
        }) => rotate_keys(&cli.serve.database, &cli.serve.key_encryption, &cli.serve.clock),
        Some(Command::MigrateTo { url }) => migrate_to(&cli.serve.database, &url),
        Some(Command::Users { command }) => users(&cli.serve.database, &cli.serve.clock, command),
        None => run_server(cli.serve),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("todo-server: {message}");
            ExitCode::FAILURE
        }
    }
}

fn rotate_keys(database: &DatabaseArg, kek: &KeyEncryptionArgs, clock: &ClockArg) -> Result<(), String> {
    let sealing = kek.sealing()?;
    // Makes the database when there is none: a key can be made before the first start.
    let url = database.url()?;
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    let kid = runtime.block_on(async {
        let db = todo_server::store::open(&url, &database.postgres())
            .await
            .map_err(|e| todo_server::error_chain(&e))?;
        todo_server::auth::keys::rotate(db.as_ref(), &sealing, &clock.clock())
            .await
            .map_err(|e| todo_server::error_chain(&e))
    })?;
    println!("new signing key {kid}");
    Ok(())
}

fn users(
    database: &DatabaseArg,
    clock: &ClockArg,
    command: todo_server::commands::UsersCommand,
) -> Result<(), String> {
    let url = database.existing_url()?;
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    let printed = runtime.block_on(async {
        let db = todo_server::store::open(&url, &database.postgres())
            .await
            .map_err(|e| todo_server::error_chain(&e))?;
        todo_server::commands::run_users(db, clock.clock(), command)
            .await
            .map_err(|e| todo_server::error_chain(&e))
    })?;
    println!("{printed}");
    Ok(())
}

fn migrate_to(database: &DatabaseArg, target: &str) -> Result<(), String> {
    let DatabaseUrl::Sqlite(source) = database.existing_url()? else {
        return Err("--database must name the SQLite file to copy from".into());
    };
    let target_url: DatabaseUrl = target.parse().map_err(|e| todo_server::error_chain(&e))?;
    if !matches!(target_url, DatabaseUrl::Postgres(_)) {
        return Err("migrate-to copies into PostgreSQL: give a postgres:// URL".into());
    }
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    let copied = runtime
        .block_on(todo_server::store::copy_sqlite_to_postgres(
            &source,
            target,
            &database.postgres(),
        ))
        .map_err(|e| todo_server::error_chain(&e))?;
    println!(
        "copied {} users, {} sessions, {} refresh tokens, {} signing keys, {} projects, {} tasks, {} task events and {} activity entries from {} into {target_url}",
        copied.users,
        copied.sessions,
        copied.refresh_tokens,
        copied.keys,
        copied.projects,
        copied.tasks,
        copied.events,
        copied.activity,
        source.display()
    );
    Ok(())
}

fn run_server(args: ServeArgs) -> Result<(), String> {
    let key_sealing = args.key_encryption.sealing()?;
    let config = Config {
        key_sealing,
        bind: args.bind,
        database: args.database.url()?,
        postgres: args.database.postgres(),
        issuer: args.issuer,
        audience: args.audience,
        access_ttl: args.access_ttl,
        refresh_ttl: args.refresh_ttl,
        session_lifetime: args.session_lifetime,
        limits: RateLimits {
            sign_ups_per_minute: args.signup_limit,
            sign_ins_per_minute: args.signin_limit,
            failed_sign_ins_per_account: args.failed_signin_limit,
            failed_sign_in_window: args.failed_signin_window,
            disabled: args.no_rate_limit,
            disabled_off_loopback: args.no_rate_limit_anywhere,
        },
        key_reload_interval: args.key_reload,
        maintenance_interval: args.maintenance_interval,
        revocation_sync_interval: args.revocation_sync,
        trusted_proxies: args.trusted_proxy,
        event_retention: todo_server::tasks::EventRetention {
            count: args.events_kept,
            age: args.events_kept_for,
            heartbeat: args.stream_heartbeat,
        },
        exit_on_stdin_eof: args.exit_with_stdin,
        connections: ConnectionLimits {
            max_connections: args.max_connections,
            idle_timeout: args.idle_timeout,
            header_timeout: args.header_timeout,
            request_timeout: args.request_timeout,
        },
        clock: args.clock.clock(),
        trusted_issuers: args.trusted_issuers,
    };
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    runtime
        .block_on(todo_server::serve(config))
        .map_err(|e| todo_server::error_chain(&e))
}
