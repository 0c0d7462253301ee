//! Where the data lives: `--database` is a SQLite file (a path or `sqlite://path`) or a
//! PostgreSQL URL (`postgres://` or `postgresql://`).

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use super::StoreError;

#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    Sqlite(PathBuf),
    /// Kept whole for the driver; never printed (it may hold a password).
    Postgres(String),
}

impl FromStr for DatabaseUrl {
    type Err = StoreError;

    fn from_str(s: &str) -> Result<Self, StoreError> {
        if s.starts_with("postgres://") || s.starts_with("postgresql://") {
            // Parsed now so a typo is reported at start, without echoing the URL.
            tokio_postgres::Config::from_str(s)
                .map_err(|_| StoreError::BadUrl("the PostgreSQL URL cannot be parsed".into()))?;
            return Ok(DatabaseUrl::Postgres(s.to_string()));
        }
        let path = s.strip_prefix("sqlite://").unwrap_or(s);
        if path.is_empty() {
            return Err(StoreError::BadUrl("the database path is empty".into()));
        }
        Ok(DatabaseUrl::Sqlite(PathBuf::from(path)))
    }
}

impl std::fmt::Display for DatabaseUrl {
    /// The SQLite path, or the PostgreSQL host, port and database name: never a password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DatabaseUrl::Sqlite(path) => write!(f, "{}", path.display()),
            DatabaseUrl::Postgres(url) => {
                let Ok(config) = tokio_postgres::Config::from_str(url) else {
                    return f.write_str("postgres://(unparsable)");
                };
                let host = config
                    .get_hosts()
                    .first()
                    .map(|h| match h {
                        tokio_postgres::config::Host::Tcp(name) => name.clone(),
                        tokio_postgres::config::Host::Unix(path) => path.display().to_string(),
                    })
                    .unwrap_or_default();
                let port = config.get_ports().first().copied().unwrap_or(5432);
                let db = config.get_dbname().unwrap_or_default();
                write!(f, "postgres://{host}:{port}/{db}")
            }
        }
    }
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DatabaseUrl({self})")
    }
}

/// PostgreSQL connection settings beyond the URL (whether to use TLS comes from the URL's
/// `sslmode`).
#[derive(Debug, Clone)]
pub struct PostgresOptions {
    /// Connections per server process.
    pub pool_size: usize,
    /// A statement running longer is cancelled (the request gets 503).
    pub statement_timeout: Duration,
    /// How long a request waits for a free connection or a new one before 503.
    pub connect_timeout: Duration,
    /// CA certificates (PEM) trusted for TLS besides the system's.
    pub ca_file: Option<std::path::PathBuf>,
}

impl Default for PostgresOptions {
    fn default() -> Self {
        PostgresOptions {
            pool_size: 16,
            statement_timeout: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(5),
            ca_file: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_urls_pick_the_backend() {
        assert_eq!(
            "todo.db".parse::<DatabaseUrl>().ok(),
            Some(DatabaseUrl::Sqlite("todo.db".into()))
        );
        assert_eq!(
            "sqlite:///var/lib/todo.db".parse::<DatabaseUrl>().ok(),
            Some(DatabaseUrl::Sqlite("/var/lib/todo.db".into()))
        );
        assert!(matches!(
            "postgresql://u@localhost/todo".parse::<DatabaseUrl>(),
            Ok(DatabaseUrl::Postgres(_))
        ));
        assert!("postgres://u@h:notaport/x".parse::<DatabaseUrl>().is_err());
    }

    #[test]
    fn a_postgres_url_is_shown_without_its_password() {
        let url: DatabaseUrl = "postgres://todo:hunter2-secret@db.internal:6432/tasks?sslmode=require"
            .parse()
            .expect("url");
        let shown = format!("{url} {url:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("db.internal:6432/tasks"), "{shown}");
    }
}
