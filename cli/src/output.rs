//! How results reach the user: an aligned table or task detail on stdout for people,
//! the API's JSON for scripts, confirmations on stderr.

use std::sync::OnceLock;

use crate::io::Io;
use anstyle::{AnsiColor, Style};
use time::OffsetDateTime;
use todo_api::{Priority, Task};
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

static LOCAL_ZONE: OnceLock<todo_client::due::TimeZone> = OnceLock::new();

/// Reads the local time zone (with its daylight-saving rules) once.
pub fn init_local_offset() {
    let _ = LOCAL_ZONE.set(todo_client::due::local_zone());
}

/// Text from the server as it may be shown on a terminal: every control and bidi
/// character escaped, whatever a server sends (ours refuses them; another may not).
pub fn shown(text: &str) -> std::borrow::Cow<'_, str> {
    todo_api::text::printable(text, false)
}

pub fn local_now() -> OffsetDateTime {
    todo_client::due::in_zone(OffsetDateTime::now_utc(), local_zone())
}

fn local_zone() -> &'static todo_client::due::TimeZone {
    LOCAL_ZONE.get_or_init(todo_client::due::local_zone)
}

/// Styles of the human output. Written through `anstream`, which drops them when stdout
/// is not a terminal, when `NO_COLOR` is set, or after `--no-color`.
const BOLD: Style = Style::new().bold();
const DIM: Style = Style::new().dimmed();
const WARNING: Style = AnsiColor::Red.on_default();

/// Sets the colour choice for the whole process: `--no-color` and `color = "never"`
/// win; `NO_COLOR` and pipes are handled by `anstream`.
pub fn choose_color(no_color: bool) {
    if no_color {
        anstream::ColorChoice::Never.write_global();
    }
}

fn paint(style: Style, text: &str) -> String {
    format!("{style}{text}{style:#}")
}

/// A task's subtasks under `todo show`: indented by level, done ones ticked.
pub fn print_subtask_tree(io: &mut Io, tree: &[(usize, Task)]) {
    if io.json() || tree.is_empty() {
        return;
    }
    crate::outln!(io, "  subtask tree:");
    for (depth, task) in tree {
        crate::outln!(
            io,
            "  {}{} {} {}",
            "  ".repeat(*depth),
            if task.completed { "✓" } else { "·" },
            paint(DIM, &format!("#{}", task.id)),
            shown(&task.title)
        );
    }
}

pub fn print_task(io: &mut Io, task: &Task) {
    if io.json() {
        return io.print_json(task);
    }
    let now = OffsetDateTime::now_utc();
    crate::outln!(
        io,
        "{} {}",
        paint(BOLD, &format!("#{}", task.id)),
        shown(&task.title)
    );
    crate::outln!(
        io,
        "  status:    {}",
        if task.completed { "completed" } else { "pending" }
    );
    crate::outln!(io, "  priority:  {}", task.priority.as_str());
    if let Some(due) = task.due_at {
        let overdue = !task.completed && due < now;
        let text = format!("{}{}", format_time(due), if overdue { " (overdue)" } else { "" });
        crate::outln!(
            io,
            "  due:       {}",
            if overdue { paint(WARNING, &text) } else { text }
        );
    }
    if let Some(recurrence) = &task.recurrence {
        crate::outln!(
            io,
            "  repeats:   {} ({}), instance {}",
            shown(&recurrence.rule),
            shown(&recurrence.time_zone),
            task.occurrence.unwrap_or(1)
        );
    }
    if !task.tags.is_empty() {
        crate::outln!(io, "  tags:      {}", shown(&task.tags.join(", ")));
    }
    if let Some(parent) = task.parent_id {
        crate::outln!(io, "  subtask of #{parent}");
    }
    if task.subtasks.total > 0 {
        crate::outln!(
            io,
            "  subtasks:  {} of {} done (todo list --parent {})",
            task.subtasks.completed,
            task.subtasks.total,
            task.id
        );
    }
    if !task.depends_on.is_empty() {
        let ids: Vec<String> = task.depends_on.iter().map(|id| format!("#{id}")).collect();
        let state = if task.blocked {
            " (blocked: one is pending)"
        } else {
            ""
        };
        crate::outln!(io, "  waits for: {}{state}", ids.join(", "));
    }
    if let Some(wait) = task.wait_until {
        crate::outln!(io, "  hidden until: {}", format_time(wait));
    }
    if let Some(remind) = task.remind_at {
        crate::outln!(io, "  reminder:  {}", format_time(remind));
    }
    crate::outln!(io, "  created:   {}", format_time(task.created_at));
    crate::outln!(io, "  updated:   {}", format_time(task.updated_at));
    if let Some(done) = task.completed_at {
        crate::outln!(io, "  completed: {}", format_time(done));
    }
    if !task.description.is_empty() {
        crate::outln!(io);
        for line in todo_api::text::printable(&task.description, true).lines() {
            crate::outln!(io, "  {line}");
        }
    }
    print_notes(io, task);
}

