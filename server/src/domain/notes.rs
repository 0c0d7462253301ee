//! A note's text, checked: what the storage port takes, so a stored note is never blank,
//! never over [`NOTE_MAX`] characters and holds no control character but line breaks and
//! tabs.

use todo_api::limits::NOTE_MAX;
use todo_api::text;

use super::tasks::InvalidTask;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteText(String);

impl NoteText {
    pub fn parse(text: String) -> Result<NoteText, InvalidTask> {
        let invalid = |reason: String| InvalidTask {
            field: "text".to_string(),
            reason,
        };
        if text.trim().is_empty() {
            return Err(invalid("a note's text must not be blank".to_string()));
        }
        if let Some(c) = text::forbidden_in_description(&text) {
            return Err(invalid(format!(
                "text holds the control character {}; only newlines and tabs are allowed",
                c.escape_unicode()
            )));
        }
        let len = text.chars().count();
        if len > NOTE_MAX {
            return Err(invalid(format!(
                "text is {len} characters; at most {NOTE_MAX} are allowed"
            )));
        }
        Ok(NoteText(text))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_note_is_one_to_ten_thousand_characters_of_text() {
        assert!(NoteText::parse("called the plumber\n\tno answer".into()).is_ok());
        assert!(NoteText::parse("é".repeat(NOTE_MAX)).is_ok());
        for bad in ["", " \n\t ", "bell\u{7}", "csi\u{9b}"] {
            let refused = NoteText::parse(bad.to_string()).expect_err(bad);
            assert_eq!(refused.field, "text");
        }
        let long = NoteText::parse("x".repeat(NOTE_MAX + 1)).expect_err("long");
        assert!(long.reason.contains("10001 characters"), "{}", long.reason);
    }
}
