//! The storage layer's one error type, for both backends.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::workers::JobError;

/// What can go wrong below the domain.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the database is busy or locked")]
    Busy,
    #[error("the database cannot be written (read-only or disk full)")]
    Unwritable,
    #[error("the database server cannot be reached")]
    Unreachable(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("database error")]
    Sqlite(#[from] rusqlite::Error),
    #[error("database error")]
    Postgres(#[source] tokio_postgres::Error),
    #[error("bad database address: {0}")]
    BadUrl(String),
    #[error("cannot prepare the database folder {path}")]
    Folder {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot make {path} owner-only")]
    FileMode {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("a database worker failed")]
    Worker(#[from] JobError),
    #[error("cannot start the database threads")]
    StartThreads(#[source] std::io::Error),
    #[error("the target database already holds accounts or keys; copy only into an empty database")]
    NotEmpty,
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("the write was not committed: {0}")]
    NotCommitted(String),
    /// A write referred to a row deleted meanwhile (a foreign key refused it): the
    /// account it was for was deleted while it ran.
    #[error("the account this write was for no longer exists")]
    OwnerGone,
}

impl StoreError {
    /// True when the fault is outside the program and goes away by itself (answered 503
    /// with `Retry-After`).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            StoreError::Busy | StoreError::Unwritable | StoreError::Unreachable(_)
        )
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Set while the database refuses one kind of work (locked, read-only, full,
/// unreachable): the fault is logged once when it starts and once when it ends, not once
/// per request. One per kind of work that fails on its own (on SQLite, reads go on in
/// WAL mode while writes are refused), so a read that succeeds during a write fault does
/// not end it in the log.
pub(crate) struct Health {
    faulty: AtomicBool,
    /// What this flag watches ("writes", "reads"), named in the log.
    work: &'static str,
}

impl Health {
    pub(crate) fn new(work: &'static str) -> Health {
        Health {
            faulty: AtomicBool::new(false),
            work,
        }
    }

    pub(crate) fn observe<T>(&self, result: StoreResult<T>) -> StoreResult<T> {
        match &result {
            Err(e) if e.is_transient() => {
                if !self.faulty.swap(true, Ordering::Relaxed) {
                    tracing::error!(work = self.work, error = %crate::error_chain(e), "database unavailable; answering 503 until it recovers");
                }
            }
            Ok(_) => {
                if self.faulty.swap(false, Ordering::Relaxed) {
                    tracing::warn!(work = self.work, "database available again");
                }
            }
            Err(_) => {}
        }
        result
    }
}
