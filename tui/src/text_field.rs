//! A one-line (or, with newlines, multi-line) text field with a cursor.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TextField {
    text: String,
    /// Cursor position in characters.
    cursor: usize,
}

impl TextField {
    pub fn new(text: &str) -> TextField {
        TextField {
            text: text.to_string(),
            cursor: text.chars().count(),
        }
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn cursor(&self) -> usize {
        self.cursor
    }

    pub fn clear(&mut self) {
        *self = TextField::default();
    }

    fn byte_index(&self, chars: usize) -> usize {
        self.text
            .char_indices()
            .nth(chars)
            .map_or(self.text.len(), |(i, _)| i)
    }

    pub fn insert(&mut self, c: char) {
        let at = self.byte_index(self.cursor);
        self.text.insert(at, c);
        self.cursor += 1;
    }

    /// Applies an editing key; `false` when the key is not an edit (the caller handles it).
    pub fn handle_key(&mut self, key: KeyEvent) -> bool {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let chord = key
            .modifiers
            .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT);
        match key.code {
            KeyCode::Char('u') if ctrl => self.clear(),
            KeyCode::Char(c) if !chord => self.insert(c),
            KeyCode::Backspace if self.cursor > 0 => {
                self.cursor -= 1;
                let at = self.byte_index(self.cursor);
                self.text.remove(at);
            }
            KeyCode::Backspace => {}
            KeyCode::Delete if self.cursor < self.text.chars().count() => {
                let at = self.byte_index(self.cursor);
                self.text.remove(at);
            }
            KeyCode::Delete => {}
            KeyCode::Left => self.cursor = self.cursor.saturating_sub(1),
            KeyCode::Right => self.cursor = (self.cursor + 1).min(self.text.chars().count()),
            KeyCode::Home => self.cursor = 0,
            KeyCode::End => self.cursor = self.text.chars().count(),
            _ => return false,
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn edits_at_the_cursor_including_multibyte_text() {
        let mut field = TextField::new("héllo");
        field.handle_key(key(KeyCode::Left));
        field.handle_key(key(KeyCode::Backspace));
        assert_eq!(field.text(), "hélo");
        field.handle_key(key(KeyCode::Home));
        field.handle_key(key(KeyCode::Char('¡')));
        assert_eq!(field.text(), "¡hélo");
        field.handle_key(key(KeyCode::Delete));
        assert_eq!(field.text(), "¡élo");
        assert!(!field.handle_key(key(KeyCode::Enter)), "Enter is not an edit");
        field.handle_key(KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL));
        assert_eq!(field.text(), "");
    }
}

/// A text field holding a password: edits like any field, but `Debug` never shows what
/// was typed, so no panic message, log or snapshot of the app state can carry it.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct PasswordField(TextField);

impl std::fmt::Debug for PasswordField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PasswordField(<{} characters>)", self.0.text().chars().count())
    }
}

impl std::ops::Deref for PasswordField {
    type Target = TextField;

    fn deref(&self) -> &TextField {
        &self.0
    }
}

impl std::ops::DerefMut for PasswordField {
    fn deref_mut(&mut self) -> &mut TextField {
        &mut self.0
    }
}

impl PasswordField {
    /// What was typed, as a secret for the request.
    pub fn secret(&self) -> todo_api::Secret {
        todo_api::Secret::new(self.0.text())
    }
}
