//! The task screen: table, detail pane and status line.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Paragraph, Row, Table, Wrap};
use time::OffsetDateTime;
use todo_api::text::printable;
use todo_api::{Priority, SortField, StatusFilter, Task};

use super::{Theme, spinner};
use crate::app::App;
use crate::app::LiveState;

/// Wide terminals get the detail pane on the right; narrow ones below the table.
const SIDE_PANE_FROM: u16 = 110;

pub fn format_local(app: &App, t: OffsetDateTime) -> String {
    todo_client::due::format_date_time(t, &app.zone)
}

fn due_cell(app: &App, task: &Task) -> String {
    task.due_at
        .map(|due| todo_client::due::format_due(due, &app.zone))
        .unwrap_or_default()
}

fn is_overdue(app: &App, task: &Task) -> bool {
    !task.completed && task.due_at.is_some_and(|d| d < app.now)
}

fn status_name(s: StatusFilter) -> &'static str {
    match s {
        StatusFilter::All => "all",
        StatusFilter::Pending => "pending",
        StatusFilter::Completed => "completed",
        StatusFilter::Waiting => "waiting",
        StatusFilter::Blocked => "blocked",
        StatusFilter::Unblocked => "unblocked",
    }
}

fn sort_name(s: SortField) -> &'static str {
    match s {
        SortField::Created => "newest",
        SortField::Updated => "recently updated",
        SortField::Due => "due date",
        SortField::Priority => "priority",
        SortField::Title => "title",
        SortField::Urgency => "urgency",
    }
}

/// Where the parts of the task screen go in `area`.
struct Parts {
    header: Rect,
    table: Rect,
    detail: Rect,
    status: Rect,
}

fn parts(area: Rect) -> Parts {
    let [header, body, status] =
        Layout::vertical([Constraint::Length(1), Constraint::Min(3), Constraint::Length(1)]).areas(area);
    let (table, detail) = if area.width >= SIDE_PANE_FROM {
        let [left, right] =
            Layout::horizontal([Constraint::Percentage(62), Constraint::Percentage(38)]).areas(body);
        (left, right)
    } else {
        let detail_height = match body.height {
            h if h > 24 => 10,
            h if h > 16 => 8,
            _ => 6,
        };
        let [top, bottom] =
            Layout::vertical([Constraint::Min(3), Constraint::Length(detail_height)]).areas(body);
        (top, bottom)
    };
    Parts {
        header,
        table,
        detail,
        status,
    }
}

pub fn task_screen(frame: &mut Frame, area: Rect, app: &App, theme: Theme) {
    let parts = parts(area);
    render_header(frame, parts.header, app, theme);
    render_table(frame, parts.table, app, theme);
    render_detail(frame, parts.detail, app, theme);
    render_status(frame, parts.status, app, theme);
}

/// The rows of tasks inside the table's border (below its header row), and the index
/// of the first task shown: the selection is kept on screen.
fn task_rows(app: &App, table: Rect) -> (Rect, usize) {
    let inner = Block::bordered().inner(table);
    let rows = Rect {
        y: inner.y.saturating_add(1),
        height: inner.height.saturating_sub(1),
        ..inner
    };
    let visible = usize::from(rows.height).max(1);
    (rows, app.list.selected.saturating_sub(visible - 1))
}

/// The index of the task drawn at (`column`, `row`) on a screen of `area`, for the mouse.
pub fn task_at(app: &App, area: Rect, column: u16, row: u16) -> Option<usize> {
    let (rows, offset) = task_rows(app, parts(area).table);
    let inside = column >= rows.x && column < rows.right() && row >= rows.y && row < rows.bottom();
    let index = offset + usize::from(row.checked_sub(rows.y)?);
    (inside && index < app.list.tasks.len()).then_some(index)
}

