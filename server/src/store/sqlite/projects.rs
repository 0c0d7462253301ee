//! The project port on SQLite: `projects`, `project_members` and `invitations`. Writes
//! run on the one writer thread, so a guard read at the start of a write still holds at
//! its end.

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, Row, params};
use time::OffsetDateTime;
use todo_api::limits::{INVITATIONS_PER_PROJECT, MEMBERS_PER_PROJECT, PROJECTS_PER_USER};
use todo_api::{EventType, Invitation, Member, Project, ProjectNews, Role};
use uuid::Uuid;

use super::{Db, WriteTx, events, from_micros, parse_uuid, task_statements as tasks, to_micros};
use crate::domain::projects::{ProjectName, RoleGuard, role_of_rank, role_rank};
use crate::store::{
    Expected, Guarded, InvitationRow, MemberChange, MemberRow, NewInvitation, ProjectRow, ProjectStorage,
    Published, StoreResult, TaskChange,
};

fn conversion(message: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        0,
        rusqlite::types::Type::Integer,
        Box::new(std::io::Error::other(message)),
    )
}

fn role(rank: i16) -> rusqlite::Result<Role> {
    role_of_rank(rank).ok_or_else(|| conversion(format!("unknown role rank {rank}")))
}

const PROJECT_COLUMNS: &str = "p.id, p.name, p.owner_id, m.role, \
     (SELECT count(*) FROM project_members c WHERE c.project_id = p.id), \
     p.version, p.created_at, p.updated_at";

fn project_row(row: &Row<'_>) -> rusqlite::Result<Project> {
    Ok(Project {
        id: parse_uuid(row.get(0)?)?,
        name: row.get(1)?,
        owner_id: parse_uuid(row.get(2)?)?,
        role: role(row.get(3)?)?,
        member_count: row.get(4)?,
        version: row.get(5)?,
        created_at: from_micros(row.get(6)?)?,
        updated_at: from_micros(row.get(7)?)?,
    })
}

const INVITATION_COLUMNS: &str =
    "i.id, i.project_id, p.name, i.email, i.role, i.invited_by, i.created_at, i.expires_at";

fn invitation_row(row: &Row<'_>) -> rusqlite::Result<Invitation> {
    Ok(Invitation {
        id: parse_uuid(row.get(0)?)?,
        project_id: parse_uuid(row.get(1)?)?,
        project_name: row.get(2)?,
        email: row.get(3)?,
        role: role(row.get(4)?)?,
        invited_by: parse_uuid(row.get(5)?)?,
        created_at: from_micros(row.get(6)?)?,
        expires_at: from_micros(row.get(7)?)?,
    })
}

fn project_for(conn: &Connection, user: Uuid, project: Uuid) -> rusqlite::Result<Option<Project>> {
    conn.prepare_cached(&format!(
        "SELECT {PROJECT_COLUMNS} FROM projects p
         JOIN project_members m ON m.project_id = p.id AND m.user_id = ?1 WHERE p.id = ?2"
    ))?
    .query_row(params![user.to_string(), project.to_string()], project_row)
    .optional()
}

fn member_role(conn: &Connection, project: Uuid, user: Uuid) -> rusqlite::Result<Option<Role>> {
    let rank: Option<i16> = conn
        .prepare_cached("SELECT role FROM project_members WHERE project_id = ?1 AND user_id = ?2")?
        .query_row(params![project.to_string(), user.to_string()], |r| r.get(0))
        .optional()?;
    rank.map(role).transpose()
}

fn holds(conn: &Connection, guard: RoleGuard, project: Uuid) -> rusqlite::Result<bool> {
    Ok(member_role(conn, project, guard.actor)?.is_some_and(|r| r >= guard.at_least))
}

fn memberships(conn: &Connection, user: Uuid) -> rusqlite::Result<usize> {
    let count: i64 = conn
        .prepare_cached("SELECT count(*) FROM project_members WHERE user_id = ?1")?
        .query_row([user.to_string()], |r| r.get(0))?;
    Ok(usize::try_from(count).unwrap_or(usize::MAX))
}

