//! The `Allow` header on 405 answers (RFC 9110 §15.5.6), from the OpenAPI document's
//! own list of paths and methods, so the two cannot disagree.

use std::sync::Arc;

use poem::http::{HeaderValue, StatusCode, header};
use poem::{Endpoint, IntoResponse, Request, Response};

/// Path templates (`/api/{user_id}/tasks`) and the methods each takes.
#[derive(Debug, Clone, Default)]
pub struct AllowedMethods {
    routes: Vec<(Vec<String>, String)>,
}

impl AllowedMethods {
    /// Reads the paths of an OpenAPI 3 document.
    pub fn from_spec(spec_json: &str) -> AllowedMethods {
        let spec: serde_json::Value = serde_json::from_str(spec_json).unwrap_or_default();
        let routes = spec["paths"]
            .as_object()
            .map(|paths| {
                paths
                    .iter()
                    .map(|(path, ops)| {
                        let segments = path.trim_matches('/').split('/').map(str::to_string).collect();
                        let mut methods: Vec<String> = ops
                            .as_object()
                            .map(|o| o.keys().map(|m| m.to_uppercase()).collect())
                            .unwrap_or_default();
                        methods.sort();
                        (segments, methods.join(", "))
                    })
                    .collect()
            })
            .unwrap_or_default();
        AllowedMethods { routes }
    }

    pub fn for_path(&self, path: &str) -> Option<&str> {
        let wanted: Vec<&str> = path.trim_matches('/').split('/').collect();
        self.routes
            .iter()
            .find(|(template, _)| {
                template.len() == wanted.len()
                    && template
                        .iter()
                        .zip(&wanted)
                        .all(|(t, w)| (t.starts_with('{') && t.ends_with('}')) || t == w)
            })
            .map(|(_, methods)| methods.as_str())
    }
}

pub async fn add_allow_header<E: Endpoint>(
    next: E,
    req: Request,
    allowed: Arc<AllowedMethods>,
) -> poem::Result<Response> {
    let path = req.uri().path().to_string();
    let mut response = next.call(req).await?.into_response();
    if response.status() == StatusCode::METHOD_NOT_ALLOWED
        && let Some(methods) = allowed.for_path(&path)
        && let Ok(value) = HeaderValue::from_str(methods)
    {
        response.headers_mut().insert(header::ALLOW, value);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_match_concrete_paths() {
        let spec = r#"{"paths": {"/api/{user_id}/tasks": {"get": {}, "post": {}}, "/healthz": {"get": {}}}}"#;
        let allowed = AllowedMethods::from_spec(spec);
        assert_eq!(allowed.for_path("/api/abc/tasks"), Some("GET, POST"));
        assert_eq!(allowed.for_path("/healthz"), Some("GET"));
        assert_eq!(allowed.for_path("/api/abc/tasks/1"), None);
    }
}
