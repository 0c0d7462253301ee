//! The replica on a real SQLite file: kept versions, the queue's order and keys, and the
//! local list as the server would answer it.

use time::macros::datetime;
use todo_api::{ListQuery, Priority, StatusFilter, Task, TaskInput};

use super::*;

fn task(id: i64, version: i64, title: &str) -> Task {
    serde_json::from_value(serde_json::json!({
        "id": id, "user_id": uuid::Uuid::nil(), "version": version, "title": title,
        "description": "", "completed": false, "priority": "medium", "tags": [],
        "created_at": "2030-01-01T00:00:00Z", "updated_at": "2030-01-01T00:00:00Z"
    }))
    .expect("a task")
}

fn replica() -> (tempfile::TempDir, Replica) {
    let dir = tempfile::tempdir().expect("dir");
    let path = replica_path(dir.path(), "http://127.0.0.1:8000", uuid::Uuid::nil());
    let replica = Replica::open(&path).expect("open");
    (dir, replica)
}

#[test]
fn the_file_is_private_and_an_older_version_never_replaces_a_newer_one() {
    let (_dir, replica) = replica();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode(replica.path()), 0o600);
        assert_eq!(mode(replica.path().parent().expect("dir")), 0o700);
    }
    replica.keep(&[task(1, 3, "new")]).expect("keep");
    replica.keep(&[task(1, 2, "old")]).expect("keep");
    assert_eq!(
        replica.task(1).expect("read").map(|t| t.title),
        Some("new".into())
    );
    replica.forget(1, 2).expect("forget");
    assert!(
        replica.task(1).expect("read").is_some(),
        "a delete of an older version"
    );
    replica.forget(1, 3).expect("forget");
    assert!(replica.task(1).expect("read").is_none());
}

#[test]
fn the_queue_keeps_order_keys_and_conflicts() {
    let (_dir, replica) = replica();
    let now = datetime!(2030-01-01 00:00 UTC);
    let add = Write::Create {
        input: TaskInput {
            title: "Buy milk".into(),
            ..TaskInput::default()
        },
    };
    let first = replica.enqueue(&add, None, now).expect("queue");
    let second = replica
        .enqueue(
            &Write::Complete {
                id: 4,
                completed: true,
            },
            Some(2),
            now,
        )
        .expect("queue");
    assert_ne!(first.idempotency_key, second.idempotency_key);
    let queue = replica.queue().expect("queue");
    assert_eq!(queue, [first.clone(), second.clone()], "in order, as queued");
    let conflict = Conflict {
        reason: "changed on the server since".into(),
        theirs: Some(task(4, 3, "theirs")),
    };
    replica.mark_conflict(second.n, &conflict).expect("mark");
    let fresh = replica.freshness().expect("fresh");
    assert_eq!((fresh.queued, fresh.conflicts), (1, 1));
    replica.rebase(second.n, Some(3)).expect("rebase");
    let again = &replica.queue().expect("queue")[1];
    assert_eq!(again.base_version, Some(3));
    assert!(again.conflict.is_none());
    assert_ne!(again.idempotency_key, second.idempotency_key, "a new request");
    replica.dequeue(first.n).expect("dequeue");
    assert_eq!(replica.queue().expect("queue").len(), 1);
}

#[test]
fn a_local_list_filters_and_sorts_as_the_server_does() {
    let now = datetime!(2030-06-01 00:00 UTC);
    let mut done = task(1, 1, "Alpha done");
    done.completed = true;
    let mut waiting = task(2, 1, "Beta waiting");
    waiting.wait_until = Some(datetime!(2030-07-01 00:00 UTC));
    let mut urgent = task(3, 1, "Gamma");
    urgent.priority = Priority::High;
    urgent.tags = vec!["Work".into()];
    let plain = task(4, 1, "delta");
    let all = vec![done, waiting, urgent, plain];
    let ids = |q: ListQuery| -> Vec<i64> { matching(all.clone(), &q, now).iter().map(|t| t.id).collect() };
    assert_eq!(
        ids(ListQuery::default()),
        [4, 3],
        "pending, newest (highest id) first"
    );
    let status = |s| ListQuery {
        status: Some(s),
        ..ListQuery::default()
    };
    assert_eq!(ids(status(StatusFilter::Completed)), [1]);
    assert_eq!(ids(status(StatusFilter::Waiting)), [2]);
    assert_eq!(ids(status(StatusFilter::All)).len(), 4);
    let tagged = ListQuery {
        tags: vec!["work".into()],
        ..ListQuery::default()
    };
    assert_eq!(ids(tagged), [3], "tags in any case");
    let by_title = ListQuery {
        status: Some(StatusFilter::All),
        sort: Some(todo_api::SortField::Title),
        search: Some("A".into()),
        ..ListQuery::default()
    };
    assert_eq!(
        ids(by_title),
        [1, 2, 4, 3],
        "search in any case, A to Z in any case"
    );
}
