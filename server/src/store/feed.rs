//! Which users have new events: a hint that wakes their open streams, which then read
//! the events from the database. Fed by this process's own commits at once, and by other
//! servers' commits through the backend's watcher (LISTEN on PostgreSQL, a poll of the
//! events table on SQLite). Losing a hint loses nothing: a stream always reads from its
//! last seq.

use std::collections::HashMap;
use std::sync::Mutex;

use tokio::sync::watch;
use uuid::Uuid;

#[derive(Default)]
pub struct ChangeFeed {
    users: Mutex<HashMap<Uuid, watch::Sender<i64>>>,
}

impl ChangeFeed {
    /// Wakes when `user` may have an event after the value seen.
    pub fn subscribe(&self, user: Uuid) -> watch::Receiver<i64> {
        let mut users = self.users.lock().unwrap_or_else(|p| p.into_inner());
        users
            .entry(user)
            .or_insert_with(|| watch::channel(0).0)
            .subscribe()
    }

    /// `user` has events up to `seq`.
    pub fn publish(&self, user: Uuid, seq: i64) {
        let mut users = self.users.lock().unwrap_or_else(|p| p.into_inner());
        let Some(sender) = users.get(&user) else { return };
        if sender.receiver_count() == 0 {
            users.remove(&user);
            return;
        }
        sender.send_if_modified(|latest| {
            let newer = seq > *latest;
            *latest = (*latest).max(seq);
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
        assert_eq!(*rx.borrow_and_update(), 2);
        feed.publish(ann, 1);
        assert!(!rx.has_changed().unwrap_or(true), "an older hint wakes nobody");
        feed.wake_all();
        assert!(rx.has_changed().unwrap_or(false));
    }
}
