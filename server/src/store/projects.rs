//! The port for projects, their members and invitations. The rules of who may do what
//! are the domain's (`domain::projects`); each write here re-checks, in its own
//! transaction, the [`RoleGuard`] the service decided on, and changes nothing when it
//! no longer holds. Membership changes also write the task events that make each
//! member's stream match what they can see: a new member gets every task of the
//! project as created, a member who goes gets each as deleted.

use async_trait::async_trait;
use time::OffsetDateTime;
use todo_api::{Invitation, Member, Project, Role};
use uuid::Uuid;

use crate::domain::projects::{ProjectName, RoleGuard};

use super::{Expected, StoreResult};

/// The outcome of a guarded project write.
#[derive(Debug)]
pub enum Guarded<T> {
    Done(T),
    /// The guard no longer holds (the actor's or the member's role changed, or the
    /// project went): nothing changed. The service reads again and answers.
    Refused,
    /// The project is at another version: nothing changed; the project as it is.
    Conflict(Box<Project>),
    /// The owner has a project with this name already (without regard to case).
    NameTaken,
    /// A count limit (projects per user, members or open invitations per project).
    LimitReached,
}

/// A change to one member, decided by the service for a member it read with `from`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberChange {
    SetRole {
        member: Uuid,
        from: Role,
        to: Role,
    },
    Remove {
        member: Uuid,
        from: Role,
    },
    /// The member (now `from`) becomes the owner; the actor, the owner, becomes admin.
    Transfer {
        member: Uuid,
        from: Role,
    },
}

/// An invitation to write.
#[derive(Debug, Clone)]
pub struct NewInvitation {
    pub id: Uuid,
    pub project: Uuid,
    /// Normalised, as accounts store theirs.
    pub email: String,
    pub role: Role,
    pub now: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

#[async_trait]
pub trait ProjectStorage: Send + Sync + 'static {
    /// Every project `user` is a member of, by name.
    async fn projects_of(&self, user: Uuid) -> StoreResult<Vec<Project>>;
    /// The project as `user` sees it; `None` when there is no such project or `user` is
    /// not a member.
    async fn project_for(&self, user: Uuid, project: Uuid) -> StoreResult<Option<Project>>;
    /// Creates the project with `owner` as its owner (`LimitReached` when `owner` is a
    /// member of the most projects already).
    async fn create_project(
        &self,
        owner: Uuid,
        id: Uuid,
        name: &ProjectName,
        now: OffsetDateTime,
    ) -> StoreResult<Guarded<Project>>;
    async fn rename_project(
        &self,
        guard: RoleGuard,
        project: Uuid,
        expected: Expected,
        name: &ProjectName,
        now: OffsetDateTime,
    ) -> StoreResult<Guarded<Project>>;
    /// Deletes the project and its tasks; every member's stream gets each task deleted.
    async fn delete_project(
        &self,
        guard: RoleGuard,
        project: Uuid,
        expected: Expected,
        now: OffsetDateTime,
    ) -> StoreResult<Guarded<()>>;
    async fn members(&self, project: Uuid) -> StoreResult<Vec<Member>>;
    async fn change_member(
        &self,
        guard: RoleGuard,
        project: Uuid,
        change: MemberChange,
        now: OffsetDateTime,
    ) -> StoreResult<Guarded<()>>;
    /// Writes the invitation, or renews the open one of the same address (its role and
    /// expiry).
    async fn invite(&self, guard: RoleGuard, invitation: &NewInvitation) -> StoreResult<Guarded<Invitation>>;
    /// Tells the account with the invitation's address, if there is one, of it
    /// (`invitation.received`). Apart from `invite`, and after its answer: so that
    /// inviting an address with an account takes no longer than one without.
    async fn notify_invitee(&self, invitation: &Invitation, now: OffsetDateTime) -> StoreResult<()>;
    /// The project's open invitations.
    async fn project_invitations(&self, project: Uuid, now: OffsetDateTime) -> StoreResult<Vec<Invitation>>;
    async fn revoke_invitation(
        &self,
        guard: RoleGuard,
        project: Uuid,
        invitation: Uuid,
    ) -> StoreResult<Guarded<bool>>;
    /// The open invitations to `user`'s address (as it is now).
    async fn invitations_to(&self, user: Uuid, now: OffsetDateTime) -> StoreResult<Vec<Invitation>>;
    /// Accepts (a member with the invited role, unless a member already) or declines an
    /// open invitation to `user`'s address; `None` when there is none with that id.
    async fn answer_invitation(
        &self,
        user: Uuid,
        invitation: Uuid,
        accept: bool,
        now: OffsetDateTime,
    ) -> StoreResult<Option<Guarded<Invitation>>>;
}
