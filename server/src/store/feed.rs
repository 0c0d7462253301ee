//! Which users have new events: a hint that wakes their open streams. Fed by this
//! process's own commits at once (with the event itself, so streams that are up to date
//! need not read it back), and by other servers' commits through the backend's watcher
//! (LISTEN on PostgreSQL, a poll of the events table on SQLite: the seq only). Losing a
//! hint loses nothing: a stream that is behind reads from its last seq.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::watch;
use uuid::Uuid;

use super::EventRecord;

/// The latest seq known for a user, and the event itself when this process wrote it.
#[derive(Debug, Clone, Default)]
pub struct Hint {
    pub latest: i64,
    pub event: Option<Arc<SharedEvent>>,
}

/// An event every stream of its user sends: encoded once, by the first that needs it.
#[derive(Debug)]
pub struct SharedEvent {
    pub record: EventRecord,
    pub encoded: std::sync::OnceLock<Arc<str>>,
}

#[derive(Default)]
pub struct ChangeFeed {
    users: Mutex<HashMap<Uuid, watch::Sender<Hint>>>,
}

impl ChangeFeed {
    /// Wakes when `user` may have an event after the value seen.
    pub fn subscribe(&self, user: Uuid) -> watch::Receiver<Hint> {
        let mut users = self.users.lock().unwrap_or_else(|p| p.into_inner());
        users
            .entry(user)
            .or_insert_with(|| watch::channel(Hint::default()).0)
            .subscribe()
    }

    /// `user` has events up to `seq` (written elsewhere).
    pub fn publish(&self, user: Uuid, seq: i64) {
        self.send(
            user,
            Hint {
                latest: seq,
                event: None,
            },
        );
    }

    /// This process committed `event` for `user`.
    pub fn publish_event(&self, user: Uuid, event: EventRecord) {
        let latest = event.seq;
        let shared = SharedEvent {
            record: event,
            encoded: std::sync::OnceLock::new(),
        };
        self.send(
            user,
            Hint {
                latest,
                event: Some(Arc::new(shared)),
            },
        );
    }

    fn send(&self, user: Uuid, hint: Hint) {
        let mut users = self.users.lock().unwrap_or_else(|p| p.into_inner());
        let Some(sender) = users.get(&user) else { return };
        if sender.receiver_count() == 0 {
            users.remove(&user);
            return;
        }
        sender.send_if_modified(|current| {
            let newer = hint.latest > current.latest;
            // The same seq again, now with its event: keep the event.
            let completes = hint.latest == current.latest && current.event.is_none() && hint.event.is_some();
            if newer || completes {
                *current = hint;
            }
            newer
        });
    }

    /// Wakes every stream (after the watcher lost its connection and may have missed
    /// hints), and forgets users nobody watches.
    pub fn wake_all(&self) {
        let mut users = self.users.lock().unwrap_or_else(|p| p.into_inner());
        users.retain(|_, sender| sender.receiver_count() > 0);
        for sender in users.values() {
            sender.send_modify(|_| {});
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_subscriber_wakes_for_its_own_user_only() {
        let feed = ChangeFeed::default();
        let (ann, bob) = (Uuid::new_v4(), Uuid::new_v4());
        let mut rx = feed.subscribe(ann);
        feed.publish(bob, 3);
        assert!(!rx.has_changed().unwrap_or(true));
        feed.publish(ann, 2);
        assert!(rx.has_changed().unwrap_or(false));
        assert_eq!(rx.borrow_and_update().latest, 2);
        feed.publish(ann, 1);
        assert!(!rx.has_changed().unwrap_or(true), "an older hint wakes nobody");
        feed.wake_all();
        assert!(rx.has_changed().unwrap_or(false));
    }
}