fn render_header(frame: &mut Frame, area: Rect, app: &App, theme: Theme) {
    let mut spans = vec![
        Span::styled(" todo ", theme.accent()),
        Span::raw(format!(
            " showing {} · sorted by {}",
            status_name(app.list.status),
            sort_name(app.list.sort)
        )),
    ];
    if !app.list.search.is_empty() {
        spans.push(Span::raw(format!(" · search \"{}\"", app.list.search)));
    }
    if let Some(tag) = &app.list.tag {
        spans.push(Span::raw(format!(" · tag #{tag}")));
    }
    if let Some(project) = app.projects.describe(app.list.project) {
        spans.push(Span::raw(format!(" · {}", printable(&project, false))));
    }
    frame.render_widget(Line::from(spans), area);
}

fn render_table(frame: &mut Frame, area: Rect, app: &App, theme: Theme) {
    let block = Block::bordered().title(format!(" Tasks ({}) ", app.list.total));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if app.list.tasks.is_empty() {
        let text = if !app.list.loaded {
            "Loading…".to_string()
        } else if app.list.search.is_empty() && app.list.tag.is_none() && app.list.status == StatusFilter::All
        {
            "No tasks yet. Press a to add one, ? for help.".to_string()
        } else if app.list.search.is_empty()
            && app.list.tag.is_none()
            && app.list.status == StatusFilter::Pending
        {
            "Nothing left to do. Press a to add a task, f to show completed ones, ? for help.".to_string()
        } else {
            "No task matches. Press Esc to clear the search and tag, f to change the filter.".to_string()
        };
        frame.render_widget(
            Paragraph::new(text).style(theme.dim()).wrap(Wrap { trim: true }),
            inner,
        );
        return;
    }
    // Only the visible rows are built, so thousands of tasks scroll as fast as ten.
    let (rows_area, offset) = task_rows(app, area);
    let visible = usize::from(rows_area.height).max(1);
    // The id, as `todo done 12` wants it: as wide as the widest one shown.
    let id_width = app
        .list
        .tasks
        .iter()
        .skip(offset)
        .take(visible)
        .map(|t| t.id.to_string().len())
        .max()
        .unwrap_or(2)
        .max(2) as u16;
    let parents = crate::tree::parents(&app.list.tasks);
    let rows = app
        .list
        .tasks
        .iter()
        .enumerate()
        .skip(offset)
        .take(visible)
        .map(|(i, task)| {
            let overdue = is_overdue(app, task);
            let priority = match task.priority {
                Priority::High => Cell::from("high").style(theme.high()),
                Priority::Medium => Cell::from("med"),
                Priority::Low => Cell::from("low").style(theme.dim()),
            };
            let due = Cell::from(due_cell(app, task)).style(if overdue {
                theme.warning()
            } else {
                Default::default()
            });
            let project = task.project_id.map(|id| match app.projects.name(id) {
                Some(name) => format!("[{}]", printable(name, false)),
                None => "[shared]".to_string(),
            });
            let tags = project
                .into_iter()
                .chain(task.tags.iter().map(|t| format!("#{}", printable(t, false))))
                .collect::<Vec<_>>()
                .join(" ");
            let row = Row::new(vec![
                Cell::from(if task.completed { "✓" } else { " " }),
                Cell::from(format!("{:>width$}", task.id, width = usize::from(id_width))).style(theme.dim()),
                priority,
                due,
                Cell::from(format!(
                    "{}{}",
                    if queued(app, task.id) { "⇡ " } else { "" },
                    title_cell(task, crate::tree::depth(&parents, task), app.list.is_folded(task))
                )),
                Cell::from(tags).style(theme.dim()),
            ]);
            let row = if task.completed {
                row.style(theme.dim())
            } else {
                row
            };
            if i == app.list.selected {
                row.style(theme.selected())
            } else {
                row
            }
        });
    let widths = [
        Constraint::Length(1),
        Constraint::Length(id_width),
        Constraint::Length(4),
        Constraint::Length(16),
        Constraint::Fill(3),
        Constraint::Fill(1),
    ];
    let header = Row::new(["", "ID", "PRI", "DUE", "TITLE", "TAGS"]).style(theme.accent());
    frame.render_widget(Table::new(rows, widths).header(header).column_spacing(1), inner);
}

/// Whether a change to task `id` waits in the queue (made offline).
fn queued(app: &App, id: i64) -> bool {
    app.local.as_ref().is_some_and(|l| l.queued_ids.contains(&id))
}

