//! The project port on PostgreSQL: `projects`, `project_members` and `invitations`.
//! Every guarded write locks the project's row first (`FOR UPDATE`): membership changes
//! of one project run one after another on every server, and a task write in the
//! project (which locks it `FOR SHARE`) waits for them, so a removed member's write
//! that commits after the removal is refused by its own statement.

use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use time::OffsetDateTime;
use todo_api::limits::{INVITATIONS_PER_PROJECT, MEMBERS_PER_PROJECT, PROJECTS_PER_USER};
use todo_api::{EventType, Invitation, Member, Project, ProjectNews, Role};
use tokio_postgres::Row;
use uuid::Uuid;

use super::{PgStore, events, rows, task_statements as tasks};
use crate::domain::projects::{ProjectName, RoleGuard, role_of_rank, role_rank};
use crate::store::{
    Expected, Guarded, MemberChange, NewInvitation, ProjectStorage, Published, StoreError, StoreResult,
    TaskChange, to_micros,
};

fn role(rank: i16) -> StoreResult<Role> {
    role_of_rank(rank).ok_or_else(|| StoreError::Corrupt(format!("unknown role rank {rank}")))
}

const PROJECT_COLUMNS: &str = "p.id, p.name, p.owner_id, m.role, \
     (SELECT count(*) FROM project_members c WHERE c.project_id = p.id), \
     p.version, p.created_at, p.updated_at";

fn project_row(row: &Row) -> StoreResult<Project> {
    let members: i64 = row.try_get(4)?;
    Ok(Project {
        id: row.try_get(0)?,
        name: row.try_get(1)?,
        owner_id: row.try_get(2)?,
        role: role(row.try_get(3)?)?,
        member_count: u32::try_from(members).unwrap_or(u32::MAX),
        version: row.try_get(5)?,
        created_at: rows::time(row.try_get(6)?)?,
        updated_at: rows::time(row.try_get(7)?)?,
    })
}

const INVITATION_COLUMNS: &str =
    "i.id, i.project_id, p.name, i.email, i.role, i.invited_by, i.created_at, i.expires_at";

fn invitation_row(row: &Row) -> StoreResult<Invitation> {
    Ok(Invitation {
        id: row.try_get(0)?,
        project_id: row.try_get(1)?,
        project_name: row.try_get(2)?,
        email: row.try_get(3)?,
        role: role(row.try_get(4)?)?,
        invited_by: row.try_get(5)?,
        created_at: rows::time(row.try_get(6)?)?,
        expires_at: rows::time(row.try_get(7)?)?,
    })
}

async fn project_for(c: &impl GenericClient, user: Uuid, project: Uuid) -> StoreResult<Option<Project>> {
    let stmt = c
        .prepare_cached(&format!(
            "SELECT {PROJECT_COLUMNS} FROM projects p
             JOIN project_members m ON m.project_id = p.id AND m.user_id = $1 WHERE p.id = $2"
        ))
        .await?;
    c.query_opt(&stmt, &[&user, &project])
        .await?
        .as_ref()
        .map(project_row)
        .transpose()
}

async fn member_role(c: &impl GenericClient, project: Uuid, user: Uuid) -> StoreResult<Option<Role>> {
    let row = c
        .query_opt(
            "SELECT role FROM project_members WHERE project_id = $1 AND user_id = $2",
            &[&project, &user],
        )
        .await?;
    row.map(|r| role(r.try_get(0)?)).transpose()
}

/// Locks the project (membership changes of it wait) and tells whether the guard holds.
async fn lock_and_check(c: &impl GenericClient, guard: RoleGuard, project: Uuid) -> StoreResult<bool> {
    c.execute("SELECT 1 FROM projects WHERE id = $1 FOR UPDATE", &[&project])
        .await?;
    Ok(member_role(c, project, guard.actor)
        .await?
        .is_some_and(|r| r >= guard.at_least))
}

