//! Task commands: add, list, show, edit, done, undone, rm, note.

use todo_api::{SortField, StatusFilter, TaskInput};
use todo_client::config::Config;
use todo_client::{ListQuery, Session};

use crate::args::TaskCommand as Command;
use crate::exit::CliError;
use crate::io::Io;
use crate::output::shown;

/// A task command, online if the server can be reached (queued writes sent first), else
/// from the account's local copy (see `offline`); `online_only` refuses the latter.
pub async fn run_or_queue(
    command: Command,
    session: &Session,
    config: &Config,
    io: &mut Io,
    online_only: bool,
) -> Result<(), CliError> {
    let replica = match online_only {
        true => None,
        false => super::offline::open(session, io).await,
    };
    let Some(replica) = replica else {
        return run(command, session, config, io, None).await;
    };
    let outcome = match super::offline::send_queued(session, &replica, io).await {
        Ok(()) => run(command.clone(), session, config, io, Some(&replica)).await,
        Err(e) => Err(e),
    };
    match outcome {
        Err(CliError::Client(why @ todo_client::ClientError::Unreachable { .. })) => {
            super::offline::answer(command, &replica, config, io, why)
        }
        other => other,
    }
}

/// The command online; what it reads goes into `replica` too (as last seen).
pub async fn run(
    command: Command,
    session: &Session,
    config: &Config,
    io: &mut Io,
    replica: Option<&todo_client::replica::Replica>,
) -> Result<(), CliError> {
    let seen = |tasks: &[todo_api::Task]| {
        // The local copy is a cache here: failing to update it fails nothing.
        if let Some(replica) = replica {
            let _ = replica.keep(tasks);
        }
    };
    match command {
        Command::Add(a) => {
            let (mut input, project) = add_input(a)?;
            if let Some(name) = project {
                input.project_id = Some(super::projects::find(session, &name).await?.id);
            }
            let task = session.create_task(&input).await?;
            if io.json() {
                io.print_json(&task);
            } else if io.quiet() {
                crate::outln!(io, "{}", task.id);
            } else {
                crate::outln!(io, "Added task {}: {}", task.id, shown(&task.title));
            }
        }
        Command::List(l) => {
            let filter = parse_filter(&l.filter)?;
            let project = project_param(session, filter.project.as_deref().or(l.project.as_deref())).await?;
            let page = list_all(session, list_query(l, config, project, &filter)).await?;
            seen(&page.tasks);
            let names = project_names(session, &page.tasks).await?;
            crate::output::print_tasks(io, &page.tasks, page.total, &names);
        }
        Command::Count { filter } => {
            let filter = parse_filter(&filter)?;
            let mut query = ListQuery {
                status: Some(config.status.unwrap_or(StatusFilter::Pending)),
                limit: Some(1),
                project: project_param(session, filter.project.as_deref()).await?,
                ..ListQuery::default()
            };
            filter.apply(&mut query);
            let page = session.list_tasks(&query).await?;
            crate::outln!(io, "{}", page.total);
        }
        Command::Next { count, project } => {
            let query = ListQuery {
                status: Some(StatusFilter::Unblocked),
                sort: Some(SortField::Urgency),
                limit: Some(count.clamp(1, todo_api::limits::LIST_LIMIT_MAX)),
                project: project_param(session, project.as_deref()).await?,
                ..ListQuery::default()
            };
            let page = session.list_tasks(&query).await?;
            let names = project_names(session, &page.tasks).await?;
            crate::output::print_tasks(io, &page.tasks, page.tasks.len() as u64, &names);
        }
        Command::Show(a) => {
            let task = session.get_task(a.id).await?;
            seen(std::slice::from_ref(&task));
            let subtasks = subtask_tree(session, &task).await?;
            crate::output::print_task(io, &task);
            crate::output::print_subtask_tree(io, &subtasks);
        }
        Command::Edit(e) => {
            let nothing = e.tag_changes.is_empty()
                && e.title.is_none()
                && e.description.is_none()
                && e.priority.is_none()
                && e.due.is_none()
                && !e.no_due
                && e.tags.is_empty()
                && !e.no_tags
                && e.parent.is_none()
                && !e.no_parent
                && e.depends.is_empty()
                && !e.no_depends;
            if nothing {
                return Err(CliError::Usage(
                    "nothing to change: give --title, --description, --priority, --due, --no-due, --tag, --no-tags, +tag, -tag, --parent, --no-parent, --depends or --no-depends"
                        .into(),
                ));
            }
            let task = edit(session, &e).await?;
            confirm(io, &task, "Updated");
        }
        Command::Done(a) => set_completed(session, io, &a.ids(), true).await?,
        Command::Undone(a) => set_completed(session, io, &a.ids(), false).await?,
        Command::Rm(r) => remove(session, io, &r.ids.ids(), r.yes).await?,
        Command::Note(n) => note(session, io, n).await?,
    }
    Ok(())
}

