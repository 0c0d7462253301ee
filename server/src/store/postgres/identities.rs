//! The identities port on PostgreSQL: `external_identities`. Two servers meeting one new
//! identity at once meet on its primary key: one account is made, the other server's
//! transaction makes none and reads the holder.

use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use time::OffsetDateTime;
use uuid::Uuid;

use super::PgStore;
use crate::store::{IdentityCreation, IdentityHolder, IdentityStorage, StoreResult, UserRecord, to_micros};

async fn holder(c: &impl GenericClient, issuer: &str, subject: &str) -> StoreResult<Option<IdentityHolder>> {
    let row = c
        .query_opt(
            "SELECT u.id, u.disabled_at IS NOT NULL, u.external_not_before
               FROM external_identities e JOIN users u ON u.id = e.user_id
              WHERE e.issuer = $1 AND e.subject = $2",
            &[&issuer, &subject],
        )
        .await?;
    Ok(match row {
        Some(r) => Some(IdentityHolder {
            user: r.try_get(0)?,
            disabled: r.try_get(1)?,
            not_before: r
                .try_get::<_, Option<i64>>(2)?
                .map(crate::store::stored_time)
                .transpose()?,
        }),
        None => None,
    })
}

#[async_trait]
impl IdentityStorage for PgStore {
    async fn identity_holder(&self, issuer: &str, subject: &str) -> StoreResult<Option<IdentityHolder>> {
        self.observe(async {
            let client = self.client().await?;
            holder(&client, issuer, subject).await
        })
        .await
    }

    async fn create_identity_account(
        &self,
        issuer: &str,
        subject: &str,
        user: UserRecord,
        now: OffsetDateTime,
    ) -> StoreResult<IdentityCreation> {
        self.observe(async {
            let mut client = self.client().await?;
            let tx = client.transaction().await?;
            let inserted = tx
                .execute(
                    "INSERT INTO users (id, email, name, password_hash, created_at) VALUES ($1, $2, $3, $4, $5)
                     ON CONFLICT (email) DO NOTHING",
                    &[
                        &user.user.id,
                        &user.user.email,
                        &user.user.name,
                        &user.password_hash,
                        &to_micros(user.user.created_at),
                    ],
                )
                .await?;
            if inserted == 0 {
                // The email is taken, perhaps by a server that just made this identity's
                // account: the holder if so.
                tx.rollback().await?;
                return Ok(match holder(&client, issuer, subject).await? {
                    Some(held) => IdentityCreation::Held(held),
                    None => IdentityCreation::EmailTaken,
                });
            }
            let attached = tx
                .execute(
                    "INSERT INTO external_identities (issuer, subject, user_id, created_at) VALUES ($1, $2, $3, $4)
                     ON CONFLICT (issuer, subject) DO NOTHING",
                    &[&issuer, &subject, &user.user.id, &to_micros(now)],
                )
                .await?;
            if attached == 0 {
                // Another server made it meanwhile: its account stands, this one goes.
                tx.rollback().await?;
                return Ok(match holder(&client, issuer, subject).await? {
                    Some(held) => IdentityCreation::Held(held),
                    None => IdentityCreation::EmailTaken,
                });
            }
            tx.commit().await?;
            Ok(IdentityCreation::Held(IdentityHolder {
                user: user.user.id,
                disabled: false,
                not_before: None,
            }))
        })
        .await
    }

    async fn revoke_external(&self, user: Uuid, now: OffsetDateTime) -> StoreResult<bool> {
        self.observe(async {
            let client = self.client().await?;
            let n = client
                .execute(
                    "UPDATE users SET external_not_before = $2 WHERE id = $1",
                    &[&user, &to_micros(now)],
                )
                .await?;
            Ok(n == 1)
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
        self.observe(async {
            let client = self.client().await?;
            client
                .execute(
                    "INSERT INTO external_identities (issuer, subject, user_id, created_at) VALUES ($1, $2, $3, $4)
                     ON CONFLICT (issuer, subject) DO NOTHING",
                    &[&issuer, &subject, &user, &to_micros(now)],
                )
                .await?;
            holder(&client, issuer, subject).await
        })
        .await
    }
}
