//! Tells the other servers about committed events: `NOTIFY todo_events, '<user> <seq>'`,
//! sent after the commit, in batches, off the request path. Not inside the write: a
//! transaction that notifies takes a lock that serialises every such commit (and so
//! every fsync), which cut durable creates to a quarter. A notice lost to a crash
//! between commit and send only delays other servers' streams until their next read.

use deadpool_postgres::Pool;
use tokio::sync::mpsc;
use uuid::Uuid;

use super::events::CHANNEL;

/// At most this many notices per statement.
const BATCH: usize = 256;

pub(super) type Notices = mpsc::UnboundedSender<(Uuid, i64)>;

pub(super) fn spawn(pool: Pool) -> Notices {
    let (notices, mut pending) = mpsc::unbounded_channel::<(Uuid, i64)>();
    tokio::spawn(async move {
        let mut batch = Vec::with_capacity(BATCH);
        while pending.recv_many(&mut batch, BATCH).await > 0 {
            let payloads: Vec<String> = batch
                .drain(..)
                .map(|(user, seq)| format!("{user} {seq}"))
                .collect();
            if let Err(e) = send(&pool, &payloads).await {
                tracing::debug!(error = %e, "could not notify other servers of new events");
            }
        }
    });
    notices
}

async fn send(pool: &Pool, payloads: &[String]) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let client = pool.get().await?;
    let stmt = client
        .prepare_cached(&format!(
            "SELECT pg_notify('{CHANNEL}', p) FROM unnest($1::text[]) AS p"
        ))
        .await?;
    client.execute(&stmt, &[&payloads]).await?;
    Ok(())
}
