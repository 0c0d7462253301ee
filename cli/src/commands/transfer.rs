//! `todo export` and `todo import`: every task out as JSON or CSV; tasks in from our
//! own export or from Taskwarrior's `task export`. Each imported task carries a
//! `source_id` the server keeps unique per user, so importing a file twice adds nothing.

use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use todo_api::{Priority, ProblemCode, SortField, SortOrder, StatusFilter, Task, TaskInput};
use todo_client::{ListQuery, Session};

use crate::args::ExportFormat;
use crate::exit::CliError;
use crate::io::Io;

pub async fn export(session: &Session, format: ExportFormat, io: &mut Io) -> Result<(), CliError> {
    let query = ListQuery {
        status: Some(StatusFilter::All),
        sort: Some(SortField::Created),
        order: Some(SortOrder::Asc),
        ..ListQuery::default()
    };
    let mut tasks = super::tasks::list_all(session, query).await?.tasks;
    // A list carries how many notes a task has; the export carries the notes.
    for task in tasks.iter_mut().filter(|t| t.note_count > 0) {
        task.notes = session.get_task(task.id).await?.notes;
    }
    match format {
        ExportFormat::Json => io.print_json(&tasks),
        ExportFormat::Csv => io.write_out(format_args!("{}", csv_of(&tasks)?)),
    }
    Ok(())
}

fn csv_of(tasks: &[Task]) -> Result<String, CliError> {
    let failed = |e: csv::Error| CliError::Failed(format!("cannot write CSV: {e}"));
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer
        .write_record([
            "id",
            "title",
            "description",
            "completed",
            "priority",
            "due_at",
            "tags",
            "created_at",
            "completed_at",
        ])
        .map_err(failed)?;
    let time = |t: Option<time::OffsetDateTime>| t.and_then(|t| t.format(&Rfc3339).ok()).unwrap_or_default();
    for t in tasks {
        writer
            .write_record([
                t.id.to_string(),
                t.title.clone(),
                t.description.clone(),
                t.completed.to_string(),
                priority_name(t.priority).to_string(),
                time(t.due_at),
                t.tags.join(" "),
                time(Some(t.created_at)),
                time(t.completed_at),
            ])
            .map_err(failed)?;
    }
    let bytes = writer
        .into_inner()
        .map_err(|e| CliError::Failed(format!("cannot write CSV: {e}")))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

fn priority_name(p: Priority) -> &'static str {
    match p {
        Priority::Low => "low",
        Priority::Medium => "medium",
        Priority::High => "high",
    }
}

/// One task to create, and whether to complete it after.
struct Incoming {
    input: TaskInput,
    completed: bool,
    /// Its id where it came from (a Taskwarrior uuid, or a task id of this format), to
    /// link the tasks it waits for and its parent once every task is made.
    key: String,
    notes: Vec<String>,
    depends_on: Vec<String>,
    parent: Option<String>,
    /// The Taskwarrior recurrence template it is an instance of (its `parent`).
    series: Option<String>,
}

/// What an entry of the file is.
enum Entry {
    Task(Box<Incoming>),
    /// Not a task to bring over (a Taskwarrior deleted task or recurrence template).
    Skip(&'static str),
}

fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_string)
}

/// Taskwarrior writes dates as `20300131T170000Z`.
fn taskwarrior_date(raw: &str) -> Result<time::OffsetDateTime, String> {
    let format = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    time::PrimitiveDateTime::parse(raw, &format)
        .map(|t| t.assume_utc())
        .or_else(|_| time::OffsetDateTime::parse(raw, &Rfc3339))
        .map_err(|_| format!("{raw:?} is not a date"))
}

