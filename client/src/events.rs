//! The change stream from the client side: a parser of server-sent events and a
//! [`ChangeStream`] that stays connected (reconnecting with backoff and the last id,
//! with a fresh token after the old one expires), so a client sees every change made
//! elsewhere exactly once and in order.

use std::time::Duration;

use todo_api::{EventType, ProblemCode, RESET_EVENT, StreamReset, TaskEvent};
use tokio::sync::mpsc;

use crate::{ClientError, Session};

/// What a [`ChangeStream`] reports.
#[derive(Debug)]
pub enum StreamNews {
    /// Connected; the replay of anything missed follows.
    Connected,
    /// The replay is done: the client is up to date and what follows is live.
    Live,
    /// One change, in order.
    Change(TaskEvent),
    /// Changes were missed that the server no longer keeps: reload everything.
    Reset { seq: i64 },
    /// The connection dropped; reconnecting (the reason is for a status line).
    Reconnecting(String),
    /// The stream cannot go on (signed out, say); nothing more will come.
    Stopped(ClientError),
}

/// One message of an event stream.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SseMessage {
    pub id: Option<String>,
    pub event: Option<String>,
    pub data: String,
    /// A comment line (`: text`), sent alone.
    pub comment: Option<String>,
}

/// Turns bytes as they arrive into messages (the text/event-stream format).
#[derive(Default)]
pub struct SseParser {
    buffer: Vec<u8>,
    current: SseMessage,
}

impl SseParser {
    pub fn push(&mut self, bytes: &[u8]) -> Vec<SseMessage> {
        self.buffer.extend_from_slice(bytes);
        let mut out = Vec::new();
        while let Some(end) = self.buffer.iter().position(|b| *b == b'\n') {
            let raw: Vec<u8> = self.buffer.drain(..=end).collect();
            let line = String::from_utf8_lossy(&raw[..end]);
            let line = line.strip_suffix('\r').unwrap_or(&line);
            if line.is_empty() {
                let done = std::mem::take(&mut self.current);
                if !done.data.is_empty() || done.event.is_some() {
                    out.push(done);
                }
            } else if let Some(text) = line.strip_prefix(':') {
                out.push(SseMessage {
                    comment: Some(text.trim().to_string()),
                    ..SseMessage::default()
                });
            } else {
                let (field, value) = line.split_once(':').unwrap_or((line, ""));
                let value = value.strip_prefix(' ').unwrap_or(value);
                match field {
                    "id" => self.current.id = Some(value.to_string()),
                    "event" => self.current.event = Some(value.to_string()),
                    "data" => {
                        if !self.current.data.is_empty() {
                            self.current.data.push('\n');
                        }
                        self.current.data.push_str(value);
                    }
                    _ => {}
                }
            }
        }
        out
    }
}

