use std::sync::Arc;

use time::Duration;
use todo_api::limits::{INVITATION_DAYS, INVITATIONS_PER_PROJECT, MEMBERS_PER_PROJECT, PROJECTS_PER_USER};
use todo_api::{ActivityKind, Invitation, Member, Project, Role};
use uuid::Uuid;

use super::ProjectError;
use crate::auth::RequestOrigin;
use crate::auth::activity::ActivityLog;
use crate::auth::passwords::normalize_email;
use crate::clock::Clock;
use crate::domain::projects::{NeedsRole, ProjectName, RoleGuard, may, needed_to_change_member};
use crate::domain::tasks::{InvalidTask, Owner};
use crate::store::{Expected, Guarded, MemberChange, NewInvitation, ProjectStorage};

/// How often a write whose guard stopped holding (a role changed meanwhile) is decided
/// again before it gives up with 503.
const ATTEMPTS: usize = 3;

/// Project operations, each by the caller (the `{user_id}` of the path). Changes to
/// membership go in the caller's activity log.
#[derive(Clone)]
pub struct ProjectService {
    db: Arc<dyn ProjectStorage>,
    activity: ActivityLog,
    clock: Clock,
}

fn needs(why: &'static str) -> impl Fn(NeedsRole) -> ProjectError {
    move |NeedsRole(needed)| ProjectError::NeedsRole { needed, why }
}

fn busy() -> ProjectError {
    ProjectError::Store(crate::store::StoreError::Busy)
}

impl ProjectService {
    pub fn new(db: Arc<dyn ProjectStorage>, activity: ActivityLog, clock: Clock) -> Self {
        ProjectService { db, activity, clock }
    }

    async fn log(&self, caller: Owner, kind: ActivityKind, origin: &RequestOrigin, project: Uuid) {
        self.activity
            .record(caller.id(), kind, origin, Some(project))
            .await;
    }

    pub async fn list(&self, caller: Owner) -> Result<Vec<Project>, ProjectError> {
        Ok(self.db.projects_of(caller.id()).await?)
    }

    /// The project as the caller sees it: 404 when they are not a member.
    pub async fn get(&self, caller: Owner, id: Uuid) -> Result<Project, ProjectError> {
        self.db
            .project_for(caller.id(), id)
            .await?
            .ok_or(ProjectError::NotFound(id))
    }

    pub async fn create(&self, caller: Owner, name: &str) -> Result<Project, ProjectError> {
        let name = ProjectName::parse(name)?;
        let outcome = self
            .db
            .create_project(caller.id(), Uuid::new_v4(), &name, self.clock.now())
            .await?;
        settle(outcome)
    }

    pub async fn rename(
        &self,
        caller: Owner,
        id: Uuid,
        expected: Expected,
        name: &str,
    ) -> Result<Project, ProjectError> {
        let name = ProjectName::parse(name)?;
        for _ in 0..ATTEMPTS {
            let guard = self.guard(caller, id, Role::Admin, "renaming a project").await?;
            let outcome = self
                .db
                .rename_project(guard, id, expected, &name, self.clock.now())
                .await?;
            if !matches!(outcome, Guarded::Refused) {
                return settle(outcome);
            }
        }
        Err(busy())
    }

    /// Deletes the project with its tasks (owner only).
    pub async fn delete(&self, caller: Owner, id: Uuid, expected: Expected) -> Result<(), ProjectError> {
        for _ in 0..ATTEMPTS {
            let guard = self.guard(caller, id, Role::Owner, "deleting a project").await?;
            let outcome = self
                .db
                .delete_project(guard, id, expected, self.clock.now())
                .await?;
            if !matches!(outcome, Guarded::Refused) {
                return settle(outcome);
            }
        }
        Err(busy())
    }

    /// Every member (any member may see them).
    pub async fn members(&self, caller: Owner, id: Uuid) -> Result<Vec<Member>, ProjectError> {
        self.get(caller, id).await?;
        Ok(self.db.members(id).await?)
    }

