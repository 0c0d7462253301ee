//! Every server's ear for the other servers' changes: one connection that LISTENs on
//! the events channel and wakes the streams of the users named. When that connection is
//! lost (PostgreSQL restarted, a network blip), it reconnects and wakes every stream, so
//! each reads whatever it missed from the table: a hint may be lost, an event never.

use std::sync::{Arc, Weak};
use std::time::Duration;

use futures_util::StreamExt;
use tokio_postgres::AsyncMessage;
use tokio_postgres_rustls::MakeRustlsConnect;

use super::events::CHANNEL;
use crate::store::ChangeFeed;

/// How often the listening connection is checked (a dead peer sends nothing).
const PROBE: Duration = Duration::from_secs(5);

pub(super) fn spawn(config: tokio_postgres::Config, tls: MakeRustlsConnect, feed: &Arc<ChangeFeed>) {
    let feed = Arc::downgrade(feed);
    tokio::spawn(async move {
        let mut backoff = Duration::from_millis(100);
        while feed.strong_count() > 0 {
            match listen(&config, tls.clone(), &feed).await {
                Ok(()) => backoff = Duration::from_millis(100),
                Err(e) => {
                    tracing::debug!(error = %e, "event listener lost its connection; reconnecting");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
            }
        }
    });
}

/// Listens until the connection fails or the store is gone.
async fn listen(
    config: &tokio_postgres::Config,
    tls: MakeRustlsConnect,
    feed: &Weak<ChangeFeed>,
) -> Result<(), tokio_postgres::Error> {
    let (client, mut connection) = config.connect(tls).await?;
    let (hints, mut received) = tokio::sync::mpsc::unbounded_channel();
    let driver = tokio::spawn(async move {
        let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
        while let Some(message) = messages.next().await {
            match message {
                Ok(AsyncMessage::Notification(n)) => {
                    if hints.send(n.payload().to_string()).is_err() {
                        return;
                    }
                }
                Ok(_) => {}
                Err(_) => return,
            }
        }
    });
    client.batch_execute(&format!("LISTEN {CHANNEL}")).await?;
    // Anything committed while this connection was down is read now.
    if let Some(feed) = feed.upgrade() {
        feed.wake_all();
    }
    let mut probe = tokio::time::interval(PROBE);
    loop {
        tokio::select! {
            hint = received.recv() => {
                let Some(hint) = hint else { break };
                let Some(feed) = feed.upgrade() else { break };
                if let Some((user, seq)) = hint.split_once(' ')
                    && let (Ok(user), Ok(seq)) = (user.parse(), seq.parse())
                {
                    feed.publish(user, seq);
                }
            }
            _ = probe.tick() => {
                if feed.strong_count() == 0 {
                    break;
                }
                client.simple_query("SELECT 1").await?;
            }
        }
    }
    driver.abort();
    Ok(())
}
