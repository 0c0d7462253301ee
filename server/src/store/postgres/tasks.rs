//! The task port on PostgreSQL: tasks and their change stream (the SQL is in
//! `task_statements.rs` and `events.rs`). Each method is one statement or one
//! transaction; rows that a decision depends on are locked (`FOR UPDATE`) so that two
//! servers deciding at once decide one after the other. A conditional task write is one
//! statement (`UPDATE ... WHERE version = $n`, which PostgreSQL re-checks on the newest
//! row after any lock wait); only when it matched nothing is the task read again, to
//! tell 404 from 412.

use async_trait::async_trait;
use time::OffsetDateTime;
use uuid::Uuid;

use super::{PgStore, events, sent_together, task_statements as tasks};
use crate::domain::tasks::{Owner, TaskDraft, TaskQuery};
use crate::store::{
    ChangeFeed, EventPage, EventRecord, Expected, StoreResult, TaskStorage, UndoStep, Undone, Written,
    to_micros,
};
use todo_api::{EventType, Task};

#[async_trait]
impl TaskStorage for PgStore {
    async fn list_tasks(&self, owner: Owner, query: &TaskQuery) -> StoreResult<(Vec<Task>, u64)> {
        self.observe(async {
            let client = self.client().await?;
            tasks::list(&client, owner, query).await
        })
        .await
    }

    async fn get_task(&self, owner: Owner, id: i64) -> StoreResult<Option<Task>> {
        self.observe(async {
            let client = self.client().await?;
            tasks::get(&client, owner, id).await
        })
        .await
    }

    async fn insert_task(
        &self,
        owner: Owner,
        draft: &TaskDraft,
        now: OffsetDateTime,
    ) -> StoreResult<Written<Task>> {
        let outcome = self
            .observe(async {
                let mut client = self.client().await?;
                let tx = client.transaction().await?;
                // Sent together (one round trip); PostgreSQL runs them in order, so the
                // user's lock is still taken first.
                let (seq, task) = sent_together(tokio::join!(
                    events::next_seq(&tx, owner.id()),
                    tasks::insert(&tx, owner, draft, now)
                ))?;
                let Some(task) = task else {
                    // Imported before: nothing is written (the counter rolls back).
                    let first = match draft.source_id() {
                        Some(source) => tasks::by_source(&tx, owner, source).await?,
                        None => None,
                    };
                    return Ok(Err(first));
                };
                let event = events::append(
                    &tx,
                    owner.id(),
                    seq,
                    EventType::Created,
                    task.id,
                    task.version,
                    Some(&task),
                    None,
                    now,
                )
                .await?;
                tx.commit().await?;
                Ok(Ok((task, event)))
            })
            .await?;
        match outcome {
            Ok((task, event)) => {
                self.published(owner.id(), event);
                Ok(Written::Done(task))
            }
            Err(first) => Ok(Written::from_miss(first)),
        }
    }

    async fn replace_task(
        &self,
        owner: Owner,
        id: i64,
        expected: Expected,
        draft: &TaskDraft,
        completed: Option<bool>,
        now: OffsetDateTime,
    ) -> StoreResult<Written<Task>> {
        self.observe(async {
            let mut client = self.client().await?;
            let tx = client.transaction().await?;
            let (seq, changed) = sent_together(tokio::join!(
                events::next_seq(&tx, owner.id()),
                tasks::replace(&tx, owner, id, expected, draft, completed, now)
            ))?;
            self.finish_task_write(tx, owner, id, seq, now, changed).await
        })
        .await
    }

    async fn set_completed(
        &self,
        owner: Owner,
        id: i64,
        expected: Expected,
        target: Option<bool>,
        now: OffsetDateTime,
    ) -> StoreResult<Written<Task>> {
        self.observe(async {
            let mut client = self.client().await?;
            let tx = client.transaction().await?;
            let (seq, changed) = sent_together(tokio::join!(
                events::next_seq(&tx, owner.id()),
                tasks::set_completed(&tx, owner, id, expected, target, now)
            ))?;
            self.finish_task_write(tx, owner, id, seq, now, changed).await
        })
        .await
    }

    async fn delete_task(
        &self,
        owner: Owner,
        id: i64,
        expected: Expected,
        now: OffsetDateTime,
    ) -> StoreResult<Written<()>> {
        self.observe(async {
            let mut client = self.client().await?;
            let tx = client.transaction().await?;
            let (seq, deleted) = sent_together(tokio::join!(
                events::next_seq(&tx, owner.id()),
                tasks::delete(&tx, owner, id, expected)
            ))?;
            let Some(version) = deleted else {
                let current = tasks::get(&tx, owner, id).await?;
                tx.rollback().await?;
                return Ok(Written::from_miss(current));
            };
            let event = events::append(
                &tx,
                owner.id(),
                seq,
                EventType::Deleted,
                id,
                version,
                None,
                None,
                now,
            )
            .await?;
            tx.commit().await?;
            self.published(owner.id(), event);
            Ok(Written::Done(()))
        })
        .await
    }

    fn changes(&self) -> &ChangeFeed {
        &self.feed
    }

    async fn events_after(&self, owner: Owner, after: i64, limit: u32) -> StoreResult<EventPage> {
        self.observe(async {
            let mut client = self.client().await?;
            // One snapshot for the counters and the page.
            let tx = client
                .build_transaction()
                .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
                .read_only(true)
                .start()
                .await?;
            let page = events::after(&tx, owner.id(), after, limit).await?;
            tx.commit().await?;
            Ok(page)
        })
        .await
    }