/// A live feed of the signed-in user's changes. Dropping it closes the connection.
pub struct ChangeStream {
    news: mpsc::Receiver<StreamNews>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for ChangeStream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl ChangeStream {
    /// Starts after `last_seen` (`None`: from now on).
    pub fn start(session: Session, last_seen: Option<i64>) -> ChangeStream {
        let (sender, news) = mpsc::channel(256);
        let task = tokio::spawn(run(session, last_seen, sender));
        ChangeStream { news, task }
    }

    /// The next piece of news; `None` once the stream has stopped.
    pub async fn next(&mut self) -> Option<StreamNews> {
        self.news.recv().await
    }
}

const BACKOFF_MIN: Duration = Duration::from_millis(250);
const BACKOFF_MAX: Duration = Duration::from_secs(10);

async fn run(session: Session, mut last: Option<i64>, news: mpsc::Sender<StreamNews>) {
    let mut backoff = BACKOFF_MIN;
    let mut refreshed = false;
    loop {
        let outcome = session.open_events(last, refreshed).await;
        let response = match outcome {
            Ok(response) => response,
            Err(e) if e.code() == Some(ProblemCode::InvalidToken) && !refreshed => {
                // An expired token: once more with a refreshed one.
                refreshed = true;
                continue;
            }
            Err(e) if e.needs_sign_in() => {
                let _ = news.send(StreamNews::Stopped(e)).await;
                return;
            }
            Err(e) => {
                if news.send(StreamNews::Reconnecting(e.to_string())).await.is_err() {
                    return;
                }
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(BACKOFF_MAX);
                continue;
            }
        };
        refreshed = false;
        backoff = BACKOFF_MIN;
        if news.send(StreamNews::Connected).await.is_err() {
            return;
        }
        let reason = match read(response, &mut last, &news).await {
            Ok(Some(reason)) => reason,
            Ok(None) => return,
            Err(e) => e.to_string(),
        };
        if news.send(StreamNews::Reconnecting(reason)).await.is_err() {
            return;
        }
    }
}

/// Reads one connection to its end. `Ok(None)`: the receiver is gone; `Ok(Some)`: the
/// server ended the stream (token expiry, sign-out: the next connect tells which).
async fn read(
    mut response: reqwest::Response,
    last: &mut Option<i64>,
    news: &mpsc::Sender<StreamNews>,
) -> Result<Option<String>, reqwest::Error> {
    let mut parser = SseParser::default();
    while let Some(chunk) = response.chunk().await? {
        for message in parser.push(&chunk) {
            let item = match (&message.comment, message.event.as_deref()) {
                (Some(comment), _) if comment == "live" => StreamNews::Live,
                (Some(_), _) => continue,
                (None, Some(RESET_EVENT)) => match serde_json::from_str::<StreamReset>(&message.data) {
                    Ok(reset) => {
                        *last = Some(reset.seq);
                        StreamNews::Reset { seq: reset.seq }
                    }
                    Err(_) => continue,
                },
                (None, _) => match serde_json::from_str::<TaskEvent>(&message.data) {
                    Ok(event) => {
                        *last = Some(event.seq);
                        StreamNews::Change(event)
                    }
                    // A kind this build does not know: skip it, keep the place.
                    Err(_) => {
                        if let Some(seq) = message.id.as_deref().and_then(|id| id.parse().ok()) {
                            *last = Some(seq);
                        }
                        continue;
                    }
                },
            };
            if news.send(item).await.is_err() {
                return Ok(None);
            }
        }
    }
    Ok(Some("the server ended the stream".into()))
}

/// A one-line description of a change, for `todo watch` and status lines.
pub fn describe(event: &TaskEvent) -> String {
    if let Some(news) = &event.project {
        return describe_news(event.kind, news);
    }
    let id = event.task_id().unwrap_or_default();
    let title = event
        .task
        .get("title")
        .and_then(|t| t.as_str())
        .map(|t| format!(" {}", todo_api::text::printable(t, false)))
        .unwrap_or_default();
    let what = match (event.kind, event.late) {
        (EventType::Created, _) => "created",
        (EventType::Deleted, _) => "deleted",
        (EventType::Reminder, Some(true)) => "reminder (late: the server was down)",
        (EventType::Reminder, _) => "reminder",
        (EventType::Woke, _) => "is back from waiting",
        _ => "updated",
    };
    format!("#{id} {what}{title}")
}

/// A project's event in words: `project Household: sam@... joined as editor` reads
/// without ids where it can.
fn describe_news(kind: EventType, news: &todo_api::ProjectNews) -> String {
    let name = todo_api::text::printable(&news.name, false);
    let role = news.role.map(|r| r.as_str()).unwrap_or("member");
    let what = match kind {
        EventType::MemberAdded => format!("a new member joined as {role}"),
        EventType::MemberRemoved => "a member left".to_string(),
        EventType::ProjectRemoved => "you are no longer in it".to_string(),
        EventType::InvitationReceived => format!("you are invited as {role} (todo invitations)"),
        _ => match (news.user_id, news.role) {
            (Some(_), Some(role)) => format!("a member is now {role}"),
            _ => "renamed".to_string(),
        },
    };
    format!("project {name}: {what}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_split_across_chunks_and_comments_are_parsed() {
        let mut parser = SseParser::default();
        assert!(parser.push(b"id: 3\nevent: task.cre").is_empty());
        let got = parser.push(b"ated\ndata: {\"a\":1}\n\n: heartbeat\n\nid: 4\r\ndata: x\r\n\r\n");
        assert_eq!(got.len(), 3);
        assert_eq!(got[0].id.as_deref(), Some("3"));
        assert_eq!(got[0].event.as_deref(), Some("task.created"));
        assert_eq!(got[0].data, "{\"a\":1}");
        assert_eq!(got[1].comment.as_deref(), Some("heartbeat"));
        assert_eq!(got[2].id.as_deref(), Some("4"));
        assert_eq!(got[2].data, "x");
    }
}