/// `todo note`: adds a note, or deletes the caller's note named by the start of its id.
async fn note(session: &Session, io: &mut Io, args: crate::args::NoteArgs) -> Result<(), CliError> {
    if let Some(prefix) = args.delete {
        let task = session.get_task(args.id).await?;
        let prefix = prefix.trim().to_ascii_lowercase();
        let found: Vec<&todo_api::Note> = task
            .notes
            .iter()
            .flatten()
            .filter(|n| !prefix.is_empty() && n.id.to_string().starts_with(&prefix))
            .collect();
        let note = match found.as_slice() {
            [one] => *one,
            [] => {
                return Err(CliError::Failed(format!(
                    "task {} has no note whose id starts with {}",
                    args.id,
                    shown(&prefix)
                )));
            }
            _ => {
                return Err(CliError::Usage(format!(
                    "{} notes of task {} start with {}: give more of the id",
                    found.len(),
                    args.id,
                    shown(&prefix)
                )));
            }
        };
        session.delete_note(args.id, note.id).await?;
        if !io.quiet() {
            crate::outln!(io, "Deleted a note of task {}", args.id);
        }
        return Ok(());
    }
    let text = match args.text.as_slice() {
        [dash] if dash == "-" => io
            .read_all()
            .map_err(|e| CliError::Failed(format!("could not read the note from stdin: {e}")))?,
        words => words.join(" "),
    };
    let note = session.add_note(args.id, &text).await?;
    if io.json() {
        io.print_json(&note);
    } else if io.quiet() {
        crate::outln!(io, "{}", note.id);
    } else {
        crate::outln!(io, "Added a note to task {}", args.id);
    }
    Ok(())
}

/// `todo list`'s query: its flags and its filter words, with the project as found (on
/// the server, or in the local copy).
pub(super) fn list_query(
    l: crate::args::ListArgs,
    config: &Config,
    project: Option<String>,
    filter: &todo_client::filter::Filter,
) -> ListQuery {
    let status = match (l.status, l.all, l.completed) {
        (Some(status), _, _) => status,
        (None, true, _) => StatusFilter::All,
        (None, _, true) => StatusFilter::Completed,
        (None, false, false) => config.status.unwrap_or(StatusFilter::Pending),
    };
    let mut query = ListQuery {
        status: Some(status),
        search: l.search,
        tags: l.tags,
        priority: l.priority,
        sort: Some(l.sort.or(config.sort).unwrap_or(SortField::Urgency)),
        order: l.order,
        limit: l.limit,
        offset: l.offset,
        project,
        parent: l.parent,
        ..ListQuery::default()
    };
    filter.apply(&mut query);
    query
}

/// Taskwarrior's filter words (`todo list +work due.before:eow`), or a usage error.
pub(super) fn parse_filter(words: &[String]) -> Result<todo_client::filter::Filter, CliError> {
    todo_client::filter::parse_filter(words, crate::output::local_now()).map_err(CliError::Usage)
}

/// `--project` as the list query takes it: a project's id, `none`, or nothing.
async fn project_param(session: &Session, given: Option<&str>) -> Result<Option<String>, CliError> {
    Ok(match given.map(str::trim) {
        None => None,
        Some("none") => Some("none".into()),
        Some(name) => Some(super::projects::find(session, name).await?.id.to_string()),
    })
}

