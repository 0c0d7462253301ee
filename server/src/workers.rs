//! A small pool of named threads, each owning its own state (a SQLite connection, or
//! nothing for password hashing). Blocking work runs here instead of on tokio's
//! blocking pool: a fixed, small set of threads keeps memory bounded (argon2's 19 MiB
//! buffers would otherwise be kept by a malloc arena per blocking thread) and lets the
//! number of threads decide how much of the machine the work may take.

use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;

type Job<S> = Box<dyn FnOnce(&mut S) + Send>;

pub struct WorkerPool<S> {
    jobs: Sender<Job<S>>,
}

impl<S: Send + 'static> WorkerPool<S> {
    /// One thread per state; the threads end when the pool is dropped.
    pub fn start(name: &str, states: Vec<S>) -> std::io::Result<WorkerPool<S>> {
        let (jobs, queue) = mpsc::channel::<Job<S>>();
        let queue = Arc::new(Mutex::new(queue));
        for (i, mut state) in states.into_iter().enumerate() {
            let queue = queue.clone();
            std::thread::Builder::new()
                .name(format!("{name}-{i}"))
                .spawn(move || {
                    loop {
                        let job = queue.lock().unwrap_or_else(|p| p.into_inner()).recv();
                        match job {
                            Ok(job) => job(&mut state),
                            Err(_) => break,
                        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn jobs_run_on_the_pools_threads_with_their_state() {
        let pool = WorkerPool::start("test", vec![10, 20]).expect("pool");
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
}
