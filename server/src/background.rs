//! The server's background work, as named steps run at an interval by one helper: each
//! on its own task, a failed run logged with its name and tried again at the next tick,
//! and every one ended by the same shutdown signal.

use std::future::Future;
use std::time::Duration;

use tokio::sync::watch;

/// One piece of background work, run again at every tick (it may keep state between
/// runs, as the revocation sync keeps where it last looked).
pub trait Step: Send + 'static {
    type Error: std::error::Error + 'static;

    fn run(&mut self) -> impl Future<Output = Result<(), Self::Error>> + Send;
}

/// Ends the background steps when fired or dropped.
pub struct ShutdownTrigger(watch::Sender<bool>);

/// What each background step watches for the end.
#[derive(Clone)]
pub struct Shutdown(watch::Receiver<bool>);

pub fn shutdown() -> (ShutdownTrigger, Shutdown) {
    let (trigger, watched) = watch::channel(false);
    (ShutdownTrigger(trigger), Shutdown(watched))
}

impl ShutdownTrigger {
    pub fn fire(self) {
        let _ = self.0.send(true);
    }
}

impl Shutdown {
    /// Resolves once the trigger fires or is dropped.
    async fn wait(&mut self) {
        while !*self.0.borrow_and_update() {
            if self.0.changed().await.is_err() {
                return;
            }
        }
    }
}

/// Runs `step` every `interval` until `shutdown`; the first run is one interval after
/// the start (what a step must do at once is done before the server takes requests).
pub fn every(name: &'static str, interval: Duration, mut shutdown: Shutdown, mut step: impl Step) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                () = shutdown.wait() => return,
            }
            if let Err(e) = step.run().await {
                tracing::warn!(step = name, error = %crate::error_chain(&e), "background step failed; will retry");
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    struct Counting(Arc<AtomicUsize>);

    impl Step for Counting {
        type Error = std::io::Error;

        async fn run(&mut self) -> Result<(), std::io::Error> {
            let n = self.0.fetch_add(1, Ordering::SeqCst);
            // Every other run fails: the step goes on regardless.
            if n.is_multiple_of(2) {
                Err(std::io::Error::other("injected"))
            } else {
                Ok(())
            }
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_step_runs_each_interval_through_failures_until_shutdown() {
        let runs = Arc::new(AtomicUsize::new(0));
        let (trigger, watched) = shutdown();
        every(
            "counting",
            Duration::from_secs(10),
            watched,
            Counting(runs.clone()),
        );
        tokio::time::sleep(Duration::from_secs(35)).await;
        assert_eq!(
            runs.load(Ordering::SeqCst),
            3,
            "at 10, 20 and 30 s, failures included"
        );
        trigger.fire();
        tokio::time::sleep(Duration::from_secs(60)).await;
        assert_eq!(runs.load(Ordering::SeqCst), 3, "nothing after the shutdown");
    }
}