fn members_of(conn: &Connection, project: Uuid) -> rusqlite::Result<Vec<Uuid>> {
    events::audience(conn, Some(project), Uuid::nil())
}

/// Whether `owner` has another project named `key`.
fn name_taken(conn: &Connection, owner: Uuid, key: &str, except: Uuid) -> rusqlite::Result<bool> {
    conn.prepare_cached(
        "SELECT EXISTS (SELECT 1 FROM projects WHERE owner_id = ?1 AND name_key = ?2 AND id <> ?3)",
    )?
    .query_row(params![owner.to_string(), key, except.to_string()], |r| r.get(0))
}

fn owner_of(conn: &Connection, project: Uuid) -> rusqlite::Result<Option<Uuid>> {
    conn.prepare_cached("SELECT owner_id FROM projects WHERE id = ?1")?
        .query_row([project.to_string()], |r| parse_uuid(r.get(0)?))
        .optional()
}

/// The news of `project` (its id and name) about `user` with `role`, if about someone.
fn news_of(
    conn: &Connection,
    project: Uuid,
    user: Option<Uuid>,
    role: Option<Role>,
) -> rusqlite::Result<ProjectNews> {
    let name: String = conn
        .prepare_cached("SELECT name FROM projects WHERE id = ?1")?
        .query_row([project.to_string()], |r| r.get(0))?;
    Ok(ProjectNews {
        project_id: project,
        name,
        user_id: user,
        role,
        invitation_id: None,
    })
}

/// Appends a project's event to the stream of each of `users`.
fn tell(
    tx: &WriteTx<'_>,
    users: &[Uuid],
    kind: EventType,
    news: &ProjectNews,
    at: OffsetDateTime,
) -> rusqlite::Result<Published> {
    users
        .iter()
        .map(|u| Ok((*u, events::append_news(tx, *u, kind, news, at)?)))
        .collect()
}

/// Appends to `user`'s stream each task of `project` as created (`joined`) or deleted.
/// These events are nobody's change to undo (their actor is the nil id).
fn tasks_seen_by(
    tx: &WriteTx<'_>,
    project: Uuid,
    user: Uuid,
    joined: bool,
    at: OffsetDateTime,
) -> rusqlite::Result<Published> {
    let actor = Uuid::nil();
    let (before, after) = if joined {
        (vec![], vec![user])
    } else {
        (vec![user], vec![])
    };
    let mut published = Vec::new();
    for task in tasks::in_project(tx, project)? {
        let change = match joined {
            true => TaskChange::of(&task, actor, at),
            false => TaskChange::deleted(task.id, task.version, actor, at),
        };
        published.extend(events::fan_out(tx, &before, &after, &change)?);
    }
    Ok(published)
}

/// Appends to the stream of every other member of each project `owner` owns each of its
/// tasks as deleted: the projects are about to go with the owner's account.
pub(super) fn owned_projects_go(
    tx: &WriteTx<'_>,
    owner: Uuid,
    at: OffsetDateTime,
) -> rusqlite::Result<Published> {
    let owned: Vec<Uuid> = tx
        .prepare_cached("SELECT id FROM projects WHERE owner_id = ?1 ORDER BY id")?
        .query_map([owner.to_string()], |r| parse_uuid(r.get(0)?))?
        .collect::<rusqlite::Result<_>>()?;
    let mut published = Vec::new();
    for project in owned {
        let mut members = members_of(tx, project)?;
        members.retain(|m| *m != owner);
        for task in tasks::in_project(tx, project)? {
            let change = TaskChange::deleted(task.id, task.version, Uuid::nil(), at);
            published.extend(events::fan_out(tx, &members, &[], &change)?);
        }
        let news = news_of(tx, project, None, None)?;
        published.extend(tell(tx, &members, EventType::ProjectRemoved, &news, at)?);
    }
    Ok(published)
}

