//! A small pool of named threads, each owning its own state (a SQLite connection, or
//! argon2's working memory). Blocking work runs here instead of on tokio's
//! blocking pool: a fixed, small set of threads keeps memory bounded (argon2's 19 MiB
//! buffers would otherwise be kept by a malloc arena per blocking thread) and lets the
//! number of threads decide how much of the machine the work may take.

use std::panic::{AssertUnwindSafe, catch_unwind};

use crossbeam_channel::Sender;
use tokio::sync::oneshot;

type Job<S> = Box<dyn FnOnce(&mut S) + Send>;

/// Why a job gave no answer.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error("the worker threads have stopped")]
    Stopped,
    /// A bug: the job panicked. The thread and its state survive; only this caller
    /// gets an error.
    #[error("a worker job panicked: {0}")]
    Panicked(String),
}

/// Runs `f`, turning a panic into [`JobError::Panicked`] with its message.
pub fn catch_panic<T>(f: impl FnOnce() -> T) -> Result<T, JobError> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|panic| {
        let message = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic without a message".into());
        JobError::Panicked(message)
    })
}

/// A channel of jobs: one mechanism for every pool (the writer's included), many
/// consumers on one queue, so each job wakes exactly one idle thread.
pub fn job_queue<J>() -> (Sender<J>, crossbeam_channel::Receiver<J>) {
    crossbeam_channel::unbounded()
}

pub struct WorkerPool<S> {
    jobs: Sender<Job<S>>,
}

/// How the pool's threads compete with the rest of the server for the cores.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Priority {
    Normal,
    /// The lowest the OS gives without privileges (nice 19 on Linux): the threads take
    /// what request handling leaves idle, and still progress under full load.
    Background,
}

impl<S: Send + 'static> WorkerPool<S> {
    /// One thread per state; the threads end when the pool is dropped.
    pub fn start(name: &str, states: Vec<S>, priority: Priority) -> std::io::Result<WorkerPool<S>> {
        let (jobs, queue) = job_queue::<Job<S>>();
        for (i, mut state) in states.into_iter().enumerate() {
            let queue = queue.clone();
            std::thread::Builder::new()
                .name(format!("{name}-{i}"))
                .spawn(move || {
                    if priority == Priority::Background {
                        lower_priority();
                    }
                    while let Ok(job) = queue.recv() {
                        job(&mut state);
                    }
                })?;
        }
        Ok(WorkerPool { jobs })
    }

    /// Runs `f` on one of the threads. A panic in `f` is caught there: this caller gets
    /// [`JobError::Panicked`] and the thread goes on serving the next job.
    pub async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut S) -> T + Send + 'static,
    ) -> Result<T, JobError> {
        let (reply, answer) = oneshot::channel();
        let job: Job<S> = Box::new(move |state| {
            let _ = reply.send(catch_panic(|| f(state)));
        });
        self.jobs.send(job).map_err(|_| JobError::Stopped)?;
        answer.await.map_err(|_| JobError::Stopped)?
    }
}

/// Best effort: where the OS refuses, the thread runs at normal priority.
fn lower_priority() {
    if let Err(e) = thread_priority::set_current_thread_priority(thread_priority::ThreadPriority::Min) {
        tracing::warn!(error = %e, "cannot lower a background thread's priority");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn jobs_run_on_the_pools_threads_with_their_state() {
        let pool = WorkerPool::start("test", vec![10, 20], Priority::Normal).expect("pool");
        let mut seen = Vec::new();
        for _ in 0..20 {
            let (value, name) = pool
                .run(|n: &mut i32| (*n, std::thread::current().name().map(str::to_string)))
                .await
                .expect("ran");
            assert!(name.is_some_and(|n| n.starts_with("test-")));
            seen.push(value);
        }
        assert!(seen.iter().all(|v| *v == 10 || *v == 20));
    }

    /// A job that panics fails alone: every thread still serves the next jobs.
    #[tokio::test]
    async fn a_panicking_job_fails_alone_and_the_threads_keep_serving() {
        let pool = WorkerPool::start("panics", vec![0u32, 0], Priority::Normal).expect("pool");
        for _ in 0..4 {
            let outcome = pool
                .run(|_: &mut u32| -> u32 { panic!("injected failure") })
                .await;
            assert!(
                matches!(&outcome, Err(JobError::Panicked(m)) if m == "injected failure"),
                "{outcome:?}"
            );
        }
        for _ in 0..8 {
            assert_eq!(
                pool.run(|n: &mut u32| {
                    *n += 1;
                    7
                })
                .await
                .ok(),
                Some(7)
            );
        }
    }

    /// The nice value of the calling thread (field 19 of its `stat`).
    #[cfg(target_os = "linux")]
    fn own_nice() -> i32 {
        let stat = std::fs::read_to_string("/proc/thread-self/stat").expect("stat");
        let after_name = &stat[stat.rfind(')').expect("comm") + 2..];
        after_name
            .split(' ')
            .nth(16)
            .expect("nice")
            .parse()
            .expect("number")
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn background_threads_run_at_a_lower_priority_than_normal_ones() {
        let normal = WorkerPool::start("normal", vec![()], Priority::Normal).expect("pool");
        let background = WorkerPool::start("background", vec![()], Priority::Background).expect("pool");
        let normal_nice = normal.run(|_| own_nice()).await.expect("ran");
        let background_nice = background.run(|_| own_nice()).await.expect("ran");
        assert_eq!(background_nice, 19);
        // Strictly lower unless the test itself already runs at nice 19.
        assert!(background_nice > normal_nice || normal_nice == 19);
    }
}
