//! Drawing only: every function here reads the [`App`] and draws; none changes it.

mod account;
mod auth;
mod popups;
mod tasks;

pub use popups::FORM_NOTES;
pub use tasks::task_at;

use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};
use todo_api::text::printable;

use crate::app::{App, Screen};

const SPINNER: [&str; 10] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

/// Styles, with colour only when the terminal and `NO_COLOR` allow it. High contrast
/// takes bright colours and bold, and never dims text; without colour it still marks
/// with bold and underline.
#[derive(Clone, Copy)]
pub struct Theme {
    color: bool,
    high_contrast: bool,
}

impl Theme {
    pub fn of(app: &App) -> Theme {
        Theme {
            color: app.color,
            high_contrast: app.theme == todo_client::config::Theme::HighContrast,
        }
    }

    /// `normal`, or `bright` in high contrast; nothing without colour.
    fn fg(self, normal: Color, bright: Color) -> Style {
        match (self.color, self.high_contrast) {
            (false, _) => Style::new(),
            (true, false) => Style::new().fg(normal),
            (true, true) => Style::new().fg(bright),
        }
    }
    /// Bold in high contrast, where colour alone may not carry the meaning.
    fn strong(self, style: Style) -> Style {
        if self.high_contrast {
            style.add_modifier(Modifier::BOLD)
        } else {
            style
        }
    }
    pub fn error(self) -> Style {
        self.fg(Color::Red, Color::LightRed).add_modifier(Modifier::BOLD)
    }
    pub fn warning(self) -> Style {
        self.strong(self.fg(Color::Red, Color::LightRed))
    }
    pub fn ok(self) -> Style {
        self.strong(self.fg(Color::Green, Color::LightGreen))
    }
    pub fn dim(self) -> Style {
        if self.high_contrast {
            Style::new()
        } else {
            Style::new().add_modifier(Modifier::DIM)
        }
    }
    pub fn accent(self) -> Style {
        self.fg(Color::Cyan, Color::LightCyan)
            .add_modifier(Modifier::BOLD)
    }
    pub fn focus(self) -> Style {
        let style = self
            .fg(Color::Yellow, Color::LightYellow)
            .add_modifier(Modifier::BOLD);
        if self.high_contrast {
            style.add_modifier(Modifier::UNDERLINED)
        } else {
            style
        }
    }
    pub fn selected(self) -> Style {
        self.strong(Style::new().add_modifier(Modifier::REVERSED))
    }
    pub fn high(self) -> Style {
        self.fg(Color::Yellow, Color::LightYellow)
            .add_modifier(Modifier::BOLD)
    }
}

pub fn view(app: &App, frame: &mut Frame) {
    let theme = Theme::of(app);
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
