//! The storage contract: one set of tests of the ports' promises, run against every
//! backend (a SQLite file, and a database in a real PostgreSQL cluster), so the two
//! backends are held to the same rules by the same code rather than by running the whole
//! end-to-end suite twice. Conditional writes, conflicts, gap-free event numbers, single
//! use of one-time secrets, and limits under concurrency.

use std::sync::Arc;

use time::OffsetDateTime;
use todo_api::{TaskInput, User};
use todo_server::domain::dependencies::Misplaced;
use todo_server::domain::tasks::{Owner, TaskDraft};
use todo_server::store::{
    CodeUse, DatabaseUrl, Expected, NewSession, PostgresOptions, RefreshOutcome, RefreshRotation,
    SessionStart, Store, TaskReplace, TokenInsert, UserRecord, Written,
};
use uuid::Uuid;

/// A store of each backend, each on a database of its own (PostgreSQL only where it can
/// run: SKIPPED, or a failure under `TODO_REQUIRE_POSTGRES`).
fn backends(test: &str) -> Vec<(&'static str, Store, tempfile::TempDir)> {
    let runtime = runtime();
    let dir = tempfile::tempdir().expect("dir");
    let sqlite = DatabaseUrl::Sqlite(dir.path().join("contract.db"));
    let open = |url: &DatabaseUrl| {
        runtime
            .block_on(todo_server::store::open(url, &PostgresOptions::default()))
            .expect("open the store")
    };
    let mut stores = vec![("sqlite", open(&sqlite), dir)];
    if let Some(bin) = todo_e2e::postgres::available(test) {
        let url: DatabaseUrl = todo_e2e::postgres::PgCluster::shared(&bin)
            .create_database()
            .parse()
            .expect("url");
        stores.push(("postgres", open(&url), tempfile::tempdir().expect("dir")));
    }
    stores
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

fn now() -> OffsetDateTime {
    todo_server::clock::Clock::system().now()
}

/// A new user with one session; (user, session, its refresh token's hash).
async fn user_with_session(store: &Store, password_hash: &str) -> (Uuid, Uuid, Vec<u8>) {
    let user = Uuid::new_v4();
    let record = UserRecord {
        user: User {
            id: user,
            email: format!("{user}@contract.example"),
            name: None,
            created_at: now(),
        },
        password_hash: password_hash.into(),
        disabled_at: None,
    };
    let (session, refresh) = (Uuid::new_v4(), Uuid::new_v4().as_bytes().to_vec());
    let started = store
        .start_session(Some(record), new_session(user, session, refresh.clone(), None))
        .await
        .expect("start");
    assert_eq!(started, SessionStart::Started);
    (user, session, refresh)
}

fn new_session(user: Uuid, session: Uuid, refresh: Vec<u8>, verified: Option<&str>) -> NewSession {
    NewSession {
        session_id: session,
        user_id: user,
        refresh_hash: refresh,
        now: now(),
        expires_at: now() + time::Duration::days(1),
        user_agent: None,
        client_addr: None,
        verified_password_hash: verified.map(str::to_string),
    }
}

fn draft(title: &str, source: Option<&str>) -> TaskDraft {
    TaskDraft::parse(TaskInput {
        title: title.into(),
        source_id: source.map(str::to_string),
        ..TaskInput::default()
    })
    .expect("draft")
}

fn owner(user: Uuid) -> Owner {
    Owner::of_path(user, &user.to_string()).expect("owner")
}

/// Runs `check` on every backend, naming the backend when it fails.
fn on_every_backend<F, Fut>(test: &str, check: F)
where
    F: Fn(Store) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let runtime = runtime();
    for (name, store, _dir) in backends(test) {
        eprintln!("{test} on {name}");
        runtime.block_on(check(store));
    }
}

