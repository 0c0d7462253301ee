//! Popups over the task screen: help, delete confirmation, add/edit form, search, tag.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};
use todo_api::text::printable;

use unicode_width::UnicodeWidthStr;

use super::{Theme, centered, field_lines, spinner};
use crate::app::{App, FormField, Popup, TaskForm};

/// The form's keys, under the task screen's in the help overlay.
pub const FORM_NOTES: &[(&str, &str)] = &[
    ("In the form", "Tab/Shift-Tab move · Enter or Ctrl-S save"),
    ("", "Enter in the description adds a line"),
    ("", "←/→ or l/m/h set the priority · Esc cancels"),
];

/// The help overlay: the task screen's keys as the key map has them (overrides
/// included), then the form's; the form's go first when the terminal is short.
fn help_lines(app: &App, height: u16) -> (Vec<Line<'static>>, u16) {
    let rows = app.keys.help();
    let width = rows
        .iter()
        .map(|(k, _)| k.width())
        .chain(FORM_NOTES.iter().map(|(k, _)| k.width()))
        .max()
        .unwrap_or(0);
    let pad = |k: &str| format!("{k}{}", " ".repeat(width.saturating_sub(k.width())));
    let mut lines: Vec<Line> = rows
        .iter()
        .map(|(k, what)| Line::from(format!(" {} {what}", pad(k))))
        .collect();
    if rows.len() + FORM_NOTES.len() + 3 <= height as usize {
        lines.push(Line::from(""));
        lines.extend(
            FORM_NOTES
                .iter()
                .map(|(k, what)| Line::from(format!(" {} {what}", pad(k)))),
        );
    }
    let text_width = lines.iter().map(|l| l.width()).max().unwrap_or(0) as u16;
    (lines, text_width + 3)
}

pub fn popup(frame: &mut Frame, area: Rect, app: &App, popup: &Popup, theme: Theme) {
    match popup {
        Popup::Help => {
            // On a short terminal the form's notes go (the form's own footer says them),
            // so every key of the list stays readable.
            let (lines, width) = help_lines(app, area.height);
            boxed(
                frame,
                centered(area, width, lines.len() as u16 + 2),
                " Keys (any key closes) ",
                lines,
            );
        }
        Popup::ConfirmDelete { id, title, .. } => {
            let lines = vec![
                Line::from(format!(" Delete task {id}: {}?", printable(title, false))),
                Line::from(""),
                Line::from(" y delete · any other key keeps it"),
            ];
            boxed(frame, centered(area, 60, 5), " Delete ", lines);
        }
        Popup::ConfirmSignOut => {
            let lines = vec![
                Line::from(format!(" Sign out of {}?", printable(&app.server, false))),
                Line::from(""),
                Line::from(" y sign out · any other key stays"),
            ];
            boxed(frame, centered(area, 60, 5), " Sign out ", lines);
        }
        Popup::Note { task, text, error } => {
            let mut lines = vec![Line::from(format!(" {}", text.marked()))];
            match error {
                Some(error) => lines.push(Line::styled(
                    format!(" {}", printable(error, false)),
                    theme.warning(),
                )),
                None => lines.push(Line::styled(" Enter adds · Esc cancels", theme.dim())),
            }
            boxed(frame, centered(area, 60, 4), &format!(" Note on #{task} "), lines);
        }
        Popup::Search(field) => {
            let lines = vec![
                Line::from(format!(" {}", field.marked())),
                Line::styled(" searches as you type · Enter keep · Esc undo", theme.dim()),
            ];
            boxed(
                frame,
                centered(area, 60, 4),
                " Search title and description ",
                lines,
            );
        }
        Popup::Tag(field) => {
            let offered = app.list.tags_starting(field.text().trim());
            let mut lines = vec![Line::from(format!(" #{}", field.marked()))];
            if !offered.is_empty() {
                let shown: Vec<String> = offered
                    .iter()
                    .take(6)
                    .map(|t| printable(t, false).into_owned())
                    .collect();
                lines.push(Line::styled(format!(" {}", shown.join(" ")), theme.dim()));
            }
            lines.push(Line::styled(
                " filters as you type · Tab completes · Enter keep · Esc undo",
                theme.dim(),
            ));
            let height = lines.len() as u16 + 2;
            boxed(frame, centered(area, 60, height), " Filter by tag ", lines);
        }
        Popup::Form(form) => task_form(frame, area, app, form, theme),
        Popup::Conflicts(panel) => conflicts(frame, area, panel, theme),
        Popup::Account(panel) => super::account::panel(frame, area, app, panel, theme),
    }
}

fn boxed(frame: &mut Frame, area: Rect, title: &str, lines: Vec<Line<'_>>) {
    frame.render_widget(Clear, area);
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(Block::bordered().title(title)),
        area,
    );
}

/// A field as drawn: with the cursor mark where typing goes when it has the focus.
fn shown_field(field: &crate::text_field::TextField, focused: bool) -> String {
    if focused {
        field.marked()
    } else {
        field.text().to_string()
    }
}

