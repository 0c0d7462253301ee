//! `/api/{user_id}/projects` and `/api/{user_id}/invitations`: projects shared with
//! roles, their members and invitations. Each route declares [`BearerAuth`] first; a
//! project the caller is not a member of answers 404, as a missing one does.

use poem::Request;
use poem_openapi::param::{Header, Path};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi};
use todo_api::{Invitation, InvitationInput, Member, MemberRole, Project, ProjectInput, Transfer};
use uuid::Uuid;

use super::ApiTag;
use super::bearer::BearerAuth;
use super::client_addr::TrustedProxies;
use super::conditional;
use super::json::SerdeJson;
use super::problem::ProblemResponse;
use super::strict::Strict;
use crate::projects::ProjectService;

pub struct ProjectApi {
    pub projects: ProjectService,
    pub proxies: TrustedProxies,
}

#[derive(ApiResponse)]
pub enum ProjectList {
    /// Your projects, by name, each with your role.
    #[oai(status = 200)]
    Ok(SerdeJson<Vec<Project>>),
}

#[derive(ApiResponse)]
pub enum ProjectCreated {
    /// The project was created, with you as its owner; `ETag` is its version.
    #[oai(status = 201)]
    Created(
        SerdeJson<Project>,
        #[oai(header = "Location")] String,
        #[oai(header = "ETag")] String,
    ),
}

#[derive(ApiResponse)]
pub enum OneProject {
    /// The project; `ETag` is `"<version>"`, for `If-Match` on a rename or delete.
    #[oai(status = 200)]
    Ok(SerdeJson<Project>, #[oai(header = "ETag")] String),
}

impl OneProject {
    fn of(project: &Project) -> Result<Self, ProblemResponse> {
        Ok(OneProject::Ok(
            SerdeJson::new(project)?,
            conditional::etag_of(project.version),
        ))
    }
}

#[derive(ApiResponse)]
pub enum Done {
    #[oai(status = 204)]
    NoContent,
}

#[derive(ApiResponse)]
pub enum MemberList {
    /// Every member with their role, the owner first.
    #[oai(status = 200)]
    Ok(SerdeJson<Vec<Member>>),
}

#[derive(ApiResponse)]
pub enum InvitationList {
    /// Open invitations (not answered, revoked or expired).
    #[oai(status = 200)]
    Ok(SerdeJson<Vec<Invitation>>),
}

#[derive(ApiResponse)]
pub enum InvitationSent {
    /// The invitation, whether or not the address has an account (the answer is the
    /// same either way). Inviting an address again renews its invitation.
    #[oai(status = 201)]
    Created(SerdeJson<Invitation>),
}

#[derive(ApiResponse)]
pub enum InvitationAnswered {
    /// The invitation answered: accepted, you are a member with its role; declined, it
    /// is gone.
    #[oai(status = 200)]
    Ok(SerdeJson<Invitation>),
}

#[OpenApi(tag = "ApiTag::Projects")]
impl ProjectApi {
    /// List your projects
    #[oai(path = "/api/:user_id/projects", method = "get")]
    async fn list(
        &self,
        auth: BearerAuth,
        #[oai(name = "user_id")] _user_id: Path<Uuid>,
    ) -> Result<ProjectList, ProblemResponse> {
        let projects = self.projects.list(auth.owner()?).await?;
        Ok(ProjectList::Ok(SerdeJson::new(&projects)?))
    }

    /// Create a project
    ///
    /// You become its owner. A name is 1 to 100 characters on one line, unique among
    /// the owner's projects without regard to case (409 `project_exists`).
    #[oai(path = "/api/:user_id/projects", method = "post")]
    async fn create(
        &self,
        auth: BearerAuth,
        #[oai(name = "user_id")] _user_id: Path<Uuid>,
        body: Json<Strict<ProjectInput>>,
    ) -> Result<ProjectCreated, ProblemResponse> {
        let owner = auth.owner()?;
        let project = self.projects.create(owner, &body.0.0.name).await?;
        let location = format!("/api/{}/projects/{}", owner.id(), project.id);
        let etag = conditional::etag_of(project.version);
        Ok(ProjectCreated::Created(SerdeJson::new(&project)?, location, etag))
    }

