//! The change stream of one user: replay after `Last-Event-ID`, then live events as they
//! commit (on any server), a heartbeat, and an end when the session is signed out or the
//! token expires. Events are always read from the database in seq order; the change
//! feed only says when to look.

use std::time::Duration;

use std::sync::Arc;
use time::OffsetDateTime;

use todo_api::EventType;
use todo_api::limits::STREAMS_PER_USER;
use tokio::sync::mpsc;
use uuid::Uuid;

use super::{Owner, TaskError};
use crate::clock::Clock;
use crate::store::{EventRecord, Hint, StoreResult, TaskStorage};

/// What a stream sends, in order.
#[derive(Debug)]
pub enum StreamItem {
    /// One change: its seq, type and `data` (a `TaskEvent` as JSON, shared by every
    /// stream that sends it).
    Event {
        seq: i64,
        kind: EventType,
        data: Arc<str>,
    },
    /// The events asked for are no longer kept: reload, then read on after `seq`.
    Reset {
        seq: i64,
    },
    /// The replay is done: what follows is live.
    Live,
    Heartbeat,
}

/// Events read per query while catching up.
const PAGE: u32 = 500;
/// How often a stream checks that its session is still signed in.
const SESSION_CHECK: Duration = Duration::from_millis(250);
/// A lease outlives its last renewal (each heartbeat) by three heartbeats, so a server
/// that died frees its streams' places within about a minute.
fn lease_for(heartbeat: Duration) -> Duration {
    heartbeat * 3
}

/// Where a stream starts and when it must end.
pub struct StreamStart {
    pub owner: Owner,
    pub last_event_id: Option<i64>,
    pub ends_at: OffsetDateTime,
}

/// The wire form of an event (see [`TaskEvent`]), serialised straight from the record.
pub fn encode(record: &EventRecord) -> Arc<str> {
    #[derive(serde::Serialize)]
    struct Deleted {
        id: i64,
        version: i64,
    }
    #[derive(serde::Serialize)]
    #[serde(untagged)]
    enum Body<'a> {
        Task(&'a todo_api::Task),
        Deleted(Deleted),
    }
    #[derive(serde::Serialize)]
    struct Wire<'a> {
        seq: i64,
        #[serde(rename = "type")]
        kind: EventType,
        task: Body<'a>,
        #[serde(skip_serializing_if = "Option::is_none")]
        late: Option<bool>,
    }
    #[derive(serde::Serialize)]
    struct News<'a> {
        seq: i64,
        #[serde(rename = "type")]
        kind: EventType,
        project: &'a todo_api::ProjectNews,
    }
    if let Some(project) = &record.project {
        let news = News {
            seq: record.seq,
            kind: record.kind,
            project,
        };
        return Arc::from(serde_json::to_string(&news).unwrap_or_default());
    }
    let task = match &record.task {
        Some(task) => Body::Task(task),
        None => Body::Deleted(Deleted {
            id: record.task_id,
            version: record.version,
        }),
    };
    // Told from what is stored (the event's time, the reminder's), so a replay says
    // the same.
    let late = (record.kind == EventType::Reminder)
        .then(|| crate::domain::timers::was_late(record.task.as_ref().and_then(|t| t.remind_at), record.at));
    let wire = Wire {
        seq: record.seq,
        kind: record.kind,
        task,
        late,
    };
    Arc::from(serde_json::to_string(&wire).unwrap_or_default())
}

fn item(record: &EventRecord, data: Arc<str>) -> StreamItem {
    StreamItem::Event {
        seq: record.seq,
        kind: record.kind,
        data,
    }
}

