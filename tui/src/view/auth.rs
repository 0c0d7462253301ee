//! The sign-in and sign-up screens.

use ratatui::Frame;
use ratatui::layout::{Position, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};
use todo_api::limits::{PASSWORD_MAX, PASSWORD_MIN};

use super::{Theme, centered, field_lines, spinner};
use crate::app::{App, SignInField, SignInForm, SignUpField, SignUpForm};
use crate::text_field::TextField;

fn masked(field: &TextField) -> String {
    "•".repeat(field.grapheme_count())
}

/// Cells before the cursor as the field is drawn: one per bullet when masked.
fn cursor_cells(field: &TextField, is_masked: bool) -> usize {
    if is_masked {
        field.cursor()
    } else {
        field.cursor_width()
    }
}

/// Puts the terminal cursor in the focused field (row `row` of the form box), `cells`
/// into it.
fn place_cursor(frame: &mut Frame, inner: Rect, row: u16, cells: usize) {
    let x = inner
        .x
        .saturating_add(15)
        .saturating_add(u16::try_from(cells).unwrap_or(u16::MAX));
    if row < inner.height && x < inner.x + inner.width {
        frame.set_cursor_position(Position::new(x, inner.y + row));
    }
}

fn footer(app: &App, hint: &str) -> Line<'static> {
    Line::from(format!("{hint}   {}", spinner(app)))
}

pub fn sign_in(frame: &mut Frame, area: Rect, app: &App, form: &SignInForm, theme: Theme) {
    let mut lines = vec![Line::from(format!("  Sign in to {}", app.server)), Line::from("")];
    lines.extend(field_lines(
        "Email",
        form.email.text().to_string(),
        form.focus == SignInField::Email,
        None,
        theme,
    ));
    lines.extend(field_lines(
        "Password",
        masked(&form.password),
        form.focus == SignInField::Password,
        None,
        theme,
    ));
    if form.challenge.is_some() {
        lines.extend(field_lines(
            "Code",
            form.code.text().to_string(),
            form.focus == SignInField::Code,
            None,
            theme,
        ));
    }
    lines.push(Line::from(""));
    if let Some(error) = &form.error {
        lines.push(Line::styled(format!("  {error}"), theme.error()));
    } else {
        lines.push(Line::from(""));
    }
    lines.push(Line::from(""));
    lines.push(footer(
        app,
        "  Enter sign in · Tab next field · Ctrl-N create an account · Esc quit",
    ));
    let box_area = centered(area, 78, lines.len() as u16 + 2);
    frame.render_widget(Clear, box_area);
    let block = Block::bordered()
        .title(" todo · sign in ")
        .title_style(theme.accent());
    let inner = block.inner(box_area);
    frame.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: false }).block(block),
        box_area,
    );
    let (row, cells) = match form.focus {
        SignInField::Email => (2, cursor_cells(&form.email, false)),
        SignInField::Password => (3, cursor_cells(&form.password, true)),
        SignInField::Code => (4, cursor_cells(&form.code, false)),
    };
    place_cursor(frame, inner, row, cells);
}

fn check(ok: bool, text: &str, theme: Theme) -> Line<'static> {
    if ok {
        Line::styled(format!("  ✓ {text}"), theme.ok())
    } else {
        Line::styled(format!("  ✗ {text}"), theme.dim())
    }
}

pub fn sign_up(frame: &mut Frame, area: Rect, app: &App, form: &SignUpForm, theme: Theme) {
    let checks = form.checks();
    let mut lines = vec![
        Line::from(format!("  Create an account on {}", app.server)),
        Line::from(""),
    ];
    lines.extend(field_lines(
        "Name",
        form.name.text().to_string(),
        form.focus == SignUpField::Name,
        None,
        theme,
    ));
    lines.extend(field_lines(
        "Email",
        form.email.text().to_string(),
        form.focus == SignUpField::Email,
        None,
        theme,
    ));
    lines.extend(field_lines(
        "Password",
        masked(&form.password),
        form.focus == SignUpField::Password,
        None,
        theme,
    ));
    lines.extend(field_lines(
        "Confirm",
        masked(&form.confirm),
        form.focus == SignUpField::Confirm,
        None,
        theme,
    ));
    lines.push(Line::from(""));
    lines.push(check(checks.email_ok, "email looks like an address", theme));
    let length_rule = format!("password is {PASSWORD_MIN} to {PASSWORD_MAX} characters");
    lines.push(check(checks.length_ok, &length_rule, theme));
    lines.push(check(checks.match_ok, "passwords match", theme));
    // The rule's reason without its tip, so it fits one line at 80 columns.
    match (&checks.strength_problem, checks.length_ok) {
        (None, _) => lines.push(check(true, "hard enough to guess", theme)),
        (Some(reason), true) => {
            let short = reason.split(" (").next().unwrap_or(reason);
            lines.push(Line::styled(format!("  ✗ {short}"), theme.error()));
        }
        (Some(_), false) => lines.push(check(false, "hard enough to guess", theme)),
    }
    let reason = form
        .password_reason
        .as_ref()
        .filter(|_| checks.strength_problem.is_none());
    match (reason, &form.error) {
        (Some(reason), _) => lines.push(Line::styled(format!("  ✗ {reason}"), theme.error())),
        (None, Some(error)) => lines.push(Line::styled(format!("  {error}"), theme.error())),
        (None, None) => lines.push(Line::from("")),
    }
    lines.push(Line::from(""));
    lines.push(footer(
        app,
        "  Enter next/submit · Tab next field · Ctrl-N back to sign in · Esc quit",
    ));
    let box_area = centered(area, 78, lines.len() as u16 + 2);
    frame.render_widget(Clear, box_area);
    let block = Block::bordered()
        .title(" todo · create an account ")
        .title_style(theme.accent());
    let inner = block.inner(box_area);
    frame.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: false }).block(block),
        box_area,
    );
    let cells = match form.focus {
        SignUpField::Name => cursor_cells(&form.name, false),
        SignUpField::Email => cursor_cells(&form.email, false),
        SignUpField::Password => cursor_cells(&form.password, true),
        SignUpField::Confirm => cursor_cells(&form.confirm, true),
    };
    place_cursor(frame, inner, 2 + form.focus.row(), cells);
}
