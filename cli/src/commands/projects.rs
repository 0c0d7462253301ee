//! `todo project ...` and `todo invitations ...`: projects shared with roles.

use todo_api::{Invitation, Member, Project};
use todo_client::Session;

use super::auth::by_id_prefix;
use crate::args::{InvitationCommand, ProjectCommand};
use crate::exit::CliError;
use crate::io::Io;
use crate::output::{format_time, shown};

pub async fn run(command: ProjectCommand, session: &Session, io: &mut Io) -> Result<(), CliError> {
    match command {
        ProjectCommand::List => list(session, io).await,
        ProjectCommand::Add { name } => {
            let project = session.create_project(&name).await?;
            done(
                io,
                &project,
                format!("Made project {}; you own it.", shown(&project.name)),
            );
            Ok(())
        }
        ProjectCommand::Rename { project, name } => {
            let found = find(session, &project).await?;
            let renamed = session.rename_project(found.id, &name).await?;
            done(
                io,
                &renamed,
                format!("Renamed {} to {}.", shown(&found.name), shown(&renamed.name)),
            );
            Ok(())
        }
        ProjectCommand::Rm { project, yes } => {
            let found = find(session, &project).await?;
            if !yes {
                return Err(CliError::Usage(format!(
                    "deleting {} deletes its tasks for every member: add --yes to do it",
                    shown(&found.name)
                )));
            }
            session.delete_project(found.id).await?;
            io.note(&format!("Deleted project {} and its tasks.", shown(&found.name)));
            Ok(())
        }
        ProjectCommand::Show { project } => {
            let found = find(session, &project).await?;
            let members = session.members(found.id).await?;
            if io.json() {
                io.print_json(&serde_json::json!({"project": found, "members": members}));
                return Ok(());
            }
            crate::outln!(
                io,
                "{}  ({}, you are {})",
                shown(&found.name),
                found.id,
                found.role
            );
            print_members(io, &members);
            Ok(())
        }
        ProjectCommand::Members { project } => {
            let found = find(session, &project).await?;
            let members = session.members(found.id).await?;
            if io.json() {
                io.print_json(&members);
            } else {
                print_members(io, &members);
            }
            Ok(())
        }
        ProjectCommand::Share { project, email, role } => {
            let found = find(session, &project).await?;
            let invitation = session.invite(found.id, &email, role).await?;
            if io.json() {
                io.print_json(&invitation);
            } else {
                io.note(&format!(
                    "Invited {} to {} as {}; they accept with `todo invitations accept {}` (until {}).",
                    shown(&invitation.email),
                    shown(&found.name),
                    invitation.role,
                    &invitation.id.simple().to_string()[..8],
                    format_time(invitation.expires_at)
                ));
            }
            Ok(())
        }
        ProjectCommand::Role { project, email, role } => {
            let found = find(session, &project).await?;
            let member = member(session, &found, &email).await?;
            session.set_member_role(found.id, member.user_id, role).await?;
            io.note(&format!(
                "{} is now {role} in {}.",
                shown(&member.email),
                shown(&found.name)
            ));
            Ok(())
        }
        ProjectCommand::Remove { project, email } => {
            let found = find(session, &project).await?;
            let member = member(session, &found, &email).await?;
            session.remove_member(found.id, member.user_id).await?;
            io.note(&format!(
                "Removed {} from {}.",
                shown(&member.email),
                shown(&found.name)
            ));
            Ok(())
        }
        ProjectCommand::Leave { project } => {
            let found = find(session, &project).await?;
            let me = session.user_id().await?;
            session.remove_member(found.id, me).await?;
            io.note(&format!("You left {}.", shown(&found.name)));
            Ok(())
        }
        ProjectCommand::Transfer { project, email } => {
            let found = find(session, &project).await?;
            let member = member(session, &found, &email).await?;
            session.transfer_project(found.id, member.user_id).await?;
            io.note(&format!(
                "{} now owns {}; you are an admin.",
                shown(&member.email),
                shown(&found.name)
            ));
            Ok(())
        }
    }
}

