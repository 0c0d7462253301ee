//! Recurrence on the server: the rule is the contract's ([`todo_api::recurrence`]), so
//! a client previews exactly the dates the server will make.

use time::OffsetDateTime;
pub use todo_api::recurrence::Rule;

use super::tasks::InvalidTask;

impl From<todo_api::recurrence::InvalidRule> for InvalidTask {
    fn from(e: todo_api::recurrence::InvalidRule) -> InvalidTask {
        InvalidTask {
            field: e.field.into(),
            reason: e.reason,
        }
    }
}

/// The due date of the instance that completing `task` creates, if it repeats and its
/// series goes on: the rule as stored, from the instance's own due date and number.
pub fn next_instance(task: &todo_api::Task) -> Option<OffsetDateTime> {
    let rule = Rule::parse(task.recurrence.as_ref()?).ok()?;
    rule.next_after(task.due_at?, task.occurrence.unwrap_or(1))
}
