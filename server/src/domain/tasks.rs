//! Validated task types: parse, don't validate. Inner code takes these and cannot be
//! handed a title of 300 characters or an eleventh tag. The storage ports take them, so
//! they live below both the task service and the store.

use time::OffsetDateTime;
use todo_api::{
    ListQuery, Patch, Priority, SortField, SortOrder, StatusFilter, Task, TaskInput, TaskPatch, text,
};
use uuid::Uuid;

/// A field of a task request that breaks its rule: 422 naming the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct InvalidTask {
    pub field: String,
    pub reason: String,
}

use todo_api::limits::{
    DESCRIPTION_MAX, DUE_AT_MAX, DUE_AT_MIN, LIST_LIMIT_DEFAULT, LIST_LIMIT_MAX, SEARCH_MAX, TAG_MAX,
    TAGS_MAX, TITLE_MAX,
};

/// The user whose tasks a query may touch. The field is private and the only
/// constructor compares a verified token's subject with the `{user_id}` of the path, so
/// every store call is scoped to the token's own user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owner(Uuid);

impl Owner {
    /// The owner of `/api/{path_user}/...` for a verified token's `subject`; `None`
    /// when the path names another user (or no user at all). Called once, by the bearer
    /// check, with the subject of the token it verified.
    pub fn of_path(subject: Uuid, path_user: &str) -> Option<Owner> {
        (path_user.parse::<Uuid>().ok() == Some(subject)).then_some(Owner(subject))
    }

    /// The owner a credential names by itself, once verified (a calendar feed's
    /// secret, found by its hash): read-only routes outside `/api/{user_id}`.
    pub fn of_credential(user: Uuid) -> Owner {
        Owner(user)
    }

    pub fn id(self) -> Uuid {
        self.0
    }

    #[cfg(test)]
    pub(crate) fn for_tests(id: Uuid) -> Owner {
        Owner(id)
    }
}

/// The editable fields of a task, checked. The fields are private: the only way to
/// get one is [`TaskDraft::parse`], so a draft always holds valid values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskDraft {
    title: String,
    description: String,
    priority: Priority,
    due_at: Option<OffsetDateTime>,
    tags: Vec<String>,
    /// Kept at creation only.
    source_id: Option<String>,
    /// How it repeats; only with a due date.
    recurrence: Option<super::recurrence::Rule>,
    /// Hidden from lists until then.
    wait_until: Option<OffsetDateTime>,
    /// Its reminder: at a moment, or a while before the due date (not both).
    reminder: Reminder,
    /// The tasks it waits for, when the request names them (`None`: as they are).
    depends_on: Option<super::dependencies::DependencySet>,
}

/// When a task's reminder fires.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Reminder {
    #[default]
    None,
    At(OffsetDateTime),
    Before(super::timers::RemindBefore),
}

fn invalid(field: &str, reason: impl Into<String>) -> InvalidTask {
    InvalidTask {
        field: field.to_string(),
        reason: reason.into(),
    }
}

impl TaskDraft {
    pub fn parse(input: TaskInput) -> Result<TaskDraft, InvalidTask> {
        let title = input.title.trim().to_string();
        let title_len = title.chars().count();
        if title_len == 0 {
            return Err(invalid("title", "title must not be empty"));
        }
        check_line("title", &title)?;
        if title_len > TITLE_MAX {
            return Err(invalid(
                "title",
                format!("title is {title_len} characters; at most {TITLE_MAX} are allowed"),
            ));
        }
        let description = input.description.unwrap_or_default();
        if let Some(c) = text::forbidden_in_description(&description) {
            return Err(invalid(
                "description",
                format!(
                    "description holds the control character {}; only newlines and tabs are allowed",
                    c.escape_unicode()
                ),
            ));
        }
        let description_len = description.chars().count();
        if description_len > DESCRIPTION_MAX {
            return Err(invalid(
                "description",
                format!("description is {description_len} characters; at most {DESCRIPTION_MAX} are allowed"),
            ));
        }
        let due_at = input.due_at.map(parse_due_at).transpose()?;
        let recurrence = input
            .recurrence
            .as_ref()
            .map(super::recurrence::Rule::parse)
            .transpose()?;
        if recurrence.is_some() && due_at.is_none() {
            return Err(invalid(
                "recurrence",
                "a repeating task needs a due_at: its first occurrence",
            ));
        }
        let reminder = match (input.remind_at, input.remind_before.as_deref()) {
            (Some(_), Some(_)) => {
                return Err(invalid(
                    "remind_before",
                    "give remind_at or remind_before, not both",
                ));
            }
            (Some(at), None) => Reminder::At(parse_moment("remind_at", at)?),
            (None, Some(_)) if due_at.is_none() => {
                return Err(invalid(
                    "remind_before",
                    "remind_before needs a due_at to count back from",
                ));
            }
            (None, Some(before)) => Reminder::Before(super::timers::RemindBefore::parse(before)?),
            (None, None) => Reminder::None,
        };
        Ok(TaskDraft {
            title,
            description,
            priority: input.priority.unwrap_or_default(),
            due_at,
            tags: parse_tags(input.tags.unwrap_or_default())?,
            source_id: parse_source_id(input.source_id)?,
            recurrence,
            wait_until: input
                .wait_until
                .map(|w| parse_moment("wait_until", w))
                .transpose()?,
            reminder,
            depends_on: input
                .depends_on
                .map(super::dependencies::DependencySet::parse)
                .transpose()?,
        })
    }
}

