//! Task commands: add, list, show, edit, done, undone, rm.

use std::io::{BufRead, IsTerminal, Write};

use todo_api::TaskInput;
use todo_client::{ListQuery, Session};

use crate::args::Command;
use crate::exit::CliError;
use crate::output::{Output, shown};

pub async fn run(command: Command, session: &Session, out: Output) -> Result<(), CliError> {
    match command {
        Command::Add(a) => {
            let input = TaskInput {
                title: a.title.join(" "),
                description: a.description,
                priority: a.priority,
                due_at: a.due,
                tags: (!a.tags.is_empty()).then_some(a.tags),
            };
            let task = session.create_task(&input).await?;
            if out.json {
                out.print_json(&task);
            } else if out.quiet {
                crate::outln!("{}", task.id);
            } else {
                crate::outln!("Added task {}: {}", task.id, shown(&task.title));
            }
        }
        Command::List(l) => {
            let query = ListQuery {
                status: l.status,
                search: l.search,
                tag: l.tag,
                priority: l.priority,
                sort: l.sort,
                order: l.order,
                limit: l.limit,
                offset: l.offset,
            };
            let page = session.list_tasks(&query).await?;
            out.print_tasks(&page.tasks, page.total);
        }
        Command::Show(a) => out.print_task(&session.get_task(a.id).await?),
        Command::Edit(e) => {
            let nothing = e.title.is_none()
                && e.description.is_none()
                && e.priority.is_none()
                && e.due.is_none()
                && !e.no_due
                && e.tags.is_empty()
                && !e.no_tags;
            if nothing {
                return Err(CliError::Usage(
                    "nothing to change: give --title, --description, --priority, --due, --no-due, --tag or --no-tags"
                        .into(),
                ));
            }
            let task = edit(session, &e).await?;
            confirm(out, &task, "Updated");
        }
        Command::Done(a) => confirm(out, &session.set_completed(a.id, true).await?, "Completed"),
        Command::Undone(a) => confirm(out, &session.set_completed(a.id, false).await?, "Reopened"),
        Command::Rm(r) => {
            // After a question, delete only what was shown: a task changed meanwhile is
            // refused (version_conflict) rather than deleted unseen.
            let mut shown_version = None;
            if !r.yes && std::io::stdin().is_terminal() {
                let task = session.get_task(r.id).await?;
                if !ask(&format!(
                    "Delete task {}: {}? [y/N] ",
                    task.id,
                    shown(&task.title)
                ))? {
                    out.note("Nothing deleted.");
                    return Ok(());
                }
                shown_version = Some(task.version);
            }
            session.delete_task(r.id, shown_version).await?;
            out.note(&format!("Deleted task {}.", r.id));
        }
        Command::Auth(_) | Command::Completions { .. } | Command::Undo | Command::Log(_) | Command::Watch => {
            return Err(CliError::Failed("internal: not a task command".into()));
        }
    }
    Ok(())
}

fn confirm(out: Output, task: &todo_api::Task, verb: &str) {
    if out.json {
        out.print_json(task);
    } else {
        out.note(&format!("{verb} task {}: {}", task.id, shown(&task.title)));
    }
}

fn ask(question: &str) -> Result<bool, CliError> {
    eprint!("{question}");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| CliError::Failed(format!("cannot read the answer: {e}")))?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes"))
}

/// Sends only the flags given, as a merge patch: the server applies them to the task as
/// it is, so a change made elsewhere to another field (the TUI's, a script's) stays.
async fn edit(session: &Session, e: &crate::args::EditArgs) -> Result<todo_api::Task, CliError> {
    use todo_api::Patch;
    let patch = todo_api::TaskPatch {
        title: Patch::if_given(e.title.clone()),
        description: Patch::if_given(e.description.clone()),
        priority: Patch::if_given(e.priority),
        due_at: if e.no_due {
            Patch::Null
        } else {
            Patch::if_given(e.due)
        },
        tags: if e.no_tags {
            Patch::Value(Vec::new())
        } else {
            Patch::if_given((!e.tags.is_empty()).then(|| e.tags.clone()))
        },
        completed: Patch::Absent,
    };
    Ok(session.patch_task(e.id, &patch, None).await?)
}
