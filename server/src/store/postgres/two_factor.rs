//! TOTP secrets, recovery codes and mfa challenges on PostgreSQL.

use async_trait::async_trait;
use time::OffsetDateTime;
use uuid::Uuid;

use super::PgStore;
use crate::store::{CodeUse, SingleUseToken, StoreResult, TotpRecord, TwoFactorStorage, to_micros};

#[async_trait]
impl TwoFactorStorage for PgStore {
    async fn begin_totp(
        &self,
        user_id: Uuid,
        secret: Vec<u8>,
        recovery_hashes: Vec<Vec<u8>>,
    ) -> StoreResult<bool> {
        self.observe(async {
            let mut client = self.client().await?;
            let tx = client.transaction().await?;
            // The user's row lock orders two setups (or a setup and an enable) at once.
            tx.execute("SELECT 1 FROM users WHERE id = $1 FOR UPDATE", &[&user_id])
                .await?;
            let enabled = tx
                .query_opt(
                    "SELECT enabled_at IS NOT NULL FROM totp_secrets WHERE user_id = $1",
                    &[&user_id],
                )
                .await?;
            if let Some(row) = enabled
                && row.try_get::<_, bool>(0)?
            {
                return Ok(false);
            }
            tx.execute(
                "INSERT INTO totp_secrets (user_id, secret, enabled_at, last_step) VALUES ($1, $2, NULL, -1)
                 ON CONFLICT (user_id) DO UPDATE SET secret = EXCLUDED.secret, enabled_at = NULL, last_step = -1",
                &[&user_id, &secret],
            )
            .await?;
            tx.execute("DELETE FROM recovery_codes WHERE user_id = $1", &[&user_id])
                .await?;
            for code in &recovery_hashes {
                tx.execute(
                    "INSERT INTO recovery_codes (user_id, code_hash) VALUES ($1, $2)",
                    &[&user_id, code],
                )
                .await?;
            }
            tx.commit().await?;
            Ok(true)
        })
        .await
    }

    async fn totp(&self, user_id: Uuid) -> StoreResult<Option<TotpRecord>> {
        self.observe(async {
            let client = self.client().await?;
            let row = client
                .query_opt(
                    "SELECT secret, enabled_at IS NOT NULL, last_step FROM totp_secrets WHERE user_id = $1",
                    &[&user_id],
                )
                .await?;
            row.map(|r| {
                Ok(TotpRecord {
                    secret: r.try_get(0)?,
                    enabled: r.try_get(1)?,
                    last_step: r.try_get(2)?,
                })
            })
            .transpose()
        })
        .await
    }

    async fn enable_totp(
        &self,
        user_id: Uuid,
        secret: Vec<u8>,
        step: i64,
        now: OffsetDateTime,
    ) -> StoreResult<bool> {
        self.changed_one(
            "UPDATE totp_secrets SET enabled_at = $3, last_step = $2
             WHERE user_id = $1 AND enabled_at IS NULL AND secret = $4",
            &[&user_id, &step, &to_micros(now), &secret],
        )
        .await
    }

    async fn disable_totp(&self, user_id: Uuid) -> StoreResult<bool> {
        self.observe(async {
            let mut client = self.client().await?;
            let tx = client.transaction().await?;
            let n = tx
                .execute(
                    "DELETE FROM totp_secrets WHERE user_id = $1 AND enabled_at IS NOT NULL",
                    &[&user_id],
                )
                .await?;
            if n == 1 {
                tx.execute("DELETE FROM recovery_codes WHERE user_id = $1", &[&user_id])
                    .await?;
            }
            tx.commit().await?;
            Ok(n == 1)
        })
        .await
    }

    async fn totp_secrets_of_length(&self, len: usize) -> StoreResult<Vec<(Uuid, Vec<u8>)>> {
        let len = i32::try_from(len).unwrap_or(i32::MAX);
        self.observe(async {
            let client = self.client().await?;
            let rows = client
                .query(
                    "SELECT user_id, secret FROM totp_secrets WHERE octet_length(secret) = $1",
                    &[&len],
                )
                .await?;
            rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect()
        })
        .await
    }

    async fn replace_totp_secret(&self, user_id: Uuid, old: Vec<u8>, new: Vec<u8>) -> StoreResult<bool> {
        self.changed_one(
            "UPDATE totp_secrets SET secret = $3 WHERE user_id = $1 AND secret = $2",
            &[&user_id, &old, &new],
        )
        .await
    }

    async fn use_totp_step(
        &self,
        user_id: Uuid,
        step: i64,
        challenge: Option<Vec<u8>>,
        now: OffsetDateTime,
    ) -> StoreResult<CodeUse> {
        self.with_challenge(
            user_id,
            challenge,
            now,
            "UPDATE totp_secrets SET last_step = $2 WHERE user_id = $1 AND enabled_at IS NOT NULL AND last_step < $2",
            &[&user_id, &step],
        )
        .await
    }

    async fn use_recovery_code(
        &self,
        user_id: Uuid,
        code_hash: Vec<u8>,
        challenge: Option<Vec<u8>>,
        now: OffsetDateTime,
    ) -> StoreResult<CodeUse> {
        self.with_challenge(
            user_id,
            challenge,
            now,
            "UPDATE recovery_codes SET used_at = $3 WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL",
            &[&user_id, &code_hash, &to_micros(now)],
        )
        .await
    }

    async fn add_mfa_challenge(
        &self,
        token_hash: Vec<u8>,
        user_id: Uuid,
        expires_at: OffsetDateTime,
    ) -> StoreResult<()> {
        self.changed_one(
            "INSERT INTO mfa_challenges (token_hash, user_id, expires_at) VALUES ($1, $2, $3)",
            &[&token_hash, &user_id, &to_micros(expires_at)],
        )
        .await
        .map(drop)
    }

    async fn mfa_challenge_user(
        &self,
        token_hash: Vec<u8>,
        now: OffsetDateTime,
    ) -> StoreResult<Option<Uuid>> {
        self.unspent_token_owner(SingleUseToken::MfaChallenge, &token_hash, now)
            .await
    }
}

impl PgStore {
    /// Runs `use_code` (a statement that changes one row when the code is good) and,
    /// when given, spends the mfa challenge it came with, in one transaction: both or
    /// neither. The challenge's row lock makes codes sent at once on one challenge wait
    /// for each other; after the first is taken the rest find it spent.
    async fn with_challenge(
        &self,
        user_id: Uuid,
        challenge: Option<Vec<u8>>,
        now: OffsetDateTime,
        use_code: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> StoreResult<CodeUse> {
        let now = to_micros(now);
        self.observe(async {
            let mut client = self.client().await?;
            let tx = client.transaction().await?;
            if let Some(hash) = &challenge {
                let open = tx
                    .query_opt(
                        "SELECT 1 FROM mfa_challenges
                         WHERE token_hash = $1 AND user_id = $2 AND used_at IS NULL AND expires_at > $3
                         FOR UPDATE",
                        &[hash, &user_id, &now],
                    )
                    .await?;
                if open.is_none() {
                    return Ok(CodeUse::ChallengeSpent);
                }
            }
            if tx.execute(use_code, params).await? != 1 {
                return Ok(CodeUse::Refused);
            }
            if let Some(hash) = &challenge {
                tx.execute(
                    "UPDATE mfa_challenges SET used_at = $2 WHERE token_hash = $1",
                    &[hash, &now],
                )
                .await?;
            }
            tx.commit().await?;
            Ok(CodeUse::Taken)
        })
        .await
    }
}
