//! The seed's frontend builds `/api/{user_id}/...` with Better Auth's user id (not a
//! UUID, not ours). A direct external token may name its own `sub` there: the path is
//! rewritten to the account's id before routing, so the routes, the owner check and the
//! `Idempotency-Key` middleware see our id. Any other path is left as it is.

use std::sync::Arc;

use poem::http::Uri;
use poem::{Endpoint, IntoResponse, Request, Response};
use uuid::Uuid;

use crate::auth::{AuthService, Credential};

pub async fn own_path<E: Endpoint>(next: E, mut req: Request) -> poem::Result<Response> {
    if let Some(uri) = rewritten(&req).await {
        *req.uri_mut() = uri;
    }
    next.call(req).await.map(IntoResponse::into_response)
}

async fn rewritten(req: &Request) -> Option<Uri> {
    let path = req.uri().path();
    let rest = path.strip_prefix("/api/")?;
    let (segment, tail) = rest.split_once('/')?;
    if segment == "auth" || segment.parse::<Uuid>().is_ok() {
        return None;
    }
    let token = super::bearer::bearer_token(req)?;
    let auth = req.data::<Arc<AuthService>>()?;
    if !auth.is_external(token) {
        return None;
    }
    // Refused here, the route's own check answers why.
    let (claims, credential) = auth.authenticate_any(token).await.ok()?;
    let Credential::External { subject, .. } = credential else {
        return None;
    };
    if subject != segment {
        return None;
    }
    let query = req.uri().query().map(|q| format!("?{q}")).unwrap_or_default();
    format!("/api/{}/{tail}{query}", claims.sub).parse().ok()
}