fn from_taskwarrior(v: &Value) -> Result<Entry, String> {
    let status = text(v, "status").unwrap_or_default();
    if status == "deleted" {
        return Ok(Entry::Skip("deleted in Taskwarrior"));
    }
    if status == "recurring" {
        return Ok(Entry::Skip("a recurrence template"));
    }
    let uuid = text(v, "uuid").ok_or("no uuid")?;
    let title = text(v, "description").ok_or("no description")?;
    let notes: Vec<String> = v
        .get("annotations")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|n| text(n, "description")).collect())
        .unwrap_or_default();
    let priority = match text(v, "priority").as_deref() {
        Some("H") => Some(Priority::High),
        Some("M") => Some(Priority::Medium),
        Some("L") => Some(Priority::Low),
        _ => None,
    };
    let due_at = text(v, "due").map(|d| taskwarrior_date(&d)).transpose()?;
    let wait_until = text(v, "wait").map(|d| taskwarrior_date(&d)).transpose()?;
    // Taskwarrior 2.6 and later write a list of uuids, earlier ones a comma-separated string.
    let depends_on: Vec<String> = match v.get("depends") {
        Some(Value::Array(ids)) => ids.iter().filter_map(Value::as_str).map(str::to_string).collect(),
        Some(Value::String(ids)) => ids
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect(),
        _ => Vec::new(),
    };
    // A pending instance of a Taskwarrior series carries its rule (the template is
    // skipped, completed instances are history): it repeats here from the next one.
    let recurrence = match (status.as_str(), text(v, "recur"), due_at) {
        ("pending", Some(recur), Some(_)) => {
            todo_client::recur::parse_recur(&recur)
                .ok()
                .map(|rule| todo_api::Recurrence {
                    rule,
                    time_zone: todo_client::recur::local_zone_name(),
                })
        }
        _ => None,
    };
    let tags = v.get("tags").and_then(Value::as_array).map(|a| {
        a.iter()
            .filter_map(Value::as_str)
            .filter_map(todo_api::tags::repaired_tag)
            .collect::<Vec<_>>()
    });
    Ok(Entry::Task(Box::new(Incoming {
        input: TaskInput {
            title,
            description: None,
            priority,
            due_at,
            tags: tags.filter(|t| !t.is_empty()),
            source_id: Some(format!("taskwarrior:{uuid}")),
            project_id: None,
            recurrence,
            parent_id: None,
            wait_until,
            remind_at: None,
            remind_before: None,
            // Linked once every task is made (see `link`).
            depends_on: None,
        },
        completed: status == "completed",
        key: uuid,
        notes,
        depends_on,
        // Taskwarrior's `parent` is a recurrence template, not a parent task: the
        // instances of one template are one series here (see `one_rule_per_series`).
        parent: None,
        series: text(v, "parent"),
    })))
}

fn from_ours(v: &Value) -> Result<Entry, String> {
    let task: Task = serde_json::from_value(v.clone()).map_err(|e| format!("not a task: {e}"))?;
    Ok(Entry::Task(Box::new(Incoming {
        completed: task.completed,
        key: task.id.to_string(),
        notes: task.notes.iter().flatten().map(|n| n.text.clone()).collect(),
        depends_on: task.depends_on.iter().map(i64::to_string).collect(),
        parent: task.parent_id.map(|p| p.to_string()),
        series: None,
        input: TaskInput {
            source_id: Some(
                task.source_id
                    .clone()
                    .unwrap_or_else(|| format!("todo:{}:{}", task.user_id, task.id)),
            ),
            title: task.title,
            description: (!task.description.is_empty()).then_some(task.description),
            priority: Some(task.priority),
            due_at: task.due_at,
            tags: (!task.tags.is_empty()).then_some(task.tags),
            project_id: None,
            parent_id: None,
            wait_until: task.wait_until,
            remind_at: task.remind_before.is_none().then_some(task.remind_at).flatten(),
            remind_before: task.remind_before,
            // Ids of the server it came from: linked once every task is made.
            depends_on: None,
            recurrence: task.recurrence,
        },
    })))
}

fn entry(v: &Value) -> Result<Entry, String> {
    if v.get("uuid").is_some() && v.get("entry").is_some() {
        from_taskwarrior(v)
    } else if v.get("title").is_some() {
        from_ours(v)
    } else {
        Err("neither a todo task nor a Taskwarrior one".into())
    }
}

fn read_file(io: &mut Io, path: &str) -> Result<Vec<Value>, CliError> {
    let read = if path == "-" {
        io.read_all()
    } else {
        std::fs::read_to_string(path)
    };
    let raw = read.map_err(|e| CliError::Failed(format!("cannot read {path}: {e}")))?;
    // `task export` writes one array; older versions one object per line.
    match serde_json::from_str::<Value>(&raw) {
        Ok(Value::Array(items)) => Ok(items),
        Ok(other) => Ok(vec![other]),
        Err(_) => raw
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l.trim_end_matches(',')))
            .collect::<Result<_, _>>()
            .map_err(|e| CliError::Usage(format!("{path} is not JSON: {e}"))),
    }
}