#[test]
fn conditional_task_writes_refuse_stale_versions_and_number_events_without_gaps() {
    on_every_backend("store contract: tasks", |store| async move {
        let (user, _, _) = user_with_session(&store, "h").await;
        let owner = owner(user);
        let Written::Done(task) = store
            .insert_task(owner, None, None, &draft("one", None), now())
            .await
            .expect("insert")
        else {
            panic!("inserted");
        };
        assert_eq!(task.version, 1);
        let stale = store
            .replace_task(
                owner,
                task.id,
                Expected::Version(7),
                replace_with(draft("x", None)),
                now(),
            )
            .await
            .expect("replace");
        assert!(matches!(stale, Written::Conflict(ref t) if t.version == 1 && t.title == "one"));
        let fresh = store
            .replace_task(
                owner,
                task.id,
                Expected::Version(1),
                replace_with(draft("two", None)),
                now(),
            )
            .await
            .expect("replace");
        assert!(matches!(fresh, Written::Done(ref t) if t.version == 2 && t.title == "two"));
        let again = store
            .set_completed(owner, task.id, Expected::Version(1), Some(true), now())
            .await
            .expect("complete");
        assert!(matches!(again, Written::Conflict(_)), "version 1 is gone");
        let missing = store
            .delete_task(owner, task.id + 1000, Expected::Any, false, now())
            .await
            .expect("delete");
        assert!(matches!(missing, Written::Missing));
        let someone_else = owner_of_another(&store).await;
        assert!(
            store
                .get_task(someone_else, task.id)
                .await
                .expect("get")
                .is_none(),
            "another owner sees nothing"
        );

        let first = store
            .insert_task(owner, None, None, &draft("imported", Some("tw:1")), now())
            .await
            .expect("import");
        let Written::Done(first) = first else {
            panic!("first import")
        };
        let second = store
            .insert_task(owner, None, None, &draft("imported again", Some("tw:1")), now())
            .await
            .expect("import again");
        assert!(
            matches!(second, Written::Conflict(ref t) if t.id == first.id),
            "one task per source"
        );

        let page = store.events_after(owner, 0, 100).await.expect("events");
        let seqs: Vec<i64> = page.events.iter().map(|e| e.seq).collect();
        assert_eq!(
            seqs,
            vec![1, 2, 3],
            "every change, numbered without gaps (refusals add none)"
        );
        assert_eq!(page.latest, 3);
    });
}

fn replace_with(draft: TaskDraft) -> TaskReplace {
    TaskReplace {
        draft,
        completed: None,
        moved_to: None,
        parent: None,
    }
}

async fn owner_of_another(store: &Store) -> Owner {
    let (other, _, _) = user_with_session(store, "h").await;
    owner(other)
}

#[test]
fn a_refresh_token_is_used_once_and_its_reuse_ends_the_session() {
    on_every_backend("store contract: refresh", |store| async move {
        let (_, session, first) = user_with_session(&store, "h").await;
        let rotation = |presented: &[u8], next: &[u8]| RefreshRotation {
            presented: presented.to_vec(),
            next: next.to_vec(),
            now: now(),
            refresh_ttl: std::time::Duration::from_secs(3600),
            session_lifetime: std::time::Duration::from_secs(86_400),
        };
        let second = Uuid::new_v4().as_bytes().to_vec();
        let rotated = store
            .rotate_refresh_token(rotation(&first, &second))
            .await
            .expect("rotate");
        assert!(matches!(rotated, RefreshOutcome::Rotated { session_id, .. } if session_id == session));
        let replayed = store
            .rotate_refresh_token(rotation(&first, b"third"))
            .await
            .expect("replay");
        assert!(matches!(replayed, RefreshOutcome::Reused { session_id, .. } if session_id == session));
        let after = store
            .rotate_refresh_token(rotation(&second, b"fourth"))
            .await
            .expect("after");
        assert!(
            matches!(after, RefreshOutcome::Rejected),
            "the replay ended the session"
        );
    });
}