/// One page when `--limit` is given; otherwise every match, page after page (no
/// silent cap).
pub(super) async fn list_all(session: &Session, query: ListQuery) -> Result<todo_client::TaskPage, CliError> {
    const PAGE: u32 = todo_api::limits::LIST_LIMIT_MAX;
    if query.limit.is_some() {
        return Ok(session.list_tasks(&query).await?);
    }
    let start = query.offset.unwrap_or(0);
    let mut all = todo_client::TaskPage {
        tasks: Vec::new(),
        total: 0,
    };
    loop {
        let mut next = query.clone();
        next.limit = Some(PAGE);
        next.offset = Some(start + all.tasks.len() as u32);
        let page = session.list_tasks(&next).await?;
        all.total = page.total;
        let last = page.tasks.len() < PAGE as usize;
        all.tasks.extend(page.tasks);
        if last || u64::from(start) + all.tasks.len() as u64 >= all.total {
            return Ok(all);
        }
    }
}

/// The outcome for one of several ids.
struct Outcome {
    id: i64,
    result: Result<Option<todo_api::Task>, todo_client::ClientError>,
}

/// Done/undone for each id in turn: one line per task, then a summary error if any
/// failed (exit 3 when every failure was "not found").
async fn set_completed(session: &Session, io: &mut Io, ids: &[i64], completed: bool) -> Result<(), CliError> {
    let verb = if completed { "Completed" } else { "Reopened" };
    if let [id] = ids {
        confirm(io, &session.set_completed(*id, completed).await?, verb);
        return Ok(());
    }
    let mut outcomes = Vec::new();
    for &id in ids {
        let result = session.set_completed(id, completed).await.map(Some);
        outcomes.push(Outcome { id, result });
    }
    report_many(io, verb, outcomes)
}

/// Deletes each id; on a terminal without --yes, asks once, showing the tasks, and then
/// deletes only the versions shown (a task changed meanwhile is refused, not deleted
/// unseen).
async fn remove(session: &Session, io: &mut Io, ids: &[i64], yes: bool) -> Result<(), CliError> {
    let mut versions = std::collections::HashMap::new();
    if !yes && io.stdin_is_terminal() {
        let mut shown_tasks = Vec::new();
        for &id in ids {
            let task = session.get_task(id).await?;
            shown_tasks.push(format!("{}: {}", task.id, shown(&task.title)));
            versions.insert(id, task.version);
        }
        let question = match shown_tasks.as_slice() {
            [one] => format!("Delete task {one}? [y/N] "),
            many => format!(
                "Delete these {} tasks?\n  {}\n[y/N] ",
                many.len(),
                many.join("\n  ")
            ),
        };
        if !ask(io, &question)? {
            io.note("Nothing deleted.");
            return Ok(());
        }
    }
    if let [id] = ids {
        session.delete_task(*id, versions.get(id).copied()).await?;
        io.note(&format!("Deleted task {id}."));
        return Ok(());
    }
    let mut outcomes = Vec::new();
    for &id in ids {
        let result = session
            .delete_task(id, versions.get(&id).copied())
            .await
            .map(|()| None);
        outcomes.push(Outcome { id, result });
    }
    report_many(io, "Deleted", outcomes)
}

/// One line per id (or, with --json, one array of `{id, ok, task | error, code}`), and
/// an error naming the ids that failed.
fn report_many(io: &mut Io, verb: &str, outcomes: Vec<Outcome>) -> Result<(), CliError> {
    let mut failed = Vec::new();
    let mut json = Vec::new();
    for Outcome { id, result } in &outcomes {
        match result {
            Ok(task) => {
                if io.json() {
                    json.push(serde_json::json!({"id": id, "ok": true, "task": task}));
                } else {
                    let title = task
                        .as_ref()
                        .map(|t| format!(": {}", shown(&t.title)))
                        .unwrap_or_default();
                    io.note(&format!("{verb} task {id}{title}"));
                }
            }
            Err(e) => {
                if io.json() {
                    json.push(
                        serde_json::json!({"id": id, "ok": false, "error": e.to_string(), "code": e.code()}),
                    );
                } else {
                    io.warn(&format!(
                        "todo: task {id}: {}",
                        todo_api::text::printable(&e.to_string(), false)
                    ));
                }
                failed.push((*id, e.http_status() == Some(404)));
            }
        }
    }
    if io.json() {
        io.print_json(&json);
    }
    if failed.is_empty() {
        return Ok(());
    }
    let ids: Vec<String> = failed.iter().map(|(id, _)| id.to_string()).collect();
    let all_missing = failed.iter().all(|(_, missing)| *missing);
    Err(CliError::Partial {
        message: format!(
            "{} of {} failed: {}",
            failed.len(),
            outcomes.len(),
            ids.join(", ")
        ),
        code: if all_missing {
            crate::exit::NOT_FOUND
        } else {
            crate::exit::ERROR
        },
    })
}

