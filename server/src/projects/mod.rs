//! Projects shared between people: the service the project routes call, and its errors.
//! Who may do what is decided in `domain::projects`; the store re-checks it in the
//! write's own transaction.

mod service;

pub use service::ProjectService;

use todo_api::Role;

use crate::domain::tasks::InvalidTask;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ProjectError {
    #[error(transparent)]
    Invalid(#[from] InvalidTask),
    /// No such project, or the caller is not a member: the two are not told apart.
    #[error("no project {0} among yours")]
    NotFound(uuid::Uuid),
    #[error("no member {0} in this project")]
    MemberNotFound(uuid::Uuid),
    #[error("no open invitation {0} for you")]
    InvitationNotFound(uuid::Uuid),
    /// A member whose role is less than the one this needs; `why` says what needs it.
    #[error("{why}: it needs the {needed} role")]
    NeedsRole { needed: Role, why: &'static str },
    /// The write named another version; the project as it is now.
    #[error("project {} has changed: it is at version {}", .0.id, .0.version)]
    VersionConflict(Box<todo_api::Project>),
    #[error("the owner has a project named like this already")]
    NameTaken,
    #[error("{0}")]
    LimitReached(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}
