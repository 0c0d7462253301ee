//! `Idempotency-Key` (the IETF httpapi draft) on the writes of the task, note and project
//! routes: the first answer is kept per user and key for a day, in the database, and a
//! retry with the same key and request gets it again (`Idempotent-Replayed: true`) from
//! any server; the same key with another request is 422 `idempotency_key_reused`; a
//! retry while the first still runs is 409 `request_in_progress`.
//!
//! The token is checked here first (as the route will check it again): an answer is only
//! ever replayed to the user it was made for. A request the route would refuse (no valid
//! token, another user's path) passes through untouched and gets the route's answer.

use std::sync::Arc;

use poem::http::{Method, StatusCode};
use poem::{Body, Endpoint, IntoResponse, Request, Response};
use sha2::{Digest, Sha256};
use todo_api::ProblemCode;
use uuid::Uuid;

use super::problem::generic;
use crate::auth::AuthService;
use crate::clock::Clock;
use crate::store::{IdempotencyStorage, KeyClaim, StoredAnswer};

pub const HEADER: &str = "Idempotency-Key";
const REPLAYED: &str = "Idempotent-Replayed";
/// The longest key the draft's examples need, with room.
const KEY_MAX: usize = 255;
/// How long a claim may wait for its request's answer before a retry takes it over (a
/// request that runs longer has timed out: see `--request-timeout`).
const STALE: std::time::Duration = std::time::Duration::from_secs(60);
/// How long an answer is kept for a retry.
const KEPT: std::time::Duration = std::time::Duration::from_secs(86_400);
/// The answer headers a replay repeats.
const KEPT_HEADERS: [&str; 4] = ["content-type", "etag", "location", "x-total-count"];

/// What the middleware needs, as request data set by the app.
#[derive(Clone)]
pub struct Keys {
    pub store: Arc<dyn IdempotencyStorage>,
    pub clock: Clock,
}

/// The user a request with a key writes for, if it is one the key applies to: a write
/// under `/api/{user_id}/` (tasks, notes, projects, invitations, undo) with a valid token
/// for that user.
async fn writer(req: &Request) -> Option<Uuid> {
    if !matches!(
        *req.method(),
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    ) {
        return None;
    }
    let mut segments = req.uri().path().strip_prefix("/api/")?.split('/');
    let path_user: Uuid = segments.next()?.parse().ok()?;
    if !matches!(
        segments.next(),
        Some("tasks" | "projects" | "invitations" | "undo")
    ) {
        return None;
    }
    let token = super::bearer::bearer_token(req)?;
    let auth = req.data::<Arc<AuthService>>()?;
    let (claims, _) = auth.authenticate_any(token).await.ok()?;
    (claims.sub == path_user).then_some(path_user)
}

/// A key as the draft allows it: 1 to 255 visible ASCII characters.
fn key_of(req: &Request) -> Option<Result<String, ()>> {
    let value = req.headers().get(HEADER)?;
    let key = value
        .to_str()
        .ok()
        .filter(|k| (1..=KEY_MAX).contains(&k.len()) && k.bytes().all(|b| (0x20..0x7f).contains(&b)));
    Some(key.map(str::to_string).ok_or(()))
}

pub async fn idempotent<E: Endpoint + 'static>(next: E, mut req: Request) -> poem::Result<Response> {
    let Some(key) = key_of(&req) else {
        return next.call(req).await.map(IntoResponse::into_response);
    };
    let Ok(key) = key else {
        return Ok(generic(
            StatusCode::BAD_REQUEST,
            ProblemCode::InvalidParameter,
            "Idempotency-Key must be 1 to 255 visible ASCII characters",
        ));
    };
    let (Some(user), Some(keys)) = (writer(&req).await, req.data::<Keys>().cloned()) else {
        return next.call(req).await.map(IntoResponse::into_response);
    };
    // The request as a whole (method, path and query, body) is what a retry must repeat.
    let body = req.take_body().into_bytes().await?;
    let mut digest = Sha256::new();
    digest.update(req.method().as_str());
    digest.update(b" ");
    digest.update(req.uri().to_string());
    digest.update(b"\n");
    digest.update(&body);
    let request = digest.finalize().to_vec();
    req.set_body(Body::from(body));
    // From the claim on, run to the end on a task of its own: a client that goes away (a
    // timeout) must not cancel the request between claiming the key, committing the write
    // and keeping its answer, which would leave the key claimed with no answer (409 for a
    // minute) and the write perhaps done (then run again).
    tokio::spawn(claim_and_answer(next, req, keys, user, key, request))
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "an idempotent request's task failed");
            poem::Error::from_status(StatusCode::INTERNAL_SERVER_ERROR)
        })?
}

