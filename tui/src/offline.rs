//! The TUI without its server: the list drawn from the account's local copy (at start,
//! before the server answers, and whenever it cannot be reached), writes queued there,
//! and the queue's conflicts shown mine beside theirs.

use todo_api::Task;
use todo_client::replica::{QueuedWrite, Replica, Write};

use crate::app::{ConflictView, LocalState};

/// How the local copy stands, for the status line; `why`: why the server is away.
pub fn state(replica: &Replica, why: String) -> LocalState {
    let fresh = replica.freshness().unwrap_or_default();
    let queue = replica.queue().unwrap_or_default();
    LocalState {
        synced_at: fresh.synced_at,
        queued: fresh.queued,
        conflicts: fresh.conflicts,
        queued_ids: queue
            .iter()
            .filter(|q| q.conflict.is_none())
            .filter_map(|q| q.write.task_id())
            .collect(),
        why,
    }
}

/// Every refused write of the queue, side by side with the task as the server has it.
pub fn conflicts(replica: &Replica) -> Vec<ConflictView> {
    replica
        .queue()
        .unwrap_or_default()
        .iter()
        .filter_map(view)
        .collect()
}

fn view(queued: &QueuedWrite) -> Option<ConflictView> {
    let conflict = queued.conflict.as_ref()?;
    Some(ConflictView {
        n: queued.n,
        change: queued.write.describe(),
        reason: conflict.reason.clone(),
        fields: differing(&queued.write, conflict.theirs.as_ref()),
    })
}

/// The fields the write sets, each as theirs and as mine, where they differ (all of
/// them when the task is gone).
pub fn differing(write: &Write, theirs: Option<&Task>) -> Vec<(String, String, String)> {
    let theirs = theirs.and_then(|t| serde_json::to_value(t).ok());
    let field = |name: &str| -> String {
        match theirs.as_ref().and_then(|t| t.get(name)) {
            Some(value) => shown(value),
            None if theirs.is_none() => "(gone)".into(),
            None => "(none)".into(),
        }
    };
    let mine: Vec<(String, String)> = match write {
        Write::Patch { patch, .. } => serde_json::to_value(patch)
            .ok()
            .and_then(|v| v.as_object().cloned())
            .map(|fields| fields.iter().map(|(k, v)| (k.clone(), shown(v))).collect())
            .unwrap_or_default(),
        Write::Complete { completed, .. } => vec![("completed".into(), completed.to_string())],
        Write::Delete { .. } => vec![("deleted".into(), "yes".into())],
        Write::Create { input } => vec![("title".into(), input.title.clone())],
    };
    mine.into_iter()
        .map(|(name, mine)| {
            let theirs = if name == "deleted" {
                "no".to_string()
            } else {
                field(&name)
            };
            (name, theirs, mine)
        })
        .filter(|(_, theirs, mine)| theirs != mine)
        .collect()
}

/// `write` keeping only `fields` of an edit (a merge: mine for those, theirs for the
/// rest); `None` when nothing of it is left. Other writes are all or nothing.
pub fn only_fields(write: &Write, fields: &[String]) -> Option<Write> {
    let Write::Patch { id, patch } = write else {
        return (!fields.is_empty()).then(|| write.clone());
    };
    let mut value = serde_json::to_value(patch).ok()?;
    value.as_object_mut()?.retain(|name, _| fields.contains(name));
    if value.as_object()?.is_empty() {
        return None;
    }
    let patch = serde_json::from_value(value).ok()?;
    Some(Write::Patch { id: *id, patch })
}

/// A JSON value as a line shows it: strings bare, lists joined, nothing as `(none)`.
fn shown(value: &serde_json::Value) -> String {
    let text = match value {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => "(none)".into(),
        serde_json::Value::Array(items) => items.iter().map(shown).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    };
    todo_api::text::printable(&text, false).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(title: &str, completed: bool) -> Task {
        serde_json::from_value(serde_json::json!({
            "id": 2, "user_id": uuid::Uuid::nil(), "version": 4, "title": title,
            "description": "", "completed": completed, "priority": "high", "tags": ["home"],
            "created_at": "2030-01-01T00:00:00Z", "updated_at": "2030-01-01T00:00:00Z"
        }))
        .expect("a task")
    }

    #[test]
    fn a_merge_keeps_only_the_fields_picked_as_mine() {
        let patch = todo_api::TaskPatch {
            title: todo_api::Patch::Value("Mine".into()),
            due_at: todo_api::Patch::Null,
            ..Default::default()
        };
        let write = Write::Patch { id: 2, patch };
        let Some(Write::Patch { patch, .. }) = only_fields(&write, &["title".into()]) else {
            panic!("a patch");
        };
        assert_eq!(patch.title, todo_api::Patch::Value("Mine".into()));
        assert_eq!(
            patch.due_at,
            todo_api::Patch::Absent,
            "theirs kept for the due date"
        );
        assert_eq!(only_fields(&write, &[]), None);
    }

    #[test]
    fn only_the_fields_that_differ_are_set_side_by_side() {
        let patch = todo_api::TaskPatch {
            title: todo_api::Patch::Value("Mine".into()),
            priority: todo_api::Patch::Value(todo_api::Priority::High),
            ..Default::default()
        };
        let theirs = task("Theirs", false);
        let rows = differing(&Write::Patch { id: 2, patch }, Some(&theirs));
        assert_eq!(
            rows,
            [("title".to_string(), "Theirs".to_string(), "Mine".to_string())]
        );
        let gone = differing(
            &Write::Complete {
                id: 2,
                completed: true,
            },
            None,
        );
        assert_eq!(
            gone,
            [("completed".to_string(), "(gone)".to_string(), "true".to_string())]
        );
    }
}
