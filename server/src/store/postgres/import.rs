//! Fills an empty database with a [`Snapshot`] in one transaction, for `migrate-to`:
//! either everything is copied or nothing is.

use super::PgStore;
use super::rows::priority_to_sql;
use crate::store::{Snapshot, StoreError, StoreResult, to_micros};

/// How many rows of each table were copied.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Copied {
    pub activity: usize,
    pub events: usize,
    pub users: usize,
    pub sessions: usize,
    pub refresh_tokens: usize,
    pub keys: usize,
    pub tasks: usize,
    pub projects: usize,
}

impl PgStore {
    pub async fn import(&self, snapshot: &Snapshot) -> StoreResult<Copied> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let held: i64 = tx
            .query_one(
                "SELECT (SELECT count(*) FROM users) + (SELECT count(*) FROM signing_keys)",
                &[],
            )
            .await?
            .try_get(0)?;
        if held > 0 {
            return Err(StoreError::NotEmpty);
        }
        let user = tx
            .prepare(
                "INSERT INTO users (id, email, name, password_hash, created_at, disabled_at)
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .await?;
        for r in &snapshot.users {
            let u = &r.user;
            tx.execute(
                &user,
                &[
                    &u.id,
                    &u.email,
                    &u.name,
                    &r.password_hash,
                    &to_micros(u.created_at),
                    &r.disabled_at.map(to_micros),
                ],
            )
            .await?;
        }
        let session = tx
            .prepare(
                "INSERT INTO sessions (id, user_id, created_at, expires_at, revoked_at, last_used_at, user_agent,
                                       client_addr)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .await?;
        for s in &snapshot.sessions {
            tx.execute(
                &session,
                &[
                    &s.id,
                    &s.user_id,
                    &s.created_at,
                    &s.expires_at,
                    &s.revoked_at,
                    &s.last_used_at,
                    &s.user_agent,
                    &s.client_addr,
                ],
            )
            .await?;
        }
        let token = tx
            .prepare("INSERT INTO refresh_tokens (token_hash, session_id, expires_at, used_at) VALUES ($1, $2, $3, $4)")
            .await?;
        for t in &snapshot.refresh_tokens {
            tx.execute(&token, &[&t.token_hash, &t.session_id, &t.expires_at, &t.used_at])
                .await?;
        }
        let key = tx
            .prepare("INSERT INTO signing_keys (kid, secret_key, public_key, created_at, retired_at) VALUES ($1, $2, $3, $4, $5)")
            .await?;
        for k in &snapshot.keys {
            let retired = k.retired_at.map(to_micros);
            tx.execute(
                &key,
                &[
                    &k.kid,
                    &k.stored_secret,
                    &k.public_key.as_slice(),
                    &to_micros(k.created_at),
                    &retired,
                ],
            )
            .await?;
        }
        for p in &snapshot.projects {
            tx.execute(
                "INSERT INTO projects (id, owner_id, name, name_key, version, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
                &[
                    &p.id,
                    &p.owner_id,
                    &p.name,
                    &p.name_key,
                    &p.version,
                    &p.created_at,
                    &p.updated_at,
                ],
            )
            .await?;
        }
        for m in &snapshot.members {
            tx.execute(
                "INSERT INTO project_members (project_id, user_id, role, added_at) VALUES ($1, $2, $3, $4)",
                &[&m.project_id, &m.user_id, &m.role, &m.added_at],
            )
            .await?;
        }
        for (issuer, subject, user, created_at) in &snapshot.identities {
            tx.execute(
                "INSERT INTO external_identities (issuer, subject, user_id, created_at) VALUES ($1, $2, $3, $4)",
                &[issuer, subject, user, created_at],
            )
            .await?;
        }
        for (user, not_before) in &snapshot.external_revocations {
            tx.execute(
                "UPDATE users SET external_not_before = $2 WHERE id = $1",
                &[user, not_before],
            )
            .await?;
        }
        for i in &snapshot.invitations {
            tx.execute(
                "INSERT INTO invitations (id, project_id, email, role, invited_by, created_at, expires_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
                &[
                    &i.id,
                    &i.project_id,
                    &i.email,
                    &i.role,
                    &i.invited_by,
                    &i.created_at,
                    &i.expires_at,
                ],
            )
            .await?;
        }
        let task = tx
            .prepare(
                "INSERT INTO tasks (id, user_id, title, description, completed, priority, due_at, tags,
                                    created_at, updated_at, completed_at, version, source_id,
                                    project_id, created_by, updated_by, recurrence_rule, recurrence_tz,
                                    series_id, occurrence)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,
                         $17, $18, $19, $20)",
            )
            .await?;
        for t in &snapshot.tasks {
            tx.execute(
                &task,
                &[
                    &t.id,
                    &t.user_id,
                    &t.title,
                    &t.description,
                    &t.completed,
                    &priority_to_sql(t.priority),
                    &t.due_at.map(to_micros),
                    &t.tags,
                    &to_micros(t.created_at),
                    &to_micros(t.updated_at),
                    &t.completed_at.map(to_micros),
                    &t.version,
                    &t.source_id,
                    &t.project_id,
                    &t.created_by,
                    &t.updated_by,
                    &t.recurrence.as_ref().map(|r| r.rule.clone()),
                    &t.recurrence.as_ref().map(|r| r.time_zone.clone()),
                    &t.series_id,
                    &t.occurrence.map(|n| n as i32),
                ],
            )
            .await?;
            for note in t.notes.iter().flatten() {
                super::notes::insert(&tx, t.id, note).await?;
            }
        }
        let event = tx
            .prepare(
                "INSERT INTO task_events (user_id, seq, kind, task_id, version, task, undoes, at, actor,
                                          change_group)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .await?;
        for (user, e) in &snapshot.events {
            let task = match (&e.task, &e.project) {
                (Some(task), _) => Some(crate::store::history::encode(task)),
                (None, Some(news)) => Some(serde_json::to_string(news)),
                (None, None) => None,
            }
            .transpose()
            .map_err(|err| StoreError::Corrupt(format!("an event's task: {err}")))?;
            tx.execute(
                &event,
                &[
                    user,
                    &e.seq,
                    &super::events::kind_to_sql(e.kind),
                    &e.task_id,
                    &e.version,
                    &task,
                    &e.undoes,
                    &to_micros(e.at),
                    &e.actor,
                    &e.group,
                ],
            )
            .await?;
        }
        let seq = tx
            .prepare("UPDATE users SET event_seq = $2 WHERE id = $1")
            .await?;
        for (user, latest) in &snapshot.event_seqs {
            tx.execute(&seq, &[user, latest]).await?;
        }
        let entry = tx
            .prepare(
                "INSERT INTO activity (id, user_id, at, kind, address, user_agent, session_id)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .await?;
        for (user, e) in &snapshot.activity {
            tx.execute(
                &entry,
                &[
                    &e.id,
                    user,
                    &to_micros(e.at),
                    &e.kind.as_str(),
                    &e.address,
                    &e.user_agent,
                    &e.session_id,
                ],
            )
            .await?;
        }
        tx.execute(
            "SELECT setval(pg_get_serial_sequence('activity', 'id'), GREATEST((SELECT max(id) FROM activity), 1),
                           (SELECT max(id) FROM activity) IS NOT NULL)",
            &[],
        )
        .await?;
        // New tasks continue after the copied ids.
        tx.execute(
            "SELECT setval(pg_get_serial_sequence('tasks', 'id'), GREATEST((SELECT max(id) FROM tasks), 1),
                           (SELECT max(id) FROM tasks) IS NOT NULL)",
            &[],
        )
        .await?;
        tx.commit().await?;
        Ok(Copied {
            activity: snapshot.activity.len(),
            events: snapshot.events.len(),
            users: snapshot.users.len(),
            sessions: snapshot.sessions.len(),
            refresh_tokens: snapshot.refresh_tokens.len(),
            keys: snapshot.keys.len(),
            tasks: snapshot.tasks.len(),
            projects: snapshot.projects.len(),
        })
    }
}
