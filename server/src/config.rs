//! Server settings, from flags and `TODO_*` environment variables (see `main.rs`).

use std::path::PathBuf;
use std::time::Duration;

use crate::auth::key_sealing::KeySealing;
use crate::store::{DatabaseUrl, PostgresOptions};

#[derive(Debug, Clone)]
pub struct RateLimits {
    pub sign_ups_per_minute: u32,
    pub sign_ins_per_minute: u32,
    pub failed_sign_ins_per_account: u32,
    /// The window of the per-account failure limit.
    pub failed_sign_in_window: Duration,
    /// Switches every limit off (benchmarks on loopback).
    pub disabled: bool,
    /// Lets `disabled` serve on an address other than loopback.
    pub disabled_off_loopback: bool,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub bind: String,
    pub database: DatabaseUrl,
    /// Pool and timeouts when `database` is PostgreSQL.
    pub postgres: PostgresOptions,
    /// `None`: `http://<the address actually bound>`.
    pub issuer: Option<String>,
    /// `None`: the issuer.
    pub audience: Option<String>,
    pub access_ttl: Duration,
    pub refresh_ttl: Duration,
    /// A session ends this long after sign-in however often it is refreshed.
    pub session_lifetime: Duration,
    /// How signing keys are stored: sealed with a key-encryption key, or in the clear.
    pub key_sealing: KeySealing,
    pub limits: RateLimits,
    /// How often a running server looks for a rotated signing key.
    pub key_reload_interval: Duration,
    /// How often ended sessions, expired refresh tokens, forgotten revocations and
    /// ended rate-limit windows are cleaned up.
    pub maintenance_interval: Duration,
    /// How often sign-outs made through other servers on the same database are read.
    pub revocation_sync_interval: Duration,
    /// Reverse proxies whose `X-Forwarded-For` names the client (none by default).
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// How much change history each user keeps.
    pub event_retention: crate::tasks::EventRetention,
    pub connections: ConnectionLimits,
    /// Stop when stdin closes: lets a test harness's servers die with it.
    pub exit_on_stdin_eof: bool,
    /// Where every wall-clock reading comes from.
    pub clock: crate::clock::Clock,
    /// Issuers whose tokens are accepted besides this server's own.
    pub trusted_issuers: Vec<crate::federation::TrustedIssuer>,
}

/// Limits that keep slow and idle clients from tying the server up.
#[derive(Debug, Clone)]
pub struct ConnectionLimits {
    pub max_connections: usize,
    /// A connection with no traffic this long is closed.
    pub idle_timeout: Duration,
    /// A request line and headers not complete within this are cut off (the connection
    /// is closed); it also bounds how long a keep-alive connection waits for its next
    /// request.
    pub header_timeout: Duration,
    /// A request not answered within this (a slow body, say) gets 408.
    pub request_timeout: Duration,
}

/// `Config` with the issuer and audience settled once the address is known.
#[derive(Debug, Clone)]
pub struct ResolvedConfig {
    pub issuer: String,
    pub audience: String,
    pub access_ttl: Duration,
    pub refresh_ttl: Duration,
    pub session_lifetime: Duration,
    pub key_sealing: KeySealing,
    pub limits: RateLimits,
    pub key_reload_interval: Duration,
    pub maintenance_interval: Duration,
    pub revocation_sync_interval: Duration,
    pub trusted_proxies: Vec<ipnet::IpNet>,
    pub event_retention: crate::tasks::EventRetention,
    pub clock: crate::clock::Clock,
    pub trusted_issuers: Vec<crate::federation::TrustedIssuer>,
}

impl Config {
    pub fn resolve(&self, bound: std::net::SocketAddr) -> ResolvedConfig {
        let issuer = self.issuer.clone().unwrap_or_else(|| format!("http://{bound}"));
        ResolvedConfig {
            audience: self.audience.clone().unwrap_or_else(|| issuer.clone()),
            issuer,
            access_ttl: self.access_ttl,
            refresh_ttl: self.refresh_ttl,
            session_lifetime: self.session_lifetime,
            key_sealing: self.key_sealing.clone(),
            limits: self.limits.clone(),
            key_reload_interval: self.key_reload_interval,
            maintenance_interval: self.maintenance_interval,
            revocation_sync_interval: self.revocation_sync_interval,
            trusted_proxies: self.trusted_proxies.clone(),
            event_retention: self.event_retention,
            clock: self.clock.clone(),
            trusted_issuers: self.trusted_issuers.clone(),
        }
    }
}

/// `todo.db` in the user's data folder (`$XDG_DATA_HOME/todo` on Linux).
pub fn default_database() -> PathBuf {
    directories::ProjectDirs::from("", "", "todo")
        .map(|dirs| dirs.data_dir().join("todo.db"))
        .unwrap_or_else(|| PathBuf::from("todo.db"))
}
