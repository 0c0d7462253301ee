//! A small pool of named threads, each owning its own state (a SQLite connection, or
//! argon2's working memory). Blocking work runs here instead of on tokio's
//! blocking pool: a fixed, small set of threads keeps memory bounded (argon2's 19 MiB
//! buffers would otherwise be kept by a malloc arena per blocking thread) and lets the
//! number of threads decide how much of the machine the work may take.

use crossbeam_channel::Sender;
use tokio::sync::oneshot;

type Job<S> = Box<dyn FnOnce(&mut S) + Send>;

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
        // Many consumers on one queue: each job wakes exactly one idle thread.
        let (jobs, queue) = crossbeam_channel::unbounded::<Job<S>>();
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

    /// Runs `f` on one of the threads; `None` if the pool has stopped.
    pub async fn run<T: Send + 'static>(&self, f: impl FnOnce(&mut S) -> T + Send + 'static) -> Option<T> {
        let (reply, answer) = oneshot::channel();
        let job: Job<S> = Box::new(move |state| {
            let _ = reply.send(f(state));
        });
        self.jobs.send(job).ok()?;
        answer.await.ok()
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
