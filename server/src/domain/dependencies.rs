//! "Can't start until X is done": the tasks a task waits for. The set is checked in the
//! write's own transaction against one rule, here: each a task the caller can see in the
//! same project (or all personal), and never a loop (the answer names it).

use std::collections::{HashMap, HashSet, VecDeque};

use todo_api::limits::DEPENDENCIES_MAX;
use uuid::Uuid;

use super::tasks::InvalidTask;

/// The tasks a task waits for, checked for size and repeats (what needs the database is
/// [`check`]).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DependencySet(Vec<i64>);

impl DependencySet {
    pub fn parse(mut ids: Vec<i64>) -> Result<DependencySet, InvalidTask> {
        ids.sort_unstable();
        ids.dedup();
        if ids.len() > DEPENDENCIES_MAX {
            return Err(InvalidTask {
                field: "depends_on".into(),
                reason: format!("a task waits for at most {DEPENDENCIES_MAX} others"),
            });
        }
        Ok(DependencySet(ids))
    }

    pub fn ids(&self) -> &[i64] {
        &self.0
    }
}

/// Why a set of dependencies is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidDependency {
    /// 422 `invalid_dependency`.
    #[error("{0}")]
    NotAllowed(String),
    /// 422 `dependency_cycle`.
    #[error("{0}")]
    Cycle(String),
}

/// Why a task cannot sit where a write puts it among other tasks: under a parent, or
/// after the tasks it waits for. Nothing is written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Misplaced {
    #[error(transparent)]
    Parent(#[from] super::subtasks::InvalidParent),
    #[error(transparent)]
    Dependency(#[from] InvalidDependency),
}

/// The set a change of `current` must be checked against: the one it names, or, when it
/// moves the task to another project, the one it keeps (which must be there too).
pub fn set_to_check(
    current: &todo_api::Task,
    named: Option<&DependencySet>,
    moves: bool,
) -> Option<DependencySet> {
    match (named, moves) {
        (Some(set), _) => Some(set.clone()),
        (None, true) => Some(DependencySet::parse(current.depends_on.clone()).unwrap_or_default()),
        (None, false) => None,
    }
}

/// Where a change leaves `current` among other tasks, from the facts the store read in
/// the write's transaction: the new parent's check, the dependency set's check, and
/// whether other tasks wait for it (it then stays in their project).
pub fn check_placement(
    current: &todo_api::Task,
    moved_to: Option<Option<Uuid>>,
    parent: Option<Option<i64>>,
    parent_check: Option<Result<(), super::subtasks::InvalidParent>>,
    set_check: Option<Result<(), InvalidDependency>>,
    waited_for: bool,
) -> Result<(), Misplaced> {
    super::subtasks::check_change(current, moved_to, parent, parent_check)?;
    if moved_to.is_some() && waited_for {
        return Err(InvalidDependency::NotAllowed(format!(
            "other tasks wait for task {}: it stays in their project",
            current.id
        ))
        .into());
    }
    Ok(set_check.unwrap_or(Ok(()))?)
}

/// Checks that task `task` (`None`: a new one) in `project` may wait for `set`:
/// `found` holds each id of the set the caller can see, with its project; `edges` the
/// dependencies reachable from the set (task, what it waits for).
pub fn check(
    task: Option<i64>,
    project: Option<Uuid>,
    set: &DependencySet,
    found: &HashMap<i64, Option<Uuid>>,
    edges: &[(i64, i64)],
) -> Result<(), InvalidDependency> {
    for id in set.ids() {
        match found.get(id) {
            None => {
                return Err(InvalidDependency::NotAllowed(format!(
                    "depends_on: {id} is not a task you can see"
                )));
            }
            Some(other) if *other != project => {
                return Err(InvalidDependency::NotAllowed(format!(
                    "depends_on: task {id} is in another project (a task waits only for tasks beside it)"
                )));
            }
            Some(_) => {}
        }
    }
    let Some(task) = task else {
        return Ok(());
    };
    match loop_through(task, set, edges) {
        Some(path) => Err(InvalidDependency::Cycle(format!(
            "depends_on would make a loop: {}",
            path.iter()
                .map(|id| id.to_string())
                .collect::<Vec<_>>()
                .join(" -> ")
        ))),
        None => Ok(()),
    }
}

/// The shortest loop `task -> dep -> ... -> task`, if waiting for `set` closes one.
fn loop_through(task: i64, set: &DependencySet, edges: &[(i64, i64)]) -> Option<Vec<i64>> {
    let mut next: HashMap<i64, Vec<i64>> = HashMap::new();
    for (from, to) in edges {
        next.entry(*from).or_default().push(*to);
    }
    let mut came_from: HashMap<i64, i64> = HashMap::new();
    let mut seen: HashSet<i64> = HashSet::new();
    let mut queue: VecDeque<i64> = VecDeque::new();
    for dep in set.ids() {
        if seen.insert(*dep) {
            came_from.insert(*dep, task);
            queue.push_back(*dep);
        }
    }
    while let Some(at) = queue.pop_front() {
        if at == task {
            let mut path = vec![task];
            let mut step = came_from[&task];
            while step != task {
                path.push(step);
                step = came_from[&step];
            }
            path.push(task);
            let last = path.len() - 1;
            path[1..last].reverse();
            return Some(path);
        }
        for to in next.get(&at).into_iter().flatten() {
            if seen.insert(*to) {
                came_from.insert(*to, at);
                queue.push_back(*to);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(ids: &[i64]) -> DependencySet {
        DependencySet::parse(ids.to_vec()).expect("set")
    }

    fn visible(ids: &[i64]) -> HashMap<i64, Option<Uuid>> {
        ids.iter().map(|id| (*id, None)).collect()
    }

    #[test]
    fn a_loop_is_refused_and_named() {
        // 2 waits for 3, 3 for 4: making 4 wait for 2 closes 4 -> 2 -> 3 -> 4.
        let edges = [(2, 3), (3, 4)];
        let refused = check(Some(4), None, &set(&[2]), &visible(&[2]), &edges).expect_err("loop");
        assert_eq!(
            refused,
            InvalidDependency::Cycle("depends_on would make a loop: 4 -> 2 -> 3 -> 4".into())
        );
        assert!(check(Some(5), None, &set(&[2]), &visible(&[2]), &edges).is_ok());
        let itself = check(Some(7), None, &set(&[7]), &visible(&[7]), &[]).expect_err("self");
        assert!(
            matches!(itself, InvalidDependency::Cycle(ref m) if m.ends_with("7 -> 7")),
            "{itself:?}"
        );
    }

    #[test]
    fn only_visible_tasks_beside_it() {
        assert!(matches!(
            check(None, None, &set(&[9]), &visible(&[]), &[]),
            Err(InvalidDependency::NotAllowed(_))
        ));
        let elsewhere: HashMap<i64, Option<Uuid>> = [(9, Some(Uuid::new_v4()))].into();
        assert!(check(None, None, &set(&[9]), &elsewhere, &[]).is_err());
        assert!(DependencySet::parse((0..51).collect()).is_err());
        assert_eq!(set(&[3, 1, 3]).ids(), [1, 3]);
    }
}
