//! Headers every response carries: nothing a browser or a proxy may keep unless we say
//! so, no content sniffing, and for the Swagger UI pages a Content-Security-Policy that
//! lets only their own inline scripts run and no other site frame them.

use std::sync::OnceLock;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use poem::http::HeaderValue;
use poem::http::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, X_CONTENT_TYPE_OPTIONS};
use poem::{Endpoint, IntoResponse, Request, Response};
use sha2::{Digest, Sha256};

/// Sets `Cache-Control: no-store` where a route set no cache policy of its own (tokens,
/// users and tasks must not be kept by a shared cache or the browser's history), and
/// `X-Content-Type-Options: nosniff` everywhere.
pub async fn add_security_headers<E: Endpoint>(next: E, req: Request) -> poem::Result<Response> {
    let is_docs = req.uri().path().starts_with("/docs");
    let mut response = next.call(req).await?.into_response();
    let headers = response.headers_mut();
    if !headers.contains_key(CACHE_CONTROL) {
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    if is_docs {
        return Ok(with_docs_policy(response).await);
    }
    Ok(response)
}

/// The Swagger UI page is one HTML document with its scripts inline; the policy allows
/// exactly those scripts by their SHA-256 (computed once from the page itself), so an
/// injected script would not run, and `frame-ancestors 'none'` stops clickjacking.
async fn with_docs_policy(response: Response) -> Response {
    static POLICY: OnceLock<HeaderValue> = OnceLock::new();
    let is_html = response
        .content_type()
        .is_some_and(|t| t.starts_with("text/html"));
    if !is_html {
        return response;
    }
    let (parts, body) = response.into_parts();
    let html = body.into_string().await.unwrap_or_default();
    let policy = POLICY.get_or_init(|| docs_policy(&html)).clone();
    let mut response = Response::from_parts(parts, html.into());
    response.headers_mut().insert(CONTENT_SECURITY_POLICY, policy);
    response
}

fn docs_policy(html: &str) -> HeaderValue {
    let hashes: Vec<String> = inline_scripts(html)
        .map(|script| format!("'sha256-{}'", STANDARD.encode(Sha256::digest(script.as_bytes()))))
        .collect();
    let policy = format!(
        "default-src 'none'; script-src {}; style-src 'unsafe-inline'; img-src 'self' data:; \
         font-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; \
         frame-ancestors 'none'",
        if hashes.is_empty() {
            "'none'".to_string()
        } else {
            hashes.join(" ")
        }
    );
    HeaderValue::from_str(&policy)
        .unwrap_or_else(|_| HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"))
}

/// The text of every `<script ...>...</script>` element, as a browser reads it: a
/// script's text ends at the first `</script` after its opening tag, whatever it holds
/// (Swagger UI's bundle contains the text `<script` itself).
fn inline_scripts(html: &str) -> impl Iterator<Item = &str> {
    let mut rest = html;
    std::iter::from_fn(move || {
        let tag = &rest[rest.find("<script")?..];
        let body = &tag[tag.find('>')? + 1..];
        let end = body.find("</script")?;
        rest = &body[end..];
        Some(&body[..end])
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_inline_script_is_hashed() {
        let html = "<p><script charset=\"UTF-8\">one()</script><script>two()</script></p>";
        let scripts: Vec<&str> = inline_scripts(html).collect();
        assert_eq!(scripts, ["one()", "two()"]);
        let policy = docs_policy(html);
        let policy = policy.to_str().unwrap_or_default();
        let hash = STANDARD.encode(Sha256::digest(b"one()"));
        assert!(policy.contains(&format!("'sha256-{hash}'")), "{policy}");
        assert!(policy.contains("frame-ancestors 'none'"));
    }

    /// Swagger UI's bundle holds the text `<script` (in strings): it is part of the
    /// script, not a new one, so the hash is of the whole bundle.
    #[test]
    fn a_script_holding_the_text_of_a_tag_is_hashed_whole() {
        let bundle = "var s = '<script>'; var t = \"<script src=x>\"; go()";
        let html = format!("<head><script>{bundle}</script><script>two()</script></head>");
        let scripts: Vec<&str> = inline_scripts(&html).collect();
        assert_eq!(scripts, [bundle, "two()"]);
    }
}