    /// Gives a member another role (not owner: the owner hands over by a transfer).
    pub async fn set_role(
        &self,
        caller: Owner,
        origin: &RequestOrigin,
        id: Uuid,
        member: Uuid,
        to: Role,
    ) -> Result<(), ProjectError> {
        if to == Role::Owner {
            return Err(InvalidTask {
                field: "role".into(),
                reason: "the owner role is handed over by a transfer, not given".into(),
            }
            .into());
        }
        self.change(caller, id, member, "changing this member's role", move |from| {
            (Some(to), MemberChange::SetRole { member, from, to })
        })
        .await?;
        self.log(caller, ActivityKind::MemberRoleChanged, origin, id)
            .await;
        Ok(())
    }

    /// Removes a member; a member removes themself to leave (not the owner).
    pub async fn remove(
        &self,
        caller: Owner,
        origin: &RequestOrigin,
        id: Uuid,
        member: Uuid,
    ) -> Result<(), ProjectError> {
        self.change(caller, id, member, "removing this member", move |from| {
            (None, MemberChange::Remove { member, from })
        })
        .await?;
        self.log(caller, ActivityKind::MemberRemoved, origin, id).await;
        Ok(())
    }

    /// Makes a member the owner; the owner becomes an admin (owner only).
    pub async fn transfer(
        &self,
        caller: Owner,
        origin: &RequestOrigin,
        id: Uuid,
        member: Uuid,
    ) -> Result<(), ProjectError> {
        for _ in 0..ATTEMPTS {
            let guard = self
                .guard(caller, id, Role::Owner, "handing a project over")
                .await?;
            let from = self.member_role(id, member).await?;
            if member == caller.id() {
                return Ok(());
            }
            let change = MemberChange::Transfer { member, from };
            let outcome = self.db.change_member(guard, id, change, self.clock.now()).await?;
            if !matches!(outcome, Guarded::Refused) {
                settle(outcome)?;
                self.log(caller, ActivityKind::ProjectTransferred, origin, id)
                    .await;
                return Ok(());
            }
        }
        Err(busy())
    }

    /// Invites an address (which need not have an account) with a role below owner. The
    /// answer is the same whether or not the address has an account: nothing here looks.
    pub async fn invite(
        &self,
        caller: Owner,
        origin: &RequestOrigin,
        id: Uuid,
        email: &str,
        role: Role,
    ) -> Result<Invitation, ProjectError> {
        let email = normalize_email(email).map_err(|e| InvalidTask {
            field: "email".into(),
            reason: e.reason,
        })?;
        if role == Role::Owner {
            return Err(InvalidTask {
                field: "role".into(),
                reason: "an invitation is for viewer, editor or admin; the owner hands over by a transfer"
                    .into(),
            }
            .into());
        }
        for _ in 0..ATTEMPTS {
            let guard = self.guard(caller, id, Role::Admin, "inviting people").await?;
            let now = self.clock.now();
            let invitation = NewInvitation {
                id: Uuid::new_v4(),
                project: id,
                email: email.clone(),
                role,
                now,
                expires_at: now + Duration::days(INVITATION_DAYS),
            };
            let outcome = self.db.invite(guard, &invitation).await?;
            if !matches!(outcome, Guarded::Refused) {
                let sent = settle(outcome)?;
                self.log(caller, ActivityKind::InvitationSent, origin, id).await;
                self.notify_later(&sent);
                return Ok(sent);
            }
        }
        Err(busy())
    }

    /// Tells the invitee's streams after the answer has gone: whether the address has an
    /// account must not change how long inviting it takes. A notice lost to a crash
    /// costs nothing lasting: the invitation itself is committed, and listed.
    fn notify_later(&self, invitation: &Invitation) {
        let (db, invitation, now) = (self.db.clone(), invitation.clone(), self.clock.now());
        tokio::spawn(async move {
            if let Err(e) = db.notify_invitee(&invitation, now).await {
                tracing::warn!(error = %e, "could not tell an invitee of their invitation");
            }
        });
    }

    /// The project's open invitations (admins and the owner).
    pub async fn invitations(&self, caller: Owner, id: Uuid) -> Result<Vec<Invitation>, ProjectError> {
        self.guard(caller, id, Role::Admin, "seeing a project's invitations")
            .await?;
        Ok(self.db.project_invitations(id, self.clock.now()).await?)
    }