/// A task's notes, oldest first, each under its time and the start of its id (what
/// `todo note ID --delete` takes).
fn print_notes(io: &mut Io, task: &Task) {
    let Some(notes) = task.notes.as_ref().filter(|n| !n.is_empty()) else {
        return;
    };
    crate::outln!(io);
    crate::outln!(io, "  notes:");
    for note in notes {
        let id = note.id.to_string();
        crate::outln!(io, "  {} {}", paint(DIM, &id[..8]), format_time(note.created_at));
        for line in todo_api::text::printable(&note.text, true).lines() {
            crate::outln!(io, "    {line}");
        }
    }
}

/// Project names by id, to show which project a shared task is in.
pub type ProjectNames = std::collections::HashMap<uuid::Uuid, String>;

pub fn print_tasks(io: &mut Io, tasks: &[Task], total: u64, projects: &ProjectNames) {
    if io.json() {
        return io.print_json(&tasks);
    }
    if tasks.is_empty() {
        io.note("No tasks.");
        return;
    }
    let width = io.stdout_width();
    let now = OffsetDateTime::now_utc();
    for line in render_table(tasks, projects, now, width) {
        let painted = match (line.overdue, line.done) {
            (_, true) => paint(DIM, &line.text),
            (true, false) => paint(WARNING, &line.text),
            _ => line.text,
        };
        crate::outln!(io, "{painted}");
    }
    if (tasks.len() as u64) < total {
        io.note(&format!(
            "{} of {total} tasks shown; use --limit and --offset for more.",
            tasks.len()
        ));
    }
}

pub fn format_time(t: OffsetDateTime) -> String {
    todo_client::due::format_date_time(t, local_zone())
}

fn format_due(t: OffsetDateTime) -> String {
    todo_client::due::format_due(t, local_zone())
}

fn priority_label(p: Priority) -> &'static str {
    match p {
        Priority::High => "high",
        Priority::Medium => "med",
        Priority::Low => "low",
    }
}

#[derive(Debug)]
pub struct TableLine {
    pub text: String,
    pub overdue: bool,
    pub done: bool,
}

/// Aligns the columns; the title (then the tags) is cut with `…` to fit `width`.
/// The task table; a task in a project shows the project's name in brackets before its
/// tags.
pub fn render_table(
    tasks: &[Task],
    projects: &ProjectNames,
    now: OffsetDateTime,
    width: Option<usize>,
) -> Vec<TableLine> {
    struct Row {
        cells: [String; 4],
        title: String,
        tags: String,
        overdue: bool,
        done: bool,
    }
    let rows: Vec<Row> = tasks
        .iter()
        .map(|t| {
            let overdue = !t.completed && t.due_at.is_some_and(|d| d < now);
            let due = t.due_at.map(format_due).unwrap_or_default();
            Row {
                cells: [
                    t.id.to_string(),
                    if t.completed { "x".into() } else { " ".into() },
                    priority_label(t.priority).into(),
                    if overdue { format!("{due}!") } else { due },
                ],
                title: shown(&t.title).into_owned(),
                tags: t
                    .project_id
                    .map(|p| match projects.get(&p) {
                        Some(name) => format!("[{}]", shown(name)),
                        None => "[shared]".to_string(),
                    })
                    .into_iter()
                    .chain(t.tags.iter().map(|tag| format!("#{}", shown(tag))))
                    .collect::<Vec<_>>()
                    .join(" "),
                overdue,
                done: t.completed,
            }
        })
        .collect();
    let header = ["ID", "", "PRI", "DUE"];
    let mut widths = header.map(UnicodeWidthStr::width);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(&row.cells) {
            *w = (*w).max(cell.width());
        }
    }
    let fixed: usize = widths.iter().sum::<usize>() + 2 * widths.len();
    let title_width = rows.iter().map(|r| r.title.width()).max().unwrap_or(0).max(5);
    let room = width.map(|w| w.saturating_sub(fixed));
    let title_width = room.map_or(title_width, |room| title_width.min(room.max(10)));

    let line = |cells: [&str; 4], title: &str, tags: &str| {
        let mut text = String::new();
        for ((cell, w), right) in cells.iter().zip(widths).zip([true, false, false, false]) {
            let gap = " ".repeat(w.saturating_sub(cell.width()));
            if right {
                text.push_str(&format!("{gap}{cell}  "));
            } else {
                text.push_str(&format!("{cell}{gap}  "));
            }
        }
        let title = truncate(title, title_width);
        text.push_str(&title);
        text.push_str(&" ".repeat(title_width.saturating_sub(title.width())));
        if !tags.is_empty() {
            text.push_str("  ");
            text.push_str(tags);
        }
        match width {
            Some(w) => truncate(text.trim_end(), w),
            None => text.trim_end().to_string(),
        }
    };
    let mut lines = vec![TableLine {
        text: line(header, "TITLE", "TAGS"),
        overdue: false,
        done: false,
    }];
    for row in &rows {
        let cells = [&*row.cells[0], &*row.cells[1], &*row.cells[2], &*row.cells[3]];
        lines.push(TableLine {
            text: line(cells, &row.title, &row.tags),
            overdue: row.overdue,
            done: row.done,
        });
    }
    lines
}