fn confirm(io: &mut Io, task: &todo_api::Task, verb: &str) {
    if io.json() {
        io.print_json(task);
    } else {
        io.note(&format!("{verb} task {}: {}", task.id, shown(&task.title)));
    }
}

fn ask(io: &mut Io, question: &str) -> Result<bool, CliError> {
    let answer = io
        .prompt_line(question)
        .map_err(|e| CliError::Failed(format!("cannot read the answer: {e}")))?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes"))
}

/// Sends only the flags given, as a merge patch: the server applies them to the task as
/// it is, so a change made elsewhere to another field (the TUI's, a script's) stays.
/// `+tag` and `-tag` words: the tags to add and to remove.
fn tag_changes(words: &[String]) -> Result<(Vec<String>, Vec<String>), CliError> {
    let (mut add, mut remove) = (Vec::new(), Vec::new());
    for word in words {
        match (word.strip_prefix('+'), word.strip_prefix('-')) {
            (Some(tag), _) if !tag.is_empty() => add.push(tag.to_string()),
            (_, Some(tag)) if !tag.is_empty() && !tag.starts_with('-') => remove.push(tag.to_string()),
            _ => {
                return Err(CliError::Usage(format!(
                    "`{word}`: after the id give +tag or -tag; change the title with --title"
                )));
            }
        }
    }
    Ok((add, remove))
}

async fn edit(session: &Session, e: &crate::args::EditArgs) -> Result<todo_api::Task, CliError> {
    use todo_api::Patch;
    let (add, remove) = tag_changes(&e.tag_changes)?;
    if (!add.is_empty() || !remove.is_empty()) && (e.no_tags || !e.tags.is_empty()) {
        return Err(CliError::Usage(
            "+tag/-tag change the tags; --tag and --no-tags replace them: use one or the other".into(),
        ));
    }
    if !add.is_empty() || !remove.is_empty() {
        return edit_tags(session, e, &add, &remove).await;
    }
    let patch = todo_api::TaskPatch {
        tags: if e.no_tags {
            Patch::Value(Vec::new())
        } else {
            Patch::if_given((!e.tags.is_empty()).then(|| e.tags.clone()))
        },
        ..fields_patch(e)
    };
    Ok(session.patch_task(e.id, &patch, None).await?)
}

/// What `todo edit` changes besides the tags, as a merge patch.
fn fields_patch(e: &crate::args::EditArgs) -> todo_api::TaskPatch {
    use todo_api::Patch;
    todo_api::TaskPatch {
        title: Patch::if_given(e.title.clone()),
        description: Patch::if_given(e.description.clone()),
        priority: Patch::if_given(e.priority),
        due_at: if e.no_due {
            Patch::Null
        } else {
            Patch::if_given(e.due)
        },
        parent_id: if e.no_parent {
            Patch::Null
        } else {
            Patch::if_given(e.parent)
        },
        depends_on: if e.no_depends {
            Patch::Null
        } else {
            Patch::if_given((!e.depends.is_empty()).then(|| e.depends.clone()))
        },
        ..todo_api::TaskPatch::default()
    }
}