/// Opens a stream: takes one of the user's places (refused beyond the cap, counted
/// across every server), then runs it on its own task. `signed_in` is asked often; the
/// stream ends once it says no.
pub async fn open(
    db: Arc<dyn TaskStorage>,
    clock: Clock,
    start: StreamStart,
    heartbeat: Duration,
    signed_in: impl Fn() -> bool + Send + 'static,
) -> Result<mpsc::Receiver<StreamItem>, TaskError> {
    let lease = StreamLease {
        id: Uuid::new_v4(),
        heartbeat,
        clock,
    };
    let now = lease.clock.now();
    if !db
        .open_stream(
            start.owner,
            lease.id,
            now,
            now + lease_for(heartbeat),
            STREAMS_PER_USER,
        )
        .await?
    {
        return Err(TaskError::TooManyStreams);
    }
    // Subscribed before the first read: a change committed between the two still wakes.
    let wake = db.changes().subscribe(start.owner.id());
    // Where a stream without `Last-Event-ID` starts is read here, before the answer's
    // headers go: a change the client makes once it sees them is after it. (Read in the
    // stream's own task, a create sent at once could land first and be taken for
    // history, never sent.)
    let first = match db
        .events_after(start.owner, start.last_event_id.unwrap_or(i64::MAX), 0)
        .await
    {
        Ok(first) => first,
        Err(e) => {
            let _ = db.close_stream(lease.id).await;
            return Err(e.into());
        }
    };
    let (items, received) = mpsc::channel(256);
    tokio::spawn(async move {
        if let Err(e) = run(&db, &start, first, &lease, wake, &items, signed_in).await {
            tracing::debug!(error = %e, "event stream ended by a database fault");
        }
        if let Err(e) = db.close_stream(lease.id).await {
            tracing::debug!(error = %e, "could not free a stream lease; it expires by itself");
        }
    });
    Ok(received)
}

/// A stream's place among the user's, renewed at each heartbeat.
struct StreamLease {
    id: Uuid,
    heartbeat: Duration,
    clock: Clock,
}

async fn run(
    db: &Arc<dyn TaskStorage>,
    start: &StreamStart,
    first: crate::store::EventPage,
    lease: &StreamLease,
    mut wake: tokio::sync::watch::Receiver<Hint>,
    items: &mpsc::Sender<StreamItem>,
    signed_in: impl Fn() -> bool,
) -> StoreResult<()> {
    let owner = start.owner;
    let mut last = match start.last_event_id {
        None => first.latest,
        Some(asked) if asked > first.latest || first.has_gap_after(asked) => {
            if items.send(StreamItem::Reset { seq: first.latest }).await.is_err() {
                return Ok(());
            }
            first.latest
        }
        Some(asked) => asked,
    };
    let heartbeat_every = lease.heartbeat;
    let mut heartbeat =
        tokio::time::interval_at(tokio::time::Instant::now() + heartbeat_every, heartbeat_every);
    let mut check = tokio::time::interval(SESSION_CHECK);
    let left = (start.ends_at - lease.clock.now()).max(time::Duration::ZERO);
    let expiry = tokio::time::sleep(left.try_into().unwrap_or_default());
    tokio::pin!(expiry);
    let mut live = false;
    // What the last hint said: the newest seq, and the event itself when this server
    // wrote it (then a stream that is up to date sends it without reading it back).
    let mut hint = Hint::default();
    // Read from the database first (the replay) and whenever a hint does not carry the
    // one event this stream needs next.
    let mut read = true;
    loop {
        if let Some(shared) = hint.event.as_deref().filter(|e| e.record.seq == last + 1) {
            let data = shared.encoded.get_or_init(|| encode(&shared.record)).clone();
            if items.send(item(&shared.record, data)).await.is_err() {
                return Ok(());
            }
            last = shared.record.seq;
        }
        if read || hint.latest > last {
            loop {
                let page = db.events_after(owner, last, PAGE).await?;
                for record in &page.events {
                    if items.send(item(record, encode(record))).await.is_err() {
                        return Ok(());
                    }
                    last = record.seq;
                }
                if page.events.len() < PAGE as usize {
                    break;
                }
            }
            read = false;
        }
        if !live {
            live = true;
            if items.send(StreamItem::Live).await.is_err() {
                return Ok(());
            }
        }
        tokio::select! {
            changed = wake.changed() => {
                if changed.is_err() {
                    return Ok(());
                }
                hint = wake.borrow_and_update().clone();
                read = hint.event.as_deref().is_none_or(|e| e.record.seq != last + 1);
            }
            _ = heartbeat.tick() => {
                if items.send(StreamItem::Heartbeat).await.is_err() {
                    return Ok(());
                }
                // A hint from another server may have been lost (a crash between its
                // commit and its notice): look in the database once per heartbeat.
                read = true;
                let expires = lease.clock.now() + lease_for(heartbeat_every);
                db.renew_stream(lease.id, expires).await?;
            }
            _ = check.tick() => if !signed_in() { return Ok(()) },
            () = &mut expiry => return Ok(()),
            () = items.closed() => return Ok(()),
        }
    }
}