/// Locks a user's row: the check of their project count or of a name among their
/// projects and the write it allows then run one at a time (creating a project locks it
/// too). Taken after the project's lock, as every write here does.
async fn lock_user(c: &impl GenericClient, user: Uuid) -> StoreResult<()> {
    c.execute("SELECT 1 FROM users WHERE id = $1 FOR UPDATE", &[&user])
        .await?;
    Ok(())
}

async fn memberships(c: &impl GenericClient, user: Uuid) -> StoreResult<usize> {
    let count: i64 = c
        .query_one(
            "SELECT count(*) FROM project_members WHERE user_id = $1",
            &[&user],
        )
        .await?
        .try_get(0)?;
    Ok(usize::try_from(count).unwrap_or(usize::MAX))
}

async fn name_taken(c: &impl GenericClient, owner: Uuid, key: &str, except: Uuid) -> StoreResult<bool> {
    Ok(c.query_one(
        "SELECT EXISTS (SELECT 1 FROM projects WHERE owner_id = $1 AND name_key = $2 AND id <> $3)",
        &[&owner, &key, &except],
    )
    .await?
    .try_get(0)?)
}

/// Appends to `user`'s stream each task of `project` as created (`joined`) or deleted.
/// These events are nobody's change to undo (their actor is the nil id).
async fn tasks_seen_by(
    c: &impl GenericClient,
    project: Uuid,
    user: Uuid,
    joined: bool,
    at: OffsetDateTime,
) -> StoreResult<Published> {
    let (before, after) = if joined {
        (vec![], vec![user])
    } else {
        (vec![user], vec![])
    };
    let mut published = Vec::new();
    for task in tasks::in_project(c, project).await? {
        let change = match joined {
            true => TaskChange::of(&task, Uuid::nil(), at),
            false => TaskChange::deleted(task.id, task.version, Uuid::nil(), at),
        };
        published.extend(events::fan_out(c, &before, &after, &change).await?);
    }
    Ok(published)
}

/// The news of `project` (its id and name) about `user` with `role`, if about someone.
async fn news_of(
    c: &impl GenericClient,
    project: Uuid,
    user: Option<Uuid>,
    role: Option<Role>,
) -> StoreResult<ProjectNews> {
    let name: String = c
        .query_one("SELECT name FROM projects WHERE id = $1", &[&project])
        .await?
        .try_get(0)?;
    Ok(ProjectNews {
        project_id: project,
        name,
        user_id: user,
        role,
        invitation_id: None,
    })
}

/// Appends a project's event to the stream of each of `users` (in id order, as locks
/// are taken everywhere).
async fn tell(
    c: &impl GenericClient,
    users: &[Uuid],
    kind: EventType,
    news: &ProjectNews,
    at: OffsetDateTime,
) -> StoreResult<Published> {
    let mut sorted = users.to_vec();
    sorted.sort();
    let mut told = Vec::with_capacity(sorted.len());
    for user in sorted {
        told.push((user, events::append_news(c, user, kind, news, at).await?));
    }
    Ok(told)
}

/// Appends to the stream of every other member of each project `owner` owns each of its
/// tasks as deleted: the projects are about to go with the owner's account. Each
/// project is locked first, as membership changes lock it.
pub(super) async fn owned_projects_go(
    c: &impl GenericClient,
    owner: Uuid,
    at: OffsetDateTime,
) -> StoreResult<Published> {
    let owned: Vec<Uuid> = c
        .query(
            "SELECT id FROM projects WHERE owner_id = $1 ORDER BY id FOR UPDATE",
            &[&owner],
        )
        .await?
        .iter()
        .map(|r| r.try_get(0))
        .collect::<Result<_, _>>()?;
    let mut published = Vec::new();
    for project in owned {
        let mut members = events::audience(c, Some(project), owner).await?;
        members.retain(|m| *m != owner);
        for task in tasks::in_project(c, project).await? {
            let change = TaskChange::deleted(task.id, task.version, Uuid::nil(), at);
            published.extend(events::fan_out(c, &members, &[], &change).await?);
        }
        let news = news_of(c, project, None, None).await?;
        published.extend(tell(c, &members, EventType::ProjectRemoved, &news, at).await?);
    }
    Ok(published)
}

