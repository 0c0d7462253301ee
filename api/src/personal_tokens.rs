//! Personal access tokens for scripts and CI (`/api/auth/tokens`): scoped, revocable,
//! shown once.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::Secret;

/// What a personal token may do. `tasks:write` implies `tasks:read`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Enum))]
pub enum TokenScope {
    /// Read tasks, their history and the change stream.
    #[serde(rename = "tasks:read")]
    #[cfg_attr(feature = "openapi", oai(rename = "tasks:read"))]
    TasksRead,
    /// Create, change, complete, delete and undo tasks (and read them).
    #[serde(rename = "tasks:write")]
    #[cfg_attr(feature = "openapi", oai(rename = "tasks:write"))]
    TasksWrite,
}

impl TokenScope {
    pub const ALL: [TokenScope; 2] = [TokenScope::TasksRead, TokenScope::TasksWrite];

    pub fn as_str(self) -> &'static str {
        match self {
            TokenScope::TasksRead => "tasks:read",
            TokenScope::TasksWrite => "tasks:write",
        }
    }

    pub fn parse(name: &str) -> Option<TokenScope> {
        Self::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

impl std::fmt::Display for TokenScope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The prefix of every personal access token, so scanners and people recognise one.
pub const PERSONAL_TOKEN_PREFIX: &str = "todo_pat_";

/// Body of `POST /api/auth/tokens`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct TokenRequest {
    /// 1 to 100 characters, to tell your tokens apart ("ci", "backup script").
    pub name: String,
    /// At least one.
    pub scopes: Vec<TokenScope>,
    /// 1 to 366 days; `null` for a token that never expires (a risk: it works until
    /// revoked, wherever it was copied).
    pub expires_in_days: Option<u32>,
}

/// A personal access token as listed (never with its secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct PersonalToken {
    pub id: Uuid,
    pub name: String,
    pub scopes: Vec<TokenScope>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Left out for a token that never expires.
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "openapi", oai(skip_serializing_if_is_none))]
    pub expires_at: Option<OffsetDateTime>,
    /// Kept to the minute; left out until first used.
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "openapi", oai(skip_serializing_if_is_none))]
    pub last_used_at: Option<OffsetDateTime>,
}

/// The answer to `POST /api/auth/tokens`: the token's secret, shown this once.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct CreatedToken {
    pub id: Uuid,
    pub name: String,
    pub scopes: Vec<TokenScope>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "openapi", oai(skip_serializing_if_is_none))]
    pub expires_at: Option<OffsetDateTime>,
    /// `todo_pat_...`: send it as `Authorization: Bearer`. It cannot be shown again.
    pub token: Secret,
}

/// What kind of credential a request carried (`GET /api/auth/session`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Enum))]
#[cfg_attr(feature = "openapi", oai(rename_all = "snake_case"))]
pub enum CredentialKind {
    /// An access token of a signed-in session.
    Session,
    /// A personal access token.
    PersonalToken,
    /// A token from a trusted issuer (Better Auth, an OpenID provider).
    External,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_read_back_from_their_names() {
        for scope in TokenScope::ALL {
            assert_eq!(TokenScope::parse(scope.as_str()), Some(scope));
            assert_eq!(
                serde_json::to_string(&scope).expect("json"),
                format!("\"{scope}\"")
            );
        }
        assert_eq!(TokenScope::parse("tasks:admin"), None);
    }
}
