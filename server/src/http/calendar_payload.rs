//! A `text/calendar` body (RFC 5545), documented as a string.

use poem::{IntoResponse, Response};
use poem_openapi::payload::Payload;
use poem_openapi::registry::{MetaSchema, MetaSchemaRef};

pub struct CalendarBody(pub String);

const CONTENT_TYPE: &str = "text/calendar; charset=utf-8";

impl Payload for CalendarBody {
    const CONTENT_TYPE: &'static str = CONTENT_TYPE;

    fn check_content_type(content_type: &str) -> bool {
        content_type.starts_with("text/calendar")
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Inline(Box::new(MetaSchema::new("string")))
    }
}

impl IntoResponse for CalendarBody {
    fn into_response(self) -> Response {
        Response::builder().content_type(CONTENT_TYPE).body(self.0)
    }
}
