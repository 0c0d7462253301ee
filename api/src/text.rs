//! Which characters a title, tag or description may hold, and how a client shows text
//! it did not check itself. One definition for the server's validation and both apps.

use std::borrow::Cow;

use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

/// A control character (C0, DEL, C1): ESC, BEL and CSI among them, which a terminal
/// obeys instead of printing.
pub fn is_control(c: char) -> bool {
    c.is_control()
}

/// Characters that reorder the text around them (bidirectional embeddings, overrides and
/// isolates): they can make a line read differently from what it holds.
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// A character that draws nothing: format characters (zero-width space and joiners,
/// byte order mark, bidi marks), whitespace and controls.
pub fn is_invisible(c: char) -> bool {
    c.is_whitespace()
        || c.is_control()
        || matches!(c.general_category(), GeneralCategory::Format)
        || matches!(c, '\u{115F}' | '\u{1160}' | '\u{3164}' | '\u{FFA0}' | '\u{034F}')
        || ('\u{FE00}'..='\u{FE0F}').contains(&c)
}

/// True when `text` has at least one character that draws something.
pub fn has_visible(text: &str) -> bool {
    text.chars().any(|c| !is_invisible(c))
}

/// The first character a one-line field (title, tag) may not hold: a control or a
/// bidi control.
pub fn forbidden_in_line(text: &str) -> Option<char> {
    text.chars().find(|&c| is_control(c) || is_bidi_control(c))
}

/// The first character a description may not hold: as a line, but newline and tab are
/// allowed.
pub fn forbidden_in_description(text: &str) -> Option<char> {
    text.chars()
        .find(|&c| (is_control(c) && c != '\n' && c != '\t') || is_bidi_control(c))
}

/// `text` with every control and bidi control made visible as `\u{..}`, so that what a
/// server sends can never move the cursor, retitle the terminal or reorder a line.
/// Newlines and tabs are kept when `multi_line`.
pub fn printable(text: &str, multi_line: bool) -> Cow<'_, str> {
    let keep = |c: char| multi_line && (c == '\n' || c == '\t');
    let unsafe_char = |c: char| (is_control(c) || is_bidi_control(c)) && !keep(c);
    if !text.chars().any(unsafe_char) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if unsafe_char(c) {
            out.push_str(&c.escape_unicode().to_string());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_are_shown_escaped_and_text_is_kept() {
        assert_eq!(printable("plain ✓ 👨‍👩‍👧", false), "plain ✓ 👨‍👩‍👧");
        assert_eq!(printable("a\u{1b}]0;x\u{7}b", false), "a\\u{1b}]0;x\\u{7}b");
        assert_eq!(printable("c1\u{9b}2J", false), "c1\\u{9b}2J");
        assert_eq!(printable("rtl\u{202E}txt", false), "rtl\\u{202e}txt");
        assert_eq!(printable("two\nlines\t", true), "two\nlines\t");
        assert_eq!(printable("two\nlines", false), "two\\u{a}lines");
    }

    #[test]
    fn invisible_only_text_is_told_apart_from_emoji_sequences() {
        for invisible in ["\u{200B}", "\u{FEFF}\u{200D}", " \u{2060}\u{00AD}", "\u{3164}"] {
            assert!(!has_visible(invisible), "{invisible:?}");
        }
        assert!(has_visible("👨‍👩‍👧"));
        assert!(has_visible("a\u{200B}"));
    }

    #[test]
    fn lines_refuse_controls_and_descriptions_keep_newlines_and_tabs() {
        assert_eq!(forbidden_in_line("bell\u{7}"), Some('\u{7}'));
        assert_eq!(forbidden_in_line("new\nline"), Some('\n'));
        assert_eq!(forbidden_in_line("flip\u{2066}"), Some('\u{2066}'));
        assert_eq!(forbidden_in_line("fine 👍"), None);
        assert_eq!(forbidden_in_description("a\nb\tc"), None);
        assert_eq!(forbidden_in_description("esc\u{1b}[2J"), Some('\u{1b}'));
    }
}