/// An import's id for a task: one line, 1 to 200 characters.
fn parse_source_id(raw: Option<String>) -> Result<Option<String>, InvalidTask> {
    let Some(raw) = raw else {
        return Ok(None);
    };
    let id = raw.trim();
    let max = todo_api::limits::SOURCE_ID_MAX;
    if id.is_empty() || id.chars().count() > max {
        return Err(invalid(
            "source_id",
            format!("source_id must be 1 to {max} characters"),
        ));
    }
    check_line("source_id", id)?;
    Ok(Some(id.to_string()))
}

/// What a merge patch leaves of a task, and the completion it sets.
pub struct PatchedTask {
    pub draft: TaskDraft,
    pub completed: Option<bool>,
    /// The project it moves to (`Some(None)`: personal), when the patch moves it.
    pub moved_to: Option<Option<Uuid>>,
    /// The task it goes under (`Some(None)`: a task of its own), when the patch changes
    /// that.
    pub parent: Option<Option<i64>>,
}

impl PatchedTask {
    /// Checks the patch's own fields, before the task is read, so that a bad value is
    /// 422 whether or not the task exists or has moved on (the documented order).
    pub fn check(patch: &TaskPatch) -> Result<(), InvalidTask> {
        Self::apply(&Self::placeholder(), patch).map(drop)
    }

    /// `current` with `patch` applied (RFC 7396), checked as on create: `null` clears
    /// `description`, `due_at` and `tags` and sets `priority` back to medium; `title` and
    /// `completed` cannot be cleared.
    pub fn apply(current: &Task, patch: &TaskPatch) -> Result<PatchedTask, InvalidTask> {
        let title = match &patch.title {
            Patch::Null => return Err(invalid("title", "title cannot be removed")),
            other => other
                .clone()
                .apply(Some(current.title.clone()))
                .unwrap_or_default(),
        };
        let completed = match patch.completed {
            Patch::Null => return Err(invalid("completed", "completed is true or false")),
            Patch::Value(v) => Some(v),
            Patch::Absent => None,
        };
        let input = TaskInput {
            title,
            description: patch.description.clone().apply(Some(current.description.clone())),
            priority: patch.priority.clone().apply(Some(current.priority)),
            due_at: patch.due_at.clone().apply(current.due_at),
            tags: patch.tags.clone().apply(Some(current.tags.clone())),
            source_id: None,
            project_id: None,
            recurrence: patch.recurrence.clone().apply(current.recurrence.clone()),
            parent_id: None,
            wait_until: patch.wait_until.clone().apply(current.wait_until),
            // A reminder set one way replaces one set the other way.
            remind_at: match (&patch.remind_at, &patch.remind_before) {
                (Patch::Absent, Patch::Value(_)) => None,
                _ => patch.remind_at.clone().apply(current_remind_at(current)),
            },
            remind_before: match (&patch.remind_before, &patch.remind_at) {
                (Patch::Absent, Patch::Value(_)) => None,
                _ => patch.remind_before.clone().apply(current.remind_before.clone()),
            },
            // Named only when the patch replaces the set: the write keeps it otherwise.
            depends_on: match &patch.depends_on {
                Patch::Absent => None,
                Patch::Null => Some(Vec::new()),
                Patch::Value(ids) => Some(ids.clone()),
            },
        };
        let moved_to = match patch.project_id {
            Patch::Absent => None,
            Patch::Null => Some(None),
            Patch::Value(p) => Some(Some(p)),
        }
        .filter(|to| *to != current.project_id);
        let parent = match patch.parent_id {
            Patch::Absent => None,
            Patch::Null => Some(None),
            Patch::Value(p) => Some(Some(p)),
        }
        .filter(|to| *to != current.parent_id);
        Ok(PatchedTask {
            draft: TaskDraft::parse(input)?,
            completed,
            moved_to,
            parent,
        })
    }