/// Taskwarrior makes pending instances of a template ahead of time; each carries the
/// rule. Here only the earliest due of each template keeps it (the others come over as
/// plain tasks), so the series repeats from one instance and never makes two next ones.
fn one_rule_per_series(entries: &mut [Result<Entry, String>]) {
    let mut earliest: std::collections::HashMap<String, (time::OffsetDateTime, usize)> = Default::default();
    for (i, entry) in entries.iter().enumerate() {
        let Ok(Entry::Task(t)) = entry else { continue };
        if let (Some(series), Some(due), Some(_)) = (&t.series, t.input.due_at, &t.input.recurrence) {
            let first = earliest.entry(series.clone()).or_insert((due, i));
            if due < first.0 {
                *first = (due, i);
            }
        }
    }
    for (i, entry) in entries.iter_mut().enumerate() {
        let Ok(Entry::Task(t)) = entry else { continue };
        let leads = t
            .series
            .as_ref()
            .is_none_or(|s| earliest.get(s).is_none_or(|(_, at)| *at == i));
        if !leads {
            t.input.recurrence = None;
        }
    }
}

#[derive(serde::Serialize, Default)]
struct Summary {
    imported: usize,
    completed: usize,
    already_imported: usize,
    skipped: usize,
    failed: Vec<Failure>,
    dry_run: bool,
}

#[derive(serde::Serialize)]
struct Failure {
    /// The entry's place in the file, from 1.
    entry: usize,
    error: String,
}

pub async fn import(session: &Session, path: &str, dry_run: bool, io: &mut Io) -> Result<(), CliError> {
    let items = read_file(io, path)?;
    let mut summary = Summary {
        dry_run,
        ..Summary::default()
    };
    // Each task made by this import, by its key, with what to link once all are made.
    let mut made: std::collections::HashMap<String, i64> = std::collections::HashMap::new();
    let mut to_link: Vec<(usize, i64, Vec<String>, Option<String>)> = Vec::new();
    let mut entries: Vec<Result<Entry, String>> = items.iter().map(entry).collect();
    one_rule_per_series(&mut entries);
    for (index, parsed) in entries.into_iter().enumerate() {
        let failed = |error: String| Failure {
            entry: index + 1,
            error,
        };
        let incoming = match parsed {
            Ok(Entry::Task(incoming)) => incoming,
            Ok(Entry::Skip(why)) => {
                if io.verbose() {
                    io.warn(&format!("entry {}: skipped ({why})", index + 1));
                }
                summary.skipped += 1;
                continue;
            }
            Err(e) => {
                summary.failed.push(failed(e));
                continue;
            }
        };
        if dry_run {
            summary.imported += 1;
            summary.completed += usize::from(incoming.completed);
            continue;
        }
        match session.create_task(&incoming.input).await {
            Ok(task) => {
                summary.imported += 1;
                made.insert(incoming.key.clone(), task.id);
                for note in &incoming.notes {
                    if let Err(e) = session.add_note(task.id, note).await {
                        summary
                            .failed
                            .push(failed(format!("made task {}, but a note: {e}", task.id)));
                    }
                }
                if !incoming.depends_on.is_empty() || incoming.parent.is_some() {
                    to_link.push((
                        index,
                        task.id,
                        incoming.depends_on.clone(),
                        incoming.parent.clone(),
                    ));
                }
                if incoming.completed {
                    match session.set_completed(task.id, true).await {
                        Ok(_) => summary.completed += 1,
                        Err(e) => summary
                            .failed
                            .push(failed(format!("made task {}, but: {e}", task.id))),
                    }
                }
            }
            Err(e) if e.code() == Some(ProblemCode::AlreadyImported) => summary.already_imported += 1,
            Err(e) if e.http_status().is_some() => summary.failed.push(failed(e.to_string())),
            Err(e) => return Err(e.into()),
        }
    }
    link(session, &made, to_link, &mut summary).await?;
    report(&summary, io)
}

