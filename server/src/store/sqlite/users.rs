//! The `users` table.

use rusqlite::{Connection, OptionalExtension, Row, params};
use todo_api::User;
use uuid::Uuid;

use super::{WriteTx, from_micros, parse_uuid, to_micros};
use crate::store::UserRecord;

pub(super) const COLUMNS: &str = "id, email, name, created_at, password_hash, disabled_at";

pub(super) fn record_from_row(row: &Row<'_>) -> rusqlite::Result<UserRecord> {
    Ok(UserRecord {
        user: User {
            id: parse_uuid(row.get(0)?)?,
            email: row.get(1)?,
            name: row.get(2)?,
            created_at: from_micros(row.get(3)?)?,
        },
        password_hash: row.get(4)?,
        disabled_at: row.get::<_, Option<i64>>(5)?.map(from_micros).transpose()?,
    })
}

/// Inserts the user; `false` when the email is already registered (nothing changes then).
pub fn insert(tx: &WriteTx<'_>, record: &UserRecord) -> rusqlite::Result<bool> {
    let n = tx.execute(
        "INSERT INTO users (id, email, name, password_hash, created_at) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT(email) DO NOTHING",
        params![
            record.user.id.to_string(),
            record.user.email,
            record.user.name,
            record.password_hash,
            to_micros(record.user.created_at)
        ],
    )?;
    Ok(n == 1)
}

pub fn find_by_email(conn: &Connection, email: &str) -> rusqlite::Result<Option<UserRecord>> {
    conn.prepare_cached(&format!("SELECT {COLUMNS} FROM users WHERE email = ?1"))?
        .query_row([email], record_from_row)
        .optional()
}

pub fn find_by_id(conn: &Connection, id: Uuid) -> rusqlite::Result<Option<User>> {
    conn.prepare_cached(&format!("SELECT {COLUMNS} FROM users WHERE id = ?1"))?
        .query_row([id.to_string()], record_from_row)
        .optional()
        .map(|r| r.map(|r| r.user))
}

/// Every user's id and stored email (for re-normalising addresses at start).
pub fn all_emails(conn: &Connection) -> rusqlite::Result<Vec<(Uuid, String)>> {
    conn.prepare("SELECT id, email FROM users")?
        .query_map([], |row| Ok((parse_uuid(row.get(0)?)?, row.get(1)?)))?
        .collect()
}

/// Changes a user's email from `old` to `new`; `false` when another account already
/// has `new` (or the email is no longer `old`: nothing read earlier overwrites a newer
/// change).
pub fn replace_email(tx: &WriteTx<'_>, id: Uuid, old: &str, new: &str) -> rusqlite::Result<bool> {
    let n = tx.execute(
        "UPDATE OR IGNORE users SET email = ?3 WHERE id = ?1 AND email = ?2",
        params![id.to_string(), old, new],
    )?;
    Ok(n == 1)
}

/// Replaces the password hash only if it is still `old`: a rehash computed from a hash
/// read earlier must not undo a change made since.
pub fn replace_password_hash(tx: &WriteTx<'_>, id: Uuid, old: &str, new: &str) -> rusqlite::Result<bool> {
    let n = tx.execute(
        "UPDATE users SET password_hash = ?3 WHERE id = ?1 AND password_hash = ?2",
        params![id.to_string(), old, new],
    )?;
    if n == 1 {
        spend_mfa_challenges(tx, id)?;
    }
    Ok(n == 1)
}

/// An mfa challenge was earned with the password as it was: a new one spends them all.
pub fn spend_mfa_challenges(tx: &WriteTx<'_>, id: Uuid) -> rusqlite::Result<()> {
    tx.execute(
        "DELETE FROM mfa_challenges WHERE user_id = ?1 AND used_at IS NULL",
        [id.to_string()],
    )
    .map(drop)
}

/// Whether the account is disabled and its password hash (`None` for no such account).
pub fn sign_in_state(conn: &Connection, id: Uuid) -> rusqlite::Result<Option<(bool, String)>> {
    conn.prepare_cached("SELECT disabled_at IS NOT NULL, password_hash FROM users WHERE id = ?1")?
        .query_row([id.to_string()], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()
}