    /// A valid task to check a patch against before the real one is read.
    fn placeholder() -> Task {
        let epoch = OffsetDateTime::UNIX_EPOCH;
        Task {
            id: 0,
            user_id: Uuid::nil(),
            version: 0,
            title: "placeholder".into(),
            description: String::new(),
            completed: false,
            priority: Priority::Medium,
            due_at: None,
            tags: Vec::new(),
            created_at: epoch,
            updated_at: epoch,
            completed_at: None,
            source_id: None,
            project_id: None,
            created_by: Uuid::nil(),
            updated_by: Uuid::nil(),
            recurrence: None,
            series_id: None,
            occurrence: None,
            notes: None,
            note_count: 0,
            parent_id: None,
            subtasks: Default::default(),
            wait_until: None,
            remind_at: None,
            remind_before: None,
            depends_on: Vec::new(),
            blocked: false,
        }
    }
}

/// The `remind_at` a task was given as a moment (not the one its `remind_before`
/// computes).
fn current_remind_at(current: &Task) -> Option<OffsetDateTime> {
    match current.remind_before {
        Some(_) => None,
        None => current.remind_at,
    }
}

/// A title or tag: no control or bidi character (a terminal would obey them), and at
/// least one character that draws something.
fn check_line(field: &str, value: &str) -> Result<(), InvalidTask> {
    if let Some(c) = text::forbidden_in_line(value) {
        return Err(invalid(
            field,
            format!(
                "{field} may not hold the control character {}",
                c.escape_unicode()
            ),
        ));
    }
    if !text::has_visible(value) {
        return Err(invalid(field, format!("{field} has no visible character")));
    }
    Ok(())
}

/// Converted to UTC and checked against the documented range: an offset can carry a
/// time that reads as year 9999 or year 1 into a UTC instant no one can write.
fn parse_due_at(given: OffsetDateTime) -> Result<OffsetDateTime, InvalidTask> {
    parse_moment("due_at", given)
}

/// A moment within what RFC 3339 and every client can write back, in UTC.
fn parse_moment(field: &str, given: OffsetDateTime) -> Result<OffsetDateTime, InvalidTask> {
    given
        .checked_to_offset(time::UtcOffset::UTC)
        .filter(|utc| (DUE_AT_MIN..=DUE_AT_MAX).contains(utc))
        .ok_or_else(|| {
            invalid(
                field,
                format!("{field} must be between 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z in UTC"),
            )
        })
}

fn parse_tags(raw: Vec<String>) -> Result<Vec<String>, InvalidTask> {
    for tag in &raw {
        let tag = tag.trim();
        if let Some(problem) = todo_api::tags::tag_problem(tag) {
            return Err(invalid("tags", problem));
        }
        check_line("tags", tag)?;
    }
    let tags = todo_api::limits::unique_tags(raw);
    if tags.len() > TAGS_MAX {
        return Err(invalid(
            "tags",
            format!("{} tags given; at most {TAGS_MAX} are allowed", tags.len()),
        ));
    }
    Ok(tags)
}

/// A checked list query, made only by [`TaskQuery::parse`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskQuery {
    status: StatusFilter,
    project: ProjectFilter,
    parent: ParentFilter,
    search: Option<String>,
    /// Compared in [`todo_api::tags::tag_key`] form.
    tags: Vec<String>,
    not_tags: Vec<String>,
    priority: Option<Priority>,
    due_before: Option<OffsetDateTime>,
    due_after: Option<OffsetDateTime>,
    sort: SortField,
    order: SortOrder,
    limit: u32,
    offset: u32,
    /// The moment the list is of: what is still waiting then is left out.
    now: OffsetDateTime,
}

impl TaskDraft {
    pub fn title(&self) -> &str {
        &self.title
    }

    pub fn description(&self) -> &str {
        &self.description
    }

    pub fn priority(&self) -> Priority {
        self.priority
    }

    pub fn due_at(&self) -> Option<OffsetDateTime> {
        self.due_at
    }

