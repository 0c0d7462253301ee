//! Group commit: one thread owns the write connection and commits small batches. Each
//! write runs in its own savepoint inside the batch's transaction, so one failing write
//! does not undo the others; every caller is answered only after the COMMIT that made
//! its write durable (synchronous = FULL). Under load, many writes share one fsync.

use crossbeam_channel::{Receiver, Sender, TryRecvError};
use rusqlite::Connection;
use tokio::sync::oneshot;

use super::{Health, StoreError, StoreResult, WriteTx};
use crate::workers::{JobError, catch_panic};

/// Writes committed together at most.
const MAX_BATCH: usize = 64;

/// A write waiting for the writer thread.
pub(super) trait WriteJob: Send {
    /// Runs the write inside the open transaction (in a savepoint).
    fn run(&mut self, conn: &Connection);
    /// Answers the caller once the batch's fate is known.
    fn finish(self: Box<Self>, commit: Result<(), &StoreError>);
}

pub(super) struct Job<T, F> {
    work: Option<F>,
    result: Option<StoreResult<T>>,
    reply: oneshot::Sender<StoreResult<T>>,
}

impl<T, F> Job<T, F> {
    pub(super) fn new(work: F, reply: oneshot::Sender<StoreResult<T>>) -> Self {
        Job {
            work: Some(work),
            result: None,
            reply,
        }
    }
}

impl<T, F> WriteJob for Job<T, F>
where
    T: Send,
    F: FnOnce(&WriteTx<'_>) -> rusqlite::Result<T> + Send,
{
    fn run(&mut self, conn: &Connection) {
        let Some(work) = self.work.take() else { return };
        if let Err(e) = conn.execute_batch("SAVEPOINT job") {
            self.result = Some(Err(super::classify(e)));
            return;
        }
        // A panic in the write is caught here: it is undone like a failed write, this
        // caller gets the error, and the writer thread goes on with the batch.
        let outcome = match catch_panic(|| work(&WriteTx::new(conn))) {
            Ok(Ok(value)) => conn
                .execute_batch("RELEASE job")
                .map(|()| value)
                .map_err(super::classify),
            Ok(Err(e)) => Err(super::classify(e)),
            Err(panic) => Err(StoreError::Worker(panic)),
        };
        if outcome.is_err() {
            // Undo only this write; the rest of the batch stands.
            let _ = conn.execute_batch("ROLLBACK TO job; RELEASE job");
        }
        self.result = Some(outcome);
    }

    fn finish(self: Box<Self>, commit: Result<(), &StoreError>) {
        let answer = match (self.result, commit) {
            (Some(Err(e)), _) => Err(e),
            (Some(Ok(value)), Ok(())) => Ok(value),
            (_, Err(e)) => Err(super::for_another_caller(e)),
            (None, Ok(())) => Err(StoreError::Worker(JobError::Stopped)),
        };
        // The caller may have gone away (client disconnected): nothing to tell.
        let _ = self.reply.send(answer);
    }
}

/// The writer thread's loop: take what is waiting (up to [`MAX_BATCH`]), run it in one
/// transaction, commit, answer everyone.
pub(super) fn run(mut conn: Connection, jobs: Receiver<Box<dyn WriteJob>>, health: Health) {
    while let Ok(first) = jobs.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
            }
        }
        let outcome = commit_batch(&mut conn, &mut batch);
        let outcome = health.observe(outcome);
        for job in batch {
            job.finish(outcome.as_ref().map(|_| ()));
        }
    }
}

fn commit_batch(conn: &mut Connection, batch: &mut [Box<dyn WriteJob>]) -> StoreResult<()> {
    conn.execute_batch("BEGIN IMMEDIATE").map_err(super::classify)?;
    for job in batch.iter_mut() {
        job.run(conn);
    }
    if let Err(e) = conn.execute_batch("COMMIT") {
        let _ = conn.execute_batch("ROLLBACK");
        return Err(super::classify(e));
    }
    Ok(())
}

pub(super) type JobSender = Sender<Box<dyn WriteJob>>;

#[cfg(test)]
mod tests {
    use super::*;

    fn job<T: Send + 'static>(
        work: impl FnOnce(&WriteTx<'_>) -> rusqlite::Result<T> + Send + 'static,
    ) -> (Box<dyn WriteJob>, oneshot::Receiver<StoreResult<T>>) {
        let (reply, answer) = oneshot::channel();
        (Box::new(Job::new(work, reply)), answer)
    }

    #[test]
    fn a_failing_write_is_undone_alone_and_the_batch_commits() {
        let mut conn = Connection::open_in_memory().expect("db");
        conn.execute_batch("CREATE TABLE t (x INTEGER NOT NULL)")
            .expect("table");
        let (ok, ok_answer) = job(|c| c.execute("INSERT INTO t VALUES (1)", []));
        let (bad, bad_answer) = job(|c| {
            c.execute("INSERT INTO t VALUES (2)", [])?;
            c.execute("INSERT INTO t VALUES (NULL)", [])
        });
        let (late, late_answer) = job(|c| c.execute("INSERT INTO t VALUES (3)", []));
        let mut batch = vec![ok, bad, late];
        let outcome = commit_batch(&mut conn, &mut batch);
        assert!(outcome.is_ok());
        for job in batch {
            job.finish(outcome.as_ref().map(|_| ()));
        }
        assert!(ok_answer.blocking_recv().expect("answer").is_ok());
        assert!(bad_answer.blocking_recv().expect("answer").is_err());
        assert!(late_answer.blocking_recv().expect("answer").is_ok());
        let rows: Vec<i64> = conn
            .prepare("SELECT x FROM t ORDER BY x")
            .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
            .expect("rows");
        assert_eq!(
            rows,
            vec![1, 3],
            "the failed write left nothing behind, the others stand"
        );
    }

    /// A write that panics half-way is undone and answered with the panic; the writes
    /// around it in the batch commit.
    #[test]
    fn a_panicking_write_is_undone_alone() {
        let mut conn = Connection::open_in_memory().expect("db");
        conn.execute_batch("CREATE TABLE t (x INTEGER NOT NULL)")
            .expect("table");
        let (before, before_answer) = job(|c| c.execute("INSERT INTO t VALUES (1)", []));
        let (bad, bad_answer) = job(|c| -> rusqlite::Result<usize> {
            c.execute("INSERT INTO t VALUES (2)", [])?;
            panic!("injected failure")
        });
        let (after, after_answer) = job(|c| c.execute("INSERT INTO t VALUES (3)", []));
        let mut batch = vec![before, bad, after];
        let outcome = commit_batch(&mut conn, &mut batch);
        for job in batch {
            job.finish(outcome.as_ref().map(|_| ()));
        }
        assert!(before_answer.blocking_recv().expect("answer").is_ok());
        assert!(matches!(
            bad_answer.blocking_recv().expect("answer"),
            Err(StoreError::Worker(JobError::Panicked(_)))
        ));
        assert!(after_answer.blocking_recv().expect("answer").is_ok());
        let count: i64 = conn
            .query_row("SELECT count(*) FROM t WHERE x = 2", [], |r| r.get(0))
            .expect("count");
        assert_eq!(count, 0);
    }
}
