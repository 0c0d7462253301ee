//! The one place where errors become HTTP responses: RFC 9457 problem JSON with a stable
//! `code`. Domain errors map in the `From` impls below; errors poem and poem-openapi raise
//! on their own (missing header, unparsable body, unknown route) map in
//! [`problem_from_poem_error`], installed over the whole app.

use poem::http::StatusCode;
use poem::{IntoResponse, Response};
use poem_openapi::ApiResponse;
use poem_openapi::payload::Json;
use todo_api::{Problem, ProblemCode};

use crate::auth::AuthError;
use crate::projects::ProjectError;
use crate::store::StoreError;
use crate::tasks::TaskError;

pub const PROBLEM_JSON: &str = "application/problem+json";
const INVALID_TOKEN_CHALLENGE: &str = r#"Bearer error="invalid_token""#;

/// Every error a route can answer. Each body is a [`Problem`].
#[derive(ApiResponse, Debug)]
pub enum ProblemResponse {
    /// The request is malformed: bad JSON, a wrong type, a missing field or parameter.
    #[oai(status = 400, content_type = "application/problem+json")]
    BadRequest(Json<Problem>),
    /// No token, or a token that is malformed, expired, forged or signed out
    /// (`invalid_token`); or a wrong email or password (`invalid_credentials`).
    #[oai(status = 401, content_type = "application/problem+json")]
    Unauthorized(Json<Problem>, #[oai(header = "WWW-Authenticate")] String),
    /// The token is valid but the path names another user (`forbidden`); a wrong
    /// current password (`wrong_password`); a disabled account (`account_disabled`); a
    /// project member whose role does not allow this (`insufficient_role`); a note
    /// deleted by someone other than its author (`not_note_author`).
    #[oai(status = 403, content_type = "application/problem+json")]
    Forbidden(
        Json<Problem>,
        /// With `insufficient_scope`: the scope the route needs (RFC 6750).
        #[oai(header = "WWW-Authenticate")]
        Option<String>,
    ),
    /// No such task for this user (`task_not_found`); no such project, or not a member
    /// of it (`project_not_found`: the two are not told apart); no such member
    /// (`member_not_found`) or open invitation (`invitation_not_found`); no such note on
    /// the task (`note_not_found`).
    #[oai(status = 404, content_type = "application/problem+json")]
    NotFound(Json<Problem>),
    /// `If-Match` named another version (`version_conflict`); `current` is the task now.
    #[oai(status = 412, content_type = "application/problem+json")]
    PreconditionFailed(Json<Problem>),
    /// The email is already registered (`email_taken`), or the account changed while
    /// this request read it (`account_changed`: retry).
    #[oai(status = 409, content_type = "application/problem+json")]
    Conflict(Json<Problem>),
    /// The request took too long to arrive (`request_timeout`).
    #[oai(status = 408, content_type = "application/problem+json")]
    RequestTimeout(Json<Problem>),
    /// The body is over 64 KiB (`payload_too_large`).
    #[oai(status = 413, content_type = "application/problem+json")]
    PayloadTooLarge(Json<Problem>),
    /// The body is not `application/json` (`unsupported_media_type`).
    #[oai(status = 415, content_type = "application/problem+json")]
    UnsupportedMediaType(Json<Problem>),
    /// A field is out of bounds; `field` names it (`invalid_field`, `weak_password`).
    #[oai(status = 422, content_type = "application/problem+json")]
    Unprocessable(Json<Problem>),
    /// Too many sign-ups or sign-in attempts (`rate_limited`); retry after the given seconds.
    #[oai(status = 429, content_type = "application/problem+json")]
    TooManyRequests(Json<Problem>, #[oai(header = "Retry-After")] u64),
    /// A fault on the server; the detail carries a reference to the log line.
    #[oai(status = 500, content_type = "application/problem+json")]
    Internal(Json<Problem>),
    /// The database is locked, read-only or full (`unavailable`); retry later.
    #[oai(status = 503, content_type = "application/problem+json")]
    Unavailable(Json<Problem>, #[oai(header = "Retry-After")] u64),
}

fn problem(
    status: StatusCode,
    code: ProblemCode,
    detail: impl Into<String>,
    field: Option<String>,
) -> Json<Problem> {
    Json(Problem {
        kind: format!("urn:todo:problem:{code}"),
        title: status.canonical_reason().unwrap_or("Error").to_string(),
        status: status.as_u16(),
        detail: detail.into(),
        code,
        field,
        current: None,
    })
}

impl ProblemResponse {
    pub fn invalid_token(reason: &str) -> Self {
        ProblemResponse::Unauthorized(
            problem(
                StatusCode::UNAUTHORIZED,
                ProblemCode::InvalidToken,
                format!("the access token is missing or invalid ({reason})"),
                None,
            ),
            INVALID_TOKEN_CHALLENGE.into(),
        )
    }

    pub fn project_not_found(detail: String) -> Self {
        ProblemResponse::NotFound(problem(
            StatusCode::NOT_FOUND,
            ProblemCode::ProjectNotFound,
            detail,
            None,
        ))
    }

    /// A member whose role does not allow what they asked.
    pub fn insufficient_role(detail: String) -> Self {
        ProblemResponse::Forbidden(
            problem(StatusCode::FORBIDDEN, ProblemCode::InsufficientRole, detail, None),
            None,
        )
    }

    pub fn forbidden() -> Self {
        ProblemResponse::Forbidden(
            problem(
                StatusCode::FORBIDDEN,
                ProblemCode::Forbidden,
                "this token may only use its own user's tasks",
                None,
            ),
            None,
        )
    }

    /// A personal token on a route its scopes do not cover (or on an account route,
    /// which needs a signed-in session: then `scope` is `None`).
    pub fn insufficient_scope(scope: Option<&str>) -> Self {
        let (detail, challenge) = match scope {
            Some(scope) => (
                format!("this personal access token lacks the {scope} scope"),
                format!(r#"Bearer realm="todo", error="insufficient_scope", scope="{scope}""#),
            ),
            None => (
                "personal access tokens and other issuers' tokens cannot manage the account; sign in"
                    .to_string(),
                r#"Bearer realm="todo", error="insufficient_scope""#.to_string(),
            ),
        };
        ProblemResponse::Forbidden(
            problem(
                StatusCode::FORBIDDEN,
                ProblemCode::InsufficientScope,
                detail,
                None,
            ),
            Some(challenge),
        )
    }

    pub fn bad_request(code: ProblemCode, detail: impl Into<String>, field: Option<String>) -> Self {
        ProblemResponse::BadRequest(problem(StatusCode::BAD_REQUEST, code, detail, field))
    }

    pub fn invalid_field(field: &str, reason: impl Into<String>) -> Self {
        ProblemResponse::Unprocessable(problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            ProblemCode::InvalidField,
            reason,
            Some(field.to_string()),
        ))
    }

    pub fn request_timeout() -> Self {
        ProblemResponse::RequestTimeout(problem(
            StatusCode::REQUEST_TIMEOUT,
            ProblemCode::RequestTimeout,
            "the request took too long to arrive",
            None,
        ))
    }

    /// For a panic caught in a route: logged with a reference, answered as a 500.
    pub fn panicked() -> Self {
        Self::internal_message("a route panicked")
    }

    fn unavailable() -> Self {
        ProblemResponse::Unavailable(
            problem(
                StatusCode::SERVICE_UNAVAILABLE,
                ProblemCode::Unavailable,
                "the database is temporarily unavailable; retry shortly",
                None,
            ),
            1,
        )
    }

    /// Logs the error and every cause under it with a reference, and answers only the
    /// reference.
    pub(crate) fn internal(error: &(dyn std::error::Error + 'static)) -> Self {
        Self::internal_message(&crate::error_chain(error))
    }

    pub(crate) fn internal_message(message: &str) -> Self {
        let reference = uuid::Uuid::new_v4();
        tracing::error!(%reference, error = %message, "internal error");
        ProblemResponse::Internal(problem(
            StatusCode::INTERNAL_SERVER_ERROR,
            ProblemCode::Internal,
            format!("an internal error occurred (reference {reference})"),
            None,
        ))
    }

    pub(super) fn from_store(e: StoreError) -> Self {
        if matches!(e, StoreError::OwnerGone) {
            // The account went while the request ran: its token is no longer good.
            Self::invalid_token("the account no longer exists")
        } else if e.is_transient() {
            // The store logs the fault once when it starts and once when it ends.
            Self::unavailable()
        } else {
            Self::internal(&e)
        }
    }
}

impl From<AuthError> for ProblemResponse {
    fn from(e: AuthError) -> Self {
        let detail = e.to_string();
        match e {
            AuthError::InvalidField(f) => ProblemResponse::Unprocessable(problem(
                StatusCode::UNPROCESSABLE_ENTITY,
                ProblemCode::InvalidField,
                f.reason,
                Some(f.field.to_string()),
            )),
            AuthError::WeakPassword(reason) => ProblemResponse::Unprocessable(problem(
                StatusCode::UNPROCESSABLE_ENTITY,
                ProblemCode::WeakPassword,
                reason,
                Some("password".into()),
            )),
            AuthError::WrongPassword => ProblemResponse::Forbidden(
                problem(
                    StatusCode::FORBIDDEN,
                    ProblemCode::WrongPassword,
                    detail,
                    Some("current_password".into()),
                ),
                None,
            ),
            AuthError::UnknownIdentity => ProblemResponse::Unauthorized(
                problem(
                    StatusCode::UNAUTHORIZED,
                    ProblemCode::UnknownIdentity,
                    detail,
                    None,
                ),
                INVALID_TOKEN_CHALLENGE.into(),
            ),
            AuthError::IssuerUnavailable(_) => ProblemResponse::Unavailable(
                problem(
                    StatusCode::SERVICE_UNAVAILABLE,
                    ProblemCode::Unavailable,
                    detail,
                    None,
                ),
                5,
            ),
            AuthError::AccountDisabled => ProblemResponse::Forbidden(
                problem(StatusCode::FORBIDDEN, ProblemCode::AccountDisabled, detail, None),
                None,
            ),
            AuthError::InvalidResetToken => ProblemResponse::BadRequest(problem(
                StatusCode::BAD_REQUEST,
                ProblemCode::InvalidResetToken,
                detail,
                Some("token".into()),
            )),
            AuthError::AccountChanged => ProblemResponse::Conflict(problem(
                StatusCode::CONFLICT,
                ProblemCode::AccountChanged,
                detail,
                None,
            )),
            AuthError::NoSuchAccount(_) => ProblemResponse::NotFound(problem(
                StatusCode::NOT_FOUND,
                ProblemCode::NotFound,
                detail,
                None,
            )),
            AuthError::InvalidCode => ProblemResponse::Forbidden(
                problem(
                    StatusCode::FORBIDDEN,
                    ProblemCode::InvalidCode,
                    detail,
                    Some("code".into()),
                ),
                None,
            ),
            AuthError::InvalidMfaToken => ProblemResponse::Unauthorized(
                problem(
                    StatusCode::UNAUTHORIZED,
                    ProblemCode::InvalidMfaToken,
                    detail,
                    Some("mfa_token".into()),
                ),
                r#"Bearer realm="todo""#.into(),
            ),
            AuthError::TwoFactorState(_) => ProblemResponse::Conflict(problem(
                StatusCode::CONFLICT,
                ProblemCode::TwoFactorState,
                detail,
                None,
            )),
            AuthError::TokenNotFound => ProblemResponse::NotFound(problem(
                StatusCode::NOT_FOUND,
                ProblemCode::TokenNotFound,
                detail,
                None,
            )),
            AuthError::SessionNotFound => ProblemResponse::NotFound(problem(
                StatusCode::NOT_FOUND,
                ProblemCode::SessionNotFound,
                detail,
                None,
            )),
            AuthError::EmailTaken => ProblemResponse::Conflict(problem(
                StatusCode::CONFLICT,
                ProblemCode::EmailTaken,
                detail,
                Some("email".into()),
            )),
            AuthError::InvalidCredentials => ProblemResponse::Unauthorized(
                problem(
                    StatusCode::UNAUTHORIZED,
                    ProblemCode::InvalidCredentials,
                    detail,
                    None,
                ),
                r#"Bearer realm="todo""#.into(),
            ),
            AuthError::RateLimited { retry_after } => ProblemResponse::TooManyRequests(
                problem(
                    StatusCode::TOO_MANY_REQUESTS,
                    ProblemCode::RateLimited,
                    detail,
                    None,
                ),
                // Rounded up: a client that waits this long is let in.
                retry_after.as_millis().div_ceil(1000).max(1) as u64,
            ),
            AuthError::InvalidToken(reason) => Self::invalid_token(reason),
            AuthError::RefreshRejected | AuthError::AccountGone => ProblemResponse::Unauthorized(
                problem(
                    StatusCode::UNAUTHORIZED,
                    ProblemCode::InvalidRefreshToken,
                    detail,
                    None,
                ),
                INVALID_TOKEN_CHALLENGE.into(),
            ),
            AuthError::Store(e) => Self::from_store(e),
            AuthError::Hashing(_)
            | AuthError::UnreadableHash { .. }
            | AuthError::PasswordWorkers(_)
            | AuthError::StartPasswordWorkers(_)
            | AuthError::Keys(_)
            | AuthError::NotConfirmed(_)
            | AuthError::TwoFactorSecret(_) => Self::internal(&e),
        }
    }
}

impl From<crate::feeds::FeedError> for ProblemResponse {
    fn from(e: crate::feeds::FeedError) -> Self {
        use crate::feeds::FeedError;
        match e {
            FeedError::InvalidName => Self::invalid_field("name", e.to_string()),
            FeedError::LimitReached => ProblemResponse::Unprocessable(problem(
                StatusCode::UNPROCESSABLE_ENTITY,
                ProblemCode::LimitReached,
                e.to_string(),
                None,
            )),
            FeedError::NotFound => ProblemResponse::NotFound(problem(
                StatusCode::NOT_FOUND,
                ProblemCode::FeedNotFound,
                e.to_string(),
                None,
            )),
            FeedError::Tasks(e) => e.into(),
            FeedError::Store(e) => Self::from_store(e),
        }
    }
}

impl From<ProjectError> for ProblemResponse {
    fn from(e: ProjectError) -> Self {
        let detail = e.to_string();
        let status = |status, code| problem(status, code, detail.clone(), None);
        match e {
            ProjectError::Invalid(e) => e.into(),
            ProjectError::NotFound(_) => Self::project_not_found(detail),
            ProjectError::MemberNotFound(_) => {
                ProblemResponse::NotFound(status(StatusCode::NOT_FOUND, ProblemCode::MemberNotFound))
            }
            ProjectError::InvitationNotFound(_) => {
                ProblemResponse::NotFound(status(StatusCode::NOT_FOUND, ProblemCode::InvitationNotFound))
            }
            ProjectError::NeedsRole { .. } => Self::insufficient_role(detail),
            ProjectError::VersionConflict(_) => ProblemResponse::PreconditionFailed(status(
                StatusCode::PRECONDITION_FAILED,
                ProblemCode::VersionConflict,
            )),
            ProjectError::NameTaken => ProblemResponse::Conflict(problem(
                StatusCode::CONFLICT,
                ProblemCode::ProjectExists,
                detail,
                Some("name".into()),
            )),
            ProjectError::LimitReached(_) => ProblemResponse::Unprocessable(status(
                StatusCode::UNPROCESSABLE_ENTITY,
                ProblemCode::LimitReached,
            )),
            ProjectError::Store(e) => Self::from_store(e),
        }
    }
}

impl From<crate::domain::tasks::InvalidTask> for ProblemResponse {
    fn from(e: crate::domain::tasks::InvalidTask) -> Self {
        Self::invalid_field(&e.field, e.reason)
    }
}

impl From<TaskError> for ProblemResponse {
    fn from(e: TaskError) -> Self {
        match e {
            TaskError::Invalid(e) => e.into(),
            TaskError::NotFound(_) => ProblemResponse::NotFound(problem(
                StatusCode::NOT_FOUND,
                ProblemCode::TaskNotFound,
                e.to_string(),
                None,
            )),
            TaskError::VersionConflict(current) => {
                let mut body = problem(
                    StatusCode::PRECONDITION_FAILED,
                    ProblemCode::VersionConflict,
                    version_conflict_detail(&current),
                    None,
                );
                body.0.current = Some(current);
                ProblemResponse::PreconditionFailed(body)
            }
            TaskError::AlreadyImported(current) => {
                let detail = format!("task {} was imported from the same source already", current.id);
                let mut body = problem(
                    StatusCode::CONFLICT,
                    ProblemCode::AlreadyImported,
                    detail,
                    Some("source_id".into()),
                );
                body.0.current = Some(current);
                ProblemResponse::Conflict(body)
            }
            TaskError::ProjectNotFound(_) => Self::project_not_found(e.to_string()),
            TaskError::InsufficientRole(_) => Self::insufficient_role(e.to_string()),
            TaskError::Misplaced(misplaced) => {
                use crate::domain::dependencies::{InvalidDependency, Misplaced};
                let (code, field) = match &misplaced {
                    Misplaced::Parent(_) => (ProblemCode::InvalidParent, "parent_id"),
                    Misplaced::Dependency(InvalidDependency::Cycle(_)) => {
                        (ProblemCode::DependencyCycle, "depends_on")
                    }
                    Misplaced::Dependency(InvalidDependency::NotAllowed(_)) => {
                        (ProblemCode::InvalidDependency, "depends_on")
                    }
                };
                ProblemResponse::Unprocessable(problem(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    code,
                    misplaced.to_string(),
                    Some(field.into()),
                ))
            }
            TaskError::NoteNotFound { .. } => ProblemResponse::NotFound(problem(
                StatusCode::NOT_FOUND,
                ProblemCode::NoteNotFound,
                e.to_string(),
                None,
            )),
            TaskError::NotNoteAuthor => ProblemResponse::Forbidden(
                problem(
                    StatusCode::FORBIDDEN,
                    ProblemCode::NotNoteAuthor,
                    e.to_string(),
                    None,
                ),
                None,
            ),
            TaskError::TooManyNotes(_) => ProblemResponse::Unprocessable(problem(
                StatusCode::UNPROCESSABLE_ENTITY,
                ProblemCode::LimitReached,
                e.to_string(),
                None,
            )),
            TaskError::NothingToUndo => ProblemResponse::NotFound(problem(
                StatusCode::NOT_FOUND,
                ProblemCode::NothingToUndo,
                e.to_string(),
                None,
            )),
            TaskError::TooManyStreams => ProblemResponse::TooManyRequests(
                problem(
                    StatusCode::TOO_MANY_REQUESTS,
                    ProblemCode::TooManyStreams,
                    e.to_string(),
                    None,
                ),
                // A stream's place frees when it closes; a crashed one within a minute.
                5,
            ),
            TaskError::Store(e) => Self::from_store(e),
        }
    }
}

fn version_conflict_detail(current: &todo_api::Task) -> String {
    format!(
        "task {} has changed since it was read: it is now at version {}",
        current.id, current.version
    )
}

/// Maps any error that reached the top of the app to problem JSON. Responses that are
/// already problems (every error a route returns) pass through unchanged.
pub async fn problem_from_poem_error(err: poem::Error) -> Response {
    use poem_openapi::error::{
        AuthorizationError, ContentTypeError, ParseParamError, ParsePathError, ParseRequestPayloadError,
    };

    if err.is::<AuthorizationError>() {
        return ProblemResponse::invalid_token("no bearer token").into_response();
    }
    if let Some(e) = err.downcast_ref::<ParseParamError>() {
        // The reason is not passed on: poem-openapi's quotes the value that was sent.
        return ProblemResponse::bad_request(
            ProblemCode::InvalidParameter,
            format!(
                "parameter `{}` has a value of the wrong type or out of range",
                e.name
            ),
            Some(e.name.to_string()),
        )
        .into_response();
    }
    if err.is::<ParsePathError>() {
        return ProblemResponse::bad_request(
            ProblemCode::InvalidParameter,
            "a path segment is invalid: the user id must be a UUID and the task id an integer",
            None,
        )
        .into_response();
    }
    if let Some(e) = err.downcast_ref::<ParseRequestPayloadError>() {
        return ProblemResponse::bad_request(
            ProblemCode::InvalidBody,
            format!("the request body is invalid: {}", e.reason),
            None,
        )
        .into_response();
    }
    if err.is::<ContentTypeError>() {
        return ProblemResponse::UnsupportedMediaType(problem(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ProblemCode::UnsupportedMediaType,
            "send the body as application/json",
            None,
        ))
        .into_response();
    }
    let status = err.status();
    let response = err.into_response();
    let is_problem = response
        .headers()
        .get(poem::http::header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes() == PROBLEM_JSON.as_bytes());
    if is_problem {
        return response;
    }
    match status {
        StatusCode::NOT_FOUND => generic(status, ProblemCode::NotFound, "no such route"),
        StatusCode::METHOD_NOT_ALLOWED => generic(
            status,
            ProblemCode::MethodNotAllowed,
            "this route does not take that method",
        ),
        StatusCode::PAYLOAD_TOO_LARGE => generic(
            status,
            ProblemCode::PayloadTooLarge,
            "the request body is over 64 KiB",
        ),
        s if s.is_server_error() => {
            ProblemResponse::internal_message(&format!("unmapped server error {s}")).into_response()
        }
        s => generic(s, ProblemCode::BadRequest, "the request could not be processed"),
    }
}

pub(super) fn generic(status: StatusCode, code: ProblemCode, detail: &str) -> Response {
    let body = problem(status, code, detail, None);
    let mut response = poem::web::Json(body.0).into_response();
    response.set_status(status);
    response.headers_mut().insert(
        poem::http::header::CONTENT_TYPE,
        poem::http::HeaderValue::from_static(PROBLEM_JSON),
    );
    response
}
