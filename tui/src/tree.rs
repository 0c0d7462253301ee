//! Subtasks under their parent: the list as the server sorted it, reordered so each
//! task shown is followed by its own subtasks (in the same order), with its depth for the
//! indent. A subtask whose parent is not in the list stands where the sort put it.

use std::collections::{HashMap, HashSet};

use todo_api::Task;

/// `tasks` with each one's subtasks right after it.
pub fn tree_order(tasks: Vec<Task>) -> Vec<Task> {
    let shown: HashSet<i64> = tasks.iter().map(|t| t.id).collect();
    let mut children: HashMap<i64, Vec<usize>> = HashMap::new();
    let mut roots = Vec::new();
    for (i, task) in tasks.iter().enumerate() {
        match task.parent_id.filter(|p| shown.contains(p) && *p != task.id) {
            Some(parent) => children.entry(parent).or_default().push(i),
            None => roots.push(i),
        }
    }
    let mut order = Vec::with_capacity(tasks.len());
    let mut placed = vec![false; tasks.len()];
    let mut stack: Vec<usize> = roots.into_iter().rev().collect();
    while let Some(i) = stack.pop() {
        if std::mem::replace(&mut placed[i], true) {
            continue;
        }
        order.push(i);
        if let Some(kids) = children.get(&tasks[i].id) {
            stack.extend(kids.iter().rev());
        }
    }
    // A loop among the shown tasks (the server refuses one; a stale page might hold
    // one): whatever was not reached keeps its place at the end.
    order.extend((0..tasks.len()).filter(|i| !placed[*i]));
    let mut slots: Vec<Option<Task>> = tasks.into_iter().map(Some).collect();
    order.into_iter().filter_map(|i| slots[i].take()).collect()
}

/// `page` (in tree order) without the subtasks of the tasks in `folded`, at any depth.
pub fn unfolded(page: &[Task], folded: &HashSet<i64>) -> Vec<Task> {
    let mut hidden: HashSet<i64> = HashSet::new();
    page.iter()
        .filter(|task| {
            let under_fold = task
                .parent_id
                .is_some_and(|p| p != task.id && (folded.contains(&p) || hidden.contains(&p)));
            if under_fold {
                hidden.insert(task.id);
            }
            !under_fold
        })
        .cloned()
        .collect()
}

/// Each shown task's parent, to find indents with [`depth`] (built once per frame).
pub fn parents(tasks: &[Task]) -> HashMap<i64, Option<i64>> {
    tasks.iter().map(|t| (t.id, t.parent_id)).collect()
}

/// How many of `task`'s ancestors are shown (its indent), at most 8.
pub fn depth(parents: &HashMap<i64, Option<i64>>, task: &Task) -> usize {
    let mut depth = 0;
    let mut at = task.parent_id;
    while let Some(parent) = at {
        match parents.get(&parent) {
            Some(next) if depth < 8 => {
                depth += 1;
                at = *next;
            }
            _ => break,
        }
    }
    depth
}
