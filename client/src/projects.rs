//! Projects shared with roles, their members and invitations: the routes
//! ([`ApiClient`]) and the signed-in calls both apps make ([`Session`]).

use reqwest::Method;
use todo_api::{Invitation, InvitationInput, Member, MemberRole, Project, ProjectInput, Role, Transfer};
use uuid::Uuid;

use crate::{ApiClient, ClientError, Session};

impl ApiClient {
    pub async fn projects(&self, token: &str, user: Uuid) -> Result<Vec<Project>, ClientError> {
        let path = format!("/api/{user}/projects");
        self.json(self.request(Method::GET, &path, Some(token))).await
    }

    pub async fn create_project(&self, token: &str, user: Uuid, name: &str) -> Result<Project, ClientError> {
        let path = format!("/api/{user}/projects");
        let body = ProjectInput { name: name.into() };
        self.json(self.request(Method::POST, &path, Some(token)).json(&body))
            .await
    }

    pub async fn rename_project(
        &self,
        token: &str,
        user: Uuid,
        project: Uuid,
        name: &str,
    ) -> Result<Project, ClientError> {
        let path = format!("/api/{user}/projects/{project}");
        let body = ProjectInput { name: name.into() };
        self.json(self.request(Method::PATCH, &path, Some(token)).json(&body))
            .await
    }

    pub async fn delete_project(&self, token: &str, user: Uuid, project: Uuid) -> Result<(), ClientError> {
        let path = format!("/api/{user}/projects/{project}");
        self.send(self.request(Method::DELETE, &path, Some(token)))
            .await
            .map(drop)
    }

    pub async fn members(&self, token: &str, user: Uuid, project: Uuid) -> Result<Vec<Member>, ClientError> {
        let path = format!("/api/{user}/projects/{project}/members");
        self.json(self.request(Method::GET, &path, Some(token))).await
    }

    pub async fn set_member_role(
        &self,
        token: &str,
        user: Uuid,
        project: Uuid,
        member: Uuid,
        role: Role,
    ) -> Result<(), ClientError> {
        let path = format!("/api/{user}/projects/{project}/members/{member}");
        let body = MemberRole { role };
        self.send(self.request(Method::PATCH, &path, Some(token)).json(&body))
            .await
            .map(drop)
    }

    /// Removes a member; the caller's own id leaves the project.
    pub async fn remove_member(
        &self,
        token: &str,
        user: Uuid,
        project: Uuid,
        member: Uuid,
    ) -> Result<(), ClientError> {
        let path = format!("/api/{user}/projects/{project}/members/{member}");
        self.send(self.request(Method::DELETE, &path, Some(token)))
            .await
            .map(drop)
    }

    pub async fn transfer_project(
        &self,
        token: &str,
        user: Uuid,
        project: Uuid,
        to: Uuid,
    ) -> Result<(), ClientError> {
        let path = format!("/api/{user}/projects/{project}/transfer");
        let body = Transfer { user_id: to };
        self.send(self.request(Method::POST, &path, Some(token)).json(&body))
            .await
            .map(drop)
    }

    pub async fn invite(
        &self,
        token: &str,
        user: Uuid,
        project: Uuid,
        invitation: &InvitationInput,
    ) -> Result<Invitation, ClientError> {
        let path = format!("/api/{user}/projects/{project}/invitations");
        self.json(self.request(Method::POST, &path, Some(token)).json(invitation))
            .await
    }

    /// The open invitations to the caller.
    pub async fn invitations(&self, token: &str, user: Uuid) -> Result<Vec<Invitation>, ClientError> {
        let path = format!("/api/{user}/invitations");
        self.json(self.request(Method::GET, &path, Some(token))).await
    }

    pub async fn answer_invitation(
        &self,
        token: &str,
        user: Uuid,
        invitation: Uuid,
        accept: bool,
    ) -> Result<Invitation, ClientError> {
        let verb = if accept { "accept" } else { "decline" };
        let path = format!("/api/{user}/invitations/{invitation}/{verb}");
        self.json(self.request(Method::POST, &path, Some(token))).await
    }
}

impl Session {
    pub async fn projects(&self) -> Result<Vec<Project>, ClientError> {
        let user = self.user_id().await?;
        self.with_token(|api, t| async move { api.projects(t.expose(), user).await })
            .await
    }

    pub async fn create_project(&self, name: &str) -> Result<Project, ClientError> {
        let user = self.user_id().await?;
        self.with_token(|api, t| async move { api.create_project(t.expose(), user, name).await })
            .await
    }

    pub async fn rename_project(&self, project: Uuid, name: &str) -> Result<Project, ClientError> {
        let user = self.user_id().await?;
        self.with_token(|api, t| async move { api.rename_project(t.expose(), user, project, name).await })
            .await
    }

    pub async fn delete_project(&self, project: Uuid) -> Result<(), ClientError> {
        let user = self.user_id().await?;
        self.with_token(|api, t| async move { api.delete_project(t.expose(), user, project).await })
            .await
    }

    pub async fn members(&self, project: Uuid) -> Result<Vec<Member>, ClientError> {
        let user = self.user_id().await?;
        self.with_token(|api, t| async move { api.members(t.expose(), user, project).await })
            .await
    }

    pub async fn set_member_role(&self, project: Uuid, member: Uuid, role: Role) -> Result<(), ClientError> {
        let user = self.user_id().await?;
        self.with_token(
            |api, t| async move { api.set_member_role(t.expose(), user, project, member, role).await },
        )
        .await
    }

    /// Removes a member (the caller's own id: leaves).
    pub async fn remove_member(&self, project: Uuid, member: Uuid) -> Result<(), ClientError> {
        let user = self.user_id().await?;
        self.with_token(|api, t| async move { api.remove_member(t.expose(), user, project, member).await })
            .await
    }

    pub async fn transfer_project(&self, project: Uuid, to: Uuid) -> Result<(), ClientError> {
        let user = self.user_id().await?;
        self.with_token(|api, t| async move { api.transfer_project(t.expose(), user, project, to).await })
            .await
    }

    pub async fn invite(&self, project: Uuid, email: &str, role: Role) -> Result<Invitation, ClientError> {
        let user = self.user_id().await?;
        let body = &InvitationInput {
            email: email.into(),
            role,
        };
        self.with_token(|api, t| async move { api.invite(t.expose(), user, project, body).await })
            .await
    }

    pub async fn invitations(&self) -> Result<Vec<Invitation>, ClientError> {
        let user = self.user_id().await?;
        self.with_token(|api, t| async move { api.invitations(t.expose(), user).await })
            .await
    }

    pub async fn answer_invitation(&self, invitation: Uuid, accept: bool) -> Result<Invitation, ClientError> {
        let user = self.user_id().await?;
        self.with_token(
            |api, t| async move { api.answer_invitation(t.expose(), user, invitation, accept).await },
        )
        .await
    }
}
