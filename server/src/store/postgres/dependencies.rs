//! The `task_dependencies` table on PostgreSQL: the same facts as on SQLite, read in the
//! write's transaction (its audience locked first, so two writes that would each close a
//! loop run one after the other); the rule is `domain::dependencies::check`.

use std::collections::HashMap;

use deadpool_postgres::GenericClient;
use uuid::Uuid;

use crate::domain::dependencies::{DependencySet, InvalidDependency, check};
use crate::domain::tasks::Owner;
use crate::store::StoreResult;

/// Whether task `task` (`None`: a new one) in `project` may wait for `set`, as the
/// caller sees the tasks.
pub(super) async fn check_set(
    c: &impl GenericClient,
    owner: Owner,
    task: Option<i64>,
    project: Option<Uuid>,
    set: &DependencySet,
) -> StoreResult<Result<(), InvalidDependency>> {
    if set.ids().is_empty() {
        return Ok(Ok(()));
    }
    let ids = set.ids().to_vec();
    let found: HashMap<i64, Option<Uuid>> = c
        .query(
            "SELECT id, project_id FROM tasks
             WHERE id = ANY($1)
               AND ((project_id IS NULL AND user_id = $2) OR project_id IN
                    (SELECT project_id FROM project_members WHERE user_id = $2))",
            &[&ids, &owner.id()],
        )
        .await?
        .iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect::<StoreResult<_>>()?;
    let edges: Vec<(i64, i64)> = c
        .query(
            "WITH RECURSIVE reach(task_id, depends_on, n) AS (
                 SELECT task_id, depends_on, 0 FROM task_dependencies WHERE task_id = ANY($1)
                 UNION
                 SELECT d.task_id, d.depends_on, r.n + 1 FROM task_dependencies d
                 JOIN reach r ON d.task_id = r.depends_on WHERE r.n < 64)
             SELECT DISTINCT task_id, depends_on FROM reach",
            &[&ids],
        )
        .await?
        .iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect::<StoreResult<_>>()?;
    Ok(check(task, project, set, &found, &edges))
}

/// Makes task `task_id` wait for exactly `ids`.
pub(super) async fn replace(c: &impl GenericClient, task_id: i64, ids: &[i64]) -> StoreResult<()> {
    c.execute("DELETE FROM task_dependencies WHERE task_id = $1", &[&task_id])
        .await?;
    c.execute(
        "INSERT INTO task_dependencies (task_id, depends_on)
         SELECT $1, unnest($2::bigint[]) ON CONFLICT DO NOTHING",
        &[&task_id, &ids.to_vec()],
    )
    .await?;
    Ok(())
}

/// The tasks outside `ids` that wait for one of them (what a delete of `ids` changes).
pub(super) async fn dependents(c: &impl GenericClient, ids: &[i64]) -> StoreResult<Vec<i64>> {
    let ids = ids.to_vec();
    c.query(
        "SELECT DISTINCT task_id FROM task_dependencies
         WHERE depends_on = ANY($1) AND NOT task_id = ANY($1) ORDER BY task_id",
        &[&ids],
    )
    .await?
    .iter()
    .map(|r| Ok(r.try_get(0)?))
    .collect()
}

/// What an undo may give `snapshot` back of what it waited for: those of its tasks that
/// are still there, unless that would now close a loop (then it keeps what it has).
pub(super) async fn to_restore(
    c: &impl GenericClient,
    owner: Owner,
    snapshot: &todo_api::Task,
) -> StoreResult<Option<Vec<i64>>> {
    let Ok(wanted) = DependencySet::parse(snapshot.depends_on.clone()) else {
        return Ok(None);
    };
    let there: Vec<i64> = c
        .query(
            "SELECT id FROM tasks WHERE id = ANY($1) ORDER BY id",
            &[&wanted.ids().to_vec()],
        )
        .await?
        .iter()
        .map(|r| r.try_get(0))
        .collect::<Result<_, _>>()?;
    let Ok(set) = DependencySet::parse(there) else {
        return Ok(None);
    };
    let valid = check_set(c, owner, Some(snapshot.id), snapshot.project_id, &set).await?;
    Ok(valid.is_ok().then(|| set.ids().to_vec()))
}