/// Cuts `text` to `width` terminal columns (CJK and emoji take two), ending in `…`.
fn truncate(text: &str, width: usize) -> String {
    if text.width() <= width {
        return text.to_string();
    }
    let mut cut = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = c.width().unwrap_or(0);
        if used + w > width.saturating_sub(1) {
            break;
        }
        used += w;
        cut.push(c);
    }
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn task(id: i64, title: &str) -> Task {
        Task {
            id,
            user_id: uuid::Uuid::nil(),
            version: 1,
            title: title.into(),
            description: String::new(),
            completed: false,
            priority: Priority::Medium,
            due_at: None,
            tags: vec![],
            created_at: datetime!(2030-01-01 0:00 UTC),
            updated_at: datetime!(2030-01-01 0:00 UTC),
            completed_at: None,
            source_id: None,
            project_id: None,
            created_by: uuid::Uuid::nil(),
            updated_by: uuid::Uuid::nil(),
            recurrence: None,
            series_id: None,
            occurrence: None,
            notes: None,
            note_count: 0,
            parent_id: None,
            subtasks: Default::default(),
            wait_until: None,
            remind_at: None,
            remind_before: None,
            depends_on: Vec::new(),
            blocked: false,
        }
    }

    #[test]
    fn table_aligns_columns_and_marks_overdue_and_done() {
        let now = datetime!(2030-06-01 12:00 UTC);
        let mut late = task(7, "file taxes");
        late.due_at = Some(datetime!(2030-05-01 23:59:59 UTC));
        late.tags = vec!["home".into()];
        let mut done = task(12, "buy milk");
        done.completed = true;
        done.priority = Priority::High;
        let lines = render_table(&[late, done], &ProjectNames::new(), now, None);
        let texts: Vec<&str> = lines.iter().map(|l| l.text.as_str()).collect();
        assert_eq!(texts[0], "ID     PRI   DUE          TITLE       TAGS");
        assert_eq!(texts[1], " 7     med   2030-05-01!  file taxes  #home");
        assert_eq!(texts[2], "12  x  high               buy milk");
        assert!(lines[1].overdue && !lines[1].done);
        assert!(lines[2].done);
    }

    #[test]
    fn table_fits_the_terminal_width() {
        let now = datetime!(2030-06-01 12:00 UTC);
        let lines = render_table(
            &[task(1, &"long title ".repeat(20))],
            &ProjectNames::new(),
            now,
            Some(40),
        );
        for line in &lines {
            assert!(line.text.width() <= 40, "{:?}", line.text);
        }
        assert!(lines[1].text.ends_with('…'));
    }

    /// Wide characters take two columns: the columns after a CJK or emoji title still
    /// line up, and a cut title never overflows.
    #[test]
    fn wide_titles_keep_the_columns_aligned() {
        let now = datetime!(2030-06-01 12:00 UTC);
        let mut wide = task(1, "牛乳を買う 🥛");
        wide.tags = vec!["home".into()];
        let mut narrow = task(2, "buy milk");
        narrow.tags = vec!["shop".into()];
        let lines = render_table(&[wide, narrow], &ProjectNames::new(), now, None);
        let tag_column = |line: &str| line.find('#').map(|byte| line[..byte].width());
        assert_eq!(
            tag_column(&lines[1].text),
            tag_column(&lines[2].text),
            "{lines:#?}"
        );
        let cut = render_table(
            &[task(3, &"漢字".repeat(40))],
            &ProjectNames::new(),
            now,
            Some(40),
        );
        assert!(cut.iter().all(|l| l.text.width() <= 40), "{cut:#?}");
    }
}