/// Runs `$body` (a block using `$tx`, the transaction, that gives the outcome and its
/// events) in one transaction: committed when it did something (`Done`), rolled back
/// otherwise; the events published after the commit. A macro, not a function taking a
/// closure: the body borrows the transaction, which a closure's future cannot name.
macro_rules! guarded {
    ($store:expr, |$tx:ident| $body:block) => {{
        let (outcome, published) = $store
            .observe(async {
                let mut client = $store.client().await?;
                let transaction = client.transaction().await?;
                let $tx = &transaction;
                let (outcome, published) = async { $body }.await?;
                match outcome {
                    Guarded::Done(_) => transaction.commit().await?,
                    _ => transaction.rollback().await?,
                }
                Ok((outcome, published))
            })
            .await?;
        $store.publish_all(published);
        Ok(outcome)
    }};
}

fn quiet<T>(outcome: Guarded<T>) -> StoreResult<(Guarded<T>, Published)> {
    Ok((outcome, Vec::new()))
}

#[async_trait]
impl ProjectStorage for PgStore {
    async fn projects_of(&self, user: Uuid) -> StoreResult<Vec<Project>> {
        self.observe(async {
            let client = self.client().await?;
            let stmt = client
                .prepare_cached(&format!(
                    "SELECT {PROJECT_COLUMNS} FROM projects p
                     JOIN project_members m ON m.project_id = p.id AND m.user_id = $1
                     ORDER BY p.name_key, p.id"
                ))
                .await?;
            client
                .query(&stmt, &[&user])
                .await?
                .iter()
                .map(project_row)
                .collect()
        })
        .await
    }

    async fn project_for(&self, user: Uuid, project: Uuid) -> StoreResult<Option<Project>> {
        self.observe(async {
            let client = self.client().await?;
            project_for(&client, user, project).await
        })
        .await
    }

    async fn create_project(
        &self,
        owner: Uuid,
        id: Uuid,
        name: &ProjectName,
        now: OffsetDateTime,
    ) -> StoreResult<Guarded<Project>> {
        guarded!(self, |tx| {
            // The owner's row: two creations of theirs count and name one after the other.
            lock_user(tx, owner).await?;
            if memberships(tx, owner).await? >= PROJECTS_PER_USER {
                return quiet(Guarded::LimitReached);
            }
            if name_taken(tx, owner, name.key(), id).await? {
                return quiet(Guarded::NameTaken);
            }
            let now = to_micros(now);
            tx.execute(
                "INSERT INTO projects (id, owner_id, name, name_key, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $5)",
                &[&id, &owner, &name.as_str(), &name.key(), &now],
            )
            .await?;
            tx.execute(
                "INSERT INTO project_members (project_id, user_id, role, added_at) VALUES ($1, $2, $3, $4)",
                &[&id, &owner, &role_rank(Role::Owner), &now],
            )
            .await?;
            let project = project_for(tx, owner, id).await?;
            quiet(project.map_or(Guarded::Refused, Guarded::Done))
        })
    }

    async fn rename_project(
        &self,
        guard: RoleGuard,
        project: Uuid,
        expected: Expected,
        name: &ProjectName,
        now: OffsetDateTime,
    ) -> StoreResult<Guarded<Project>> {
        guarded!(self, |tx| {
            if !lock_and_check(tx, guard, project).await? {
                return quiet(Guarded::Refused);
            }
            let Some(current) = project_for(tx, guard.actor, project).await? else {
                return quiet(Guarded::Refused);
            };
            lock_user(tx, current.owner_id).await?;
            if name_taken(tx, current.owner_id, name.key(), project).await? {
                return quiet(Guarded::NameTaken);
            }
            if expected.version().is_some_and(|v| v != current.version) {
                return quiet(Guarded::Conflict(Box::new(current)));
            }
            tx.execute(
                "UPDATE projects SET name = $2, name_key = $3, version = version + 1, updated_at = $4
                 WHERE id = $1",
                &[&project, &name.as_str(), &name.key(), &to_micros(now)],
            )
            .await?;
            let Some(renamed) = project_for(tx, guard.actor, project).await? else {
                return quiet(Guarded::Refused);
            };
            let news = news_of(tx, project, None, None).await?;
            let members = events::audience(tx, Some(project), guard.actor).await?;
            let told = tell(tx, &members, EventType::ProjectUpdated, &news, now).await?;
            Ok((Guarded::Done(renamed), told))
        })
    }

