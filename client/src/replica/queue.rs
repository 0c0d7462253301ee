//! Writes made while the server could not be reached, in the order they were made. Each
//! keeps the `Idempotency-Key` it is sent with every time (so the server applies it once,
//! whatever failed when) and the version it was based on (so it is refused, never
//! applied over a change made meanwhile).

use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use todo_api::{Task, TaskInput, TaskPatch};

use super::{Replica, ReplicaError};

/// What a queued write does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Write {
    Create { input: TaskInput },
    Patch { id: i64, patch: TaskPatch },
    Complete { id: i64, completed: bool },
    Delete { id: i64 },
}

impl Write {
    /// The task it changes (`None`: one it makes).
    pub fn task_id(&self) -> Option<i64> {
        match self {
            Write::Create { .. } => None,
            Write::Patch { id, .. } | Write::Complete { id, .. } | Write::Delete { id } => Some(*id),
        }
    }

    /// In a few words, for lists of queued writes and conflicts.
    pub fn describe(&self) -> String {
        let shown = |t: &str| todo_api::text::printable(t, false).into_owned();
        match self {
            Write::Create { input } => format!("add \"{}\"", shown(&input.title)),
            Write::Patch { id, patch } => match &patch.title {
                todo_api::Patch::Value(title) => format!("edit #{id} (title \"{}\")", shown(title)),
                _ => format!("edit #{id}"),
            },
            Write::Complete { id, completed: true } => format!("done #{id}"),
            Write::Complete { id, completed: false } => format!("undone #{id}"),
            Write::Delete { id } => format!("rm #{id}"),
        }
    }
}

/// Why the server did not apply a queued write: kept until the person decides.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conflict {
    pub reason: String,
    /// The task as the server has it now (`None`: it is gone, or the write was refused
    /// for another reason).
    pub theirs: Option<Task>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedWrite {
    /// Its place in the queue (also how `todo conflicts resolve` names it).
    pub n: i64,
    pub idempotency_key: String,
    /// The version of the task the write was based on (`If-Match`).
    pub base_version: Option<i64>,
    pub write: Write,
    pub queued_at: OffsetDateTime,
    pub conflict: Option<Conflict>,
}

type Row = (i64, String, Option<i64>, String, i64, Option<String>);

impl Replica {
    /// Queues `write` (based on `base_version`) with a fresh idempotency key.
    pub fn enqueue(
        &self,
        write: &Write,
        base_version: Option<i64>,
        now: OffsetDateTime,
    ) -> Result<QueuedWrite, ReplicaError> {
        let key = uuid::Uuid::new_v4().to_string();
        // A create carries a source of its own: the server keeps sources unique per
        // account, so it makes the task once even if it stopped after making it and
        // before storing the answer for the key.
        let mut write = write.clone();
        if let Write::Create { input } = &mut write
            && input.source_id.is_none()
        {
            input.source_id = Some(format!("offline:{key}"));
        }
        let json = serde_json::to_string(&write).map_err(|e| self.corrupt(e))?;
        let n = self.run(|c| {
            c.prepare_cached(
                "INSERT INTO queue (idempotency_key, task_id, base_version, write, queued_at)
                 VALUES (?1, ?2, ?3, ?4, ?5) RETURNING n",
            )?
            .query_row(
                params![key, write.task_id(), base_version, json, now.unix_timestamp()],
                |r| r.get(0),
            )
        })?;
        Ok(QueuedWrite {
            n,
            idempotency_key: key,
            base_version,
            write,
            queued_at: now,
            conflict: None,
        })
    }

    /// Every queued write, conflicts included, oldest first.
    pub fn queue(&self) -> Result<Vec<QueuedWrite>, ReplicaError> {
        let rows: Vec<Row> =
            self.run(|c| {
                c.prepare_cached(
                "SELECT n, idempotency_key, base_version, write, queued_at, conflict FROM queue ORDER BY n",
            )?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)))?
            .collect()
            })?;
        rows.into_iter().map(|row| self.queued(row)).collect()
    }

    fn queued(&self, (n, key, base, write, at, conflict): Row) -> Result<QueuedWrite, ReplicaError> {
        Ok(QueuedWrite {
            n,
            idempotency_key: key,
            base_version: base,
            write: serde_json::from_str(&write).map_err(|e| self.corrupt(e))?,
            queued_at: OffsetDateTime::from_unix_timestamp(at).map_err(|e| self.corrupt(e))?,
            conflict: conflict
                .map(|c| serde_json::from_str(&c).map_err(|e| self.corrupt(e)))
                .transpose()?,
        })
    }

    /// The oldest queued write that is not a conflict: what to send next.
    pub fn next_queued(&self) -> Result<Option<QueuedWrite>, ReplicaError> {
        let row: Option<Row> = self.run(|c| {
            c.prepare_cached(
                "SELECT n, idempotency_key, base_version, write, queued_at, conflict FROM queue
                  WHERE conflict IS NULL ORDER BY n LIMIT 1",
            )?
            .query_row([], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?))
            })
            .optional()
        })?;
        row.map(|row| self.queued(row)).transpose()
    }

    /// Our own write moved task `id` from version `from` to `to`: the writes queued after
    /// it on the same base now build on it (they were made after it, on this device).
    pub fn follow(&self, id: i64, from: i64, to: i64) -> Result<(), ReplicaError> {
        self.run(|c| {
            c.prepare_cached("UPDATE queue SET base_version = ?3 WHERE task_id = ?1 AND base_version = ?2 AND conflict IS NULL")?
                .execute(params![id, from, to])
                .map(drop)
        })
    }

    /// The server applied it (or it no longer applies): out of the queue.
    pub fn dequeue(&self, n: i64) -> Result<(), ReplicaError> {
        self.run(|c| {
            c.prepare_cached("DELETE FROM queue WHERE n = ?1")?
                .execute([n])
                .map(drop)
        })
    }

    /// The server refused it: kept, with why and the task as the server has it.
    pub fn mark_conflict(&self, n: i64, conflict: &Conflict) -> Result<(), ReplicaError> {
        let json = serde_json::to_string(conflict).map_err(|e| self.corrupt(e))?;
        self.run(|c| {
            c.prepare_cached("UPDATE queue SET conflict = ?2 WHERE n = ?1")?
                .execute(params![n, json])
                .map(drop)
        })
    }

    /// Changes what queued write `n` does (a merge keeps part of a refused edit).
    pub fn replace_write(&self, n: i64, write: &Write) -> Result<(), ReplicaError> {
        let json = serde_json::to_string(write).map_err(|e| self.corrupt(e))?;
        self.run(|c| {
            c.prepare_cached("UPDATE queue SET write = ?2, task_id = ?3 WHERE n = ?1")?
                .execute(params![n, json, write.task_id()])
                .map(drop)
        })
    }

    /// Keeps the write over theirs: based now on `version` (theirs), with a new key (it
    /// is a new request: the old key's answer was the refusal), queued again.
    pub fn rebase(&self, n: i64, version: Option<i64>) -> Result<(), ReplicaError> {
        let key = uuid::Uuid::new_v4().to_string();
        self.run(|c| {
            c.prepare_cached(
                "UPDATE queue SET conflict = NULL, base_version = ?2, idempotency_key = ?3 WHERE n = ?1",
            )?
            .execute(params![n, version, key])
            .map(drop)
        })
    }
}
