//! Where a subtask may go: under a task the caller can write, in the same project (or
//! both personal), never under itself or one of its own subtasks, and at most
//! [`SUBTASK_DEPTH_MAX`] levels deep. The storage reads the facts in the write's own
//! transaction and asks [`check`]; the rule itself is written once, here.

use todo_api::limits::SUBTASK_DEPTH_MAX;
use uuid::Uuid;

/// Why a `parent_id` is refused (422 `invalid_parent`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidParent(pub String);

/// The task being placed: its id (`None` for a new one), the project it will be in,
/// and how many levels its own subtree has (1: no subtasks).
#[derive(Debug, Clone, Copy)]
pub struct Placed {
    pub id: Option<i64>,
    pub project: Option<Uuid>,
    pub levels: usize,
}

/// The parent asked for, as the caller may write it: its id, project, and the ids
/// above it (its parent first, up to a task of its own).
#[derive(Debug, Clone)]
pub struct Parent {
    pub id: i64,
    pub project: Option<Uuid>,
    pub ancestors: Vec<i64>,
}

/// Checks `placed` under `parent` (`None`: no task `parent_id` that the caller can
/// write).
pub fn check(placed: Placed, parent_id: i64, parent: Option<&Parent>) -> Result<(), InvalidParent> {
    let Some(parent) = parent else {
        return Err(InvalidParent(format!(
            "parent_id {parent_id} is not a task you can change"
        )));
    };
    if let Some(id) = placed.id
        && (parent.id == id || parent.ancestors.contains(&id))
    {
        return Err(InvalidParent(format!(
            "task {id} cannot go under task {parent_id}: that is the task itself or one of its subtasks"
        )));
    }
    if parent.project != placed.project {
        return Err(InvalidParent(format!(
            "task {parent_id} is in another project: a subtask is in its parent's project (or both are personal)"
        )));
    }
    let depth = parent.ancestors.len() + 1 + placed.levels;
    if depth > SUBTASK_DEPTH_MAX {
        return Err(InvalidParent(format!(
            "subtasks nest at most {SUBTASK_DEPTH_MAX} levels deep; under task {parent_id} this would be {depth}"
        )));
    }
    Ok(())
}

/// A task moving to another project while it is a subtask (and keeps its parent), or
/// while it has subtasks: refused, so a tree never spans two projects.
pub fn check_move(id: i64, keeps_parent: bool, has_subtasks: bool) -> Result<(), InvalidParent> {
    if keeps_parent {
        return Err(InvalidParent(format!(
            "task {id} is a subtask: it moves with `parent_id: null`, or stays in its parent's project"
        )));
    }
    if has_subtasks {
        return Err(InvalidParent(format!(
            "task {id} has subtasks: move them out first (a tree stays in one project)"
        )));
    }
    Ok(())
}

/// Checks a change of `current` that moves it to another project (`moved_to`) or puts
/// it under another task (`parent`); `parent_check` is [`check`]'s answer for the new
/// parent, read by the store when there is one.
pub fn check_change(
    current: &todo_api::Task,
    moved_to: Option<Option<Uuid>>,
    parent: Option<Option<i64>>,
    parent_check: Option<Result<(), InvalidParent>>,
) -> Result<(), InvalidParent> {
    if moved_to.is_some() {
        let keeps_parent = current.parent_id.is_some() && parent.is_none();
        check_move(current.id, keeps_parent, current.subtasks.total > 0)?;
    }
    parent_check.unwrap_or(Ok(()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn placed(id: Option<i64>, levels: usize) -> Placed {
        Placed {
            id,
            project: None,
            levels,
        }
    }

    fn parent(id: i64, ancestors: &[i64]) -> Parent {
        Parent {
            id,
            project: None,
            ancestors: ancestors.to_vec(),
        }
    }

    #[test]
    fn a_task_never_goes_under_itself_or_its_subtasks() {
        assert!(check(placed(Some(1), 1), 1, Some(&parent(1, &[]))).is_err());
        assert!(check(placed(Some(1), 2), 3, Some(&parent(3, &[2, 1]))).is_err());
        assert!(check(placed(Some(1), 1), 3, Some(&parent(3, &[2]))).is_ok());
        assert!(check(placed(None, 1), 3, None).is_err(), "no such parent");
    }

    #[test]
    fn eight_levels_and_no_more() {
        let seven_up: Vec<i64> = (2..=7).collect();
        assert!(
            check(placed(None, 1), 1, Some(&parent(1, &seven_up))).is_ok(),
            "level 8"
        );
        let eight_up: Vec<i64> = (2..=8).collect();
        assert!(
            check(placed(None, 1), 1, Some(&parent(1, &eight_up))).is_err(),
            "level 9"
        );
        // A task with two levels of its own under a parent at level 7 ends at level 9.
        assert!(check(placed(Some(50), 2), 1, Some(&parent(1, &seven_up))).is_err());
    }

    #[test]
    fn a_subtask_is_in_its_parents_project() {
        let shared = Parent {
            id: 9,
            project: Some(Uuid::new_v4()),
            ancestors: vec![],
        };
        assert!(check(placed(None, 1), 9, Some(&shared)).is_err());
        assert!(check_move(4, true, false).is_err());
        assert!(check_move(4, false, true).is_err());
        assert!(check_move(4, false, false).is_ok());
    }
}
