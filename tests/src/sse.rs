//! A blocking reader of the server's event stream, for the tests.

use std::io::{BufRead, BufReader};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::{Account, TestServer};

/// One server-sent event.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub id: String,
    pub event: String,
    pub data: serde_json::Value,
}

enum Line {
    Text(String),
    /// The server ended the body properly (the last, empty chunk).
    End,
    /// The connection failed or closed mid-body: not an end the server chose.
    Broken(String),
}

/// An open `/api/{user_id}/events` stream over a raw socket (so that dropping the
/// reader really closes the connection), read on its own thread.
pub struct EventReader {
    lines: mpsc::Receiver<Line>,
    socket: std::net::TcpStream,
    pub heartbeats: usize,
}

impl Drop for EventReader {
    fn drop(&mut self) {
        let _ = self.socket.shutdown(std::net::Shutdown::Both);
    }
}

impl EventReader {
    /// Opens the stream; `Err(status, body)` when the server refuses it.
    pub fn open(
        server: &TestServer,
        account: &Account,
        last_event_id: Option<i64>,
    ) -> Result<EventReader, (u16, String)> {
        use std::io::{Read, Write};
        let mut socket = std::net::TcpStream::connect(server.address()).expect("connect");
        let last = last_event_id.map_or(String::new(), |id| format!("Last-Event-ID: {id}\r\n"));
        write!(
            socket,
            "GET /api/{}/events HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\nAccept: text/event-stream\r\n{last}\r\n",
            account.id,
            server.address(),
            account.access_token
        )
        .expect("request");
        let mut reader = BufReader::new(socket.try_clone().expect("clone"));
        let mut status_line = String::new();
        reader.read_line(&mut status_line).expect("status line");
        let status: u16 = status_line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
        let mut headers = Vec::new();
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).expect("header");
            let line = line.trim_end().to_ascii_lowercase();
            if line.is_empty() {
                break;
            }
            headers.push(line);
        }
        let header = |name: &str| {
            headers
                .iter()
                .find_map(|h| h.strip_prefix(name).map(|v| v.trim().to_string()))
        };
        if status != 200 {
            let length: usize = header("content-length:")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            let mut body = vec![0; length];
            reader.read_exact(&mut body).expect("body");
            return Err((status, String::from_utf8_lossy(&body).into_owned()));
        }
        let content_type = header("content-type:").unwrap_or_default();
        assert!(content_type.starts_with("text/event-stream"), "{content_type}");
        assert_eq!(header("transfer-encoding:").as_deref(), Some("chunked"));
        let (send, lines) = mpsc::channel();
        std::thread::spawn(move || {
            let last = match read_chunks(reader, &send) {
                Ok(()) => Line::End,
                Err(e) => Line::Broken(e.to_string()),
            };
            let _ = send.send(last);
        });
        Ok(EventReader {
            lines,
            socket,
            heartbeats: 0,
        })
    }

    /// The next event within `limit` (heartbeats are counted, not returned); `None` at
    /// the end of the stream or after `limit`.
    pub fn next(&mut self, limit: Duration) -> Option<Message> {
        let deadline = Instant::now() + limit;
        let (mut id, mut event, mut data) = (String::new(), String::new(), String::new());
        loop {
            let left = deadline.checked_duration_since(Instant::now())?;
            match self.lines.recv_timeout(left).ok()? {
                Line::End => return None,
                Line::Broken(e) => panic!("the event stream broke: {e}"),
                Line::Text(line) if line.is_empty() => {
                    if !data.is_empty() {
                        let data = serde_json::from_str(&data).expect("data is JSON");
                        return Some(Message { id, event, data });
                    }
                }
                Line::Text(line) if line.starts_with(':') => self.heartbeats += 1,
                Line::Text(line) => {
                    if let Some(v) = line.strip_prefix("id: ") {
                        id = v.to_string();
                    } else if let Some(v) = line.strip_prefix("event: ") {
                        event = v.to_string();
                    } else if let Some(v) = line.strip_prefix("data: ") {
                        data.push_str(v);
                    }
                }
            }
        }
    }

    /// `n` events, panicking if they do not come within `limit` in all.
    pub fn take(&mut self, n: usize, limit: Duration) -> Vec<Message> {
        let deadline = Instant::now() + limit;
        (0..n)
            .map(|i| {
                let left = deadline.saturating_duration_since(Instant::now());
                self.next(left)
                    .unwrap_or_else(|| panic!("event {} of {n} did not come within {limit:?}", i + 1))
            })
            .collect()
    }

    /// Whether the server ends the stream within `limit` (events before the end are
    /// skipped); a connection that breaks instead is a failure, not an end.
    pub fn ends_within(&mut self, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        loop {
            let Some(left) = deadline.checked_duration_since(Instant::now()) else {
                return false;
            };
            match self.lines.recv_timeout(left) {
                Ok(Line::End) => return true,
                Ok(Line::Broken(e)) => panic!("the event stream broke instead of ending: {e}"),
                Err(mpsc::RecvTimeoutError::Disconnected) => panic!("the stream reader stopped"),
                Ok(Line::Text(_)) => {}
                Err(mpsc::RecvTimeoutError::Timeout) => return false,
            }
        }
    }
}

/// Decodes a chunked body into lines until its last (empty) chunk; the socket closing
/// before that is an error.
fn read_chunks(mut reader: BufReader<std::net::TcpStream>, send: &mpsc::Sender<Line>) -> std::io::Result<()> {
    use std::io::Read;
    let mut pending = Vec::new();
    loop {
        let mut size = String::new();
        if reader.read_line(&mut size)? == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "the connection closed before the last chunk",
            ));
        }
        let size = usize::from_str_radix(size.trim(), 16).map_err(std::io::Error::other)?;
        if size == 0 {
            return Ok(());
        }
        let mut chunk = vec![0; size + 2];
        reader.read_exact(&mut chunk)?;
        pending.extend_from_slice(&chunk[..size]);
        while let Some(end) = pending.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = pending.drain(..=end).collect();
            let text = String::from_utf8_lossy(&line[..end]).into_owned();
            if send.send(Line::Text(text)).is_err() {
                return Ok(());
            }
        }
    }
}
