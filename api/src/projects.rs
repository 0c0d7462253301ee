//! Projects shared between people: the project, its members and their roles, and the
//! invitations that add members.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

/// What a member may do in a project; each role may do everything the ones before it
/// may.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Enum))]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "openapi", oai(rename_all = "lowercase"))]
pub enum Role {
    /// Reads the project's tasks.
    Viewer,
    /// Also creates, changes and deletes its tasks.
    Editor,
    /// Also invites, removes and changes members (not the owner or, unless the owner,
    /// admins), and renames the project.
    Admin,
    /// Exactly one per project: also deletes it and hands it over.
    Owner,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Viewer, Role::Editor, Role::Admin, Role::Owner];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Editor => "editor",
            Role::Admin => "admin",
            Role::Owner => "owner",
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A project as one of its members sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct Project {
    pub id: Uuid,
    pub name: String,
    pub owner_id: Uuid,
    /// The caller's role in it.
    pub role: Role,
    pub member_count: u32,
    /// 1 at creation, +1 at every rename; the `ETag` is `"<version>"`.
    pub version: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// Body of `POST /api/{user_id}/projects` and `PATCH .../projects/{project_id}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct ProjectInput {
    /// 1 to 100 characters on one line, with at least one visible; unique among the
    /// owner's projects without regard to case.
    pub name: String,
}

/// A member of a project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct Member {
    pub user_id: Uuid,
    pub email: String,
    pub role: Role,
    #[serde(with = "time::serde::rfc3339")]
    pub added_at: OffsetDateTime,
}

/// Body of `PATCH .../projects/{project_id}/members/{member_id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct MemberRole {
    /// `viewer`, `editor` or `admin` (the owner hands over with `transfer`).
    pub role: Role,
}

/// Body of `POST .../projects/{project_id}/invitations`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct InvitationInput {
    /// The address invited; it need not have an account yet.
    pub email: String,
    /// `viewer`, `editor` or `admin`.
    pub role: Role,
}

/// An invitation to a project, as the inviting admins and the invitee see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct Invitation {
    pub id: Uuid,
    pub project_id: Uuid,
    pub project_name: String,
    pub email: String,
    pub role: Role,
    pub invited_by: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

/// Body of `POST .../projects/{project_id}/transfer`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct Transfer {
    /// A member, who becomes the owner; the old owner becomes an admin.
    pub user_id: Uuid,
}
