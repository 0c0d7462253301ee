//! undo, log and watch: the change history and the live stream.

use todo_api::{EventType, HistoryEntry, Task};
use todo_client::Session;
use todo_client::events::{ChangeStream, StreamNews, describe};

use crate::exit::CliError;
use crate::io::Io;
use crate::output::{format_time, shown};

pub async fn undo(session: &Session, io: &mut Io) -> Result<(), CliError> {
    let undone = session.undo().await?;
    if io.json() {
        io.print_json(&undone);
        return Ok(());
    }
    let id = undone.task.as_ref().map(|t| t.id);
    let message = match (undone.undone_type, &undone.task) {
        (EventType::Created, _) => "Undid the creation: the task is deleted".to_string(),
        (EventType::Deleted, Some(task)) => format!(
            "Undid the deletion: task {} is back: {}",
            task.id,
            shown(&task.title)
        ),
        (_, Some(task)) => format!("Undid the change to task {}: {}", task.id, shown(&task.title)),
        (_, None) => "Undid a change".to_string(),
    };
    io.note(&message);
    if io.quiet()
        && let Some(id) = id
    {
        crate::outln!(io, "{id}");
    }
    Ok(())
}

pub async fn log(session: &Session, id: i64, io: &mut Io) -> Result<(), CliError> {
    let entries = session.history(id).await?;
    if io.json() {
        io.print_json(&entries);
        return Ok(());
    }
    if entries.is_empty() {
        io.note(&format!("No recorded changes for task {id}."));
    }
    for entry in &entries {
        crate::outln!(io, "{}", history_line(entry));
    }
    Ok(())
}

/// `#seq  when  what: field before → after, ...`
fn history_line(entry: &HistoryEntry) -> String {
    let what = match (entry.kind, entry.undoes) {
        (_, Some(seq)) => format!("undo of #{seq}"),
        (EventType::Created, None) => "created".into(),
        (EventType::Deleted, None) => "deleted".into(),
        (EventType::Reminder, None) => "reminder sent".into(),
        (EventType::Woke, None) => "back from waiting".into(),
        (_, None) => "updated".into(),
    };
    let changes = match (&entry.before, &entry.after) {
        (Some(before), Some(after)) => changed_fields(before, after),
        (None, Some(after)) => vec![format!("title {}", quoted(&after.title))],
        _ => Vec::new(),
    };
    let detail = if changes.is_empty() {
        String::new()
    } else {
        format!(": {}", changes.join(", "))
    };
    format!("#{:<5} {}  {what}{detail}", entry.seq, format_time(entry.at))
}

fn quoted(text: &str) -> String {
    format!("\"{}\"", shown(text))
}

fn changed_fields(before: &Task, after: &Task) -> Vec<String> {
    let mut out = Vec::new();
    let mut field = |name: &str, old: String, new: String| {
        if old != new {
            out.push(format!("{name} {old} → {new}"));
        }
    };
    field("title", quoted(&before.title), quoted(&after.title));
    field(
        "description",
        quoted(&before.description),
        quoted(&after.description),
    );
    field(
        "priority",
        before.priority.as_str().into(),
        after.priority.as_str().into(),
    );
    let due = |t: &Task| t.due_at.map_or("none".into(), format_time);
    field("due", due(before), due(after));
    field("tags", before.tags.join(","), after.tags.join(","));
    let state = |t: &Task| if t.completed { "completed" } else { "pending" }.to_string();
    field("status", state(before), state(after));
    out
}

pub async fn watch(session: Session, io: &mut Io) -> Result<(), CliError> {
    let mut stream = ChangeStream::start(session, None);
    while let Some(news) = stream.next().await {
        match news {
            StreamNews::Change(event) => {
                if io.json() {
                    // One compact line per change (JSON Lines), for `| jq -c` and scripts.
                    crate::outln!(io, "{}", serde_json::to_string(&event).unwrap_or_default());
                } else {
                    crate::outln!(io, "{}", describe(&event));
                }
            }
            StreamNews::Reset { .. } => {
                io.note("Missed changes that are no longer kept; list again to catch up.")
            }
            StreamNews::Reconnecting(reason) => io.note(&format!("Reconnecting: {reason}")),
            StreamNews::Connected | StreamNews::Live => {}
            StreamNews::Stopped(e) => return Err(e.into()),
        }
    }
    Ok(())
}
