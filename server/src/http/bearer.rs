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
    auth.authenticate(&bearer.token).map_err(|e| {
        tracing::debug!(reason = %e, "token refused");
        poem::Error::from(ProblemResponse::from(e))
    })
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