#[test]
fn a_session_starts_only_while_the_account_is_as_the_sign_in_saw_it() {
    on_every_backend("store contract: sessions", |store| async move {
        let (user, _, _) = user_with_session(&store, "hash-1").await;
        let start = |verified: &str| {
            new_session(
                user,
                Uuid::new_v4(),
                Uuid::new_v4().as_bytes().to_vec(),
                Some(verified),
            )
        };
        assert_eq!(
            store.start_session(None, start("hash-1")).await.expect("start"),
            SessionStart::Started
        );
        assert_eq!(
            store.start_session(None, start("hash-0")).await.expect("start"),
            SessionStart::CredentialsChanged
        );
        store
            .set_disabled(user, Some(now()), now())
            .await
            .expect("disable");
        assert_eq!(
            store.start_session(None, start("hash-1")).await.expect("start"),
            SessionStart::AccountDisabled
        );
    });
}

#[test]
fn personal_tokens_are_stored_only_for_an_enabled_account_and_a_live_session() {
    on_every_backend("store contract: personal tokens", |store| async move {
        let (user, session, _) = user_with_session(&store, "h").await;
        let token = |n: u8| {
            let record = todo_server::store::PersonalTokenRecord {
                id: Uuid::new_v4(),
                user_id: user,
                name: format!("t{n}"),
                scopes: vec![todo_api::TokenScope::TasksRead],
                created_at: now(),
                expires_at: None,
                last_used_at: None,
                revoked: false,
            };
            (record, vec![n; 32])
        };
        let (record, hash) = token(1);
        assert_eq!(
            store
                .insert_personal_token(record, hash, 1, session)
                .await
                .expect("insert"),
            TokenInsert::Inserted
        );
        let (record, hash) = token(2);
        assert_eq!(
            store
                .insert_personal_token(record, hash, 1, session)
                .await
                .expect("insert"),
            TokenInsert::CapReached
        );
        assert!(store.end_session(user, session, now()).await.expect("end"));
        let (record, hash) = token(3);
        assert_eq!(
            store
                .insert_personal_token(record, hash, 5, session)
                .await
                .expect("insert"),
            TokenInsert::CredentialEnded
        );
    });
}

#[test]
fn one_time_secrets_work_once_and_a_code_is_spent_only_with_its_challenge() {
    on_every_backend("store contract: one-time secrets", |store| async move {
        let (user, _, _) = user_with_session(&store, "h").await;
        store
            .add_reset_token(user, b"reset".to_vec(), now() + time::Duration::hours(1))
            .await
            .expect("reset token");
        assert!(
            store
                .use_reset_token(b"reset".to_vec(), "new".into(), now())
                .await
                .expect("use")
                .is_some()
        );
        assert!(
            store
                .use_reset_token(b"reset".to_vec(), "newer".into(), now())
                .await
                .expect("use")
                .is_none()
        );

        let codes = vec![b"code-a".to_vec(), b"code-b".to_vec()];
        assert!(
            store
                .begin_totp(user, b"secret".to_vec(), codes)
                .await
                .expect("setup")
        );
        assert!(
            store
                .enable_totp(user, b"secret".to_vec(), 1, now())
                .await
                .expect("enable")
        );
        let expires = now() + time::Duration::minutes(5);
        store
            .add_mfa_challenge(b"mfa".to_vec(), user, expires)
            .await
            .expect("challenge");
        let wrong = store
            .use_recovery_code(user, b"nope".to_vec(), Some(b"mfa".to_vec()), now())
            .await
            .expect("wrong");
        assert_eq!(wrong, CodeUse::Refused, "a wrong code leaves the challenge open");
        let taken = store
            .use_recovery_code(user, b"code-a".to_vec(), Some(b"mfa".to_vec()), now())
            .await
            .expect("use");
        assert_eq!(taken, CodeUse::Taken);
        let late = store
            .use_recovery_code(user, b"code-b".to_vec(), Some(b"mfa".to_vec()), now())
            .await
            .expect("use");
        assert_eq!(late, CodeUse::ChallengeSpent);
        let kept = store
            .use_recovery_code(user, b"code-b".to_vec(), None, now())
            .await
            .expect("use");
        assert_eq!(
            kept,
            CodeUse::Taken,
            "the code sent with a spent challenge was not spent"
        );
    });
}

