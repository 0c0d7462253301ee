use serde::{Deserialize, Serialize};

/// An RFC 9457 problem document, the body of every error response
/// (`application/problem+json`), extended with a stable machine `code`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct Problem {
    /// A URI naming the kind of problem (`about:blank` or `urn:todo:problem:<code>`).
    #[serde(rename = "type")]
    #[cfg_attr(feature = "openapi", oai(rename = "type"))]
    pub kind: String,
    /// A short, human summary of the kind of problem.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// A human explanation of this occurrence.
    pub detail: String,
    /// A stable machine code, for example `task_not_found` or `invalid_token`.
    pub code: ProblemCode,
    /// For validation errors: the request field that was refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", oai(skip_serializing_if_is_none))]
    pub field: Option<String>,
    /// For `version_conflict`: the task as it is now, so a client can show what changed;
    /// for `already_imported`: the task made from the same source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", oai(skip_serializing_if_is_none))]
    pub current: Option<Box<crate::Task>>,
}

/// Every problem code the server sends: the one list both sides match on. A code a newer
/// server adds reads as [`ProblemCode::Unknown`], so an older client keeps working.
///
/// The OpenAPI document describes it as a string (see the `openapi` module below), so
/// that adding a code is not a breaking change of the schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemCode {
    /// The request is malformed at the HTTP level (a missing `Host`, say).
    BadRequest,
    /// The body is not the JSON the route takes.
    InvalidBody,
    /// A query or path parameter has a value of the wrong type.
    InvalidParameter,
    /// A field is out of bounds; `field` names it.
    InvalidField,
    /// The password is too short, too long or too easy to guess.
    WeakPassword,
    /// No token, or a token that is malformed, expired, forged or signed out.
    InvalidToken,
    /// A wrong email or password.
    InvalidCredentials,
    /// The current password given to change it is wrong.
    WrongPassword,
    /// The right password, but an administrator disabled the account.
    AccountDisabled,
    /// A valid token from a trusted issuer whose identity has no account here, and the
    /// issuer's settings neither make nor link one.
    UnknownIdentity,
    /// A personal access token without the scope the route needs, or on a route that
    /// manages the account (which only a signed-in session may use).
    InsufficientScope,
    /// A wrong (or already used) TOTP or recovery code.
    InvalidCode,
    /// An mfa token that is unknown, expired or already used: sign in again.
    InvalidMfaToken,
    /// Two-factor sign-in is on already (setup), or not set up (enable) or not on
    /// (disable).
    TwoFactorState,
    /// A task with this `source_id` exists already; `current` holds it.
    AlreadyImported,
    /// The account changed while the request read it (an email change racing another).
    AccountChanged,
    /// A password reset token that is unknown, expired or already used.
    InvalidResetToken,
    /// A refresh token that is unknown, expired, used or of a session that ended.
    InvalidRefreshToken,
    /// The token is valid but the path names another user.
    Forbidden,
    /// No such route.
    NotFound,
    /// No such task for this user.
    TaskNotFound,
    /// A `parent_id` that is not a task you can write in the same project, would put a
    /// task under itself, or nests deeper than 8 levels.
    InvalidParent,
    /// `depends_on` would make tasks wait for each other in a loop; the detail names it.
    DependencyCycle,
    /// A `depends_on` id that is not a task you can see in the same project.
    InvalidDependency,
    /// No such note on this task.
    NoteNotFound,
    /// No such calendar feed of yours.
    FeedNotFound,
    /// The `Idempotency-Key` was used for another request.
    IdempotencyKeyReused,
    /// A request with this `Idempotency-Key` is still running.
    RequestInProgress,
    /// Only a note's author deletes it.
    NotNoteAuthor,
    /// No such project, or the caller is not a member (the two are not told apart).
    ProjectNotFound,
    /// The owner has a project of this name already (without regard to case).
    ProjectExists,
    /// A member whose role does not allow this (a viewer writing a task, say).
    InsufficientRole,
    /// No such member of the project.
    MemberNotFound,
    /// No such open invitation for the caller (or, for an admin, of the project).
    InvitationNotFound,
    /// A count limit: projects per user, members or open invitations per project.
    LimitReached,
    /// No such active session for this user.
    SessionNotFound,
    /// No such unrevoked personal access token for this user.
    TokenNotFound,
    /// `If-Match` named another version than the task's current one; `current` holds it.
    VersionConflict,
    /// Undo found no change of the user's left to revert.
    NothingToUndo,
    /// The user already has the most event streams open at once.
    TooManyStreams,
    /// The route does not take that method (see `Allow`).
    MethodNotAllowed,
    /// The email is already registered.
    EmailTaken,
    /// The request took too long to arrive.
    RequestTimeout,
    /// The body is over 64 KiB.
    PayloadTooLarge,
    /// The body is not `application/json`.
    UnsupportedMediaType,
    /// A `Transfer-Encoding` other than `chunked`.
    UnsupportedTransferEncoding,
    /// Too many attempts; retry after `Retry-After` seconds.
    RateLimited,
    /// A fault on the server; the detail carries a reference to the log line.
    Internal,
    /// The database is locked, read-only or full; retry later.
    Unavailable,
    /// A code this build does not know (a newer server).
    #[serde(other)]
    Unknown,
}