pub async fn invitations(
    command: Option<InvitationCommand>,
    session: &Session,
    io: &mut Io,
) -> Result<(), CliError> {
    let (id, accept) = match command {
        None | Some(InvitationCommand::List) => return list_invitations(session, io).await,
        Some(InvitationCommand::Accept { id }) => (id, true),
        Some(InvitationCommand::Decline { id }) => (id, false),
    };
    let open = session.invitations().await?;
    let target = by_id_prefix(&open, &id, |i| i.id, "invitation")?;
    let answered = session.answer_invitation(target.id, accept).await?;
    if io.json() {
        io.print_json(&answered);
    } else if accept {
        io.note(&format!(
            "You joined {} as {}.",
            shown(&answered.project_name),
            answered.role
        ));
    } else {
        io.note(&format!(
            "Declined the invitation to {}.",
            shown(&answered.project_name)
        ));
    }
    Ok(())
}

/// A project of the caller's by name (without regard to case) or by the start of its id.
pub async fn find(session: &Session, given: &str) -> Result<Project, CliError> {
    let projects = session.projects().await?;
    let by_name: Vec<&Project> = projects
        .iter()
        .filter(|p| p.name.to_lowercase() == given.trim().to_lowercase())
        .collect();
    match by_name.as_slice() {
        [one] => Ok((*one).clone()),
        [] => by_id_prefix(&projects, given, |p| p.id, "project")
            .cloned()
            .map_err(|_| CliError::Partial {
                message: format!(
                    "no project of yours is named {} (see `todo project list`)",
                    shown(given)
                ),
                code: crate::exit::NOT_FOUND,
            }),
        _ => Err(CliError::Usage(format!(
            "several of your projects are named {}: give the project's id (see `todo project list`)",
            shown(given)
        ))),
    }
}

async fn member(session: &Session, project: &Project, email: &str) -> Result<Member, CliError> {
    let members = session.members(project.id).await?;
    members
        .into_iter()
        .find(|m| m.email.eq_ignore_ascii_case(email.trim()))
        .ok_or_else(|| CliError::Partial {
            message: format!("{} is not a member of {}", shown(email), shown(&project.name)),
            code: crate::exit::NOT_FOUND,
        })
}

fn done(io: &mut Io, project: &Project, message: String) {
    if io.json() {
        io.print_json(project);
    } else if io.quiet() {
        crate::outln!(io, "{}", project.id);
    } else {
        io.note(&message);
    }
}

async fn list(session: &Session, io: &mut Io) -> Result<(), CliError> {
    let projects = session.projects().await?;
    if io.json() {
        io.print_json(&projects);
        return Ok(());
    }
    if projects.is_empty() {
        io.note("No projects. Make one with `todo project add NAME`.");
        return Ok(());
    }
    crate::outln!(io, "{:<9} {:<7} {:>7}  NAME", "ID", "ROLE", "MEMBERS");
    for p in &projects {
        crate::outln!(
            io,
            "{:<9} {:<7} {:>7}  {}",
            &p.id.simple().to_string()[..8],
            p.role.as_str(),
            p.member_count,
            shown(&p.name)
        );
    }
    Ok(())
}

fn print_members(io: &mut Io, members: &[Member]) {
    crate::outln!(io, "{:<7} {:<17} EMAIL", "ROLE", "SINCE");
    for m in members {
        crate::outln!(
            io,
            "{:<7} {:<17} {}",
            m.role.as_str(),
            format_time(m.added_at),
            shown(&m.email)
        );
    }
}

async fn list_invitations(session: &Session, io: &mut Io) -> Result<(), CliError> {
    let open: Vec<Invitation> = session.invitations().await?;
    if io.json() {
        io.print_json(&open);
        return Ok(());
    }
    if open.is_empty() {
        io.note("No invitations.");
        return Ok(());
    }
    crate::outln!(io, "{:<9} {:<7} {:<17} PROJECT", "ID", "ROLE", "UNTIL");
    for i in &open {
        crate::outln!(
            io,
            "{:<9} {:<7} {:<17} {}",
            &i.id.simple().to_string()[..8],
            i.role.as_str(),
            format_time(i.expires_at),
            shown(&i.project_name)
        );
    }
    Ok(())
}
