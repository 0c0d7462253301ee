//! Conditional requests (RFC 9110): a task's `ETag` is `"<version>"`, and `If-Match`
//! makes a write apply only to the version the client read.

use todo_api::{ProblemCode, Task};

use super::problem::ProblemResponse;
use crate::tasks::Expected;

/// The strong entity tag of a task.
pub fn etag(task: &Task) -> String {
    etag_of(task.version)
}

/// The strong entity tag of anything versioned (a task, a project): `"<version>"`.
pub fn etag_of(version: i64) -> String {
    format!("\"{version}\"")
}

/// `If-Match` as the version a write expects: none or `*` is any version (the task
/// must exist); `"<n>"` is version n, written exactly as an `ETag` writes it (RFC 9110
/// compares tags byte for byte, so `"02"` and `"+2"` are not `"2"`). Anything else (a
/// weak tag, a list, a tag this server never issues, garbage) is refused: a write must
/// not guess what the client meant. An undecodable header never gets here
/// (`request_headers`).
pub fn expected(if_match: Option<&str>) -> Result<Expected, ProblemResponse> {
    let Some(value) = if_match.map(str::trim) else {
        return Ok(Expected::Any);
    };
    if value == "*" {
        return Ok(Expected::Any);
    }
    value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .and_then(|v| v.parse::<i64>().ok().filter(|n| n.to_string() == v))
        .map(Expected::Version)
        .ok_or_else(|| {
            ProblemResponse::bad_request(
                ProblemCode::InvalidParameter,
                "If-Match takes one entity tag such as \"3\" (the task's version) or *",
                Some("If-Match".into()),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_match_takes_one_strong_tag_or_a_star() {
        assert_eq!(expected(None).ok(), Some(Expected::Any));
        assert_eq!(expected(Some("*")).ok(), Some(Expected::Any));
        assert_eq!(expected(Some(" \"7\" ")).ok(), Some(Expected::Version(7)));
        for bad in [
            "7",
            "W/\"7\"",
            "\"7\", \"8\"",
            "\"x\"",
            "",
            "\"07\"",
            "\"+7\"",
            "\" 7\"",
            "\"-0\"",
        ] {
            assert!(expected(Some(bad)).is_err(), "{bad:?}");
        }
    }
}