#[test]
fn a_limit_admits_exactly_its_limit_under_concurrency() {
    on_every_backend("store contract: limits", |store| async move {
        let store = Arc::new(store);
        let now = now();
        let attempts: Vec<_> = (0..24)
            .map(|_| {
                let store = store.clone();
                tokio::spawn(async move {
                    store
                        .count_attempt("contract", now, std::time::Duration::from_secs(60), 5)
                        .await
                })
            })
            .collect();
        let mut admitted = 0;
        for attempt in attempts {
            if attempt.await.expect("task").expect("count").is_ok() {
                admitted += 1;
            }
        }
        assert_eq!(admitted, 5);
    });
}

async fn insert_under(
    store: &Store,
    owner: Owner,
    title: &str,
    parent: Option<i64>,
) -> Written<todo_api::Task> {
    store
        .insert_task(owner, None, parent, &draft(title, None), now())
        .await
        .expect("insert")
}

fn done(written: Written<todo_api::Task>) -> todo_api::Task {
    match written {
        Written::Done(task) => task,
        other => panic!("not written: {other:?}"),
    }
}

async fn reparent(store: &Store, owner: Owner, id: i64, parent: Option<i64>) -> Written<todo_api::Task> {
    let current = store.get_task(owner, id).await.expect("get").expect("task");
    let draft = TaskDraft::parse(TaskInput {
        title: current.title,
        ..TaskInput::default()
    })
    .expect("draft");
    let change = TaskReplace {
        parent: Some(parent),
        ..replace_with(draft)
    };
    store
        .replace_task(owner, id, Expected::Any, change, now())
        .await
        .expect("replace")
}

/// Subtasks: a tree stays a tree (no task under itself, at most 8 levels, only under a
/// task the caller can write), counts are live, and a task deleted with its subtasks is
/// one change that one undo takes back whole.
#[test]
fn subtasks_form_a_bounded_tree_deleted_and_undone_as_one_change() {
    on_every_backend("store contract: subtasks", |store| async move {
        let (user, _, _) = user_with_session(&store, "h").await;
        let owner = owner(user);
        let root = done(insert_under(&store, owner, "root", None).await);
        let mut chain = vec![root.id];
        for level in 2..=8 {
            let parent = *chain.last().expect("parent");
            let task = done(insert_under(&store, owner, &format!("level {level}"), Some(parent)).await);
            assert_eq!(task.parent_id, Some(parent));
            chain.push(task.id);
        }
        let ninth = insert_under(&store, owner, "level 9", chain.last().copied()).await;
        assert!(
            matches!(ninth, Written::Misplaced(Misplaced::Parent(_))),
            "{ninth:?}"
        );
        let loop_back = reparent(&store, owner, root.id, Some(chain[3])).await;
        assert!(
            matches!(loop_back, Written::Misplaced(Misplaced::Parent(_))),
            "{loop_back:?}"
        );
        let itself = reparent(&store, owner, chain[2], Some(chain[2])).await;
        assert!(
            matches!(itself, Written::Misplaced(Misplaced::Parent(_))),
            "{itself:?}"
        );
        let other = owner_of_another(&store).await;
        let theirs = insert_under(&store, other, "under someone else's", Some(root.id)).await;
        assert!(
            matches!(theirs, Written::Misplaced(Misplaced::Parent(_))),
            "{theirs:?}"
        );

        // Counts are of the level below, and live.
        let sibling = done(insert_under(&store, owner, "sibling", Some(root.id)).await);
        store
            .set_completed(owner, sibling.id, Expected::Any, Some(true), now())
            .await
            .expect("complete");
        let counted = store.get_task(owner, root.id).await.expect("get").expect("root");
        assert_eq!((counted.subtasks.total, counted.subtasks.completed), (2, 1));

        // Deleting the root takes all nine with it; one undo brings all back, linked.
        let Written::Done(()) = store
            .delete_task(owner, root.id, Expected::Any, false, now())
            .await
            .expect("delete")
        else {
            panic!("deleted");
        };
        for id in chain.iter().chain([&sibling.id]) {
            assert!(
                store.get_task(owner, *id).await.expect("get").is_none(),
                "task {id} went too"
            );
        }
        let undone = store.undo_latest(owner, now()).await.expect("undo");
        assert!(
            matches!(undone, todo_server::store::UndoOutcome::Undone(_)),
            "{undone:?}"
        );
        for pair in chain.windows(2) {
            let back = store.get_task(owner, pair[1]).await.expect("get").expect("back");
            assert_eq!(
                back.parent_id,
                Some(pair[0]),
                "task {} is back under {}",
                pair[1],
                pair[0]
            );
        }
        let back = store
            .get_task(owner, root.id)
            .await
            .expect("get")
            .expect("root back");
        assert_eq!((back.subtasks.total, back.subtasks.completed), (2, 1));
    });
}

