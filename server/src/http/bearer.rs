//! Where a token is checked: the bearer security scheme every protected route declares.
//! It runs before the route reads its path or body, and never touches the database.

use std::sync::Arc;

use poem::Request;
use poem_openapi::SecurityScheme;
use poem_openapi::auth::Bearer;

use super::problem::ProblemResponse;
use crate::auth::{AuthService, Claims};
use crate::tasks::Owner;

/// An EdDSA access token from sign-in, sign-up or refresh.
#[derive(SecurityScheme)]
#[oai(ty = "bearer", bearer_format = "JWT", checker = "check_token")]
pub struct BearerAuth(pub Verified);

/// What the bearer check established: the token's claims and, on a task path, the
/// owner it may act for.
pub struct Verified {
    pub claims: Claims,
    owner: Option<Owner>,
}

async fn check_token(req: &Request, bearer: Bearer) -> poem::Result<Verified> {
    let auth = req
        .data::<Arc<AuthService>>()
        .ok_or_else(|| poem::Error::from_status(poem::http::StatusCode::INTERNAL_SERVER_ERROR))?;
    let claims = auth.authenticate(&bearer.token).map_err(|e| {
        tracing::debug!(reason = %e, "token refused");
        poem::Error::from(ProblemResponse::from(e))
    })?;
    // The one owner check, here, before the route parses its body, so that the order of
    // answers is 401, then 403, then 400/422, on every route.
    let owner = match task_path_owner(req.uri().path()) {
        None => None,
        Some(path_user) => Some(Owner::of_path(&claims, path_user).ok_or_else(ProblemResponse::forbidden)?),
    };
    Ok(Verified { claims, owner })
}

impl BearerAuth {
    pub fn claims(&self) -> &Claims {
        &self.0.claims
    }

    /// The owner the bearer check established for this task path.
    pub fn owner(&self) -> Result<Owner, ProblemResponse> {
        // Only a route outside `/api/{user_id}/tasks` has none, and those never ask.
        self.0
            .owner
            .ok_or_else(|| ProblemResponse::internal_message("a task route was reached without an owner"))
    }
}

/// The `{user_id}` of a per-user path (`/api/{user_id}/tasks...`, `.../events`,
/// `.../undo`), read from the URI because poem-openapi renames path parameters
/// internally.
fn task_path_owner(path: &str) -> Option<&str> {
    let mut segments = path.strip_prefix("/api/")?.split('/');
    let user = segments.next()?;
    matches!(segments.next(), Some("tasks" | "events" | "undo")).then_some(user)
}

#[cfg(test)]
mod tests {
    use super::task_path_owner;

    #[test]
    fn owner_is_read_from_task_paths_only() {
        assert_eq!(task_path_owner("/api/abc/tasks"), Some("abc"));
        assert_eq!(task_path_owner("/api/abc/tasks/7/complete"), Some("abc"));
        assert_eq!(task_path_owner("/api/abc/events"), Some("abc"));
        assert_eq!(task_path_owner("/api/abc/undo"), Some("abc"));
        assert_eq!(task_path_owner("/api/auth/session"), None);
        assert_eq!(task_path_owner("/healthz"), None);
    }
}