    pub fn tags(&self) -> &[String] {
        &self.tags
    }

    pub fn source_id(&self) -> Option<&str> {
        self.source_id.as_deref()
    }

    /// The tasks it waits for, when the request names them.
    pub fn depends_on(&self) -> Option<&super::dependencies::DependencySet> {
        self.depends_on.as_ref()
    }

    pub fn wait_until(&self) -> Option<OffsetDateTime> {
        self.wait_until
    }

    pub fn reminder(&self) -> &Reminder {
        &self.reminder
    }

    /// When the reminder fires, if there is one.
    pub fn remind_at(&self) -> Option<OffsetDateTime> {
        match &self.reminder {
            Reminder::None => None,
            Reminder::At(at) => Some(*at),
            Reminder::Before(before) => self.due_at.and_then(|due| before.before(due)),
        }
    }

    /// `remind_before` as given, if the reminder counts back from the due date.
    pub fn remind_before(&self) -> Option<&str> {
        match &self.reminder {
            Reminder::Before(before) => Some(before.as_str()),
            _ => None,
        }
    }

    pub fn recurrence(&self) -> Option<&super::recurrence::Rule> {
        self.recurrence.as_ref()
    }
}

/// Which tasks a list takes by project.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ProjectFilter {
    /// Every task the caller can see.
    #[default]
    Any,
    /// Personal tasks only (`project=none`).
    Personal,
    Project(Uuid),
}

/// Which tasks a list takes by parent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParentFilter {
    Any,
    /// Tasks that are no one's subtask (`parent=none`).
    TopLevel,
    /// The subtasks of one task (`parent=ID`), one level down.
    Of(i64),
}

impl ParentFilter {
    fn parse(raw: Option<&str>) -> Result<ParentFilter, InvalidTask> {
        match raw.map(str::trim) {
            None | Some("") => Ok(ParentFilter::Any),
            Some("none") => Ok(ParentFilter::TopLevel),
            Some(id) => id
                .parse()
                .map(ParentFilter::Of)
                .map_err(|_| invalid("parent", "parent is a task's id or `none` (tasks of their own)")),
        }
    }
}

impl ProjectFilter {
    fn parse(raw: Option<&str>) -> Result<ProjectFilter, InvalidTask> {
        match raw.map(str::trim) {
            None | Some("") => Ok(ProjectFilter::Any),
            Some("none") => Ok(ProjectFilter::Personal),
            Some(id) => id
                .parse()
                .map(ProjectFilter::Project)
                .map_err(|_| invalid("project", "project is a project's id or `none` (personal tasks)")),
        }
    }
}

impl TaskQuery {
    pub fn status(&self) -> StatusFilter {
        self.status
    }

    pub fn project(&self) -> ProjectFilter {
        self.project
    }

    pub fn parent(&self) -> ParentFilter {
        self.parent
    }

    pub fn search(&self) -> Option<&str> {
        self.search.as_deref()
    }

    /// Tasks must have every one of these (in [`todo_api::tags::tag_key`] form).
    pub fn tags(&self) -> &[String] {
        &self.tags
    }

    pub fn not_tags(&self) -> &[String] {
        &self.not_tags
    }

    pub fn due_before(&self) -> Option<OffsetDateTime> {
        self.due_before
    }

    pub fn due_after(&self) -> Option<OffsetDateTime> {
        self.due_after
    }

    pub fn priority(&self) -> Option<Priority> {
        self.priority
    }

    pub fn sort(&self) -> SortField {
        self.sort
    }

    pub fn order(&self) -> SortOrder {
        self.order
    }

    pub fn limit(&self) -> u32 {
        self.limit
    }

    pub fn offset(&self) -> u32 {
        self.offset
    }

    /// Tasks whose `wait_until` is after this are waiting.
    pub fn now(&self) -> OffsetDateTime {
        self.now
    }

    /// The list as of `now` (the service's clock).
    pub fn as_of(self, now: OffsetDateTime) -> TaskQuery {
        TaskQuery { now, ..self }
    }
}

