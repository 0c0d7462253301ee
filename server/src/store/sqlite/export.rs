//! Reads a whole database in one read transaction, for `migrate-to`.

use rusqlite::Connection;

use super::{accounts, events, keys, parse_uuid, users};
use crate::store::{RefreshTokenRow, SessionRow, Snapshot};

pub(super) fn snapshot(conn: &Connection) -> rusqlite::Result<Snapshot> {
    let tx = conn.unchecked_transaction()?;
    let users = tx
        .prepare(&format!("SELECT {} FROM users", users::COLUMNS))?
        .query_map([], users::record_from_row)?
        .collect::<rusqlite::Result<_>>()?;
    let sessions = tx
        .prepare(
            "SELECT id, user_id, created_at, expires_at, revoked_at, last_used_at, user_agent, client_addr
             FROM sessions",
        )?
        .query_map([], |r| {
            Ok(SessionRow {
                id: parse_uuid(r.get(0)?)?,
                user_id: parse_uuid(r.get(1)?)?,
                created_at: r.get(2)?,
                expires_at: r.get(3)?,
                revoked_at: r.get(4)?,
                last_used_at: r.get(5)?,
                user_agent: r.get(6)?,
                client_addr: r.get(7)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    let refresh_tokens = tx
        .prepare("SELECT token_hash, session_id, expires_at, used_at FROM refresh_tokens")?
        .query_map([], |r| {
            Ok(RefreshTokenRow {
                token_hash: r.get(0)?,
                session_id: parse_uuid(r.get(1)?)?,
                expires_at: r.get(2)?,
                used_at: r.get(3)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    let event_seqs = tx
        .prepare("SELECT id, event_seq FROM users")?
        .query_map([], |r| Ok((parse_uuid(r.get(0)?)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let snapshot = Snapshot {
        users,
        sessions,
        refresh_tokens,
        keys: keys::all(&tx)?,
        tasks: super::task_statements::all(&tx)?
            .into_iter()
            .map(|t| super::notes::attach(&tx, t))
            .collect::<rusqlite::Result<_>>()?,
        events: events::all(&tx)?,
        event_seqs,
        activity: accounts::all_activity(&tx)?,
        projects: super::projects::all_projects(&tx)?,
        members: super::projects::all_members(&tx)?,
        invitations: super::projects::all_invitations(&tx)?,
        identities: tx
            .prepare(
                "SELECT issuer, subject, user_id, created_at FROM external_identities ORDER BY created_at",
            )?
            .query_map([], |r| {
                Ok((r.get(0)?, r.get(1)?, parse_uuid(r.get(2)?)?, r.get(3)?))
            })?
            .collect::<rusqlite::Result<_>>()?,
        external_revocations: tx
            .prepare("SELECT id, external_not_before FROM users WHERE external_not_before IS NOT NULL")?
            .query_map([], |r| Ok((parse_uuid(r.get(0)?)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?,
    };
    tx.commit()?;
    Ok(snapshot)
}
