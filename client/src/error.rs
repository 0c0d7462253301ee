use todo_api::{Problem, ProblemCode};

/// Everything a client call can fail with. Messages are one line, name the server where
/// that helps, and never contain a token or password.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ClientError {
    #[error("{}", why.describe(url))]
    Unreachable { url: String, why: Unreachable },
    /// The server answered with a problem document.
    #[error("{}", .problem.detail)]
    Api { problem: Box<Problem> },
    /// The server answered with an error status but no problem document (a proxy in
    /// between, say).
    #[error("the server answered HTTP {status}")]
    Http { status: u16 },
    #[error("not signed in to {server}: run `todo auth signin` first")]
    NotSignedIn { server: String },
    #[error("your session on {server} has ended; sign in again")]
    SessionEnded { server: String },
    #[error("credential store: {0}")]
    Credentials(String),
    /// Choosing among the accounts signed in on a server went wrong (none named, an
    /// unknown one).
    #[error("{0}")]
    Account(String),
    #[error("unexpected answer from the server: {0}")]
    Protocol(String),
}

/// Why the server could not be reached: each has its own message, since each has its
/// own fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unreachable {
    /// Nothing listens there.
    Refused,
    /// No connection within the connect timeout (a firewall, a wrong or down host).
    ConnectTimedOut(std::time::Duration),
    /// Connected, but no answer within the request timeout (frozen or overloaded).
    NoAnswer(std::time::Duration),
    /// Another network failure (name lookup, reset, ...), said in a few words.
    Other(String),
}

/// A duration as people say it: "5 s", "2 min".
fn people(d: std::time::Duration) -> String {
    let secs = d.as_secs_f64();
    if secs < 90.0 {
        format!("{} s", (secs * 10.0).round() / 10.0)
    } else {
        format!("{} min", (secs / 60.0).round())
    }
}

impl Unreachable {
    fn describe(&self, url: &str) -> String {
        match self {
            Unreachable::Refused => {
                format!(
                    "cannot reach the todo server at {url}: connection refused (is `todo-server` running there?)"
                )
            }
            Unreachable::ConnectTimedOut(after) => format!(
                "cannot reach the todo server at {url}: no connection within {} (is the host up, and the address right?)",
                people(*after)
            ),
            Unreachable::NoAnswer(after) => format!(
                "the todo server at {url} did not answer within {} (frozen or overloaded?); --timeout waits longer",
                people(*after)
            ),
            Unreachable::Other(reason) => format!("cannot reach the todo server at {url}: {reason}"),
        }
    }
}

impl ClientError {
    /// The server's stable problem code, if the server answered with one.
    pub fn code(&self) -> Option<ProblemCode> {
        match self {
            ClientError::Api { problem } => Some(problem.code),
            _ => None,
        }
    }

    /// For `version_conflict`: the task as it is now on the server.
    pub fn current_task(&self) -> Option<&todo_api::Task> {
        match self {
            ClientError::Api { problem } if problem.code == ProblemCode::VersionConflict => {
                problem.current.as_deref()
            }
            _ => None,
        }
    }

    /// For `already_imported`: the task made before from the same source.
    pub fn existing_task(&self) -> Option<&todo_api::Task> {
        match self {
            ClientError::Api { problem } if problem.code == ProblemCode::AlreadyImported => {
                problem.current.as_deref()
            }
            _ => None,
        }
    }

    /// The HTTP status of an error answer, with or without a problem document.
    pub fn http_status(&self) -> Option<u16> {
        match self {
            ClientError::Api { problem } => Some(problem.status),
            ClientError::Http { status } => Some(*status),
            _ => None,
        }
    }

    /// The request field the server refused, for validation errors.
    pub fn field(&self) -> Option<&str> {
        match self {
            ClientError::Api { problem } => problem.field.as_deref(),
            _ => None,
        }
    }

    /// True when signing in again is the fix.
    pub fn needs_sign_in(&self) -> bool {
        matches!(
            self,
            ClientError::NotSignedIn { .. } | ClientError::SessionEnded { .. }
        ) || matches!(
            self.code(),
            Some(ProblemCode::InvalidToken | ProblemCode::InvalidRefreshToken | ProblemCode::Forbidden)
        )
    }
}