/// Every project, membership and invitation row (for `migrate-to`).
pub(super) fn all_projects(conn: &Connection) -> rusqlite::Result<Vec<ProjectRow>> {
    conn.prepare("SELECT id, owner_id, name, name_key, version, created_at, updated_at FROM projects")?
        .query_map([], |r| {
            Ok(ProjectRow {
                id: parse_uuid(r.get(0)?)?,
                owner_id: parse_uuid(r.get(1)?)?,
                name: r.get(2)?,
                name_key: r.get(3)?,
                version: r.get(4)?,
                created_at: r.get(5)?,
                updated_at: r.get(6)?,
            })
        })?
        .collect()
}

pub(super) fn all_members(conn: &Connection) -> rusqlite::Result<Vec<MemberRow>> {
    conn.prepare("SELECT project_id, user_id, role, added_at FROM project_members")?
        .query_map([], |r| {
            Ok(MemberRow {
                project_id: parse_uuid(r.get(0)?)?,
                user_id: parse_uuid(r.get(1)?)?,
                role: r.get(2)?,
                added_at: r.get(3)?,
            })
        })?
        .collect()
}

pub(super) fn all_invitations(conn: &Connection) -> rusqlite::Result<Vec<InvitationRow>> {
    conn.prepare("SELECT id, project_id, email, role, invited_by, created_at, expires_at FROM invitations")?
        .query_map([], |r| {
            Ok(InvitationRow {
                id: parse_uuid(r.get(0)?)?,
                project_id: parse_uuid(r.get(1)?)?,
                email: r.get(2)?,
                role: r.get(3)?,
                invited_by: parse_uuid(r.get(4)?)?,
                created_at: r.get(5)?,
                expires_at: r.get(6)?,
            })
        })?
        .collect()
}

#[async_trait]
impl ProjectStorage for Db {
    async fn projects_of(&self, user: Uuid) -> StoreResult<Vec<Project>> {
        self.read(move |c| {
            c.prepare_cached(&format!(
                "SELECT {PROJECT_COLUMNS} FROM projects p
                 JOIN project_members m ON m.project_id = p.id AND m.user_id = ?1
                 ORDER BY p.name_key, p.id"
            ))?
            .query_map([user.to_string()], project_row)?
            .collect()
        })
        .await
    }

    async fn project_for(&self, user: Uuid, project: Uuid) -> StoreResult<Option<Project>> {
        self.read(move |c| project_for(c, user, project)).await
    }

    async fn create_project(
        &self,
        owner: Uuid,
        id: Uuid,
        name: &ProjectName,
        now: OffsetDateTime,
    ) -> StoreResult<Guarded<Project>> {
        let name = name.clone();
        self.write(move |tx| {
            if memberships(tx, owner)? >= PROJECTS_PER_USER {
                return Ok(Guarded::LimitReached);
            }
            if name_taken(tx, owner, name.key(), id)? {
                return Ok(Guarded::NameTaken);
            }
            let now = to_micros(now);
            tx.execute(
                "INSERT INTO projects (id, owner_id, name, name_key, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
                params![id.to_string(), owner.to_string(), name.as_str(), name.key(), now],
            )?;
            tx.execute(
                "INSERT INTO project_members (project_id, user_id, role, added_at) VALUES (?1, ?2, ?3, ?4)",
                params![id.to_string(), owner.to_string(), role_rank(Role::Owner), now],
            )?;
            let project = project_for(tx, owner, id)?;
            Ok(project.map_or(Guarded::Refused, Guarded::Done))
        })
        .await
    }

