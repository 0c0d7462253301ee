//! The identities port on SQLite: `external_identities`, each change one write in the
//! single writer (which also serialises two requests meeting one new identity).

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, params};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{Db, WriteTx, to_micros, users};
use crate::store::{IdentityCreation, IdentityHolder, IdentityStorage, StoreResult, UserRecord};

fn conversion_error(e: impl std::error::Error + Send + Sync + 'static) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
}

fn holder(conn: &Connection, issuer: &str, subject: &str) -> rusqlite::Result<Option<IdentityHolder>> {
    conn.prepare_cached(
        "SELECT u.id, u.disabled_at IS NOT NULL, u.external_not_before
           FROM external_identities e JOIN users u ON u.id = e.user_id
          WHERE e.issuer = ?1 AND e.subject = ?2",
    )?
    .query_row(params![issuer, subject], |r| {
        let id: String = r.get(0)?;
        let not_before: Option<i64> = r.get(2)?;
        Ok(IdentityHolder {
            user: id.parse().map_err(conversion_error)?,
            disabled: r.get(1)?,
            not_before: not_before
                .map(super::from_micros)
                .transpose()
                .map_err(conversion_error)?,
        })
    })
    .optional()
}

/// Gives `user` the identity unless it is held; the holder after.
fn attach(
    tx: &WriteTx<'_>,
    issuer: &str,
    subject: &str,
    user: Uuid,
    now: OffsetDateTime,
) -> rusqlite::Result<Option<IdentityHolder>> {
    tx.prepare_cached(
        "INSERT INTO external_identities (issuer, subject, user_id, created_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (issuer, subject) DO NOTHING",
    )?
    .execute(params![issuer, subject, user.to_string(), to_micros(now)])?;
    holder(tx, issuer, subject)
}

#[async_trait]
impl IdentityStorage for Db {
    async fn identity_holder(&self, issuer: &str, subject: &str) -> StoreResult<Option<IdentityHolder>> {
        let (issuer, subject) = (issuer.to_string(), subject.to_string());
        self.read(move |c| holder(c, &issuer, &subject)).await
    }

    async fn create_identity_account(
        &self,
        issuer: &str,
        subject: &str,
        user: UserRecord,
        now: OffsetDateTime,
    ) -> StoreResult<IdentityCreation> {
        let (issuer, subject) = (issuer.to_string(), subject.to_string());
        self.write(move |tx| {
            if let Some(held) = holder(tx, &issuer, &subject)? {
                return Ok(IdentityCreation::Held(held));
            }
            if !users::insert(tx, &user)? {
                return Ok(IdentityCreation::EmailTaken);
            }
            match attach(tx, &issuer, &subject, user.user.id, now)? {
                Some(held) => Ok(IdentityCreation::Held(held)),
                None => Err(rusqlite::Error::QueryReturnedNoRows),
            }
        })
        .await
    }

    async fn revoke_external(&self, user: Uuid, now: OffsetDateTime) -> StoreResult<bool> {
        self.write(move |tx| {
            tx.execute(
                "UPDATE users SET external_not_before = ?2 WHERE id = ?1",
                params![user.to_string(), to_micros(now)],
            )
            .map(|n| n == 1)
        })
        .await
    }

    async fn link_identity(
        &self,
        issuer: &str,
        subject: &str,
        user: Uuid,
        now: OffsetDateTime,
    ) -> StoreResult<Option<IdentityHolder>> {
        let (issuer, subject) = (issuer.to_string(), subject.to_string());
        self.write(move |tx| attach(tx, &issuer, &subject, user, now))
            .await
    }
}