fn task_form(frame: &mut Frame, area: Rect, app: &App, form: &TaskForm, theme: Theme) {
    let error = |f: FormField| form.errors.get(&f).map(String::as_str);
    let focused = |f: FormField| form.focus == f;
    let mut lines = Vec::new();
    lines.extend(field_lines(
        "Title",
        shown_field(&form.title, focused(FormField::Title)),
        focused(FormField::Title),
        error(FormField::Title),
        theme,
    ));
    let description_text = shown_field(&form.description, focused(FormField::Description));
    let description: Vec<&str> = description_text.split('\n').collect();
    for (i, part) in description.iter().enumerate() {
        let text = part.to_string();
        if i == 0 {
            lines.extend(field_lines(
                "Description",
                text,
                focused(FormField::Description),
                None,
                theme,
            ));
        } else {
            lines.push(Line::from(format!("{:15}{text}", "")));
        }
    }
    if let Some(e) = error(FormField::Description) {
        lines.push(Line::styled(format!("{:17}{e}", ""), theme.error()));
    }
    let priority = ["low", "medium", "high"]
        .iter()
        .map(|p| {
            if *p == form.priority.as_str() {
                format!("[{p}]")
            } else {
                format!(" {p} ")
            }
        })
        .collect::<Vec<_>>()
        .join(" ");
    lines.extend(field_lines(
        "Priority",
        priority,
        focused(FormField::Priority),
        None,
        theme,
    ));
    lines.extend(field_lines(
        "Due",
        shown_field(&form.due, focused(FormField::Due)),
        focused(FormField::Due),
        error(FormField::Due),
        theme,
    ));
    // A field's hint shows while it has the focus: the form fits 80x24.
    if focused(FormField::Due) {
        lines.push(Line::styled(
            format!("{:17}friday, tomorrow 9am, +3d, eow, 2030-01-31; empty: none", ""),
            theme.dim(),
        ));
    }
    lines.extend(field_lines(
        "Repeat",
        shown_field(&form.repeat, focused(FormField::Repeat)),
        focused(FormField::Repeat),
        error(FormField::Repeat),
        theme,
    ));
    // The next dates show whenever there is a rule, so a due date's change shows in them.
    if focused(FormField::Repeat) || !form.repeat.text().trim().is_empty() {
        lines.push(Line::styled(
            format!("{:17}{}", "", crate::update::repeat_preview(app, form)),
            theme.dim(),
        ));
    }
    lines.extend(field_lines(
        "Remind",
        shown_field(&form.remind, focused(FormField::Remind)),
        focused(FormField::Remind),
        error(FormField::Remind),
        theme,
    ));
    if focused(FormField::Remind) {
        lines.push(Line::styled(
            format!("{:17}30m, 2h, 1d before the due date, or a moment", ""),
            theme.dim(),
        ));
    }
    lines.extend(field_lines(
        "Tags",
        shown_field(&form.tags, focused(FormField::Tags)),
        focused(FormField::Tags),
        error(FormField::Tags),
        theme,
    ));
    // The form's own error takes the spacer's line: the save line stays in at 80x24.
    match &form.error {
        Some(e) => lines.push(Line::styled(format!(" {e}"), theme.error())),
        None => lines.push(Line::from("")),
    }
    let state = if form.saving {
        format!("saving {}", spinner(app))
    } else {
        String::new()
    };
    lines.push(Line::styled(
        format!(" Enter/Ctrl-S save · Tab next · Esc cancel   {state}"),
        theme.dim(),
    ));
    let title = match form.editing {
        Some(id) => format!(" Edit task {id} "),
        None => " New task ".to_string(),
    };
    let height = (lines.len() as u16 + 2).max(12);
    boxed(frame, centered(area, 76, height), &title, lines);
}

/// The queue's conflicts: each refused change, and for the selected one its fields
/// theirs beside mine.
fn conflicts(frame: &mut Frame, area: Rect, panel: &crate::app::ConflictPanel, theme: Theme) {
    let (items, selected) = (&panel.items, panel.selected);
    let mut lines = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let marker = if i == selected { "▸" } else { " " };
        let line = format!(
            "{marker} {} ({})",
            printable(&item.change, false),
            printable(&item.reason, false)
        );
        lines.push(if i == selected {
            Line::styled(line, theme.focus())
        } else {
            Line::from(line)
        });
    }
    if let Some(item) = items.get(selected) {
        lines.push(Line::from(""));
        lines.push(Line::styled(
            format!(
                "    {:<12} {:<27} {:<27}",
                "field", "theirs (on the server)", "mine (made offline)"
            ),
            theme.accent(),
        ));
        for (i, (field, theirs, mine)) in item.fields.iter().enumerate() {
            let keeps_mine = panel.mine.get(i).copied().unwrap_or(true);
            let (left, right) = if keeps_mine { (" ", "●") } else { ("●", " ") };
            let line = format!(
                "  {} {:<12}{left}{:<27}{right}{:<27}",
                if i == panel.field { "▸" } else { " " },
                cut(field, 12),
                cut(theirs, 27),
                cut(mine, 27)
            );
            lines.push(if i == panel.field {
                Line::styled(line, theme.focus())
            } else {
                Line::from(line)
            });
        }
    }
    lines.push(Line::from(""));
    lines.push(Line::styled(
        " m mine · t theirs · Tab/space pick per field (●), Enter sends · j/k · Esc",
        theme.dim(),
    ));
    let height = (lines.len() as u16 + 2).min(area.height);
    boxed(
        frame,
        centered(area, 76, height),
        " Changes made offline, refused ",
        lines,
    );
}

fn cut(text: &str, width: usize) -> String {
    let text = printable(text, false);
    if text.width() <= width {
        return text.into_owned();
    }
    let mut out = String::new();
    for c in text.chars() {
        if out.width() + 2 > width {
            break;
        }
        out.push(c);
    }
    out.push('…');
    out
}