/// A title as the list shows it: indented under its parent, marked when it waits for a
/// pending task, with its subtasks' progress (`▸` when they are folded away).
fn title_cell(task: &Task, depth: usize, folded: bool) -> String {
    let indent = match depth {
        0 => String::new(),
        n => format!("{}↳ ", "  ".repeat(n - 1)),
    };
    let blocked = if task.blocked && !task.completed {
        "⊘ "
    } else {
        ""
    };
    let progress = match task.subtasks {
        s if s.total > 0 && folded => format!(" ▸ [{}/{}]", s.completed, s.total),
        s if s.total > 0 => format!(" [{}/{}]", s.completed, s.total),
        _ => String::new(),
    };
    format!("{indent}{blocked}{}{progress}", printable(&task.title, false))
}

fn render_detail(frame: &mut Frame, area: Rect, app: &App, theme: Theme) {
    let offset = app.detail_offset();
    let block = Block::bordered().title(match offset {
        0 => " Detail ".to_string(),
        n => format!(" Detail ↓{n} (J/K) "),
    });
    let Some(task) = app.list.selected_task() else {
        frame.render_widget(block, area);
        return;
    };
    let overdue = is_overdue(app, task);
    let mut lines = vec![
        Line::styled(
            format!("#{} {}", task.id, printable(&task.title, false)),
            theme.accent(),
        ),
        Line::from(format!(
            "{} · priority {}",
            if task.completed { "completed" } else { "pending" },
            task.priority.as_str()
        )),
    ];
    if let Some(due) = task.due_at {
        let text = format!(
            "due {}{}",
            format_local(app, due),
            if overdue { " (overdue)" } else { "" }
        );
        lines.push(Line::styled(
            text,
            if overdue {
                theme.warning()
            } else {
                Default::default()
            },
        ));
    }
    if !task.tags.is_empty() {
        lines.push(Line::from(format!(
            "tags {}",
            printable(&task.tags.join(", "), false)
        )));
    }
    if let Some(recurrence) = &task.recurrence {
        lines.push(Line::from(format!(
            "repeats {} ({}) · instance {}",
            printable(&recurrence.rule, false),
            printable(&recurrence.time_zone, false),
            task.occurrence.unwrap_or(1)
        )));
    }
    if let Some(project) = task.project_id {
        let name = app.projects.name(project).unwrap_or("a shared project");
        let me = app.user.as_ref().map(|u| u.id);
        let by = app.projects.changed_by(task, me).unwrap_or_default();
        lines.push(Line::from(format!(
            "in {} · changed last by {}",
            printable(name, false),
            printable(&by, false)
        )));
    }
    if let Some(parent) = task.parent_id {
        lines.push(Line::from(format!("subtask of #{parent}")));
    }
    if task.subtasks.total > 0 {
        lines.push(Line::from(format!(
            "subtasks {} of {} done",
            task.subtasks.completed, task.subtasks.total
        )));
    }
    if !task.depends_on.is_empty() {
        let ids: Vec<String> = task.depends_on.iter().map(|id| format!("#{id}")).collect();
        lines.push(Line::styled(
            format!(
                "waits for {}{}",
                ids.join(", "),
                if task.blocked { " · blocked" } else { "" }
            ),
            if task.blocked {
                theme.warning()
            } else {
                Default::default()
            },
        ));
    }
    if let Some(wait) = task.wait_until {
        lines.push(Line::from(format!("hidden until {}", format_local(app, wait))));
    }
    if let Some(remind) = task.remind_at {
        lines.push(Line::from(format!("reminder {}", format_local(app, remind))));
    }
    // The description before the timestamps: it matters more when the pane is short.
    let description = printable(&task.description, true);
    lines.extend(description.lines().map(|l| Line::from(l.to_string())));
    // Notes after it, oldest first, as they were added.
    match app.selected_notes() {
        Some(notes) if !notes.is_empty() => {
            lines.push(Line::styled(format!("notes ({})", notes.len()), theme.accent()));
            for note in notes {
                lines.push(Line::styled(
                    format!("· {}", format_local(app, note.created_at)),
                    theme.dim(),
                ));
                let text = printable(&note.text, true);
                lines.extend(text.lines().map(|l| Line::from(format!("  {l}"))));
            }
        }
        _ if task.note_count > 0 => lines.push(Line::styled(
            format!("{} notes (loading…)", task.note_count),
            theme.dim(),
        )),
        _ => {}
    }
    lines.push(Line::styled(
        format!(
            "created {} · updated {}",
            format_local(app, task.created_at),
            format_local(app, task.updated_at)
        ),
        theme.dim(),
    ));
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .scroll((offset, 0))
            .block(block),
        area,
    );
}