impl TaskQuery {
    pub fn parse(raw: ListQuery) -> Result<TaskQuery, InvalidTask> {
        let limit = raw.limit.unwrap_or(LIST_LIMIT_DEFAULT);
        if limit == 0 || limit > LIST_LIMIT_MAX {
            return Err(invalid("limit", format!("limit must be 1 to {LIST_LIMIT_MAX}")));
        }
        let search = raw.search.filter(|q| !q.trim().is_empty());
        if search.as_ref().is_some_and(|q| q.chars().count() > SEARCH_MAX) {
            return Err(invalid(
                "q",
                format!("search is limited to {SEARCH_MAX} characters"),
            ));
        }
        // What no task can hold is refused, not searched for: it could match nothing,
        // and a database may refuse to compare it (PostgreSQL takes no NUL).
        if let Some(c) = search.as_deref().and_then(text::forbidden_in_description) {
            let c = c.escape_unicode();
            return Err(invalid(
                "q",
                format!("search may not hold the control character {c}"),
            ));
        }
        if let Some(c) = raw.tags.iter().find_map(|t| text::forbidden_in_line(t)) {
            let c = c.escape_unicode();
            return Err(invalid(
                "tag",
                format!("tags may not hold the control character {c}"),
            ));
        }
        let keys = |given: &[String], field: &str| -> Result<Vec<String>, InvalidTask> {
            if let Some(c) = given.iter().find_map(|t| text::forbidden_in_line(t)) {
                let c = c.escape_unicode();
                return Err(invalid(
                    field,
                    format!("tags may not hold the control character {c}"),
                ));
            }
            let keys: Vec<String> = given
                .iter()
                .map(|t| todo_api::tags::tag_key(t))
                .filter(|t| !t.is_empty())
                .collect();
            if keys.iter().any(|t| t.chars().count() > TAG_MAX) {
                return Err(invalid(field, format!("a tag has at most {TAG_MAX} characters")));
            }
            let max = todo_api::limits::TAG_FILTERS_MAX;
            if keys.len() > max {
                return Err(invalid(field, format!("at most {max} tags to filter on")));
            }
            Ok(keys)
        };
        let tags = keys(&raw.tags, "tag")?;
        let not_tags = keys(&raw.not_tags, "not_tag")?;
        let sort = raw.sort.unwrap_or_default();
        Ok(TaskQuery {
            status: raw.status.unwrap_or_default(),
            project: ProjectFilter::parse(raw.project.as_deref())?,
            parent: ParentFilter::parse(raw.parent.as_deref())?,
            search,
            tags,
            not_tags,
            priority: raw.priority,
            due_before: raw.due_before,
            due_after: raw.due_after,
            sort,
            order: raw.order.unwrap_or(sort.default_order()),
            limit,
            offset: raw.offset.unwrap_or(0),
            // Until `as_of`: the latest moment, so nothing reads as waiting.
            now: DUE_AT_MAX,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(title: &str) -> TaskInput {
        TaskInput {
            title: title.to_string(),
            ..TaskInput::default()
        }
    }

    #[test]
    fn title_is_trimmed_and_bounded_in_characters() {
        assert_eq!(
            TaskDraft::parse(input("  buy milk ")).expect("valid").title,
            "buy milk"
        );
        assert!(TaskDraft::parse(input(&"é".repeat(200))).is_ok());
        let err = TaskDraft::parse(input(&"x".repeat(201))).expect_err("too long");
        assert!(matches!(err, InvalidTask { ref field, .. } if field == "title"));
        assert!(TaskDraft::parse(input("   ")).is_err());
    }

    #[test]
    fn tags_are_deduplicated_and_limited() {
        let mut i = input("t");
        i.tags = Some(vec!["a".into(), "a".into(), " b ".into()]);
        assert_eq!(
            TaskDraft::parse(i).expect("valid").tags,
            vec!["a".to_string(), "b".to_string()]
        );
        let mut i = input("t");
        i.tags = Some((0..11).map(|n| n.to_string()).collect());
        assert!(TaskDraft::parse(i).is_err());
        let mut i = input("t");
        i.tags = Some(vec!["x".repeat(33)]);
        assert!(TaskDraft::parse(i).is_err());
    }

    #[test]
    fn description_over_1000_characters_is_refused() {
        let mut i = input("t");
        i.description = Some("d".repeat(1001));
        let err = TaskDraft::parse(i).expect_err("too long");
        assert!(matches!(err, InvalidTask { ref field, .. } if field == "description"));
    }

    #[test]
    fn list_limit_defaults_and_is_capped() {
        assert_eq!(TaskQuery::parse(ListQuery::default()).expect("valid").limit, 100);
        let raw = ListQuery {
            limit: Some(501),
            ..ListQuery::default()
        };
        assert!(TaskQuery::parse(raw).is_err());
    }
}
