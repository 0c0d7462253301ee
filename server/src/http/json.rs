//! Success bodies written straight from the wire types' serde impls.
//!
//! poem-openapi's `Json` answers by first building a `serde_json::Value` tree (a map node
//! and a copied string per field) and then serialising that tree; for a page of tasks
//! this was the largest single cost of the request (see BENCHMARKS.md). `SerdeJson`
//! documents the same schema, derived by poem-openapi from the same type, but writes the
//! bytes in one pass with the serde impls the clients decode with.

use std::marker::PhantomData;

use poem::{IntoResponse, Response};
use poem_openapi::payload::{Json, Payload};
use poem_openapi::registry::{MetaSchemaRef, Registry};
use poem_openapi::types::Type;
use serde::Serialize;

use super::problem::ProblemResponse;

/// A JSON response body, documented as `T` and serialised by serde when it is built.
///
/// Serialising first is what keeps status and body in step: poem-openapi sets a
/// variant's status after the payload has become a response, so a payload that failed
/// there would send its 500 problem under a 201. Here a value serde cannot write is an
/// error before any status is chosen.
pub struct SerdeJson<T> {
    body: Vec<u8>,
    documents: PhantomData<fn() -> T>,
}

impl<T: Serialize> SerdeJson<T> {
    pub fn new(value: &T) -> Result<Self, ProblemResponse> {
        match serde_json::to_vec(value) {
            Ok(body) => Ok(SerdeJson {
                body,
                documents: PhantomData,
            }),
            Err(e) => Err(ProblemResponse::internal(&e)),
        }
    }
}

const CONTENT_TYPE: &str = "application/json; charset=utf-8";

impl<T: Type> Payload for SerdeJson<T> {
    const CONTENT_TYPE: &'static str = CONTENT_TYPE;

    fn check_content_type(content_type: &str) -> bool {
        Json::<T>::check_content_type(content_type)
    }

    fn schema_ref() -> MetaSchemaRef {
        T::schema_ref()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

impl<T: Send> IntoResponse for SerdeJson<T> {
    fn into_response(self) -> Response {
        Response::builder().content_type(CONTENT_TYPE).body(self.body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use poem_openapi::types::ToJSON;
    use todo_api::{Priority, Task};

    fn task(due: bool) -> Task {
        let t = time::macros::datetime!(2026-11-25 12:30:00.123456 UTC);
        Task {
            id: 7,
            user_id: uuid::Uuid::nil(),
            version: 1,
            title: "Buy \"milk\" ✓".into(),
            description: "line one\nline two".into(),
            completed: false,
            priority: Priority::High,
            due_at: due.then_some(t),
            tags: vec!["home".into()],
            created_at: t,
            updated_at: t,
            completed_at: None,
            source_id: None,
            project_id: None,
            created_by: uuid::Uuid::nil(),
            updated_by: uuid::Uuid::nil(),
            recurrence: None,
            series_id: None,
            occurrence: None,
            notes: None,
            note_count: 0,
            parent_id: None,
            subtasks: Default::default(),
            wait_until: None,
            remind_at: None,
            remind_before: None,
            depends_on: Vec::new(),
            blocked: false,
        }
    }

    /// The bytes on the wire equal what poem-openapi's own `Json` would have sent, so
    /// the OpenAPI document (derived by poem-openapi) still describes them exactly.
    #[tokio::test]
    async fn writes_the_same_json_as_poem_openapi() {
        let tasks = vec![task(true), task(false)];
        let expected = tasks.to_json();
        let response = SerdeJson::new(&tasks).expect("serialises").into_response();
        assert_eq!(response.content_type(), Some("application/json; charset=utf-8"));
        let body = response.into_body().into_vec().await.expect("body");
        let written: serde_json::Value = serde_json::from_slice(&body).expect("json");
        assert_eq!(Some(written), expected);
    }

    /// A value serde refuses is an error before a status exists, never a 2xx body.
    #[test]
    fn a_value_serde_cannot_write_is_an_error_not_a_body() {
        let mut bad = task(false);
        bad.created_at = time::macros::datetime!(-0001-01-01 0:00 UTC);
        assert!(matches!(SerdeJson::new(&bad), Err(ProblemResponse::Internal(_))));
    }
}
