//! Calendars: `GET /api/{user_id}/calendar.ics` (a bearer or a personal token with
//! `tasks:read`), and feeds for calendar apps, which cannot send a header:
//! `/api/auth/feeds` to make, list and revoke them (a signed-in session), and the feed
//! itself at `/feeds/{secret}.ics`, whose secret is the credential.

use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi};
use todo_api::{CreatedFeed, Feed, FeedRequest};
use uuid::Uuid;

use super::ApiTag;
use super::bearer::BearerAuth;
use super::calendar_payload::CalendarBody;
use super::json::SerdeJson;
use super::problem::ProblemResponse;
use super::strict::Strict;
use crate::feeds::FeedService;
use crate::tasks::TaskService;

pub struct FeedApi {
    pub feeds: FeedService,
    pub tasks: TaskService,
}

#[derive(ApiResponse)]
pub enum CalendarFile {
    /// One VTODO per task with a due date (UID stable, DUE in UTC, RRULE for a series'
    /// pending instance, PRIORITY, STATUS, CATEGORIES, COMPLETED, DESCRIPTION, VALARM for
    /// a reminder).
    #[oai(status = 200)]
    Ok(CalendarBody, #[oai(header = "Cache-Control")] String),
}

#[derive(ApiResponse)]
pub enum FeedCreated {
    /// Made: `path` holds its secret, shown this once.
    #[oai(status = 201)]
    Created(SerdeJson<CreatedFeed>, #[oai(header = "Cache-Control")] String),
}

#[derive(ApiResponse)]
pub enum FeedList {
    /// Your calendar feeds, without their addresses.
    #[oai(status = 200)]
    Ok(SerdeJson<Vec<Feed>>),
}

#[derive(ApiResponse)]
pub enum FeedRevoked {
    /// Revoked: its address answers 404 from now on.
    #[oai(status = 204)]
    NoContent,
}

const PRIVATE: &str = "private, no-store";

#[OpenApi(tag = "ApiTag::Auth")]
impl FeedApi {
    /// Your tasks with a due date, as iCalendar
    #[oai(path = "/api/:user_id/calendar.ics", method = "get", tag = "ApiTag::Tasks")]
    async fn calendar(
        &self,
        auth: BearerAuth,
        #[oai(name = "user_id")] _user_id: Path<Uuid>,
    ) -> Result<CalendarFile, ProblemResponse> {
        let text = self.tasks.calendar(auth.owner()?).await?;
        Ok(CalendarFile::Ok(CalendarBody(text), PRIVATE.into()))
    }

    /// A calendar feed's iCalendar
    ///
    /// For a calendar app: the secret in the path is the credential (404 for anything
    /// but a live feed of an enabled account).
    #[oai(path = "/feeds/:file", method = "get", tag = "ApiTag::Tasks")]
    async fn feed(&self, file: Path<String>) -> Result<CalendarFile, ProblemResponse> {
        let text = self.feeds.calendar(&file.0).await?;
        Ok(CalendarFile::Ok(CalendarBody(text), PRIVATE.into()))
    }

    /// Make a calendar feed
    ///
    /// An address a calendar app subscribes to (`path`, after this server's address):
    /// read-only, at most 20 per account, until you revoke it or the account is
    /// disabled or deleted.
    #[oai(path = "/api/auth/feeds", method = "post")]
    async fn create(
        &self,
        auth: BearerAuth,
        body: Json<Strict<FeedRequest>>,
    ) -> Result<FeedCreated, ProblemResponse> {
        let created = self.feeds.create(auth.claims().sub, body.0.0.name).await?;
        Ok(FeedCreated::Created(SerdeJson::new(&created)?, "no-store".into()))
    }

    /// Your calendar feeds
    #[oai(path = "/api/auth/feeds", method = "get")]
    async fn list(&self, auth: BearerAuth) -> Result<FeedList, ProblemResponse> {
        let feeds = self.feeds.list(auth.claims().sub).await?;
        Ok(FeedList::Ok(SerdeJson::new(&feeds)?))
    }

    /// Revoke a calendar feed
    #[oai(path = "/api/auth/feeds/:id", method = "delete")]
    async fn revoke(&self, auth: BearerAuth, id: Path<Uuid>) -> Result<FeedRevoked, ProblemResponse> {
        self.feeds.revoke(auth.claims().sub, id.0).await?;
        Ok(FeedRevoked::NoContent)
    }
}