    pub async fn revoke(&self, caller: Owner, id: Uuid, invitation: Uuid) -> Result<(), ProjectError> {
        for _ in 0..ATTEMPTS {
            let guard = self
                .guard(caller, id, Role::Admin, "revoking an invitation")
                .await?;
            match self.db.revoke_invitation(guard, id, invitation).await? {
                Guarded::Done(true) => return Ok(()),
                Guarded::Done(false) => return Err(ProjectError::InvitationNotFound(invitation)),
                Guarded::Refused => continue,
                other => return settle(other).map(drop),
            }
        }
        Err(busy())
    }

    /// The open invitations to the caller's address.
    pub async fn my_invitations(&self, caller: Owner) -> Result<Vec<Invitation>, ProjectError> {
        Ok(self.db.invitations_to(caller.id(), self.clock.now()).await?)
    }

    /// Accepts (the caller becomes a member with the invited role) or declines.
    pub async fn answer(
        &self,
        caller: Owner,
        origin: &RequestOrigin,
        invitation: Uuid,
        accept: bool,
    ) -> Result<Invitation, ProjectError> {
        let outcome = self
            .db
            .answer_invitation(caller.id(), invitation, accept, self.clock.now())
            .await?
            .ok_or(ProjectError::InvitationNotFound(invitation))?;
        let answered = settle(outcome)?;
        let kind = match accept {
            true => ActivityKind::InvitationAccepted,
            false => ActivityKind::InvitationDeclined,
        };
        self.log(caller, kind, origin, answered.project_id).await;
        Ok(answered)
    }

    /// The guard for an act that needs `at_least`: 404 when the caller is not a member,
    /// 403 when their role is less.
    async fn guard(
        &self,
        caller: Owner,
        id: Uuid,
        at_least: Role,
        why: &'static str,
    ) -> Result<RoleGuard, ProjectError> {
        let project = self.get(caller, id).await?;
        may(project.role, at_least).map_err(needs(why))?;
        Ok(RoleGuard {
            actor: caller.id(),
            at_least,
        })
    }

    async fn member_role(&self, id: Uuid, member: Uuid) -> Result<Role, ProjectError> {
        let members = self.db.members(id).await?;
        members
            .iter()
            .find(|m| m.user_id == member)
            .map(|m| m.role)
            .ok_or(ProjectError::MemberNotFound(member))
    }

    /// A change to one member, decided on the roles read and re-checked by the write.
    async fn change(
        &self,
        caller: Owner,
        id: Uuid,
        member: Uuid,
        why: &'static str,
        decide: impl Fn(Role) -> (Option<Role>, MemberChange),
    ) -> Result<(), ProjectError> {
        for _ in 0..ATTEMPTS {
            let actor = self.get(caller, id).await?.role;
            let from = self.member_role(id, member).await?;
            let (to, change) = decide(from);
            let themself = member == caller.id();
            let needed = needed_to_change_member(themself, from, to).map_err(needs(why))?;
            may(actor, needed).map_err(needs(why))?;
            // The write re-checks both: the actor still has `needed`, the member `from`.
            let guard = RoleGuard {
                actor: caller.id(),
                at_least: needed,
            };
            let outcome = self.db.change_member(guard, id, change, self.clock.now()).await?;
            if !matches!(outcome, Guarded::Refused) {
                return settle(outcome);
            }
        }
        Err(busy())
    }
}

/// A guarded write's outcome as the domain answers it.
fn settle<T>(outcome: Guarded<T>) -> Result<T, ProjectError> {
    match outcome {
        Guarded::Done(value) => Ok(value),
        Guarded::Refused => Err(busy()),
        Guarded::Conflict(current) => Err(ProjectError::VersionConflict(current)),
        Guarded::NameTaken => Err(ProjectError::NameTaken),
        Guarded::LimitReached => Err(ProjectError::LimitReached(format!(
            "a limit is reached: {PROJECTS_PER_USER} projects per person, {MEMBERS_PER_PROJECT} members \
             and {INVITATIONS_PER_PROJECT} open invitations per project"
        ))),
    }
}
