//! A one-line (or, with newlines, multi-line) text field with a cursor.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use unicode_segmentation::UnicodeSegmentation;
use unicode_width::UnicodeWidthStr;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TextField {
    text: String,
    /// Cursor position in graphemes (what people see as one character: `é`, a flag, a
    /// ZWJ family), so no key ever splits one.
    cursor: usize,
}

fn graphemes(text: &str) -> usize {
    text.graphemes(true).count()
}

impl TextField {
    pub fn new(text: &str) -> TextField {
        TextField {
            text: text.to_string(),
            cursor: graphemes(text),
        }
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    /// The cursor, in graphemes from the start.
    pub fn cursor(&self) -> usize {
        self.cursor
    }

    /// Terminal cells before the cursor (a wide character takes two).
    pub fn cursor_width(&self) -> usize {
        self.text[..self.byte_index(self.cursor)].width()
    }

    pub fn clear(&mut self) {
        *self = TextField::default();
    }

    /// How many characters people see (graphemes).
    pub fn grapheme_count(&self) -> usize {
        graphemes(&self.text)
    }

    fn len(&self) -> usize {
        self.grapheme_count()
    }

    fn byte_index(&self, graphemes: usize) -> usize {
        self.text
            .grapheme_indices(true)
            .nth(graphemes)
            .map_or(self.text.len(), |(i, _)| i)
    }

    /// The text with `▏` where the cursor is: what a focused field draws.
    pub fn marked(&self) -> String {
        let at = self.byte_index(self.cursor);
        format!("{}▏{}", &self.text[..at], &self.text[at..])
    }

    fn is_space(g: &str) -> bool {
        g.chars().all(char::is_whitespace)
    }

    /// Where the word before the cursor starts (spaces before the cursor skipped first).
    fn word_start(&self) -> usize {
        let all: Vec<&str> = self.text.graphemes(true).take(self.cursor).collect();
        let mut at = all.len();
        while at > 0 && Self::is_space(all[at - 1]) {
            at -= 1;
        }
        while at > 0 && !Self::is_space(all[at - 1]) {
            at -= 1;
        }
        at
    }

    /// Where the word after the cursor ends.
    fn word_end(&self) -> usize {
        let all: Vec<&str> = self.text.graphemes(true).collect();
        let mut at = self.cursor;
        while at < all.len() && Self::is_space(all[at]) {
            at += 1;
        }
        while at < all.len() && !Self::is_space(all[at]) {
            at += 1;
        }
        at
    }

    /// Removes the graphemes from `from` to `to` and leaves the cursor at `from`.
    fn remove(&mut self, from: usize, to: usize) {
        let (start, end) = (self.byte_index(from), self.byte_index(to));
        self.text.replace_range(start..end, "");
        self.cursor = from;
    }

    /// Inserts `text` at the cursor (typing, or a paste) and moves past it. A character
    /// that joins the one before (a combining accent, a ZWJ) makes one grapheme with it.
    pub fn insert_str(&mut self, text: &str) {
        let at = self.byte_index(self.cursor);
        self.text.insert_str(at, text);
        self.cursor = graphemes(&self.text[..at + text.len()]);
    }

    pub fn insert(&mut self, c: char) {
        self.insert_str(c.encode_utf8(&mut [0; 4]));
    }

    /// Applies an editing key; `false` when the key is not an edit (the caller handles it).
    pub fn handle_key(&mut self, key: KeyEvent) -> bool {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let chord = key
            .modifiers
            .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT);
        let alt = key.modifiers.contains(KeyModifiers::ALT);
        match key.code {
            KeyCode::Char('u') if ctrl => self.remove(0, self.cursor),
            KeyCode::Char('k') if ctrl => self.remove(self.cursor, self.len()),
            // Word editing as in a shell: Ctrl-W and Alt-Backspace delete the word
            // before the cursor; Ctrl-Left/Right (and Alt-b/f) move by words.
            KeyCode::Char('w') if ctrl => self.remove(self.word_start(), self.cursor),
            KeyCode::Backspace if alt || ctrl => self.remove(self.word_start(), self.cursor),
            KeyCode::Left if ctrl || alt => self.cursor = self.word_start(),
            KeyCode::Char('b') if alt => self.cursor = self.word_start(),
            KeyCode::Right if ctrl || alt => self.cursor = self.word_end(),
            KeyCode::Char('f') if alt => self.cursor = self.word_end(),
            KeyCode::Char('a') if ctrl => self.cursor = 0,
            KeyCode::Char('e') if ctrl => self.cursor = self.len(),
            KeyCode::Char(c) if !chord => self.insert(c),
            KeyCode::Backspace if self.cursor > 0 => self.remove(self.cursor - 1, self.cursor),
            KeyCode::Backspace => {}
            KeyCode::Delete if self.cursor < self.len() => self.remove(self.cursor, self.cursor + 1),
            KeyCode::Delete => {}
            KeyCode::Left => self.cursor = self.cursor.saturating_sub(1),
            KeyCode::Right => self.cursor = (self.cursor + 1).min(self.len()),
            KeyCode::Home => self.cursor = 0,
            KeyCode::End => self.cursor = self.len(),
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
        field.handle_key(key(KeyCode::End));
        field.handle_key(KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL));
        assert_eq!(field.text(), "", "Ctrl-U deletes to the start");
    }

    #[test]
    fn flags_families_and_accents_are_one_step_for_every_key() {
        let family = "👩\u{200d}👩\u{200d}👧";
        let mut field = TextField::new(&format!("a{family}🇫🇷b"));
        assert_eq!(field.cursor(), 4, "a, the family, the flag, b");
        assert_eq!(
            field.cursor_width(),
            6,
            "the family and the flag are two cells each"
        );
        field.handle_key(key(KeyCode::Left));
        field.handle_key(key(KeyCode::Backspace));
        assert_eq!(field.text(), format!("a{family}b"), "the whole flag goes");
        field.handle_key(key(KeyCode::Left));
        field.handle_key(key(KeyCode::Char('x')));
        assert_eq!(field.text(), format!("ax{family}b"), "never inside the family");
        field.handle_key(key(KeyCode::Delete));
        assert_eq!(field.text(), "axb");
        // A combining accent typed after a letter joins it, and the cursor stays after.
        let mut accent = TextField::new("e");
        accent.insert('\u{301}');
        accent.insert('!');
        assert_eq!(accent.text(), "e\u{301}!");
        assert_eq!(accent.cursor(), 2);
    }

    #[test]
    fn ctrl_k_and_ctrl_u_cut_after_and_before_the_cursor_and_paste_inserts() {
        let ctrl = |c| KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL);
        let mut field = TextField::new("buy oat milk");
        field.handle_key(ctrl('a'));
        field.handle_key(KeyEvent::new(KeyCode::Right, KeyModifiers::CONTROL));
        field.handle_key(ctrl('k'));
        assert_eq!(field.text(), "buy");
        field.insert_str(" two\nlines");
        assert_eq!(field.text(), "buy two\nlines");
        assert_eq!(field.cursor(), 13);
        field.handle_key(key(KeyCode::Left));
        field.handle_key(ctrl('u'));
        assert_eq!(field.text(), "s");
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
        write!(f, "PasswordField(<{} characters>)", self.0.grapheme_count())
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
