//! Where a token is checked: the bearer security scheme every protected route declares.
//! It runs before the route reads its path or body. A session's access token is checked
//! without the database; a personal access token by its hash (in memory after first
//! use), and then against what its scopes allow, here, for every route at once.

use std::sync::Arc;

use poem::Request;
use poem_openapi::SecurityScheme;
use poem_openapi::auth::Bearer;

use super::problem::ProblemResponse;
use poem::http::Method;
use todo_api::TokenScope;

use crate::auth::{AuthService, Claims, Credential};
use crate::tasks::Owner;

/// An EdDSA access token from sign-in, sign-up or refresh, or a personal access token
/// (`todo_pat_...`, task routes and `GET /api/auth/session` only, as its scopes allow).
#[derive(SecurityScheme)]
#[oai(ty = "bearer", checker = "check_token")]
pub struct BearerAuth(pub Verified);

/// What the bearer check established: the token's claims and, on a task path, the
/// owner it may act for.
pub struct Verified {
    pub claims: Claims,
    pub credential: Credential,
    owner: Option<Owner>,
}

async fn check_token(req: &Request, bearer: Bearer) -> poem::Result<Verified> {
    let auth = req
        .data::<Arc<AuthService>>()
        .ok_or_else(|| poem::Error::from_status(poem::http::StatusCode::INTERNAL_SERVER_ERROR))?;
    let (claims, credential) = auth.authenticate_any(&bearer.token).await.map_err(|e| {
        tracing::debug!(reason = %e, "token refused");
        poem::Error::from(ProblemResponse::from(e))
    })?;
    // The one owner check, here, before the route parses its body, so that the order of
    // answers is 401, then 403, then 400/422, on every route.
    let owner = match task_path_owner(req.uri().path()) {
        None => None,
        Some(path_user) => {
            Some(Owner::of_path(claims.sub, path_user).ok_or_else(ProblemResponse::forbidden)?)
        }
    };
    if let Credential::PersonalToken { .. } | Credential::External { .. } = credential {
        check_scope(&credential, req.method(), req.uri().path())?;
    }
    Ok(Verified {
        claims,
        credential,
        owner,
    })
}

/// What a personal token may reach, by route class: task routes as its scopes allow
/// (reading with `tasks:read`, any other method with `tasks:write`), the session route,
/// and nothing else (every route that manages the account needs a signed-in session).
fn check_scope(credential: &Credential, method: &Method, path: &str) -> Result<(), ProblemResponse> {
    if task_path_owner(path).is_some() {
        let needed = if matches!(*method, Method::GET | Method::HEAD) {
            TokenScope::TasksRead
        } else {
            TokenScope::TasksWrite
        };
        return match credential.allows(needed) {
            true => Ok(()),
            false => Err(ProblemResponse::insufficient_scope(Some(needed.as_str()))),
        };
    }
    match path == "/api/auth/session" {
        true => Ok(()),
        false => Err(ProblemResponse::insufficient_scope(None)),
    }
}

impl BearerAuth {
    pub fn claims(&self) -> &Claims {
        &self.0.claims
    }

    pub fn credential(&self) -> &Credential {
        &self.0.credential
    }

    /// The owner the bearer check established for this task path.
    pub fn owner(&self) -> Result<Owner, ProblemResponse> {
        // Only a route outside `/api/{user_id}/tasks` has none, and those never ask.
        self.0
            .owner
            .ok_or_else(|| ProblemResponse::internal_message("a task route was reached without an owner"))
    }
}

/// The token of an `Authorization: Bearer` header, for the middleware that looks at the
/// caller before the route's own check (which answers any refusal).
pub(super) fn bearer_token(req: &Request) -> Option<&str> {
    req.headers()
        .get(poem::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
}

/// The `{user_id}` of a per-user path (`/api/{user_id}/tasks...`, `.../events`,
/// `.../undo`), read from the URI because poem-openapi renames path parameters
/// internally.
fn task_path_owner(path: &str) -> Option<&str> {
    let mut segments = path.strip_prefix("/api/")?.split('/');
    let user = segments.next()?;
    matches!(
        segments.next(),
        Some("tasks" | "events" | "undo" | "projects" | "invitations" | "calendar.ics")
    )
    .then_some(user)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn personal_tokens_reach_task_routes_by_scope_and_no_account_route() {
        let read = Credential::PersonalToken {
            scopes: vec![TokenScope::TasksRead],
        };
        let write = Credential::PersonalToken {
            scopes: vec![TokenScope::TasksWrite],
        };
        assert!(check_scope(&read, &Method::GET, "/api/u/tasks").is_ok());
        assert!(check_scope(&read, &Method::GET, "/api/u/events").is_ok());
        for method in [Method::POST, Method::PUT, Method::PATCH, Method::DELETE] {
            assert!(check_scope(&read, &method, "/api/u/tasks/1").is_err(), "{method}");
            assert!(check_scope(&write, &method, "/api/u/tasks/1").is_ok(), "{method}");
        }
        assert!(check_scope(&read, &Method::POST, "/api/u/undo").is_err());
        assert!(check_scope(&write, &Method::GET, "/api/auth/session").is_ok());
        for path in [
            "/api/auth/sessions",
            "/api/auth/tokens",
            "/api/auth/password",
            "/api/auth/account",
        ] {
            assert!(check_scope(&write, &Method::GET, path).is_err(), "{path}");
        }
    }

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
