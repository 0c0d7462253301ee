//! Taskwarrior's filter words, one grammar for `todo list`, `count`, `done`, `undone`
//! and `rm`: `+tag`, `-tag`, `project:NAME`, `priority:H|M|L` (`pri:`), `status:pending|
//! completed|waiting|blocked|unblocked|all`, `due.before:DATE`, `due.after:DATE`,
//! `overdue`; any other word is searched for (every word must match). Words combine with
//! AND. Parsed here into the list query the server takes.

use time::OffsetDateTime;
use todo_api::{ListQuery, Priority, StatusFilter};

/// What the words ask for; [`Filter::apply`] puts it into a list query.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    pub tags: Vec<String>,
    pub not_tags: Vec<String>,
    /// A project's name (or id start), `none`: personal tasks only.
    pub project: Option<String>,
    pub priority: Option<Priority>,
    pub status: Option<StatusFilter>,
    pub due_before: Option<OffsetDateTime>,
    pub due_after: Option<OffsetDateTime>,
    pub words: Vec<String>,
}

/// The attribute names a filter takes, for the suggestion on a misspelled one.
const NAMES: [&str; 6] = ["project", "priority", "pri", "status", "due.before", "due.after"];

impl Filter {
    /// Whether nothing was asked (every task).
    pub fn is_empty(&self) -> bool {
        *self == Filter::default()
    }

    /// The filter in `query` (its own fields win over what the query had).
    pub fn apply(&self, query: &mut ListQuery) {
        query.tags.extend(self.tags.iter().cloned());
        query.not_tags.extend(self.not_tags.iter().cloned());
        if let Some(priority) = self.priority {
            query.priority = Some(priority);
        }
        if let Some(status) = self.status {
            query.status = Some(status);
        }
        if self.due_before.is_some() {
            query.due_before = self.due_before;
        }
        if self.due_after.is_some() {
            query.due_after = self.due_after;
        }
        if !self.words.is_empty() {
            let mut words = query.search.take().into_iter().collect::<Vec<_>>();
            words.extend(self.words.iter().cloned());
            query.search = Some(words.join(" "));
        }
    }
}

fn priority(value: &str) -> Option<Priority> {
    match value.to_ascii_lowercase().as_str() {
        "h" | "high" => Some(Priority::High),
        "m" | "med" | "medium" => Some(Priority::Medium),
        "l" | "low" => Some(Priority::Low),
        _ => None,
    }
}

fn status(value: &str) -> Option<StatusFilter> {
    Some(match value.to_ascii_lowercase().as_str() {
        "pending" => StatusFilter::Pending,
        "completed" | "done" => StatusFilter::Completed,
        "waiting" => StatusFilter::Waiting,
        "blocked" => StatusFilter::Blocked,
        "unblocked" => StatusFilter::Unblocked,
        "all" => StatusFilter::All,
        _ => return None,
    })
}

/// Parses filter words at `local_now` (dates in the local zone, as `--due` takes them).
pub fn parse_filter(words: &[String], local_now: OffsetDateTime) -> Result<Filter, String> {
    let mut filter = Filter::default();
    for word in words {
        if let Some(tag) = word.strip_prefix('+').filter(|t| !t.is_empty()) {
            filter.tags.push(tag.to_string());
        } else if let Some(tag) = word
            .strip_prefix('-')
            .filter(|t| !t.is_empty() && !t.starts_with('-'))
        {
            filter.not_tags.push(tag.to_string());
        } else if word.eq_ignore_ascii_case("overdue") {
            filter.due_before = Some(local_now);
            filter.status = Some(StatusFilter::Pending);
        } else if let Some((name, value)) = word.split_once(':').filter(|(n, _)| looks_like_name(n)) {
            attribute(&mut filter, name, value, local_now)?;
        } else {
            filter.words.push(word.clone());
        }
    }
    Ok(filter)
}

/// `name` could be an attribute (`due.before`, `pri`), not a word with a colon in it
/// (`12:30`, `http://...`).
fn looks_like_name(name: &str) -> bool {
    !name.is_empty() && name.chars().all(|c| c.is_ascii_alphabetic() || c == '.')
}

fn attribute(filter: &mut Filter, name: &str, value: &str, local_now: OffsetDateTime) -> Result<(), String> {
    let date = |value: &str| crate::due::parse_due(value, local_now);
    match name.to_ascii_lowercase().as_str() {
        "project" | "proj" => filter.project = Some(value.to_string()),
        "priority" | "pri" => {
            filter.priority = Some(priority(value).ok_or_else(|| format!("priority:{value}: use H, M or L"))?)
        }
        "status" => {
            filter.status = Some(status(value).ok_or_else(|| {
                format!("status:{value}: use pending, completed, waiting, blocked, unblocked or all")
            })?)
        }
        "due.before" | "due.by" => filter.due_before = Some(date(value)?),
        "due.after" => filter.due_after = Some(date(value)?),
        other => {
            let near = suggestion(&NAMES, other);
            return Err(format!(
                "{other}:{value} is not a filter{near}: use +tag, -tag, project:, priority:, status:, due.before:, due.after:, overdue, or words"
            ));
        }
    }
    Ok(())
}

/// ` (did you mean NAME:?)` for the known name closest to `given` (two edits at most),
/// or nothing.
pub fn suggestion(known: &[&str], given: &str) -> String {
    known
        .iter()
        .map(|n| (strsim::levenshtein(n, given), n))
        .filter(|(distance, _)| *distance <= 2)
        .min()
        .map(|(_, n)| format!(" (did you mean {n}:?)"))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn words(text: &str) -> Vec<String> {
        text.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn taskwarrior_words_become_the_query() {
        let now = datetime!(2030-06-01 12:00 UTC);
        let filter = parse_filter(
            &words("+work -home priority:H status:all due.before:2030-06-30 report q3"),
            now,
        )
        .expect("a filter");
        assert_eq!(filter.tags, ["work"]);
        assert_eq!(filter.not_tags, ["home"]);
        assert_eq!(filter.priority, Some(Priority::High));
        assert_eq!(filter.status, Some(StatusFilter::All));
        assert!(filter.due_before.is_some());
        let mut query = ListQuery::default();
        filter.apply(&mut query);
        assert_eq!(
            query.search.as_deref(),
            Some("report q3"),
            "other words are searched, all of them"
        );
        assert_eq!(query.tag_pairs(), [("tag", "work"), ("not_tag", "home")]);
        let overdue = parse_filter(&words("overdue"), now).expect("overdue");
        assert_eq!(
            (overdue.due_before, overdue.status),
            (Some(now), Some(StatusFilter::Pending))
        );
    }

    #[test]
    fn a_misspelled_attribute_is_refused_with_a_suggestion_and_colons_in_words_are_words() {
        let now = datetime!(2030-06-01 12:00 UTC);
        let e = parse_filter(&words("priorty:H"), now).expect_err("unknown");
        assert!(e.contains("did you mean priority:"), "{e}");
        assert!(parse_filter(&words("status:someday"), now).is_err());
        let filter = parse_filter(&words("call 12:30"), now).expect("words");
        assert_eq!(filter.words, ["call", "12:30"]);
    }
}
