//! Checks on the headers a route reads, before it reads them: poem-openapi treats a
//! header it cannot decode as absent, and takes any `application/*+json` body as JSON,
//! so a stale write could go through unconditionally and a JSON Patch document could be
//! applied as a merge patch. Both are refused here, for every route at once.

use poem::http::header::{CONTENT_TYPE, IF_MATCH, IF_NONE_MATCH};
use poem::http::{Method, StatusCode};
use poem::{Endpoint, IntoResponse, Request, Response};

use todo_api::ProblemCode;

use super::problem::generic;

/// The body types the API documents: JSON everywhere, and a merge patch on PATCH.
fn documented_body_type(method: &Method, essence: &str) -> bool {
    essence.eq_ignore_ascii_case("application/json")
        || (method == Method::PATCH && essence.eq_ignore_ascii_case("application/merge-patch+json"))
}

/// `application/json`, `application/*+json` and the like, in any case: what poem-openapi
/// would read as JSON.
fn json_like(essence: &str) -> bool {
    let prefix = essence
        .get(..12)
        .is_some_and(|p| p.eq_ignore_ascii_case("application/"));
    let suffix = essence
        .len()
        .checked_sub(4)
        .and_then(|at| essence.get(at..))
        .is_some_and(|s| s.eq_ignore_ascii_case("json"));
    prefix && suffix
}

/// Refuses a conditional header that is not visible ASCII or given more than once (400),
/// and a JSON body type other than the documented ones (415).
pub async fn check_request_headers<E: Endpoint>(next: E, req: Request) -> poem::Result<Response> {
    for (name, shown) in [(IF_MATCH, "If-Match"), (IF_NONE_MATCH, "If-None-Match")] {
        let mut values = req.headers().get_all(&name).iter();
        let undecodable = match (values.next(), values.next()) {
            (None, _) => false,
            (Some(only), None) => only.to_str().is_err(),
            (Some(_), Some(_)) => true,
        };
        if undecodable {
            return Ok(generic(
                StatusCode::BAD_REQUEST,
                ProblemCode::InvalidParameter,
                &format!("{shown} must be one line of visible ASCII, such as \"3\" or *"),
            ));
        }
    }
    if let Some(content_type) = req.headers().get(CONTENT_TYPE) {
        // Compared without allocating: this runs on every request with a body.
        let essence = content_type
            .to_str()
            .unwrap_or_default()
            .split(';')
            .next()
            .unwrap_or_default()
            .trim();
        if json_like(essence) && !documented_body_type(req.method(), essence) {
            return Ok(generic(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                ProblemCode::UnsupportedMediaType,
                "send the body as application/json (or application/merge-patch+json on PATCH)",
            ));
        }
    }
    Ok(next.call(req).await?.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_documented_json_types_are_bodies() {
        assert!(documented_body_type(&Method::POST, "application/json"));
        assert!(documented_body_type(
            &Method::PATCH,
            "application/merge-patch+json"
        ));
        assert!(!documented_body_type(
            &Method::POST,
            "application/merge-patch+json"
        ));
        assert!(!documented_body_type(
            &Method::PATCH,
            "application/json-patch+json"
        ));
        assert!(!documented_body_type(&Method::PATCH, "application/vnd.x+json"));
        assert!(documented_body_type(&Method::POST, "Application/JSON"));
        assert!(json_like("application/vnd.x+json") && json_like("APPLICATION/JSON"));
        assert!(!json_like("text/plain") && !json_like("json"));
    }
}
