//! The account panel: sessions, the question before ending one, the password form.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};
use todo_api::text::printable;

use super::{Theme, centered, field_lines, spinner};
use crate::account::{AccountMode, AccountPanel, PasswordChangeField};
use crate::app::App;

fn session_lines(app: &App, panel: &AccountPanel, theme: Theme) -> Vec<Line<'static>> {
    let Some(sessions) = &panel.sessions else {
        return vec![Line::styled("  Loading…", theme.dim())];
    };
    let mut lines = vec![Line::styled(
        format!("  {:<17} {:<16} {}", "LAST USED", "ADDRESS", "DEVICE"),
        theme.dim(),
    )];
    for (i, s) in sessions.iter().enumerate() {
        let marker = if i == panel.selected { "▸ " } else { "  " };
        let this = if s.current { " (this one)" } else { "" };
        let text = format!(
            "{marker}{:<17} {:<16} {}{this}",
            todo_client::due::format_date_time(s.last_used_at, &app.zone),
            printable(s.address.as_deref().unwrap_or("-"), false),
            printable(s.user_agent.as_deref().unwrap_or("-"), false),
        );
        lines.push(if i == panel.selected {
            Line::styled(text, theme.focus())
        } else {
            Line::from(text)
        });
    }
    lines
}

fn masked(field: &crate::text_field::TextField) -> String {
    "•".repeat(field.grapheme_count())
}

pub fn panel(frame: &mut Frame, area: Rect, app: &App, panel: &AccountPanel, theme: Theme) {
    let mut lines = vec![Line::from(format!(
        "  Signed in as {}",
        printable(app.user.as_ref().map_or("", |u| u.email.as_str()), false)
    ))];
    lines.push(Line::from(""));
    let hint = match &panel.mode {
        AccountMode::List => {
            lines.extend(session_lines(app, panel, theme));
            match panel.invitations.first() {
                Some(invitation) => {
                    lines.push(Line::from(""));
                    lines.push(Line::styled(
                        format!(
                            "  Invited to {} as {} (until {}){}",
                            printable(&invitation.project_name, false),
                            invitation.role,
                            todo_client::due::format_date_time(invitation.expires_at, &app.zone),
                            match panel.invitations.len() {
                                1 => String::new(),
                                n => format!(", and {} more", n - 1),
                            }
                        ),
                        theme.accent(),
                    ));
                    "  i accept · I decline · ↑↓ x end a session · p password · Esc close".to_string()
                }
                None => {
                    "  ↑↓ choose · x end the session · p change password · r reload · Esc close".to_string()
                }
            }
        }
        AccountMode::ConfirmEnd(id) => {
            lines.extend(session_lines(app, panel, theme));
            lines.push(Line::from(""));
            let id = id.simple().to_string();
            lines.push(Line::styled(
                format!("  End session {}? Its tokens stop working at once.", &id[..8]),
                theme.error(),
            ));
            "  y end it · any other key keeps it".to_string()
        }
        AccountMode::Password(form) => {
            lines.extend(field_lines(
                "Current",
                masked(&form.current),
                form.focus == PasswordChangeField::Current,
                None,
                theme,
            ));
            lines.extend(field_lines(
                "New",
                masked(&form.new),
                form.focus == PasswordChangeField::New,
                None,
                theme,
            ));
            lines.extend(field_lines(
                "Repeat new",
                masked(&form.confirm),
                form.focus == PasswordChangeField::Confirm,
                None,
                theme,
            ));
            "  Enter next/save · Tab move · Esc back (every other session ends)".to_string()
        }
    };
    lines.push(Line::from(""));
    match &panel.note {
        Some((text, true)) => lines.push(Line::styled(format!("  {text}"), theme.error())),
        Some((text, false)) => lines.push(Line::from(format!("  {text}"))),
        None => lines.push(Line::from("")),
    }
    lines.push(Line::styled(format!("{hint}   {}", spinner(app)), theme.dim()));
    let box_area = centered(area, 90, lines.len() as u16 + 2);
    frame.render_widget(Clear, box_area);
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(Block::bordered().title(" Account ").title_style(theme.accent())),
        box_area,
    );
}