/// Two writes at once that would each close a loop (A under B, B under A): one wins,
/// the other is refused, on every backend.
#[test]
fn two_reparents_at_once_never_make_a_loop() {
    on_every_backend("store contract: subtask race", |store| async move {
        let (user, _, _) = user_with_session(&store, "h").await;
        let owner = owner(user);
        for _ in 0..10 {
            let a = done(insert_under(&store, owner, "a", None).await);
            let b = done(insert_under(&store, owner, "b", None).await);
            let (first, second) = tokio::join!(
                reparent(&store, owner, a.id, Some(b.id)),
                reparent(&store, owner, b.id, Some(a.id))
            );
            let refused = [&first, &second]
                .iter()
                .filter(|w| matches!(w, Written::Misplaced(Misplaced::Parent(_))))
                .count();
            assert_eq!(refused, 1, "{first:?} / {second:?}");
            let a = store.get_task(owner, a.id).await.expect("get").expect("a");
            let b = store.get_task(owner, b.id).await.expect("get").expect("b");
            assert!(
                a.parent_id.is_none() || b.parent_id.is_none(),
                "a loop: {:?} {:?}",
                a.parent_id,
                b.parent_id
            );
        }
    });
}

async fn wait_for(store: &Store, owner: Owner, id: i64, deps: &[i64]) -> Written<todo_api::Task> {
    let current = store.get_task(owner, id).await.expect("get").expect("task");
    let draft = TaskDraft::parse(TaskInput {
        title: current.title,
        depends_on: Some(deps.to_vec()),
        ..TaskInput::default()
    })
    .expect("draft");
    store
        .replace_task(owner, id, Expected::Any, replace_with(draft), now())
        .await
        .expect("replace")
}

/// Two writes at once that would make two tasks wait for each other: one lands, the
/// other is refused as a loop, on every backend.
#[test]
fn two_dependencies_at_once_never_make_a_loop() {
    on_every_backend("store contract: dependency race", |store| async move {
        let (user, _, _) = user_with_session(&store, "h").await;
        let owner = owner(user);
        for _ in 0..10 {
            let a = done(insert_under(&store, owner, "a", None).await);
            let b = done(insert_under(&store, owner, "b", None).await);
            let (on_b, on_a) = ([b.id], [a.id]);
            let (first, second) = tokio::join!(
                wait_for(&store, owner, a.id, &on_b),
                wait_for(&store, owner, b.id, &on_a)
            );
            let loops = [&first, &second]
                .iter()
                .filter(|w| {
                    matches!(
                        w,
                        Written::Misplaced(Misplaced::Dependency(
                            todo_server::domain::dependencies::InvalidDependency::Cycle(_)
                        ))
                    )
                })
                .count();
            assert_eq!(loops, 1, "{first:?} / {second:?}");
            let a = store.get_task(owner, a.id).await.expect("get").expect("a");
            let b = store.get_task(owner, b.id).await.expect("get").expect("b");
            assert!(a.depends_on.is_empty() || b.depends_on.is_empty(), "a loop");
            assert!(a.blocked != b.blocked, "exactly one waits for the other");
        }
    });
}