impl ProblemCode {
    /// The code as it is written on the wire.
    pub fn as_str(self) -> &'static str {
        use ProblemCode as C;
        match self {
            C::BadRequest => "bad_request",
            C::InvalidBody => "invalid_body",
            C::InvalidParameter => "invalid_parameter",
            C::InvalidField => "invalid_field",
            C::WeakPassword => "weak_password",
            C::InvalidToken => "invalid_token",
            C::InvalidCredentials => "invalid_credentials",
            C::WrongPassword => "wrong_password",
            C::AccountDisabled => "account_disabled",
            C::UnknownIdentity => "unknown_identity",
            C::InvalidResetToken => "invalid_reset_token",
            C::AccountChanged => "account_changed",
            C::AlreadyImported => "already_imported",
            C::InvalidCode => "invalid_code",
            C::InvalidMfaToken => "invalid_mfa_token",
            C::TwoFactorState => "two_factor_state",
            C::InsufficientScope => "insufficient_scope",
            C::InvalidRefreshToken => "invalid_refresh_token",
            C::Forbidden => "forbidden",
            C::NotFound => "not_found",
            C::TaskNotFound => "task_not_found",
            C::InvalidParent => "invalid_parent",
            C::DependencyCycle => "dependency_cycle",
            C::InvalidDependency => "invalid_dependency",
            C::NoteNotFound => "note_not_found",
            C::FeedNotFound => "feed_not_found",
            C::IdempotencyKeyReused => "idempotency_key_reused",
            C::RequestInProgress => "request_in_progress",
            C::NotNoteAuthor => "not_note_author",
            C::ProjectNotFound => "project_not_found",
            C::ProjectExists => "project_exists",
            C::InsufficientRole => "insufficient_role",
            C::MemberNotFound => "member_not_found",
            C::InvitationNotFound => "invitation_not_found",
            C::LimitReached => "limit_reached",
            C::SessionNotFound => "session_not_found",
            C::TokenNotFound => "token_not_found",
            C::VersionConflict => "version_conflict",
            C::NothingToUndo => "nothing_to_undo",
            C::TooManyStreams => "too_many_streams",
            C::MethodNotAllowed => "method_not_allowed",
            C::EmailTaken => "email_taken",
            C::RequestTimeout => "request_timeout",
            C::PayloadTooLarge => "payload_too_large",
            C::UnsupportedMediaType => "unsupported_media_type",
            C::UnsupportedTransferEncoding => "unsupported_transfer_encoding",
            C::RateLimited => "rate_limited",
            C::Internal => "internal",
            C::Unavailable => "unavailable",
            C::Unknown => "unknown",
        }
    }
}

impl std::fmt::Display for ProblemCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(feature = "openapi")]
crate::openapi_string::documented_as_string!(
    ProblemCode,
    |code: &ProblemCode| code.as_str(),
    |text: String| { serde_json::from_value(serde_json::Value::String(text)).ok() }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_read_and_write_as_their_names_and_new_ones_as_unknown() {
        for code in [
            ProblemCode::TaskNotFound,
            ProblemCode::WeakPassword,
            ProblemCode::Unavailable,
        ] {
            let json = serde_json::to_string(&code).expect("write");
            assert_eq!(json, format!("\"{}\"", code.as_str()));
            assert_eq!(serde_json::from_str::<ProblemCode>(&json).ok(), Some(code));
        }
        assert_eq!(
            serde_json::from_str::<ProblemCode>("\"quota_exceeded\"").ok(),
            Some(ProblemCode::Unknown)
        );
    }
}