/// Claims the key for this request, and runs it and keeps its answer, or answers as an
/// earlier request with the key did.
async fn claim_and_answer<E: Endpoint>(
    next: E,
    req: Request,
    keys: Keys,
    user: Uuid,
    key: String,
    request: Vec<u8>,
) -> poem::Result<Response> {
    let now = keys.clock.now();
    let claim = keys
        .store
        .claim_key(user, &key, request, now, now - STALE)
        .await
        .map_err(|e| poem::Error::from(super::problem::ProblemResponse::from_store(e)))?;
    match claim {
        KeyClaim::Claimed => {}
        KeyClaim::Answered(answer) => return Ok(replay(answer)),
        KeyClaim::InProgress => {
            return Ok(generic(
                StatusCode::CONFLICT,
                ProblemCode::RequestInProgress,
                "a request with this Idempotency-Key is still running: retry in a moment",
            ));
        }
        KeyClaim::Reused => {
            return Ok(generic(
                StatusCode::UNPROCESSABLE_ENTITY,
                ProblemCode::IdempotencyKeyReused,
                "this Idempotency-Key was used for another request: use a new key for a new request",
            ));
        }
    }
    answer_and_keep(next, req, keys, user, key).await
}

/// Runs the claimed request and keeps its answer for a retry with the same key.
async fn answer_and_keep<E: Endpoint>(
    next: E,
    req: Request,
    keys: Keys,
    user: Uuid,
    key: String,
) -> poem::Result<Response> {
    let answer = match next.call(req).await {
        Ok(answer) => answer.into_response(),
        Err(e) => e.into_response(),
    };
    let status = answer.status();
    if status.is_server_error() {
        // The server's fault: nothing is kept, so a retry runs the request again.
        let _ = keys.store.release_key(user, &key).await;
        return Ok(answer);
    }
    let (parts, body) = answer.into_parts();
    let bytes = body.into_bytes().await?;
    let kept = StoredAnswer {
        status: status.as_u16(),
        headers: KEPT_HEADERS
            .iter()
            .filter_map(|name| {
                let value = parts.headers.get(*name)?.to_str().ok()?;
                Some((name.to_string(), value.to_string()))
            })
            .collect(),
        body: bytes.to_vec(),
    };
    let expires = keys.clock.now() + KEPT;
    if let Err(e) = keys.store.answer_key(user, &key, kept, expires).await {
        // The write is done; only its replay is lost: a retry within the minute gets
        // 409, later the request runs again. Said in the log, not to the client.
        tracing::warn!(error = %crate::error_chain(&e), "could not keep an Idempotency-Key's answer");
    }
    Ok(Response::from_parts(parts, Body::from(bytes)))
}

/// The background step that forgets answers past their day, a batch per write.
pub struct KeyMaintenance(pub Keys);

impl crate::background::Step for KeyMaintenance {
    type Error = crate::store::StoreError;

    async fn run(&mut self) -> Result<(), crate::store::StoreError> {
        const BATCH: u32 = 1_000;
        while self
            .0
            .store
            .delete_expired_keys(self.0.clock.now(), BATCH)
            .await?
            == BATCH as usize
        {}
        Ok(())
    }
}

fn replay(answer: StoredAnswer) -> Response {
    let mut response = Response::builder()
        .status(StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK))
        .header(REPLAYED, "true");
    for (name, value) in &answer.headers {
        response = response.header(name.as_str(), value.as_str());
    }
    response.body(answer.body)
}
