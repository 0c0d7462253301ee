//! Drawing only: every function here reads the [`App`] and draws; none changes it.

mod account;
mod auth;
mod popups;
mod tasks;

pub use popups::KEYS;

use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};
use todo_api::text::printable;

use crate::app::{App, Screen};

const SPINNER: [&str; 10] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

/// Styles, with colour only when the terminal and `NO_COLOR` allow it.
#[derive(Clone, Copy)]
pub struct Theme {
    color: bool,
}

impl Theme {
    fn fg(self, color: Color) -> Style {
        if self.color {
            Style::new().fg(color)
        } else {
            Style::new()
        }
    }
    pub fn error(self) -> Style {
        self.fg(Color::Red).add_modifier(Modifier::BOLD)
    }
    pub fn warning(self) -> Style {
        self.fg(Color::Red)
    }
    pub fn ok(self) -> Style {
        self.fg(Color::Green)
    }
    pub fn dim(self) -> Style {
        Style::new().add_modifier(Modifier::DIM)
    }
    pub fn accent(self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }
    pub fn focus(self) -> Style {
        self.fg(Color::Yellow).add_modifier(Modifier::BOLD)
    }
    pub fn selected(self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED)
    }
    pub fn high(self) -> Style {
        self.fg(Color::Yellow).add_modifier(Modifier::BOLD)
    }
}

pub fn view(app: &App, frame: &mut Frame) {
    let theme = Theme { color: app.color };
    let area = frame.area();
    match &app.screen {
        Screen::Connecting => {
            let text = format!("Connecting to {} {}", app.server, spinner(app));
            centered_message(frame, area, "todo", vec![Line::from(text)]);
        }
        Screen::Unreachable => {
            let detail = app
                .message
                .as_ref()
                .map(|m| printable(&m.text, false).into_owned())
                .unwrap_or_default();
            let lines = vec![
                Line::styled(
                    format!("Cannot reach the server at {}", app.server),
                    theme.error(),
                ),
                Line::from(""),
                Line::from(detail),
                Line::from(""),
                Line::from("r retry · q quit"),
            ];
            centered_message(frame, area, "todo: server unreachable", lines);
        }
        Screen::SignIn(form) => auth::sign_in(frame, area, app, form, theme),
        Screen::SignUp(form) => auth::sign_up(frame, area, app, form, theme),
        Screen::Tasks => tasks::task_screen(frame, area, app, theme),
    }
    if let Some(popup) = &app.popup {
        popups::popup(frame, area, app, popup, theme);
    }
}

pub fn spinner(app: &App) -> &'static str {
    if app.busy > 0 {
        SPINNER[app.spinner % SPINNER.len()]
    } else {
        ""
    }
}

/// A rectangle of at most `width` x `height`, centred in `area`.
pub fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let [row] = Layout::vertical([Constraint::Length(height.min(area.height))])
        .flex(Flex::Center)
        .areas(area);
    let [cell] = Layout::horizontal([Constraint::Length(width.min(area.width))])
        .flex(Flex::Center)
        .areas(row);
    cell
}

fn centered_message(frame: &mut Frame, area: Rect, title: &str, lines: Vec<Line<'_>>) {
    // Room for the longest line to wrap once or twice.
    let box_area = centered(area, 70, lines.len() as u16 + 4);
    frame.render_widget(Clear, box_area);
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(Block::bordered().title(title)),
        box_area,
    );
}

/// `label: value` with the focus mark, and the field's error under it when there is one.
pub fn field_lines<'a>(
    label: &'a str,
    value: String,
    focused: bool,
    error: Option<&'a str>,
    theme: Theme,
) -> Vec<Line<'a>> {
    let label_style = if focused { theme.focus() } else { Style::new() };
    let marker = if focused { "▸ " } else { "  " };
    let mut lines = vec![Line::from(vec![
        Span::styled(format!("{marker}{label:<13}"), label_style),
        Span::raw(value),
    ])];
    if let Some(error) = error {
        lines.push(Line::styled(format!("                 {error}"), theme.error()));
    }
    lines
}