    /// Get one project
    #[oai(path = "/api/:user_id/projects/:project_id", method = "get")]
    async fn get(
        &self,
        auth: BearerAuth,
        #[oai(name = "user_id")] _user_id: Path<Uuid>,
        project_id: Path<Uuid>,
    ) -> Result<OneProject, ProblemResponse> {
        OneProject::of(&self.projects.get(auth.owner()?, project_id.0).await?)
    }

    /// Rename a project
    ///
    /// Admins and the owner. With `If-Match: "<version>"` only that version is renamed.
    #[oai(path = "/api/:user_id/projects/:project_id", method = "patch")]
    async fn rename(
        &self,
        auth: BearerAuth,
        #[oai(name = "user_id")] _user_id: Path<Uuid>,
        project_id: Path<Uuid>,
        #[oai(name = "If-Match")] if_match: Header<Option<String>>,
        body: Json<Strict<ProjectInput>>,
    ) -> Result<OneProject, ProblemResponse> {
        let owner = auth.owner()?;
        let expected = conditional::expected(if_match.0.as_deref())?;
        let project = self
            .projects
            .rename(owner, project_id.0, expected, &body.0.0.name)
            .await?;
        OneProject::of(&project)
    }

    /// Delete a project and its tasks
    ///
    /// The owner only. Every member's stream gets each task deleted.
    #[oai(path = "/api/:user_id/projects/:project_id", method = "delete")]
    async fn delete(
        &self,
        auth: BearerAuth,
        #[oai(name = "user_id")] _user_id: Path<Uuid>,
        project_id: Path<Uuid>,
        #[oai(name = "If-Match")] if_match: Header<Option<String>>,
    ) -> Result<Done, ProblemResponse> {
        let owner = auth.owner()?;
        let expected = conditional::expected(if_match.0.as_deref())?;
        self.projects.delete(owner, project_id.0, expected).await?;
        Ok(Done::NoContent)
    }

    /// List a project's members
    #[oai(path = "/api/:user_id/projects/:project_id/members", method = "get")]
    async fn members(
        &self,
        auth: BearerAuth,
        #[oai(name = "user_id")] _user_id: Path<Uuid>,
        project_id: Path<Uuid>,
    ) -> Result<MemberList, ProblemResponse> {
        let members = self.projects.members(auth.owner()?, project_id.0).await?;
        Ok(MemberList::Ok(SerdeJson::new(&members)?))
    }