    async fn rename_project(
        &self,
        guard: RoleGuard,
        project: Uuid,
        expected: Expected,
        name: &ProjectName,
        now: OffsetDateTime,
    ) -> StoreResult<Guarded<Project>> {
        let name = name.clone();
        let (outcome, published) = self
            .write(move |tx| {
                if !holds(tx, guard, project)? {
                    return Ok((Guarded::Refused, Vec::new()));
                }
                let Some(owner) = owner_of(tx, project)? else {
                    return Ok((Guarded::Refused, Vec::new()));
                };
                if name_taken(tx, owner, name.key(), project)? {
                    return Ok((Guarded::NameTaken, Vec::new()));
                }
                let changed = tx.execute(
                    "UPDATE projects SET name = ?2, name_key = ?3, version = version + 1, updated_at = ?4
                 WHERE id = ?1 AND (?5 IS NULL OR version = ?5)",
                    params![
                        project.to_string(),
                        name.as_str(),
                        name.key(),
                        to_micros(now),
                        expected.version()
                    ],
                )?;
                let current = project_for(tx, guard.actor, project)?;
                Ok(match (changed, current) {
                    (_, None) => (Guarded::Refused, Vec::new()),
                    (0, Some(current)) => (Guarded::Conflict(Box::new(current)), Vec::new()),
                    (_, Some(renamed)) => {
                        let news = news_of(tx, project, None, None)?;
                        let members = members_of(tx, project)?;
                        let told = tell(tx, &members, EventType::ProjectUpdated, &news, now)?;
                        (Guarded::Done(renamed), told)
                    }
                })
            })
            .await?;
        self.publish(published);
        Ok(outcome)
    }

    async fn delete_project(
        &self,
        guard: RoleGuard,
        project: Uuid,
        expected: Expected,
        now: OffsetDateTime,
    ) -> StoreResult<Guarded<()>> {
        let (outcome, published) = self
            .write(move |tx| {
                let Some(current) = project_for(tx, guard.actor, project)? else {
                    return Ok((Guarded::Refused, Vec::new()));
                };
                if current.role < guard.at_least {
                    return Ok((Guarded::Refused, Vec::new()));
                }
                if expected.version().is_some_and(|v| v != current.version) {
                    return Ok((Guarded::Conflict(Box::new(current)), Vec::new()));
                }
                let members = members_of(tx, project)?;
                let mut published = Vec::new();
                // Nobody's change to undo: the project and its tasks go together.
                for task in tasks::in_project(tx, project)? {
                    let change = TaskChange::deleted(task.id, task.version, Uuid::nil(), now);
                    published.extend(events::fan_out(tx, &members, &[], &change)?);
                }
                let news = news_of(tx, project, None, None)?;
                published.extend(tell(tx, &members, EventType::ProjectRemoved, &news, now)?);
                tx.execute("DELETE FROM projects WHERE id = ?1", [project.to_string()])?;
                Ok((Guarded::Done(()), published))
            })
            .await?;
        self.publish(published);
        Ok(outcome)
    }

    async fn members(&self, project: Uuid) -> StoreResult<Vec<Member>> {
        self.read(move |c| {
            c.prepare_cached(
                "SELECT m.user_id, u.email, m.role, m.added_at FROM project_members m
                 JOIN users u ON u.id = m.user_id WHERE m.project_id = ?1 ORDER BY m.role DESC, u.email",
            )?
            .query_map([project.to_string()], |r| {
                Ok(Member {
                    user_id: parse_uuid(r.get(0)?)?,
                    email: r.get(1)?,
                    role: role(r.get(2)?)?,
                    added_at: from_micros(r.get(3)?)?,
                })
            })?
            .collect()
        })
        .await
    }

