//! TOTP secrets, recovery codes and mfa challenges on SQLite.

use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{Db, WriteTx, parse_uuid, to_micros};
use crate::store::{CodeUse, SingleUseToken, StoreResult, TotpRecord, TwoFactorStorage};

fn begin(tx: &WriteTx<'_>, user_id: Uuid, secret: &[u8], codes: &[Vec<u8>]) -> rusqlite::Result<bool> {
    let user = user_id.to_string();
    let enabled: Option<bool> = tx
        .query_row(
            "SELECT enabled_at IS NOT NULL FROM totp_secrets WHERE user_id = ?1",
            [&user],
            |r| r.get(0),
        )
        .optional()?;
    if enabled == Some(true) {
        return Ok(false);
    }
    tx.execute(
        "INSERT OR REPLACE INTO totp_secrets (user_id, secret, enabled_at, last_step) VALUES (?1, ?2, NULL, -1)",
        params![user, secret],
    )?;
    tx.execute("DELETE FROM recovery_codes WHERE user_id = ?1", [&user])?;
    for code in codes {
        tx.execute(
            "INSERT INTO recovery_codes (user_id, code_hash) VALUES (?1, ?2)",
            params![user, code],
        )?;
    }
    Ok(true)
}

#[async_trait]
impl TwoFactorStorage for Db {
    async fn begin_totp(
        &self,
        user_id: Uuid,
        secret: Vec<u8>,
        recovery_hashes: Vec<Vec<u8>>,
    ) -> StoreResult<bool> {
        self.write(move |tx| begin(tx, user_id, &secret, &recovery_hashes))
            .await
    }

    async fn totp(&self, user_id: Uuid) -> StoreResult<Option<TotpRecord>> {
        self.read(move |c| {
            c.query_row(
                "SELECT secret, enabled_at IS NOT NULL, last_step FROM totp_secrets WHERE user_id = ?1",
                [user_id.to_string()],
                |r| {
                    Ok(TotpRecord {
                        secret: r.get(0)?,
                        enabled: r.get(1)?,
                        last_step: r.get(2)?,
                    })
                },
            )
            .optional()
        })
        .await
    }

    async fn totp_secrets_of_length(&self, len: usize) -> StoreResult<Vec<(Uuid, Vec<u8>)>> {
        self.read(move |c| {
            let mut statement =
                c.prepare("SELECT user_id, secret FROM totp_secrets WHERE length(secret) = ?1")?;
            let rows = statement.query_map([len as i64], |r| Ok((parse_uuid(r.get(0)?)?, r.get(1)?)))?;
            rows.collect()
        })
        .await
    }

    async fn replace_totp_secret(&self, user_id: Uuid, old: Vec<u8>, new: Vec<u8>) -> StoreResult<bool> {
        self.write(move |tx| {
            let n = tx.execute(
                "UPDATE totp_secrets SET secret = ?3 WHERE user_id = ?1 AND secret = ?2",
                params![user_id.to_string(), old, new],
            )?;
            Ok(n == 1)
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
        self.write(move |tx| {
            let n = tx.execute(
                "UPDATE totp_secrets SET enabled_at = ?3, last_step = ?2
                 WHERE user_id = ?1 AND enabled_at IS NULL AND secret = ?4",
                params![user_id.to_string(), step, to_micros(now), secret],
            )?;
            Ok(n == 1)
        })
        .await
    }

    async fn disable_totp(&self, user_id: Uuid) -> StoreResult<bool> {
        self.write(move |tx| {
            let user = user_id.to_string();
            let n = tx.execute(
                "DELETE FROM totp_secrets WHERE user_id = ?1 AND enabled_at IS NOT NULL",
                [&user],
            )?;
            if n == 1 {
                tx.execute("DELETE FROM recovery_codes WHERE user_id = ?1", [&user])?;
            }
            Ok(n == 1)
        })
        .await
    }

    async fn use_totp_step(
        &self,
        user_id: Uuid,
        step: i64,
        challenge: Option<Vec<u8>>,
        now: OffsetDateTime,
    ) -> StoreResult<CodeUse> {
        self.write(move |tx| {
            with_challenge(tx, user_id, challenge.as_deref(), now, |tx| {
                tx.execute(
                    "UPDATE totp_secrets SET last_step = ?2
                     WHERE user_id = ?1 AND enabled_at IS NOT NULL AND last_step < ?2",
                    params![user_id.to_string(), step],
                )
            })
        })
        .await
    }

    async fn use_recovery_code(
        &self,
        user_id: Uuid,
        code_hash: Vec<u8>,
        challenge: Option<Vec<u8>>,
        now: OffsetDateTime,
    ) -> StoreResult<CodeUse> {
        self.write(move |tx| {
            with_challenge(tx, user_id, challenge.as_deref(), now, |tx| {
                tx.execute(
                    "UPDATE recovery_codes SET used_at = ?3
                     WHERE user_id = ?1 AND code_hash = ?2 AND used_at IS NULL",
                    params![user_id.to_string(), code_hash, to_micros(now)],
                )
            })
        })
        .await
    }

    async fn add_mfa_challenge(
        &self,
        token_hash: Vec<u8>,
        user_id: Uuid,
        expires_at: OffsetDateTime,
    ) -> StoreResult<()> {
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO mfa_challenges (token_hash, user_id, expires_at) VALUES (?1, ?2, ?3)",
                params![token_hash, user_id.to_string(), to_micros(expires_at)],
            )
            .map(drop)
        })
        .await
    }

    async fn mfa_challenge_user(
        &self,
        token_hash: Vec<u8>,
        now: OffsetDateTime,
    ) -> StoreResult<Option<Uuid>> {
        self.read(move |c| super::unspent_token_owner(c, SingleUseToken::MfaChallenge, &token_hash, now))
            .await
    }
}

/// Uses a code (`use_code` answers how many rows it changed) and, when given, the mfa
/// challenge it came with, in the writer's one transaction: both or neither.
fn with_challenge(
    tx: &WriteTx<'_>,
    user_id: Uuid,
    challenge: Option<&[u8]>,
    now: OffsetDateTime,
    use_code: impl FnOnce(&WriteTx<'_>) -> rusqlite::Result<usize>,
) -> rusqlite::Result<CodeUse> {
    if let Some(hash) = challenge {
        let open = super::unspent_token_owner(tx, SingleUseToken::MfaChallenge, hash, now)?;
        if open != Some(user_id) {
            return Ok(CodeUse::ChallengeSpent);
        }
    }
    if use_code(tx)? != 1 {
        return Ok(CodeUse::Refused);
    }
    if let Some(hash) = challenge {
        tx.execute(
            "UPDATE mfa_challenges SET used_at = ?2 WHERE token_hash = ?1",
            params![hash, to_micros(now)],
        )?;
    }
    Ok(CodeUse::Taken)
}