    /// Change a member's role
    ///
    /// Admins change viewers and editors; only the owner changes admins. The owner's
    /// role changes only by a transfer.
    #[oai(
        path = "/api/:user_id/projects/:project_id/members/:member_id",
        method = "patch"
    )]
    async fn set_role(
        &self,
        req: &Request,
        auth: BearerAuth,
        #[oai(name = "user_id")] _user_id: Path<Uuid>,
        project_id: Path<Uuid>,
        member_id: Path<Uuid>,
        body: Json<Strict<MemberRole>>,
    ) -> Result<Done, ProblemResponse> {
        let owner = auth.owner()?;
        let origin = self.proxies.origin_of(req);
        self.projects
            .set_role(owner, &origin, project_id.0, member_id.0, body.0.0.role)
            .await?;
        Ok(Done::NoContent)
    }

    /// Remove a member, or leave
    ///
    /// Admins remove viewers and editors, the owner anyone else; any member but the
    /// owner removes themself (leaves).
    #[oai(
        path = "/api/:user_id/projects/:project_id/members/:member_id",
        method = "delete"
    )]
    async fn remove(
        &self,
        req: &Request,
        auth: BearerAuth,
        #[oai(name = "user_id")] _user_id: Path<Uuid>,
        project_id: Path<Uuid>,
        member_id: Path<Uuid>,
    ) -> Result<Done, ProblemResponse> {
        let origin = self.proxies.origin_of(req);
        self.projects
            .remove(auth.owner()?, &origin, project_id.0, member_id.0)
            .await?;
        Ok(Done::NoContent)
    }

    /// Hand a project over to another member
    ///
    /// The owner only; the old owner becomes an admin.
    #[oai(path = "/api/:user_id/projects/:project_id/transfer", method = "post")]
    async fn transfer(
        &self,
        req: &Request,
        auth: BearerAuth,
        #[oai(name = "user_id")] _user_id: Path<Uuid>,
        project_id: Path<Uuid>,
        body: Json<Strict<Transfer>>,
    ) -> Result<Done, ProblemResponse> {
        let origin = self.proxies.origin_of(req);
        self.projects
            .transfer(auth.owner()?, &origin, project_id.0, body.0.0.user_id)
            .await?;
        Ok(Done::NoContent)
    }

    /// Invite someone by email
    ///
    /// Admins and the owner; as viewer, editor or admin. The answer is the same whether
    /// or not the address has an account; an address that signs up later sees the
    /// invitation. It can be accepted for 14 days.
    #[oai(path = "/api/:user_id/projects/:project_id/invitations", method = "post")]
    async fn invite(
        &self,
        req: &Request,
        auth: BearerAuth,
        #[oai(name = "user_id")] _user_id: Path<Uuid>,
        project_id: Path<Uuid>,
        body: Json<Strict<InvitationInput>>,
    ) -> Result<InvitationSent, ProblemResponse> {
        let input = body.0.0;
        let origin = self.proxies.origin_of(req);
        let invitation = self
            .projects
            .invite(auth.owner()?, &origin, project_id.0, &input.email, input.role)
            .await?;
        Ok(InvitationSent::Created(SerdeJson::new(&invitation)?))
    }

    /// List a project's open invitations
    #[oai(path = "/api/:user_id/projects/:project_id/invitations", method = "get")]
    async fn project_invitations(
        &self,
        auth: BearerAuth,
        #[oai(name = "user_id")] _user_id: Path<Uuid>,
        project_id: Path<Uuid>,
    ) -> Result<InvitationList, ProblemResponse> {
        let invitations = self.projects.invitations(auth.owner()?, project_id.0).await?;
        Ok(InvitationList::Ok(SerdeJson::new(&invitations)?))
    }

    /// Revoke an invitation
    #[oai(
        path = "/api/:user_id/projects/:project_id/invitations/:invitation_id",
        method = "delete"
    )]
    async fn revoke(
        &self,
        auth: BearerAuth,
        #[oai(name = "user_id")] _user_id: Path<Uuid>,
        project_id: Path<Uuid>,
        invitation_id: Path<Uuid>,
    ) -> Result<Done, ProblemResponse> {
        self.projects
            .revoke(auth.owner()?, project_id.0, invitation_id.0)
            .await?;
        Ok(Done::NoContent)
    }

    /// List invitations to you
    #[oai(path = "/api/:user_id/invitations", method = "get")]
    async fn mine(
        &self,
        auth: BearerAuth,
        #[oai(name = "user_id")] _user_id: Path<Uuid>,
    ) -> Result<InvitationList, ProblemResponse> {
        let invitations = self.projects.my_invitations(auth.owner()?).await?;
        Ok(InvitationList::Ok(SerdeJson::new(&invitations)?))
    }

    /// Accept an invitation
    #[oai(path = "/api/:user_id/invitations/:invitation_id/accept", method = "post")]
    async fn accept(
        &self,
        req: &Request,
        auth: BearerAuth,
        #[oai(name = "user_id")] _user_id: Path<Uuid>,
        invitation_id: Path<Uuid>,
    ) -> Result<InvitationAnswered, ProblemResponse> {
        let answered = self
            .projects
            .answer(auth.owner()?, &self.proxies.origin_of(req), invitation_id.0, true)
            .await?;
        Ok(InvitationAnswered::Ok(SerdeJson::new(&answered)?))
    }

    /// Decline an invitation
    #[oai(path = "/api/:user_id/invitations/:invitation_id/decline", method = "post")]
    async fn decline(
        &self,
        req: &Request,
        auth: BearerAuth,
        #[oai(name = "user_id")] _user_id: Path<Uuid>,
        invitation_id: Path<Uuid>,
    ) -> Result<InvitationAnswered, ProblemResponse> {
        let answered = self
            .projects
            .answer(
                auth.owner()?,
                &self.proxies.origin_of(req),
                invitation_id.0,
                false,
            )
            .await?;
        Ok(InvitationAnswered::Ok(SerdeJson::new(&answered)?))
    }
}