    async fn task_history(&self, owner: Owner, task_id: i64) -> StoreResult<Vec<EventRecord>> {
        self.observe(async {
            let client = self.client().await?;
            events::history(&client, owner.id(), task_id).await
        })
        .await
    }

    async fn undo_latest(&self, owner: Owner, now: OffsetDateTime) -> StoreResult<Option<Undone>> {
        let undone = self
            .observe(async {
                let mut client = self.client().await?;
                let tx = client.transaction().await?;
                let user = owner.id();
                // The user's lock first: no other change of theirs commits meanwhile.
                let seq = events::next_seq(&tx, user).await?;
                for target in events::undoable(&tx, user, UNDO_SEARCH).await? {
                    let before = events::before(&tx, user, target.task_id, target.seq).await?;
                    let current = tasks::get(&tx, owner, target.task_id).await?;
                    let Some(step) = UndoStep::plan(&target, before, current.as_ref()) else {
                        continue;
                    };
                    let (kind, task, version) = match step {
                        UndoStep::Delete { version } => {
                            tasks::delete(&tx, owner, target.task_id, Expected::Version(version)).await?;
                            (EventType::Deleted, None, version)
                        }
                        UndoStep::Reinsert { task, version } => {
                            let task = tasks::reinsert(&tx, owner, &task, version, now).await?;
                            (EventType::Created, Some(task), version)
                        }
                        UndoStep::Restore { task, version } => {
                            let task = tasks::restore(&tx, owner, &task, version, now).await?;
                            (EventType::Updated, task, version)
                        }
                    };
                    let event = events::append(
                        &tx,
                        user,
                        seq,
                        kind,
                        target.task_id,
                        version,
                        task.as_ref(),
                        Some(target.seq),
                        now,
                    )
                    .await?;
                    tx.commit().await?;
                    return Ok(Some((
                        Undone {
                            target_seq: target.seq,
                            target_kind: target.kind,
                            seq,
                            task,
                        },
                        event,
                    )));
                }
                tx.rollback().await?;
                Ok(None)
            })
            .await?;
        Ok(undone.map(|(undone, event)| {
            self.published(owner.id(), event);
            undone
        }))
    }

    async fn open_stream(
        &self,
        owner: Owner,
        lease: Uuid,
        now: OffsetDateTime,
        expires: OffsetDateTime,
        cap: u32,
    ) -> StoreResult<bool> {
        let (now, expires) = (to_micros(now), to_micros(expires));
        self.observe(async {
            let mut client = self.client().await?;
            let tx = client.transaction().await?;
            // Two streams opening at once on two servers count one after the other.
            tx.execute("SELECT 1 FROM users WHERE id = $1 FOR UPDATE", &[&owner.id()])
                .await?;
            let n = tx
                .execute(
                    "INSERT INTO stream_leases (id, user_id, expires_at)
                     SELECT $1, $2, $3
                     WHERE (SELECT count(*) FROM stream_leases WHERE user_id = $2 AND expires_at > $4) < $5",
                    &[&lease, &owner.id(), &expires, &now, &i64::from(cap)],
                )
                .await?;
            tx.commit().await?;
            Ok(n == 1)
        })
        .await
    }

    async fn renew_stream(&self, lease: Uuid, expires: OffsetDateTime) -> StoreResult<()> {
        let expires = to_micros(expires);
        self.observe(async {
            let client = self.client().await?;
            client
                .execute(
                    "UPDATE stream_leases SET expires_at = $2 WHERE id = $1",
                    &[&lease, &expires],
                )
                .await?;
            Ok(())
        })
        .await
    }

    async fn close_stream(&self, lease: Uuid) -> StoreResult<()> {
        self.observe(async {
            let client = self.client().await?;
            client
                .execute("DELETE FROM stream_leases WHERE id = $1", &[&lease])
                .await?;
            Ok(())
        })
        .await
    }

    async fn delete_old_events(
        &self,
        before: OffsetDateTime,
        keep: i64,
        now: OffsetDateTime,
        batch: u32,
    ) -> StoreResult<usize> {
        let now = to_micros(now);
        self.observe(async {
            let client = self.client().await?;
            events::prune(&client, before, keep, now, batch).await
        })
        .await
    }
}

/// How many of the latest changes undo looks through for one it can revert.
const UNDO_SEARCH: u32 = 200;

impl PgStore {
    /// Ends a conditional task write begun with the user's seq taken: with an `updated`
    /// event when it changed the task (a write that set what was already there leaves
    /// `updated_at` as it was), else rolled back, telling 404 from 412 on a miss.
    async fn finish_task_write(
        &self,
        tx: deadpool_postgres::Transaction<'_>,
        owner: Owner,
        id: i64,
        seq: i64,
        now: OffsetDateTime,
        changed: Option<Task>,
    ) -> StoreResult<Written<Task>> {
        match changed {
            Some(task) if task.updated_at == now => {
                let event = events::append(
                    &tx,
                    owner.id(),
                    seq,
                    EventType::Updated,
                    id,
                    task.version,
                    Some(&task),
                    None,
                    now,
                )
                .await?;
                tx.commit().await?;
                self.published(owner.id(), event);
                Ok(Written::Done(task))
            }
            Some(task) => {
                tx.rollback().await?;
                Ok(Written::Done(task))
            }
            None => {
                let current = tasks::get(&tx, owner, id).await?;
                tx.rollback().await?;
                Ok(Written::from_miss(current))
            }
        }
    }
}
