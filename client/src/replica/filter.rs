//! A list query answered from the replica, as the server answers it for the common
//! filters: status, search, tags, priority, project, parent, sort, order, offset, limit.
//! `blocked` is as last seen.

use std::cmp::Ordering;

use time::OffsetDateTime;
use todo_api::{ListQuery, Priority, SortField, StatusFilter, Task};

/// The tasks of `tasks` that `query` lists at `now`, in its order.
pub fn matching(tasks: Vec<Task>, query: &ListQuery, now: OffsetDateTime) -> Vec<Task> {
    let words: Vec<String> = query
        .search
        .as_deref()
        .map(|s| s.split_whitespace().map(str::to_lowercase).collect())
        .unwrap_or_default();
    let mut found: Vec<Task> = tasks
        .into_iter()
        .filter(|t| status_holds(t, query.status.unwrap_or(StatusFilter::Pending), now))
        .filter(|t| words.iter().all(|w| mentions(t, w)))
        .filter(|t| {
            query.tags.iter().all(|want| {
                t.tags
                    .iter()
                    .any(|tag| tag.eq_ignore_ascii_case(want.trim_start_matches('#')))
            })
        })
        .filter(|t| {
            !query.not_tags.iter().any(|no| {
                t.tags
                    .iter()
                    .any(|tag| tag.eq_ignore_ascii_case(no.trim_start_matches('#')))
            })
        })
        .filter(|t| query.priority.is_none_or(|p| t.priority == p))
        .filter(|t| query.due_before.is_none_or(|b| t.due_at.is_some_and(|d| d < b)))
        .filter(|t| query.due_after.is_none_or(|a| t.due_at.is_some_and(|d| d > a)))
        .filter(|t| matches_id(query.project.as_deref(), t.project_id.map(|p| p.to_string())))
        .filter(|t| matches_id(query.parent.as_deref(), t.parent_id.map(|p| p.to_string())))
        .collect();
    let field = query.sort.unwrap_or_default();
    found.sort_by(|a, b| compare(a, b, field, now));
    if query.order.is_some_and(|o| o != field.default_order()) {
        found.reverse();
    }
    let skip = query.offset.unwrap_or(0) as usize;
    let take = query.limit.map_or(usize::MAX, |l| l as usize);
    found.into_iter().skip(skip).take(take).collect()
}

fn waiting(task: &Task, now: OffsetDateTime) -> bool {
    !task.completed && task.wait_until.is_some_and(|w| w > now)
}

fn status_holds(task: &Task, status: StatusFilter, now: OffsetDateTime) -> bool {
    match status {
        StatusFilter::All => true,
        StatusFilter::Completed => task.completed,
        StatusFilter::Waiting => waiting(task, now),
        StatusFilter::Pending => !task.completed && !waiting(task, now),
        StatusFilter::Blocked => !task.completed && !waiting(task, now) && task.blocked,
        StatusFilter::Unblocked => !task.completed && !waiting(task, now) && !task.blocked,
    }
}

fn mentions(task: &Task, search: &str) -> bool {
    task.title.to_lowercase().contains(search)
        || task.description.to_lowercase().contains(search)
        || task.tags.iter().any(|t| t.to_lowercase().contains(search))
}

/// `none`: only tasks without one; an id: only that one's; nothing: any.
fn matches_id(wanted: Option<&str>, has: Option<String>) -> bool {
    match wanted {
        None => true,
        Some("none") => has.is_none(),
        Some(id) => has.as_deref() == Some(id),
    }
}

fn rank(p: Priority) -> u8 {
    match p {
        Priority::High => 0,
        Priority::Medium => 1,
        Priority::Low => 2,
    }
}

/// Each sort in its natural direction (as the server's): newest first, due soonest,
/// highest priority, title A-Z, most urgent (overdue, then due soonest, then priority).
fn compare(a: &Task, b: &Task, field: SortField, now: OffsetDateTime) -> Ordering {
    let due = |t: &Task| (t.due_at.is_none(), t.due_at);
    let by_field = match field {
        SortField::Created => b.created_at.cmp(&a.created_at),
        SortField::Updated => b.updated_at.cmp(&a.updated_at),
        SortField::Due => due(a).cmp(&due(b)),
        SortField::Priority => rank(a.priority).cmp(&rank(b.priority)),
        SortField::Title => a.title.to_lowercase().cmp(&b.title.to_lowercase()),
        SortField::Urgency => {
            // Overdue ones first (false sorts first).
            let overdue = |t: &Task| t.due_at.is_none_or(|d| d >= now);
            (overdue(a), due(a), rank(a.priority)).cmp(&(overdue(b), due(b), rank(b.priority)))
        }
    };
    by_field.then(b.id.cmp(&a.id))
}
