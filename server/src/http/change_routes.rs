//! `/api/{user_id}/events` (the change stream, server-sent events), a task's history and
//! undo. Same bearer check and owner rule as the task routes.

use std::sync::Arc;

use bytes::Bytes;
use poem::Body;
use poem_openapi::param::{Header, Path};
use poem_openapi::payload::Binary;
use poem_openapi::{ApiResponse, OpenApi};
use time::OffsetDateTime;
use todo_api::{HistoryEntry, RESET_EVENT, StreamReset, UndoResult};
use uuid::Uuid;

use super::ApiTag;
use super::bearer::BearerAuth;
use super::json::SerdeJson;
use super::problem::ProblemResponse;
use crate::auth::AuthService;
use crate::tasks::TaskService;
use crate::tasks::stream::{StreamItem, StreamStart};

pub struct ChangeApi {
    pub tasks: TaskService,
    pub auth: Arc<AuthService>,
}

#[derive(ApiResponse)]
pub enum EventStream {
    /// Server-sent events, one per change in commit order: `id: <seq>`, `event:
    /// task.created|task.updated|task.deleted` (or a project's: `project.updated`,
    /// `project.member_added`, `project.member_removed`, `project.removed`,
    /// `invitation.received`), `data:` a `TaskEvent`. With
    /// `Last-Event-ID` every later event comes first; if those are no longer kept the
    /// first message is `event: reset` (`data: {"seq": N}`: reload, then read on). The
    /// comment `: live` marks the end of the replay; `: heartbeat` comes every 15 s. The stream ends at the token's expiry and within a
    /// second of the session's sign-out: reconnect with a fresh token and the last id.
    #[oai(status = 200, content_type = "text/event-stream")]
    Ok(
        Binary<Body>,
        /// Tells nginx not to buffer the stream.
        #[oai(header = "X-Accel-Buffering")]
        String,
    ),
}

#[derive(ApiResponse)]
pub enum History {
    /// The task's kept changes, oldest first, each with the task before and after.
    #[oai(status = 200)]
    Ok(SerdeJson<Vec<HistoryEntry>>),
}

#[derive(ApiResponse)]
pub enum Undone {
    /// What was reverted and the task now (left out when the undo deleted it).
    #[oai(status = 200)]
    Ok(SerdeJson<UndoResult>),
}

/// One stream item as server-sent-event text.
fn sse(item: &StreamItem) -> Bytes {
    let text = match item {
        StreamItem::Event { seq, kind, data } => {
            format!("id: {seq}\nevent: {}\ndata: {data}\n\n", kind.as_str())
        }
        StreamItem::Reset { seq } => format!(
            "id: {seq}\nevent: {RESET_EVENT}\ndata: {}\n\n",
            serde_json::to_string(&StreamReset { seq: *seq }).unwrap_or_default()
        ),
        StreamItem::Live => ": live\n\n".to_string(),
        StreamItem::Heartbeat => ": heartbeat\n\n".to_string(),
    };
    Bytes::from(text)
}

#[OpenApi(tag = "ApiTag::Tasks")]
impl ChangeApi {
    /// Stream changes to your tasks
    ///
    /// At most 16 streams per user at once (429 `too_many_streams` beyond).
    #[oai(path = "/api/:user_id/events", method = "get")]
    async fn events(
        &self,
        auth: BearerAuth,
        #[oai(name = "user_id")] _user_id: Path<Uuid>,
        /// The last `id` received: the stream starts after it.
        #[oai(name = "Last-Event-ID")]
        last_event_id: Header<Option<String>>,
    ) -> Result<EventStream, ProblemResponse> {
        let owner = auth.owner()?;
        let last_event_id = match last_event_id.0.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(text) => Some(text.parse::<i64>().map_err(|_| {
                ProblemResponse::bad_request(
                    todo_api::ProblemCode::InvalidParameter,
                    "Last-Event-ID must be the id of an event (an integer)",
                    Some("Last-Event-ID".into()),
                )
            })?),
        };
        let claims = auth.claims();
        let ends_at =
            OffsetDateTime::from_unix_timestamp(claims.exp).unwrap_or_else(|_| self.tasks.clock().now());
        let (session, checker) = (claims.sid, self.auth.clone());
        let start = StreamStart {
            owner,
            last_event_id,
            ends_at,
        };
        let items = self
            .tasks
            .stream(start, move || !checker.is_signed_out(&session))
            .await?;
        let bytes = futures_util::stream::unfold(items, |mut items| async move {
            let item = items.recv().await?;
            Some((Ok::<_, std::io::Error>(sse(&item)), items))
        });
        Ok(EventStream::Ok(
            Binary(Body::from_bytes_stream(bytes)),
            "no".to_string(),
        ))
    }

    /// A task's history
    #[oai(path = "/api/:user_id/tasks/:id/history", method = "get")]
    async fn history(
        &self,
        auth: BearerAuth,
        #[oai(name = "user_id")] _user_id: Path<Uuid>,
        id: Path<i64>,
    ) -> Result<History, ProblemResponse> {
        let entries = self.tasks.history(auth.owner()?, id.0).await?;
        Ok(History::Ok(SerdeJson::new(&entries)?))
    }

    /// Undo your latest change
    ///
    /// Reverts your latest change not undone yet (a create is deleted, an update gets
    /// its previous values back, a delete is restored with the same id) as a new change
    /// on the stream. Repeated calls walk back; with nothing left, 404 `nothing_to_undo`.
    #[oai(path = "/api/:user_id/undo", method = "post")]
    async fn undo(
        &self,
        auth: BearerAuth,
        #[oai(name = "user_id")] _user_id: Path<Uuid>,
    ) -> Result<Undone, ProblemResponse> {
        let undone = self.tasks.undo(auth.owner()?).await?;
        Ok(Undone::Ok(SerdeJson::new(&undone)?))
    }
}
