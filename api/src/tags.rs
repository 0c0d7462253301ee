//! What a tag is, once for the server and both clients: 1 to 32 characters with no
//! whitespace, not starting with `#` (that is how people *write* a tag), and no control
//! or bidi character. Tags compare without regard to case (`Work` and `work` are one
//! tag), and are shown as first stored.

use crate::limits::TAG_MAX;

/// Why `tag` (already trimmed) is not a valid tag, for a person to act on.
pub fn tag_problem(tag: &str) -> Option<String> {
    let len = tag.chars().count();
    if len == 0 || len > TAG_MAX {
        return Some(format!("each tag must be 1 to {TAG_MAX} characters"));
    }
    if tag.starts_with('#') {
        return Some(format!(
            "tag {tag:?} may not start with #: write it as {:?}",
            tag.trim_start_matches('#')
        ));
    }
    if tag.chars().any(char::is_whitespace) {
        return Some(format!(
            "tag {tag:?} may not hold spaces: use - or _ (for example {:?})",
            tag.split_whitespace().collect::<Vec<_>>().join("-")
        ));
    }
    if let Some(c) = crate::text::forbidden_in_line(tag) {
        return Some(format!(
            "tags may not hold the control character {}",
            c.escape_unicode()
        ));
    }
    None
}

/// The form tags are compared in: lower case (Unicode).
pub fn tag_key(tag: &str) -> String {
    tag.trim().trim_start_matches('#').to_lowercase()
}

/// A tag as a person may type it in a filter: `#Work` finds `work`.
pub fn same_tag(a: &str, b: &str) -> bool {
    tag_key(a) == tag_key(b)
}

/// A tag written before these rules, made to follow them: `#` dropped from the front,
/// whitespace runs joined by `-`, cut to the length limit; `None` if nothing is left.
pub fn repaired_tag(tag: &str) -> Option<String> {
    let joined = tag
        .trim()
        .trim_start_matches('#')
        .split_whitespace()
        .collect::<Vec<_>>()
        .join("-");
    let cut: String = joined.chars().take(TAG_MAX).collect();
    (tag_problem(&cut).is_none()).then_some(cut)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_have_no_spaces_no_leading_hash_and_a_length() {
        assert_eq!(tag_problem("work"), None);
        assert_eq!(tag_problem("c++"), None);
        assert_eq!(tag_problem("a#b"), None);
        assert!(tag_problem("#work").is_some_and(|m| m.contains("\"work\"")));
        assert!(tag_problem("two words").is_some_and(|m| m.contains("\"two-words\"")));
        assert!(tag_problem("tab\there").is_some());
        assert!(tag_problem("").is_some());
        assert!(tag_problem(&"x".repeat(33)).is_some());
    }

    #[test]
    fn tags_compare_without_case_and_a_typed_hash() {
        assert!(same_tag("Work", "work"));
        assert!(same_tag("#Work", "work"));
        assert!(same_tag("ÉCOLE", "école"));
        assert!(!same_tag("work", "works"));
    }

    #[test]
    fn old_tags_are_repaired() {
        assert_eq!(repaired_tag("#two  words").as_deref(), Some("two-words"));
        assert_eq!(repaired_tag("fine").as_deref(), Some("fine"));
        assert_eq!(repaired_tag("###"), None);
        assert_eq!(
            repaired_tag(&"y ".repeat(40)).map(|t| t.chars().count()),
            Some(32)
        );
    }
}
