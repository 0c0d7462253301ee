//! The tasks with a due date as an iCalendar (RFC 5545) feed: one VTODO each, for the
//! calendar on a phone. Written with the `icalendar` crate.

use icalendar::{Alarm, Calendar, Component, EventLike, Todo, TodoStatus};
use time::OffsetDateTime;
use todo_api::{Priority, Task};

fn utc(t: OffsetDateTime) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::from_timestamp(t.unix_timestamp(), t.nanosecond())
}

/// RFC 5545 priorities: 1 highest, 9 lowest, 5 the middle.
fn priority(p: Priority) -> u32 {
    match p {
        Priority::High => 1,
        Priority::Medium => 5,
        Priority::Low => 9,
    }
}

/// The stable UID of a task's VTODO: the same task is the same entry at every fetch.
pub fn uid(task: &Task) -> String {
    format!("task-{}@todo", task.id)
}

/// A calendar of every task in `tasks` that has a due date.
pub fn render(tasks: &[Task]) -> String {
    let mut calendar = Calendar::new();
    calendar.name("todo");
    for task in tasks {
        let Some(due) = task.due_at.and_then(utc) else {
            continue;
        };
        let mut todo = Todo::new();
        todo.uid(&uid(task))
            .summary(&task.title)
            .due(due)
            .priority(priority(task.priority))
            .sequence(u32::try_from(task.version).unwrap_or(u32::MAX))
            .status(match task.completed {
                true => TodoStatus::Completed,
                false => TodoStatus::NeedsAction,
            });
        if let Some(stamp) = utc(task.updated_at) {
            todo.timestamp(stamp).last_modified(stamp);
        }
        if !task.description.is_empty() {
            todo.description(&task.description);
        }
        if let Some(done) = task.completed_at.and_then(utc) {
            todo.completed(done);
        }
        if !task.tags.is_empty() {
            todo.add_property("CATEGORIES", task.tags.join(","));
        }
        // The pending instance carries the rule; done ones are history, or a calendar
        // would show the series once per instance.
        if let Some(recurrence) = task.recurrence.as_ref().filter(|_| !task.completed) {
            todo.add_property("RRULE", recurrence.rule.as_str());
        }
        if let Some(at) = task.remind_at.and_then(utc).filter(|_| !task.completed) {
            todo.alarm(Alarm::display(&task.title, at));
        }
        calendar.push(todo.done());
    }
    calendar.done().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_task_without_a_due_date_is_not_in_the_calendar() {
        let mut task: Task = serde_json::from_value(serde_json::json!({
            "id": 7, "user_id": uuid::Uuid::nil(), "title": "Water plants", "description": "",
            "completed": false, "priority": "high", "tags": ["home"],
            "created_at": "2031-03-01T00:00:00Z", "updated_at": "2031-03-01T00:00:00Z"
        }))
        .expect("task");
        assert!(!render(std::slice::from_ref(&task)).contains("BEGIN:VTODO"));
        task.due_at = Some(time::macros::datetime!(2031-03-30 09:00 UTC));
        let text = render(&[task]);
        assert!(
            text.contains("BEGIN:VTODO") && text.contains("DUE:20310330T090000Z"),
            "{text}"
        );
    }
}