    async fn change_member(
        &self,
        guard: RoleGuard,
        project: Uuid,
        change: MemberChange,
        now: OffsetDateTime,
    ) -> StoreResult<Guarded<()>> {
        let (outcome, published) = self
            .write(move |tx| {
                let (member, from) = match change {
                    MemberChange::SetRole { member, from, .. }
                    | MemberChange::Remove { member, from }
                    | MemberChange::Transfer { member, from } => (member, from),
                };
                let themself = member == guard.actor;
                let actor_holds = themself || holds(tx, guard, project)?;
                if !actor_holds || member_role(tx, project, member)? != Some(from) {
                    return Ok((Guarded::Refused, Vec::new()));
                }
                let (p, m) = (project.to_string(), member.to_string());
                let published = match change {
                    MemberChange::SetRole { to, .. } => {
                        tx.execute(
                            "UPDATE project_members SET role = ?3 WHERE project_id = ?1 AND user_id = ?2",
                            params![p, m, role_rank(to)],
                        )?;
                        let news = news_of(tx, project, Some(member), Some(to))?;
                        let members = members_of(tx, project)?;
                        tell(tx, &members, EventType::ProjectUpdated, &news, now)?
                    }
                    MemberChange::Remove { .. } => {
                        let mut published = tasks_seen_by(tx, project, member, false, now)?;
                        tx.execute(
                            "DELETE FROM project_members WHERE project_id = ?1 AND user_id = ?2",
                            params![p, m],
                        )?;
                        let news = news_of(tx, project, Some(member), None)?;
                        let members = members_of(tx, project)?;
                        published.extend(tell(tx, &members, EventType::MemberRemoved, &news, now)?);
                        published.extend(tell(tx, &[member], EventType::ProjectRemoved, &news, now)?);
                        published
                    }
                    MemberChange::Transfer { .. } => {
                        let key: String =
                            tx.query_row("SELECT name_key FROM projects WHERE id = ?1", [&p], |r| r.get(0))?;
                        if name_taken(tx, member, &key, project)? {
                            return Ok((Guarded::NameTaken, Vec::new()));
                        }
                        tasks::move_space(tx, project, member)?;
                        tx.execute("UPDATE projects SET owner_id = ?2 WHERE id = ?1", params![p, m])?;
                        tx.execute(
                            "UPDATE project_members SET role = CASE WHEN user_id = ?2 THEN ?3 ELSE ?4 END
                             WHERE project_id = ?1 AND user_id IN (?2, ?5)",
                            params![
                                p,
                                m,
                                role_rank(Role::Owner),
                                role_rank(Role::Admin),
                                guard.actor.to_string()
                            ],
                        )?;
                        let news = news_of(tx, project, Some(member), Some(Role::Owner))?;
                        let members = members_of(tx, project)?;
                        tell(tx, &members, EventType::ProjectUpdated, &news, now)?
                    }
                };
                Ok((Guarded::Done(()), published))
            })
            .await?;
        self.publish(published);
        Ok(outcome)
    }

    async fn invite(&self, guard: RoleGuard, invitation: &NewInvitation) -> StoreResult<Guarded<Invitation>> {
        let inv = invitation.clone();
        self.write(move |tx| {
            if !holds(tx, guard, inv.project)? {
                return Ok(Guarded::Refused);
            }
            let open: i64 = tx.query_row(
                "SELECT count(*) FROM invitations WHERE project_id = ?1 AND expires_at > ?2 AND email <> ?3",
                params![inv.project.to_string(), to_micros(inv.now), inv.email],
                |r| r.get(0),
            )?;
            if usize::try_from(open).unwrap_or(usize::MAX) >= INVITATIONS_PER_PROJECT {
                return Ok(Guarded::LimitReached);
            }
            tx.execute(
                "INSERT INTO invitations (id, project_id, email, role, invited_by, created_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT (project_id, email) DO UPDATE SET
                    role = excluded.role, invited_by = excluded.invited_by,
                    created_at = excluded.created_at, expires_at = excluded.expires_at",
                params![
                    inv.id.to_string(),
                    inv.project.to_string(),
                    inv.email,
                    role_rank(inv.role),
                    guard.actor.to_string(),
                    to_micros(inv.now),
                    to_micros(inv.expires_at)
                ],
            )?;
            let written = tx
                .prepare_cached(&format!(
                    "SELECT {INVITATION_COLUMNS} FROM invitations i JOIN projects p ON p.id = i.project_id
                     WHERE i.project_id = ?1 AND i.email = ?2"
                ))?
                .query_row(params![inv.project.to_string(), inv.email], invitation_row)?;
            Ok(Guarded::Done(written))
        })
        .await
    }

    async fn notify_invitee(&self, invitation: &Invitation, now: OffsetDateTime) -> StoreResult<()> {
        let invitation = invitation.clone();
        let published = self
            .write(move |tx| {
                let invitee: Option<Uuid> = tx
                    .prepare_cached("SELECT id FROM users WHERE email = ?1")?
                    .query_row([&invitation.email], |r| parse_uuid(r.get(0)?))
                    .optional()?;
                let Some(user) = invitee else {
                    return Ok(Vec::new());
                };
                let mut news = news_of(tx, invitation.project_id, None, Some(invitation.role))?;
                news.invitation_id = Some(invitation.id);
                tell(tx, &[user], EventType::InvitationReceived, &news, now)
            })
            .await?;
        self.publish(published);
        Ok(())
    }