/// Adds and removes tags on the tags as they are: read, change, write back with
/// `If-Match`; when another client changed the task in between, again from the new
/// version, so its change is kept.
async fn edit_tags(
    session: &Session,
    e: &crate::args::EditArgs,
    add: &[String],
    remove: &[String],
) -> Result<todo_api::Task, CliError> {
    use todo_api::Patch;
    let mut attempts = 0;
    loop {
        let current = session.get_task(e.id).await?;
        let patch = todo_api::TaskPatch {
            tags: Patch::Value(merged_tags(&current.tags, add, remove)),
            ..fields_patch(e)
        };
        match session.patch_task(e.id, &patch, Some(current.version)).await {
            Err(err) if err.current_task().is_some() && attempts < 3 => attempts += 1,
            other => return Ok(other?),
        }
    }
}

/// `current` with `add` and without `remove` (any case), in order.
fn merged_tags(current: &[String], add: &[String], remove: &[String]) -> Vec<String> {
    let mut tags: Vec<String> = current
        .iter()
        .filter(|t| !remove.iter().any(|r| r.eq_ignore_ascii_case(t)))
        .cloned()
        .collect();
    let new: Vec<String> = add
        .iter()
        .filter(|a| !tags.iter().any(|t| t.eq_ignore_ascii_case(a)))
        .cloned()
        .collect();
    tags.extend(new);
    tags
}

/// `todo edit` as one merge patch on a task whose tags are `current_tags` (the local
/// copy's, offline).
pub(super) fn edit_patch_on(
    e: &crate::args::EditArgs,
    current_tags: &[String],
) -> Result<todo_api::TaskPatch, CliError> {
    use todo_api::Patch;
    let (add, remove) = tag_changes(&e.tag_changes)?;
    if (!add.is_empty() || !remove.is_empty()) && (e.no_tags || !e.tags.is_empty()) {
        return Err(CliError::Usage(
            "+tag/-tag change the tags; --tag and --no-tags replace them: use one or the other".into(),
        ));
    }
    let tags = if !add.is_empty() || !remove.is_empty() {
        Patch::Value(merged_tags(current_tags, &add, &remove))
    } else if e.no_tags {
        Patch::Value(Vec::new())
    } else {
        Patch::if_given((!e.tags.is_empty()).then(|| e.tags.clone()))
    };
    Ok(todo_api::TaskPatch {
        tags,
        ..fields_patch(e)
    })
}

/// The names of the projects `tasks` are in (none asked for when every task is personal).
async fn project_names(
    session: &Session,
    tasks: &[todo_api::Task],
) -> Result<crate::output::ProjectNames, CliError> {
    if tasks.iter().all(|t| t.project_id.is_none()) {
        return Ok(Default::default());
    }
    Ok(session
        .projects()
        .await?
        .into_iter()
        .map(|p| (p.id, p.name))
        .collect())
}

/// Every task under `task` (done ones too), each with its level below it (1 for its own
/// subtasks), in tree order: a parent, then its subtasks. One list per parent, at most
/// 8 levels (the server's limit).
async fn subtask_tree(
    session: &Session,
    task: &todo_api::Task,
) -> Result<Vec<(usize, todo_api::Task)>, CliError> {
    let mut tree = Vec::new();
    let mut stack = vec![(1usize, task.id, task.subtasks.total)];
    while let Some((depth, parent, count)) = stack.pop() {
        if count == 0 || depth > 8 {
            continue;
        }
        let query = ListQuery {
            status: Some(StatusFilter::All),
            sort: Some(SortField::Created),
            order: Some(todo_api::SortOrder::Asc),
            parent: Some(parent.to_string()),
            ..ListQuery::default()
        };
        let children = list_all(session, query).await?.tasks;
        // Placed right after their parent, in order.
        let at = tree
            .iter()
            .position(|(_, t): &(usize, todo_api::Task)| t.id == parent)
            .map_or(0, |i| i + 1);
        for (offset, child) in children.into_iter().enumerate() {
            stack.push((depth + 1, child.id, child.subtasks.total));
            tree.insert(at + offset, (depth, child));
        }
    }
    Ok(tree)
}