/// Gives each task made by this import the tasks it waits for and its parent, among
/// those it made (a task the file names but this import did not make is left out).
async fn link(
    session: &Session,
    made: &std::collections::HashMap<String, i64>,
    to_link: Vec<(usize, i64, Vec<String>, Option<String>)>,
    summary: &mut Summary,
) -> Result<(), CliError> {
    for (index, id, depends_on, parent) in to_link {
        let depends: Vec<i64> = depends_on.iter().filter_map(|k| made.get(k).copied()).collect();
        let parent = parent.and_then(|k| made.get(&k).copied());
        let patch = todo_api::TaskPatch {
            depends_on: match depends.is_empty() {
                true => todo_api::Patch::Absent,
                false => todo_api::Patch::Value(depends),
            },
            parent_id: todo_api::Patch::if_given(parent),
            ..todo_api::TaskPatch::default()
        };
        if patch == todo_api::TaskPatch::default() {
            continue;
        }
        match session.patch_task(id, &patch, None).await {
            Ok(_) => {}
            Err(e) if e.http_status().is_some() => summary.failed.push(Failure {
                entry: index + 1,
                error: format!("made task {id}, but linking it: {e}"),
            }),
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

fn report(summary: &Summary, io: &mut Io) -> Result<(), CliError> {
    if io.json() {
        io.print_json(summary);
    } else {
        for f in &summary.failed {
            io.warn(&format!("entry {}: {}", f.entry, f.error));
        }
        let verb = if summary.dry_run {
            "Would import"
        } else {
            "Imported"
        };
        io.note(&format!(
            "{verb} {} tasks ({} completed); {} already imported, {} skipped, {} failed.",
            summary.imported,
            summary.completed,
            summary.already_imported,
            summary.skipped,
            summary.failed.len()
        ));
    }
    match summary.failed.len() {
        0 => Ok(()),
        n => Err(CliError::Partial {
            message: format!("{n} entries could not be imported"),
            code: crate::exit::ERROR,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_taskwarrior_task_maps_its_fields() {
        let v: Value = serde_json::json!({
            "uuid": "a1b2", "entry": "20300101T000000Z", "description": "File taxes",
            "status": "completed", "priority": "H", "due": "20300131T170000Z",
            "tags": ["money", "two words"], "annotations": [{"description": "receipts"}]
        });
        let Ok(Entry::Task(t)) = entry(&v) else {
            panic!("a task")
        };
        assert_eq!(t.input.title, "File taxes");
        assert_eq!(t.input.description, None);
        assert_eq!(t.notes, ["receipts"], "annotations become notes");
        assert_eq!(t.input.priority, Some(Priority::High));
        assert_eq!(
            t.input.due_at,
            Some(time::macros::datetime!(2030-01-31 17:00 UTC))
        );
        assert_eq!(
            t.input.tags,
            Some(vec!["money".to_string(), "two-words".to_string()])
        );
        assert_eq!(t.input.source_id.as_deref(), Some("taskwarrior:a1b2"));
        assert!(t.completed);
        let deleted = serde_json::json!({"uuid": "x", "entry": "e", "description": "d", "status": "deleted"});
        assert!(matches!(entry(&deleted), Ok(Entry::Skip(_))));
    }

    #[test]
    fn instances_of_one_taskwarrior_template_are_one_series() {
        let instance = |uuid: &str, due: &str, parent: &str| {
            serde_json::json!({
                "uuid": uuid, "entry": "20300101T000000Z", "description": "Water plants", "status": "pending",
                "due": due, "recur": "weekly", "parent": parent
            })
        };
        let items = [
            instance("b", "20300114T090000Z", "t1"),
            instance("a", "20300107T090000Z", "t1"),
            instance("c", "20300107T090000Z", "t2"),
            serde_json::json!({"uuid": "t1", "entry": "20300101T000000Z", "description": "Water plants", "status": "recurring"}),
        ];
        let mut entries: Vec<_> = items.iter().map(entry).collect();
        one_rule_per_series(&mut entries);
        let rules: Vec<(String, bool)> = entries
            .iter()
            .filter_map(|e| match e {
                Ok(Entry::Task(t)) => Some((t.key.clone(), t.input.recurrence.is_some())),
                _ => None,
            })
            .collect();
        assert_eq!(
            rules,
            [("b".into(), false), ("a".into(), true), ("c".into(), true)],
            "the earliest of each template repeats; the template itself is skipped"
        );
    }
}
