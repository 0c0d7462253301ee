//! Keys in the popups: help, confirmations, the account panel, search and tag prompts.

use super::*;

pub(super) fn on_popup_key(app: &mut App, key: KeyEvent) -> Vec<Cmd> {
    let is_search = matches!(app.popup, Some(Popup::Search(_)));
    let Some(popup) = app.popup.as_mut() else {
        return vec![];
    };
    match popup {
        Popup::Help => app.popup = None,
        Popup::Conflicts(panel) => {
            let n = panel.items.get(panel.selected).map(|c| c.n);
            let resolution = match key.code {
                KeyCode::Esc | KeyCode::Char('q') => {
                    app.popup = None;
                    return vec![];
                }
                KeyCode::Down | KeyCode::Char('j') => {
                    panel.select(panel.selected + 1);
                    return vec![];
                }
                KeyCode::Up | KeyCode::Char('k') => {
                    panel.select(panel.selected.saturating_sub(1));
                    return vec![];
                }
                KeyCode::Tab => {
                    panel.field = (panel.field + 1) % panel.mine.len().max(1);
                    return vec![];
                }
                KeyCode::Char(' ') => {
                    if let Some(mine) = panel.mine.get_mut(panel.field) {
                        *mine = !*mine;
                    }
                    return vec![];
                }
                KeyCode::Enter => panel.resolution(),
                KeyCode::Char('m') if !is_chord(&key) => crate::app::Resolution::Mine,
                KeyCode::Char('t') if !is_chord(&key) => crate::app::Resolution::Theirs,
                _ => return vec![],
            };
            if let Some(n) = n {
                return launch(app, Cmd::ResolveConflict(n, resolution));
            }
        }
        Popup::Account(panel) => match panel.on_key(key, &app.keys) {
            crate::account::PanelAction::None => {}
            crate::account::PanelAction::Close => app.popup = None,
            crate::account::PanelAction::Run(cmd) => return launch(app, *cmd),
        },
        Popup::ConfirmDelete { id, version, .. } => {
            let (id, version) = (*id, *version);
            app.popup = None;
            if !is_chord(&key) && matches!(key.code, KeyCode::Char('y') | KeyCode::Char('Y')) {
                return launch(app, Cmd::DeleteTask(id, Some(version)));
            }
        }
        Popup::ConfirmSignOut => {
            app.popup = None;
            if !is_chord(&key) && matches!(key.code, KeyCode::Char('y') | KeyCode::Char('Y')) {
                return launch(app, Cmd::SignOut);
            }
        }
        Popup::Search(field) | Popup::Tag(field) => {
            match key.code {
                // Back to the filter from before the prompt.
                KeyCode::Esc => {
                    app.popup = None;
                    let (search, tag) = app.filter_before.clone();
                    if (&search, &tag) != (&app.list.search, &app.list.tag) {
                        app.list.search = search;
                        app.list.tag = tag;
                        return reload(app);
                    }
                }
                KeyCode::Enter => app.popup = None,
                // The tag prompt completes from the tags of the tasks shown.
                KeyCode::Tab if !is_search => {
                    let matches = app.list.tags_starting(field.text().trim());
                    if let Some(first) = matches.first() {
                        let common = common_prefix(&matches);
                        *field = TextField::new(if matches.len() == 1 { first } else { &common });
                        return filter_as_typed(app);
                    }
                }
                _ => {
                    if field.handle_key(key) {
                        return filter_as_typed(app);
                    }
                }
            }
        }
        Popup::Note { task, text, error } => match key.code {
            KeyCode::Esc => app.popup = None,
            KeyCode::Enter if text.text().trim().is_empty() => {
                *error = Some("A note needs some text.".into());
            }
            KeyCode::Enter => {
                let cmd = Cmd::AddNote(*task, text.text().to_string());
                app.popup = None;
                return launch(app, cmd);
            }
            _ => {
                text.handle_key(key);
            }
        },
        Popup::Form(_) => return on_form_key(app, key),
    }
    vec![]
}

/// The search or tag prompt's text applied to the list at once (a load at a time; the
/// latest text wins).
pub(super) fn filter_as_typed(app: &mut App) -> Vec<Cmd> {
    let text = match &app.popup {
        Some(Popup::Search(field) | Popup::Tag(field)) => field.text().trim().to_string(),
        _ => return vec![],
    };
    if matches!(app.popup, Some(Popup::Search(_))) {
        app.list.search = text;
    } else {
        app.list.tag = (!text.is_empty()).then_some(text);
    }
    app.list.selected = 0;
    reload(app)
}

/// The longest start the tags share (compared in any case; spelled as the first).
pub(super) fn common_prefix(tags: &[String]) -> String {
    let Some(first) = tags.first() else {
        return String::new();
    };
    let mut len = first.chars().count();
    for tag in &tags[1..] {
        len = first
            .chars()
            .zip(tag.chars())
            .take(len)
            .take_while(|(a, b)| a.to_lowercase().eq(b.to_lowercase()))
            .count();
    }
    first.chars().take(len).collect()
}