/// The status line. What matters most gets the room first: the message, then `? help`
/// and the spinner, the counts, the live state, and who and where last; parts that do not
/// fit are left out (the message is cut with `…` only when it alone is too long).
fn render_status(frame: &mut Frame, area: Rect, app: &App, theme: Theme) {
    let who = app
        .user
        .as_ref()
        .map_or("?".into(), |u| printable(&u.email, false));
    let done = app.list.tasks.iter().filter(|t| t.completed).count();
    let identity = Span::styled(format!(" {who} @ {} │", app.server), theme.accent());
    let counts = Span::raw(format!(
        " {} shown, {done} done, {} in all │",
        app.list.tasks.len(),
        app.list.total
    ));
    let live = match (&app.local, &app.live) {
        (Some(local), _) => Span::styled(local_status(app, local), theme.warning()),
        (None, LiveState::Live) => Span::styled(" ● live │", theme.ok()),
        (None, LiveState::Connecting) => Span::raw(" ○ connecting │"),
        (None, LiveState::Reconnecting(_)) => Span::styled(" ○ reconnecting │", theme.error()),
        (None, LiveState::Off) => Span::raw(""),
    };
    let help = Span::raw(format!(" {} ? help", spinner(app)));
    let width = area.width as usize;
    let mut room = width.saturating_sub(help.width());
    let message = app.message.as_ref().map(|m| {
        let style = if m.is_error { theme.error() } else { theme.ok() };
        let text = format!(" {} │", printable(&m.text, false));
        Span::styled(cut_to(&text, room), style)
    });
    room = room.saturating_sub(message.as_ref().map_or(0, Span::width));
    // Lower parts only while they fit, in this order of importance.
    let mut keep = [false; 3];
    let parts = [&counts, &live, &identity];
    // Offline, that the list is the local copy matters more than the counts.
    let order = if app.local.is_some() { [1, 0, 2] } else { [0, 1, 2] };
    for i in order {
        if parts[i].width() <= room {
            room -= parts[i].width();
            keep[i] = true;
        }
    }
    let mut spans = Vec::new();
    if keep[2] {
        spans.push(identity);
    }
    if keep[0] {
        spans.push(counts);
    }
    if keep[1] {
        spans.push(live);
    }
    spans.extend(message);
    spans.push(help);
    frame.render_widget(Line::from(spans), area);
}

/// The status of a list drawn from the local copy: offline (or not yet asked), how old
/// the copy is, what is queued, conflicts to decide.
fn local_status(app: &App, local: &crate::app::LocalState) -> String {
    let state = if local.why.is_empty() {
        "◌ local copy"
    } else {
        "✕ offline"
    };
    let age = local
        .synced_at
        .map(|at| format!(" {} old", todo_client::due::age(app.now - at)))
        .unwrap_or_default();
    let queued = match local.queued {
        0 => String::new(),
        n => format!(" · ⇡{n} queued"),
    };
    let conflicts = match local.conflicts {
        0 => String::new(),
        n => format!(" · {n} conflicts (C)"),
    };
    format!(" {state}{age}{queued}{conflicts} │")
}

/// `text` cut to `width` columns, ending in `…` when cut.
fn cut_to(text: &str, width: usize) -> String {
    use unicode_width::UnicodeWidthChar;
    if unicode_width::UnicodeWidthStr::width(text) <= width {
        return text.to_string();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = c.width().unwrap_or(0);
        if used + w + 1 > width {
            break;
        }
        used += w;
        out.push(c);
    }
    out.push('…');
    out
}
