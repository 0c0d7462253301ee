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

/// A task of the tree a completion made (the next instance and its copied subtasks), as
/// undo judges it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MadeTask {
    pub id: i64,
    pub version: i64,
    pub completed: bool,
    pub created_at: OffsetDateTime,
}

/// What undoing a completion takes back: the instance it made and the subtasks copied
/// under it, top-down as given (the instance first), if none has been touched since (each
/// still at version 1, pending, made in the same moment: a subtask someone added later
/// keeps the whole tree). The ids to delete, subtasks first.
pub fn untouched_successor(tree: &[MadeTask]) -> Option<Vec<i64>> {
    let made = tree.first()?.created_at;
    tree.iter()
        .all(|t| t.version == 1 && !t.completed && t.created_at == made)
        .then(|| tree.iter().rev().map(|t| t.id).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn made(id: i64, version: i64, completed: bool, at: OffsetDateTime) -> MadeTask {
        MadeTask {
            id,
            version,
            completed,
            created_at: at,
        }
    }

    #[test]
    fn only_a_tree_as_it_was_made_is_taken_back() {
        let at = datetime!(2031-01-06 09:00 UTC);
        let later = datetime!(2031-01-06 10:00 UTC);
        let tree = [
            made(7, 1, false, at),
            made(8, 1, false, at),
            made(9, 1, false, at),
        ];
        assert_eq!(untouched_successor(&tree), Some(vec![9, 8, 7]), "subtasks first");
        let edited = [made(7, 1, false, at), made(8, 2, false, at)];
        assert_eq!(untouched_successor(&edited), None);
        let done = [made(7, 1, false, at), made(8, 1, true, at)];
        assert_eq!(untouched_successor(&done), None);
        let added = [made(7, 1, false, at), made(10, 1, false, later)];
        assert_eq!(
            untouched_successor(&added),
            None,
            "a subtask added since keeps it"
        );
        assert_eq!(untouched_successor(&[]), None);
    }
}
