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

    /// The text with `▏` where the cursor is: what a focused field draws.
    pub fn marked(&self) -> String {
        let at = self.byte_index(self.cursor);
        format!("{}▏{}", &self.text[..at], &self.text[at..])
    }

    /// Where the word before the cursor starts (spaces before the cursor skipped first).
    fn word_start(&self) -> usize {
        let chars: Vec<char> = self.text.chars().take(self.cursor).collect();
        let mut at = chars.len();
        while at > 0 && chars[at - 1].is_whitespace() {
            at -= 1;
        }
        while at > 0 && !chars[at - 1].is_whitespace() {
            at -= 1;
        }
        at
    }

    /// Where the word after the cursor ends.
    fn word_end(&self) -> usize {
        let chars: Vec<char> = self.text.chars().collect();
        let mut at = self.cursor;
        while at < chars.len() && chars[at].is_whitespace() {
            at += 1;
        }
        while at < chars.len() && !chars[at].is_whitespace() {
            at += 1;
        }
        at
    }

    fn delete_word_before(&mut self) {
        let start = self.word_start();
        let (from, to) = (self.byte_index(start), self.byte_index(self.cursor));
        self.text.replace_range(from..to, "");
        self.cursor = start;
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
        let alt = key.modifiers.contains(KeyModifiers::ALT);
        match key.code {
            KeyCode::Char('u') if ctrl => self.clear(),
            // Word editing as in a shell: Ctrl-W and Alt-Backspace delete the word
            // before the cursor; Ctrl-Left/Right (and Alt-b/f) move by words.
            KeyCode::Char('w') if ctrl => self.delete_word_before(),
            KeyCode::Backspace if alt || ctrl => self.delete_word_before(),
            KeyCode::Left if ctrl || alt => self.cursor = self.word_start(),
            KeyCode::Char('b') if alt => self.cursor = self.word_start(),
            KeyCode::Right if ctrl || alt => self.cursor = self.word_end(),
            KeyCode::Char('f') if alt => self.cursor = self.word_end(),
            KeyCode::Char('a') if ctrl => self.cursor = 0,
            KeyCode::Char('e') if ctrl => self.cursor = self.text.chars().count(),
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

    #[test]
    fn the_mark_is_where_typing_goes() {
        let mut field = TextField::new("abc");
        field.handle_key(key(KeyCode::Left));
        field.handle_key(key(KeyCode::Char('X')));
        assert_eq!(field.text(), "abXc");
        assert_eq!(field.marked(), "abX▏c");
    }

    #[test]
    fn words_are_deleted_and_skipped_as_in_a_shell() {
        let ctrl = |c| KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL);
        let mut field = TextField::new("buy  oat milk");
        field.handle_key(ctrl('w'));
        assert_eq!(field.text(), "buy  oat ");
        field.handle_key(KeyEvent::new(KeyCode::Backspace, KeyModifiers::ALT));
        assert_eq!(field.text(), "buy  ");
        field.handle_key(KeyEvent::new(KeyCode::Left, KeyModifiers::CONTROL));
        assert_eq!(field.cursor(), 0);
        field.handle_key(KeyEvent::new(KeyCode::Right, KeyModifiers::CONTROL));
        assert_eq!(field.cursor(), 3);
        field.handle_key(ctrl('e'));
        assert_eq!(field.cursor(), 5);
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
