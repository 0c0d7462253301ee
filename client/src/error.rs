use todo_api::{Problem, ProblemCode};

/// Everything a client call can fail with. Messages are one line, name the server where
/// that helps, and never contain a token or password.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot reach the todo server at {url}: is `todo-server` running there?")]
    Unreachable { url: String },
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
    #[error("unexpected answer from the server: {0}")]
    Protocol(String),
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
