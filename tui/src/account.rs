//! The account panel (`A` on the task screen): where you are signed in, ending one of
//! those sessions (asks first), and changing the password.

use crate::keymap::{Action, KeyMap};
use crossterm::event::{KeyCode, KeyEvent};
use todo_api::SessionSummary;
use uuid::Uuid;

use crate::app::Cmd;
use crate::text_field::PasswordField;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountPanel {
    /// `None` until the list arrives.
    pub sessions: Option<Vec<SessionSummary>>,
    pub selected: usize,
    pub mode: AccountMode,
    /// The last outcome, good or bad, shown under the list.
    pub note: Option<(String, bool)>,
    /// Open invitations to projects, oldest first: `i` accepts the first, `I` declines it.
    pub invitations: Vec<todo_api::Invitation>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum AccountMode {
    #[default]
    List,
    /// Asking before ending this session.
    ConfirmEnd(Uuid),
    Password(PasswordForm),
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PasswordForm {
    pub current: PasswordField,
    pub new: PasswordField,
    pub confirm: PasswordField,
    pub focus: PasswordChangeField,
}

/// The fields of the password change, in order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum PasswordChangeField {
    #[default]
    Current,
    New,
    Confirm,
}

impl PasswordChangeField {
    fn next(self) -> PasswordChangeField {
        match self {
            PasswordChangeField::Current => PasswordChangeField::New,
            PasswordChangeField::New => PasswordChangeField::Confirm,
            PasswordChangeField::Confirm => PasswordChangeField::Current,
        }
    }

    fn previous(self) -> PasswordChangeField {
        self.next().next()
    }
}

/// What a key asks of the app beyond the panel.
pub enum PanelAction {
    None,
    Close,
    Run(Box<Cmd>),
}

impl AccountPanel {
    pub fn selected_session(&self) -> Option<&SessionSummary> {
        self.sessions.as_ref()?.get(self.selected)
    }

    /// A key on the panel; the list's movement, delete, reload and close keys are the
    /// task screen's actions as `keys` binds them, so a rebound key works here too.
    pub fn on_key(&mut self, key: KeyEvent, keys: &KeyMap) -> PanelAction {
        match &mut self.mode {
            AccountMode::List => self.on_list_key(key, keys),
            AccountMode::ConfirmEnd(id) => {
                let id = *id;
                self.mode = AccountMode::List;
                match key.code {
                    KeyCode::Char('y') | KeyCode::Char('Y') => {
                        PanelAction::Run(Box::new(Cmd::EndSession(id)))
                    }
                    _ => PanelAction::None,
                }
            }
            AccountMode::Password(form) => match key.code {
                KeyCode::Esc => {
                    self.mode = AccountMode::List;
                    PanelAction::None
                }
                KeyCode::Tab | KeyCode::Down => {
                    form.focus = form.focus.next();
                    PanelAction::None
                }
                KeyCode::BackTab | KeyCode::Up => {
                    form.focus = form.focus.previous();
                    PanelAction::None
                }
                KeyCode::Enter if form.focus != PasswordChangeField::Confirm => {
                    form.focus = form.focus.next();
                    PanelAction::None
                }
                KeyCode::Enter => self.submit_password(),
                _ => {
                    let field = match form.focus {
                        PasswordChangeField::Current => &mut form.current,
                        PasswordChangeField::New => &mut form.new,
                        PasswordChangeField::Confirm => &mut form.confirm,
                    };
                    let _ = field.handle_key(key);
                    PanelAction::None
                }
            },
        }
    }

    fn on_list_key(&mut self, key: KeyEvent, keys: &KeyMap) -> PanelAction {
        let count = self.sessions.as_ref().map_or(0, Vec::len);
        // The panel's own keys first: Esc closes, `x` ends a session, `p` the password.
        match key.code {
            KeyCode::Esc => return PanelAction::Close,
            KeyCode::Char('x') => return self.confirm_end(),
            KeyCode::Char(c @ ('i' | 'I')) => {
                return match self.invitations.first() {
                    Some(invitation) => {
                        PanelAction::Run(Box::new(Cmd::AnswerInvitation(invitation.id, c == 'i')))
                    }
                    None => PanelAction::None,
                };
            }
            KeyCode::Char('p') => {
                self.note = None;
                self.mode = AccountMode::Password(PasswordForm::default());
                return PanelAction::None;
            }
            _ => {}
        }
        match keys.action(&key) {
            Some(Action::Quit | Action::Account) => return PanelAction::Close,
            Some(Action::Down) => self.selected = (self.selected + 1).min(count.saturating_sub(1)),
            Some(Action::Up) => self.selected = self.selected.saturating_sub(1),
            Some(Action::Delete) => return self.confirm_end(),
            Some(Action::Reload) => return PanelAction::Run(Box::new(Cmd::LoadSessions)),
            _ => {}
        }
        PanelAction::None
    }

    fn confirm_end(&mut self) -> PanelAction {
        if let Some(session) = self.selected_session() {
            self.mode = AccountMode::ConfirmEnd(session.id);
        }
        PanelAction::None
    }

    fn submit_password(&mut self) -> PanelAction {
        let AccountMode::Password(form) = &mut self.mode else {
            return PanelAction::None;
        };
        let problem = if form.current.text().is_empty() {
            Some((PasswordChangeField::Current, "Type your current password"))
        } else if form.new.text().is_empty() {
            Some((PasswordChangeField::New, "Type the new password"))
        } else if form.new.text() != form.confirm.text() {
            Some((PasswordChangeField::Confirm, "The new passwords differ"))
        } else {
            None
        };
        if let Some((focus, text)) = problem {
            form.focus = focus;
            self.note = Some((text.into(), true));
            return PanelAction::None;
        }
        self.note = None;
        PanelAction::Run(Box::new(Cmd::ChangePassword(
            form.current.secret(),
            form.new.secret(),
        )))
    }

    pub fn loaded(&mut self, sessions: Vec<SessionSummary>) {
        self.selected = self.selected.min(sessions.len().saturating_sub(1));
        self.sessions = Some(sessions);
    }

    /// The password change's outcome: done closes the form; a refusal keeps what was
    /// typed except the field at fault.
    pub fn password_changed(&mut self, outcome: Result<(), String>, field: Option<&str>) {
        match outcome {
            Ok(()) => {
                self.mode = AccountMode::List;
                self.note = Some((
                    "Password changed; every other session is signed out.".into(),
                    false,
                ));
            }
            Err(text) => {
                if let AccountMode::Password(form) = &mut self.mode {
                    match field {
                        Some("current_password") => {
                            form.current.clear();
                            form.focus = PasswordChangeField::Current;
                        }
                        _ => form.focus = PasswordChangeField::New,
                    }
                }
                self.note = Some((text, true));
            }
        }
    }
}