/// `todo add`'s task, and the project it names (by name or id start: the server says
/// which it is).
pub(super) fn add_input(a: crate::args::AddArgs) -> Result<(TaskInput, Option<String>), CliError> {
    let mut a = a;
    let mut title = Vec::new();
    let mut tags = std::mem::take(&mut a.tags);
    // Words such as +home are tags, `name:value` words Taskwarrior's attributes, the
    // others the title.
    for word in std::mem::take(&mut a.title) {
        if word.len() > 1 && word.starts_with('+') {
            tags.push(word[1..].to_string());
            continue;
        }
        match attribute_of(&word) {
            Some((name, value)) => set_attribute(&mut a, name, value)?,
            None => title.push(word),
        }
    }
    let project = a.project.clone();
    let words = title;
    if words.is_empty() {
        return Err(CliError::Usage(
            "give the task a title (words other than +tags and name:value attributes)".into(),
        ));
    }
    let input = TaskInput {
        title: words.join(" "),
        description: a.description,
        priority: a.priority,
        due_at: a.due,
        tags: (!tags.is_empty()).then_some(tags),
        source_id: None,
        project_id: None,
        recurrence: a.recur.map(|rule| todo_api::Recurrence {
            rule,
            time_zone: todo_client::recur::local_zone_name(),
        }),
        parent_id: a.parent,
        wait_until: a.wait,
        remind_at: match &a.remind {
            Some(todo_client::recur::Remind::At(at)) => Some(*at),
            _ => None,
        },
        remind_before: match a.remind {
            Some(todo_client::recur::Remind::Before(before)) => Some(before),
            _ => None,
        },
        depends_on: (!a.depends.is_empty()).then_some(a.depends),
    };
    Ok((input, project))
}

/// `name:value` as Taskwarrior writes an attribute: a name of letters and a value,
/// not a time (`10:30`), an address (`https://...`) or words quoted together.
fn attribute_of(word: &str) -> Option<(&str, &str)> {
    let (name, value) = word.split_once(':')?;
    // Quoted with other words ("Ratio 3:2 or more"), it is part of the title.
    let looks = !name.is_empty()
        && name.chars().all(|c| c.is_ascii_alphabetic())
        && !value.is_empty()
        && !value.contains(char::is_whitespace);
    (looks && !value.starts_with("//")).then_some((name, value))
}

/// The attribute names `todo add` takes, for a suggestion when one is misspelled.
const ATTRIBUTES: [&str; 8] = [
    "due", "priority", "pri", "project", "wait", "recur", "remind", "depends",
];

/// Sets what `name:value` says, as its flag would.
fn set_attribute(a: &mut crate::args::AddArgs, name: &str, value: &str) -> Result<(), CliError> {
    let now = crate::output::local_now();
    let usage = |e: String| CliError::Usage(format!("{name}:{value}: {e}"));
    match name.to_ascii_lowercase().as_str() {
        "due" => a.due = Some(todo_client::due::parse_due(value, now).map_err(usage)?),
        "wait" => a.wait = Some(todo_client::due::parse_due(value, now).map_err(usage)?),
        "priority" | "pri" => {
            a.priority = Some(match value.to_ascii_lowercase().as_str() {
                "h" | "high" => todo_api::Priority::High,
                "m" | "med" | "medium" => todo_api::Priority::Medium,
                "l" | "low" => todo_api::Priority::Low,
                _ => return Err(usage("use H, M or L".into())),
            })
        }
        "project" | "proj" => a.project = Some(value.to_string()),
        "recur" => a.recur = Some(todo_client::recur::parse_recur(value).map_err(usage)?),
        "remind" => a.remind = Some(todo_client::recur::parse_remind(value, now).map_err(usage)?),
        "depends" | "dep" => {
            for id in value.split(',') {
                let id = id
                    .trim()
                    .parse::<i64>()
                    .map_err(|_| usage("give task ids, such as 3,4".into()))?;
                a.depends.push(id);
            }
        }
        other => {
            let near = todo_client::filter::suggestion(&ATTRIBUTES, other);
            return Err(CliError::Usage(format!(
                "{other}:{value} is not an attribute{near}: use due:, priority:, project:, wait:, recur:, remind:, depends:, or put it in quotes with other words"
            )));
        }
    }
    Ok(())
}
