//! Where a token is checked: the bearer security scheme every protected route declares.
//! It runs before the route reads its path or body, and never touches the database.

use std::sync::Arc;

use poem::Request;
use poem_openapi::SecurityScheme;
use poem_openapi::auth::Bearer;
use uuid::Uuid;

use super::problem::ProblemResponse;
use crate::auth::{AuthService, Claims};
use crate::tasks::Owner;

/// An EdDSA access token from sign-in, sign-up or refresh.
#[derive(SecurityScheme)]
#[oai(ty = "bearer", bearer_format = "JWT", checker = "check_token")]
pub struct BearerAuth(pub Claims);

async fn check_token(req: &Request, bearer: Bearer) -> poem::Result<Claims> {
    let auth = req
        .data::<Arc<AuthService>>()
        .ok_or_else(|| poem::Error::from_status(poem::http::StatusCode::INTERNAL_SERVER_ERROR))?;
    let claims = auth.authenticate(&bearer.token).map_err(|e| {
        tracing::debug!(reason = %e, "token refused");
        poem::Error::from(ProblemResponse::from(e))
    })?;
    // Checked here, before the route parses its body, so that the order of answers is
    // 401, then 403, then 400/422, on every route.
    if let Some(path_user) = task_path_owner(req.uri().path())
        && path_user.parse::<Uuid>().ok() != Some(claims.sub)
    {
        return Err(ProblemResponse::forbidden().into());
    }
    Ok(claims)
}

impl BearerAuth {
    /// The owner scope for `/api/{user_id}/...`: only the token's own user.
    pub fn owner_of(&self, path_user: Uuid) -> Result<Owner, ProblemResponse> {
        if self.0.sub == path_user {
            Ok(Owner(path_user))
        } else {
            Err(ProblemResponse::forbidden())
        }
    }
}

/// The `{user_id}` of `/api/{user_id}/tasks...`, read from the URI because poem-openapi
/// renames path parameters internally.
fn task_path_owner(path: &str) -> Option<&str> {
    let mut segments = path.strip_prefix("/api/")?.split('/');
    let user = segments.next()?;
    (segments.next() == Some("tasks")).then_some(user)
}

#[cfg(test)]
mod tests {
    use super::task_path_owner;

    #[test]
    fn owner_is_read_from_task_paths_only() {
        assert_eq!(task_path_owner("/api/abc/tasks"), Some("abc"));
        assert_eq!(task_path_owner("/api/abc/tasks/7/complete"), Some("abc"));
        assert_eq!(task_path_owner("/api/auth/session"), None);
        assert_eq!(task_path_owner("/healthz"), None);
    }
}