    async fn delete_project(
        &self,
        guard: RoleGuard,
        project: Uuid,
        expected: Expected,
        now: OffsetDateTime,
    ) -> StoreResult<Guarded<()>> {
        guarded!(self, |tx| {
            if !lock_and_check(tx, guard, project).await? {
                return quiet(Guarded::Refused);
            }
            let Some(current) = project_for(tx, guard.actor, project).await? else {
                return quiet(Guarded::Refused);
            };
            if expected.version().is_some_and(|v| v != current.version) {
                return quiet(Guarded::Conflict(Box::new(current)));
            }
            let members = events::audience(tx, Some(project), guard.actor).await?;
            let mut published = Vec::new();
            // Nobody's change to undo: the project and its tasks go together.
            for task in tasks::in_project(tx, project).await? {
                let change = TaskChange::deleted(task.id, task.version, Uuid::nil(), now);
                published.extend(events::fan_out(tx, &members, &[], &change).await?);
            }
            let news = news_of(tx, project, None, None).await?;
            published.extend(tell(tx, &members, EventType::ProjectRemoved, &news, now).await?);
            tx.execute("DELETE FROM projects WHERE id = $1", &[&project])
                .await?;
            Ok((Guarded::Done(()), published))
        })
    }

    async fn members(&self, project: Uuid) -> StoreResult<Vec<Member>> {
        self.observe(async {
            let client = self.client().await?;
            let rows = client
                .query(
                    "SELECT m.user_id, u.email, m.role, m.added_at FROM project_members m
                     JOIN users u ON u.id = m.user_id WHERE m.project_id = $1 ORDER BY m.role DESC, u.email",
                    &[&project],
                )
                .await?;
            rows.iter()
                .map(|r| {
                    Ok(Member {
                        user_id: r.try_get(0)?,
                        email: r.try_get(1)?,
                        role: role(r.try_get(2)?)?,
                        added_at: rows::time(r.try_get(3)?)?,
                    })
                })
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
        guarded!(self, |tx| {
            let (member, from) = match change {
                MemberChange::SetRole { member, from, .. }
                | MemberChange::Remove { member, from }
                | MemberChange::Transfer { member, from } => (member, from),
            };
            let holds = lock_and_check(tx, guard, project).await?;
            if !(holds || member == guard.actor) || member_role(tx, project, member).await? != Some(from) {
                return quiet(Guarded::Refused);
            }
            let published = match change {
                MemberChange::SetRole { to, .. } => {
                    tx.execute(
                        "UPDATE project_members SET role = $3 WHERE project_id = $1 AND user_id = $2",
                        &[&project, &member, &role_rank(to)],
                    )
                    .await?;
                    let news = news_of(tx, project, Some(member), Some(to)).await?;
                    let members = events::audience(tx, Some(project), member).await?;
                    tell(tx, &members, EventType::ProjectUpdated, &news, now).await?
                }
                MemberChange::Remove { .. } => {
                    let mut published = tasks_seen_by(tx, project, member, false, now).await?;
                    tx.execute(
                        "DELETE FROM project_members WHERE project_id = $1 AND user_id = $2",
                        &[&project, &member],
                    )
                    .await?;
                    let news = news_of(tx, project, Some(member), None).await?;
                    let mut told = events::audience(tx, Some(project), member).await?;
                    told.push(member);
                    // Everyone's rows in one order: the rest hear of it, the member that
                    // the project is gone for them.
                    told.sort();
                    for user in told {
                        let kind = match user == member {
                            true => EventType::ProjectRemoved,
                            false => EventType::MemberRemoved,
                        };
                        published.extend(tell(tx, &[user], kind, &news, now).await?);
                    }
                    published
                }
                MemberChange::Transfer { .. } => {
                    let key: String = tx
                        .query_one("SELECT name_key FROM projects WHERE id = $1", &[&project])
                        .await?
                        .try_get(0)?;
                    lock_user(tx, member).await?;
                    if name_taken(tx, member, &key, project).await? {
                        return quiet(Guarded::NameTaken);
                    }
                    tasks::move_space(tx, project, member).await?;
                    tx.execute(
                        "UPDATE projects SET owner_id = $2 WHERE id = $1",
                        &[&project, &member],
                    )
                    .await?;
                    tx.execute(
                        "UPDATE project_members SET role = CASE WHEN user_id = $2 THEN $3::smallint ELSE $4::smallint END
                         WHERE project_id = $1 AND user_id IN ($2, $5)",
                        &[
                            &project,
                            &member,
                            &role_rank(Role::Owner),
                            &role_rank(Role::Admin),
                            &guard.actor,
                        ],
                    )
                    .await?;
                    let news = news_of(tx, project, Some(member), Some(Role::Owner)).await?;
                    let members = events::audience(tx, Some(project), member).await?;
                    tell(tx, &members, EventType::ProjectUpdated, &news, now).await?
                }
            };
            Ok((Guarded::Done(()), published))
        })
    }

    async fn invite(&self, guard: RoleGuard, invitation: &NewInvitation) -> StoreResult<Guarded<Invitation>> {
        let inv = invitation;
        guarded!(self, |tx| {
            if !lock_and_check(tx, guard, inv.project).await? {
                return quiet(Guarded::Refused);
            }
            let open: i64 = tx
                .query_one(
                    "SELECT count(*) FROM invitations WHERE project_id = $1 AND expires_at > $2 AND email <> $3",
                    &[&inv.project, &to_micros(inv.now), &inv.email],
                )
                .await?
                .try_get(0)?;
            if usize::try_from(open).unwrap_or(usize::MAX) >= INVITATIONS_PER_PROJECT {
                return quiet(Guarded::LimitReached);
            }
            tx.execute(
                "INSERT INTO invitations (id, project_id, email, role, invited_by, created_at, expires_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)
                 ON CONFLICT (project_id, email) DO UPDATE SET
                    role = excluded.role, invited_by = excluded.invited_by,
                    created_at = excluded.created_at, expires_at = excluded.expires_at",
                &[
                    &inv.id,
                    &inv.project,
                    &inv.email,
                    &role_rank(inv.role),
                    &guard.actor,
                    &to_micros(inv.now),
                    &to_micros(inv.expires_at),
                ],
            )
            .await?;
            let row = tx
                .query_one(
                    &format!(
                        "SELECT {INVITATION_COLUMNS} FROM invitations i JOIN projects p ON p.id = i.project_id
                         WHERE i.project_id = $1 AND i.email = $2"
                    ),
                    &[&inv.project, &inv.email],
                )
                .await?;
            quiet(Guarded::Done(invitation_row(&row)?))
        })
    }

    async fn notify_invitee(&self, invitation: &Invitation, now: OffsetDateTime) -> StoreResult<()> {
        let published = self
            .observe(async {
                let mut client = self.client().await?;
                let tx = client.transaction().await?;
                let invitee: Option<Uuid> = tx
                    .query_opt("SELECT id FROM users WHERE email = $1", &[&invitation.email])
                    .await?
                    .map(|r| r.try_get(0))
                    .transpose()?;
                let Some(user) = invitee else {
                    return Ok(Vec::new());
                };
                let mut news = news_of(&tx, invitation.project_id, None, Some(invitation.role)).await?;
                news.invitation_id = Some(invitation.id);
                let told = tell(&tx, &[user], EventType::InvitationReceived, &news, now).await?;
                tx.commit().await?;
                Ok(told)
            })
            .await?;
        self.publish_all(published);
        Ok(())
    }

    async fn project_invitations(&self, project: Uuid, now: OffsetDateTime) -> StoreResult<Vec<Invitation>> {
        self.observe(async {
            let client = self.client().await?;
            let rows = client
                .query(
                    &format!(
                        "SELECT {INVITATION_COLUMNS} FROM invitations i JOIN projects p ON p.id = i.project_id
                         WHERE i.project_id = $1 AND i.expires_at > $2 ORDER BY i.created_at, i.id"
                    ),
                    &[&project, &to_micros(now)],
                )
                .await?;
            rows.iter().map(invitation_row).collect()
        })
        .await
    }

    async fn revoke_invitation(
        &self,
        guard: RoleGuard,
        project: Uuid,
        invitation: Uuid,
    ) -> StoreResult<Guarded<bool>> {
        guarded!(self, |tx| {
            if !lock_and_check(tx, guard, project).await? {
                return quiet(Guarded::Refused);
            }
            let gone = tx
                .execute(
                    "DELETE FROM invitations WHERE id = $1 AND project_id = $2",
                    &[&invitation, &project],
                )
                .await?;
            quiet(Guarded::Done(gone == 1))
        })
    }

    async fn invitations_to(&self, user: Uuid, now: OffsetDateTime) -> StoreResult<Vec<Invitation>> {
        self.observe(async {
            let client = self.client().await?;
            let rows = client
                .query(
                    &format!(
                        "SELECT {INVITATION_COLUMNS} FROM invitations i JOIN projects p ON p.id = i.project_id
                         WHERE i.email = (SELECT email FROM users WHERE id = $1) AND i.expires_at > $2
                         ORDER BY i.created_at, i.id"
                    ),
                    &[&user, &to_micros(now)],
                )
                .await?;
            rows.iter().map(invitation_row).collect()
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
        let outcome: StoreResult<Guarded<Invitation>> = guarded!(self, |tx| {
            let project: Option<Uuid> = tx
                .query_opt("SELECT project_id FROM invitations WHERE id = $1", &[&invitation])
                .await?
                .map(|r| r.try_get(0))
                .transpose()?;
            let Some(project) = project else {
                return quiet(Guarded::Refused);
            };
            // The project first, as every membership change locks it.
            tx.execute("SELECT 1 FROM projects WHERE id = $1 FOR UPDATE", &[&project])
                .await?;
            let found = tx
                    .query_opt(
                        &format!(
                            "SELECT {INVITATION_COLUMNS} FROM invitations i JOIN projects p ON p.id = i.project_id
                             WHERE i.id = $1 AND i.email = (SELECT email FROM users WHERE id = $2)
                               AND i.expires_at > $3"
                        ),
                        &[&invitation, &user, &to_micros(now)],
                    )
                    .await?;
            let Some(found) = found.as_ref().map(invitation_row).transpose()? else {
                return quiet(Guarded::Refused);
            };
            let mut published = Vec::new();
            if accept && member_role(tx, project, user).await?.is_none() {
                lock_user(tx, user).await?;
                let members = events::audience(tx, Some(project), user).await?.len();
                if members >= MEMBERS_PER_PROJECT || memberships(tx, user).await? >= PROJECTS_PER_USER {
                    return quiet(Guarded::LimitReached);
                }
                tx.execute(
                        "INSERT INTO project_members (project_id, user_id, role, added_at) VALUES ($1, $2, $3, $4)",
                        &[&project, &user, &role_rank(found.role), &to_micros(now)],
                    )
                    .await?;
                published = tasks_seen_by(tx, project, user, true, now).await?;
                let news = news_of(tx, project, Some(user), Some(found.role)).await?;
                let members = events::audience(tx, Some(project), user).await?;
                published.extend(tell(tx, &members, EventType::MemberAdded, &news, now).await?);
            }
            tx.execute("DELETE FROM invitations WHERE id = $1", &[&invitation])
                .await?;
            Ok((Guarded::Done(found), published))
        });
        // `Refused` here: no open invitation to this user with that id.
        Ok(match outcome? {
            Guarded::Refused => None,
            other => Some(other),
        })
    }
}