    async fn project_invitations(&self, project: Uuid, now: OffsetDateTime) -> StoreResult<Vec<Invitation>> {
        self.read(move |c| {
            c.prepare_cached(&format!(
                "SELECT {INVITATION_COLUMNS} FROM invitations i JOIN projects p ON p.id = i.project_id
                 WHERE i.project_id = ?1 AND i.expires_at > ?2 ORDER BY i.created_at, i.id"
            ))?
            .query_map(params![project.to_string(), to_micros(now)], invitation_row)?
            .collect()
        })
        .await
    }

    async fn revoke_invitation(
        &self,
        guard: RoleGuard,
        project: Uuid,
        invitation: Uuid,
    ) -> StoreResult<Guarded<bool>> {
        self.write(move |tx| {
            if !holds(tx, guard, project)? {
                return Ok(Guarded::Refused);
            }
            let gone = tx.execute(
                "DELETE FROM invitations WHERE id = ?1 AND project_id = ?2",
                params![invitation.to_string(), project.to_string()],
            )?;
            Ok(Guarded::Done(gone == 1))
        })
        .await
    }

    async fn invitations_to(&self, user: Uuid, now: OffsetDateTime) -> StoreResult<Vec<Invitation>> {
        self.read(move |c| {
            c.prepare_cached(&format!(
                "SELECT {INVITATION_COLUMNS} FROM invitations i JOIN projects p ON p.id = i.project_id
                 WHERE i.email = (SELECT email FROM users WHERE id = ?1) AND i.expires_at > ?2
                 ORDER BY i.created_at, i.id"
            ))?
            .query_map(params![user.to_string(), to_micros(now)], invitation_row)?
            .collect()
        })
        .await
    }

    async fn answer_invitation(
        &self,
        user: Uuid,
        invitation: Uuid,
        accept: bool,
        now: OffsetDateTime,
    ) -> StoreResult<Option<Guarded<Invitation>>> {
        let (outcome, published) = self
            .write(move |tx| {
                let found = tx
                    .prepare_cached(&format!(
                        "SELECT {INVITATION_COLUMNS} FROM invitations i JOIN projects p ON p.id = i.project_id
                         WHERE i.id = ?1 AND i.email = (SELECT email FROM users WHERE id = ?2)
                           AND i.expires_at > ?3"
                    ))?
                    .query_row(
                        params![invitation.to_string(), user.to_string(), to_micros(now)],
                        invitation_row,
                    )
                    .optional()?;
                let Some(found) = found else {
                    return Ok((None, Vec::new()));
                };
                let project = found.project_id;
                let mut published = Vec::new();
                if accept && member_role(tx, project, user)?.is_none() {
                    let members = members_of(tx, project)?.len();
                    if members >= MEMBERS_PER_PROJECT || memberships(tx, user)? >= PROJECTS_PER_USER {
                        return Ok((Some(Guarded::LimitReached), Vec::new()));
                    }
                    tx.execute(
                        "INSERT INTO project_members (project_id, user_id, role, added_at) VALUES (?1, ?2, ?3, ?4)",
                        params![
                            project.to_string(),
                            user.to_string(),
                            role_rank(found.role),
                            to_micros(now)
                        ],
                    )?;
                    published = tasks_seen_by(tx, project, user, true, now)?;
                    let news = news_of(tx, project, Some(user), Some(found.role))?;
                    let members = members_of(tx, project)?;
                    published.extend(tell(tx, &members, EventType::MemberAdded, &news, now)?);
                }
                tx.execute("DELETE FROM invitations WHERE id = ?1", [invitation.to_string()])?;
                Ok((Some(Guarded::Done(found)), published))
            })
            .await?;
        self.publish(published);
        Ok(outcome)
    }
}
