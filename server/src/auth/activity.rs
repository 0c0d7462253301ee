//! The activity log: security events per account (sign-ins, sign-outs, password and
//! email changes, ended sessions, admin actions), kept at least 90 days.

use todo_api::ActivityKind;
use uuid::Uuid;

use super::accounts::ClientAddr;
use std::sync::Arc;

use crate::store::{AccountStorage, NewActivity};

/// Where a request came from: the client address (also the key of per-address limits)
/// and its `User-Agent`, cut to 200 characters with controls escaped.
#[derive(Debug, Clone)]
pub struct RequestOrigin {
    pub(super) client: ClientAddr,
    pub(super) user_agent: Option<String>,
}

impl RequestOrigin {
    pub fn new(client: ClientAddr, user_agent: Option<&str>) -> RequestOrigin {
        let user_agent = user_agent.map(|ua| {
            let shown = todo_api::text::printable(ua.trim(), false);
            shown
                .chars()
                .take(todo_api::limits::USER_AGENT_MAX)
                .collect::<String>()
        });
        RequestOrigin {
            client,
            user_agent: user_agent.filter(|ua| !ua.is_empty()),
        }
    }

    /// No request: an admin command on the server's host.
    pub fn command_line() -> RequestOrigin {
        RequestOrigin {
            client: ClientAddr(None),
            user_agent: None,
        }
    }

    pub(super) fn address(&self) -> Option<String> {
        self.client.0.map(|ip| ip.to_string())
    }
}

/// Writes entries of the log. A failed write is logged and does not fail the action it
/// records: the action has already happened.
#[derive(Clone)]
pub struct ActivityLog {
    db: Arc<dyn AccountStorage>,
    clock: crate::clock::Clock,
}

impl ActivityLog {
    pub fn new(db: Arc<dyn AccountStorage>, clock: crate::clock::Clock) -> ActivityLog {
        ActivityLog { db, clock }
    }

    pub async fn record(
        &self,
        user_id: Uuid,
        kind: ActivityKind,
        origin: &RequestOrigin,
        session_id: Option<Uuid>,
    ) {
        let entry = NewActivity {
            user_id,
            at: self.clock.now(),
            kind,
            address: origin.address(),
            user_agent: origin.user_agent.clone(),
            session_id,
        };
        if let Err(e) = self.db.record_activity(entry).await {
            tracing::warn!(%user_id, kind = kind.as_str(), error = %e, "could not write the activity log");
        }
    }

    /// Deletes entries older than the retention, and expired reset tokens, in batches.
    pub async fn delete_old(&self, batch: u32) -> Result<(), crate::store::StoreError> {
        let kept = time::Duration::days(todo_api::limits::ACTIVITY_KEPT_DAYS);
        loop {
            let now = self.clock.now();
            if self.db.delete_old_account_records(now - kept, now, batch).await? < batch as usize {
                return Ok(());
            }
        }
    }
}
