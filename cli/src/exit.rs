//! The documented exit codes, and the one line every failure prints.

use std::process::ExitCode;

use todo_client::ClientError;

pub const OK: u8 = 0;
pub const ERROR: u8 = 1;
pub const USAGE: u8 = 2;
pub const NOT_FOUND: u8 = 3;
pub const NOT_SIGNED_IN: u8 = 4;
pub const UNREACHABLE: u8 = 5;
/// A queued change the server refused is left for the person (`todo conflicts`).
pub const CONFLICT: u8 = 6;

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Client(#[from] ClientError),
    /// A mistake in how the command was called that clap cannot see.
    #[error("{0}")]
    Usage(String),
    #[error("{0}")]
    Failed(String),
    /// Some of several tasks failed: the message names which; `code` is the exit code.
    #[error("{message}")]
    Partial { message: String, code: u8 },
}

impl CliError {
    pub fn code(&self) -> u8 {
        match self {
            CliError::Usage(_) => USAGE,
            CliError::Failed(_) => ERROR,
            CliError::Partial { code, .. } => *code,
            CliError::Client(e) => match e {
                ClientError::Unreachable { .. } => UNREACHABLE,
                ClientError::NotSignedIn { .. } | ClientError::SessionEnded { .. } => NOT_SIGNED_IN,
                // An account named that is not signed in here: a wrong value given.
                ClientError::Account(_) => USAGE,
                // Signed in, but the current password given was wrong.
                other if other.code() == Some(todo_api::ProblemCode::WrongPassword) => ERROR,
                // Signed in, but a project role that does not allow it.
                other if other.code() == Some(todo_api::ProblemCode::InsufficientRole) => ERROR,
                // Signed in, but the note is someone else's.
                other if other.code() == Some(todo_api::ProblemCode::NotNoteAuthor) => ERROR,
                other => match other.http_status() {
                    Some(404) => NOT_FOUND,
                    Some(401 | 403) => NOT_SIGNED_IN,
                    _ => ERROR,
                },
            },
        }
    }

    /// One line for stderr, naming the refused field when the server named one.
    pub fn line(&self) -> String {
        match self {
            CliError::Client(ClientError::Api { problem }) => match &problem.field {
                Some(field) if !problem.detail.contains(field.as_str()) => {
                    format!("todo: {field}: {}", problem.detail)
                }
                _ => format!("todo: {}", problem.detail),
            },
            other => format!("todo: {other}"),
        }
    }
}

pub fn report(result: Result<(), CliError>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::from(OK),
        Err(e) => {
            // The line may quote what a server sent: shown, never obeyed.
            eprintln!("{}", todo_api::text::printable(&e.line(), false));
            ExitCode::from(e.code())
        }
    }
}
