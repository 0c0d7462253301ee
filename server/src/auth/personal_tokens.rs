//! Personal access tokens: `todo_pat_` + 43 base62 characters (256 random bits) + a
//! 6-character checksum, so a secret scanner can tell a real token from noise without
//! asking the server. Stored only as a SHA-256 hash; found by that hash in memory after
//! first use; refused at once when revoked (the revocation is read by every server as a
//! session's is).

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::{Duration, Instant};

use rand::Rng;
use rand::distributions::Alphanumeric;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use todo_api::{
    ActivityKind, CreatedToken, CredentialKind, PERSONAL_TOKEN_PREFIX, PersonalToken, SessionInfo,
    TokenRequest, TokenScope,
};
use uuid::Uuid;

use super::activity::RequestOrigin;
use super::{AuthError, AuthService, Claims, FieldError};
use crate::store::{PersonalTokenRecord, TokenInsert};

const SECRET_CHARS: usize = 43;
const CHECKSUM_CHARS: usize = 6;
const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// The checksum of a token's secret part: the first 32 bits of its SHA-256, in base62.
fn checksum(secret: &str) -> String {
    let digest = Sha256::digest(secret.as_bytes());
    let mut n = u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]);
    let mut out = [b'0'; CHECKSUM_CHARS];
    for slot in out.iter_mut().rev() {
        *slot = BASE62[(n % 62) as usize];
        n /= 62;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A new token and the hash the database keeps of it.
pub fn new_token() -> (String, Vec<u8>) {
    let secret: String = rand::rngs::OsRng
        .sample_iter(&Alphanumeric)
        .take(SECRET_CHARS)
        .map(char::from)
        .collect();
    let token = format!("{PERSONAL_TOKEN_PREFIX}{secret}{}", checksum(&secret));
    let hash = hash(&token);
    (token, hash)
}

fn hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// The hash to look a token up by, if it is well formed (prefix, length, alphabet and
/// checksum); a malformed one is refused without a database read.
pub fn parse(token: &str) -> Option<Vec<u8>> {
    let body = token.strip_prefix(PERSONAL_TOKEN_PREFIX)?;
    if body.len() != SECRET_CHARS + CHECKSUM_CHARS || !body.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return None;
    }
    let (secret, sum) = body.split_at(SECRET_CHARS);
    (checksum(secret) == sum).then(|| hash(token))
}

/// What a request's bearer credential is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// An access token of a signed-in session: may do everything.
    Session,
    PersonalToken {
        scopes: Vec<TokenScope>,
    },
    /// A token from a trusted issuer (its name, the identity's subject there), with the
    /// issuer's scopes: task routes and `GET /api/auth/session` only, as a personal token.
    External {
        issuer: String,
        subject: String,
        scopes: Vec<TokenScope>,
    },
}

impl Credential {
    /// Whether this credential may use a route needing `scope` (write implies read).
    pub fn allows(&self, scope: TokenScope) -> bool {
        match self {
            Credential::Session => true,
            Credential::PersonalToken { scopes } | Credential::External { scopes, .. } => {
                scopes.contains(&scope)
                    || (scope == TokenScope::TasksRead && scopes.contains(&TokenScope::TasksWrite))
            }
        }
    }
}

struct Cached {
    record: PersonalTokenRecord,
    fetched: Instant,
    touched: Instant,
}

/// Tokens seen recently, by hash. An entry lives shorter than a revocation is
/// remembered, so a token revoked on another server is refused from the revocation set
/// while its entry lives, and by the database after.
pub struct PersonalTokenCache {
    entries: RwLock<HashMap<Vec<u8>, Cached>>,
    ttl: Duration,
}

const CACHE_MAX: usize = 10_000;
/// `last_used_at` is written at most this often per token.
const TOUCH_EVERY: Duration = Duration::from_secs(60);

impl PersonalTokenCache {
    pub fn new(revocations_kept_for: Duration) -> PersonalTokenCache {
        PersonalTokenCache {
            entries: RwLock::new(HashMap::new()),
            ttl: (revocations_kept_for / 2).min(Duration::from_secs(60)),
        }
    }

    /// The cached record, and whether `last_used_at` is due a write.
    pub fn get(&self, hash: &[u8]) -> Option<(PersonalTokenRecord, bool)> {
        let mut entries = self.entries.write().unwrap_or_else(|p| p.into_inner());
        let entry = entries.get_mut(hash)?;
        if entry.fetched.elapsed() > self.ttl {
            entries.remove(hash);
            return None;
        }
        let touch = entry.touched.elapsed() > TOUCH_EVERY;
        if touch {
            entry.touched = Instant::now();
        }
        Some((entry.record.clone(), touch))
    }

    pub fn insert(&self, hash: Vec<u8>, record: PersonalTokenRecord) {
        let mut entries = self.entries.write().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= CACHE_MAX {
            entries.retain(|_, e| e.fetched.elapsed() <= self.ttl);
            if entries.len() >= CACHE_MAX {
                entries.clear();
            }
        }
        let now = Instant::now();
        entries.insert(
            hash,
            Cached {
                record,
                fetched: now,
                touched: now,
            },
        );
    }

    fn forget(&self, id: Uuid) {
        let mut entries = self.entries.write().unwrap_or_else(|p| p.into_inner());
        entries.retain(|_, e| e.record.id != id);
    }
}

fn listed(r: PersonalTokenRecord) -> PersonalToken {
    PersonalToken {
        id: r.id,
        name: r.name,
        scopes: r.scopes,
        created_at: r.created_at,
        expires_at: r.expires_at,
        last_used_at: r.last_used_at,
    }
}

/// A token's name: trimmed, 1 to 100 printable characters.
fn token_name(raw: &str) -> Result<String, AuthError> {
    let name = raw.trim();
    let max = todo_api::limits::TOKEN_NAME_MAX;
    if name.is_empty() || name.chars().count() > max {
        return Err(FieldError::new("name", format!("name must be 1 to {max} characters")).into());
    }
    if name.chars().any(char::is_control) {
        return Err(FieldError::new("name", "name may not hold control characters").into());
    }
    Ok(name.to_string())
}

impl AuthService {
    /// Makes a personal access token for the signed-in user; its secret is in the answer
    /// only.
    pub async fn create_personal_token(
        &self,
        claims: &Claims,
        origin: &RequestOrigin,
        request: TokenRequest,
    ) -> Result<CreatedToken, AuthError> {
        let name = token_name(&request.name)?;
        let mut scopes = request.scopes;
        scopes.sort();
        scopes.dedup();
        if scopes.is_empty() {
            return Err(
                FieldError::new("scopes", "give at least one scope: tasks:read or tasks:write").into(),
            );
        }
        let days_max = todo_api::limits::TOKEN_DAYS_MAX;
        let now = self.clock.now();
        let expires_at = match request.expires_in_days {
            None => None,
            Some(days) if (1..=days_max).contains(&days) => Some(now + time::Duration::days(i64::from(days))),
            Some(_) => {
                return Err(FieldError::new(
                    "expires_in_days",
                    format!("expires_in_days must be from 1 to {days_max}, or null for no expiry"),
                )
                .into());
            }
        };
        let record = PersonalTokenRecord {
            id: Uuid::new_v4(),
            user_id: claims.sub,
            name,
            scopes,
            created_at: now,
            expires_at,
            last_used_at: None,
            revoked: false,
        };
        let (token, hash) = new_token();
        let cap = todo_api::limits::TOKENS_PER_USER;
        match self
            .db
            .insert_personal_token(record.clone(), hash, cap, claims.sid)
            .await?
        {
            TokenInsert::Inserted => {}
            TokenInsert::CapReached => {
                return Err(FieldError::new(
                    "name",
                    format!("you hold {cap} tokens already; revoke one first"),
                )
                .into());
            }
            TokenInsert::CredentialEnded => {
                return Err(AuthError::InvalidToken("the session has ended"));
            }
        }
        self.activity
            .record(claims.sub, ActivityKind::TokenCreated, origin, Some(record.id))
            .await;
        Ok(CreatedToken {
            id: record.id,
            name: record.name,
            scopes: record.scopes,
            created_at: record.created_at,
            expires_at: record.expires_at,
            token: todo_api::Secret::new(token),
        })
    }

    pub async fn personal_tokens(&self, claims: &Claims) -> Result<Vec<PersonalToken>, AuthError> {
        let records = self.db.personal_tokens(claims.sub).await?;
        Ok(records.into_iter().map(listed).collect())
    }

    /// Revokes one of the user's tokens: refused at once here, within a second elsewhere.
    pub async fn revoke_personal_token(
        &self,
        claims: &Claims,
        origin: &RequestOrigin,
        id: Uuid,
    ) -> Result<(), AuthError> {
        if !self
            .db
            .revoke_personal_token(claims.sub, id, self.clock.now())
            .await?
        {
            return Err(AuthError::TokenNotFound);
        }
        self.revoked.insert_all([id]);
        self.personal_tokens.forget(id);
        self.activity
            .record(claims.sub, ActivityKind::TokenRevoked, origin, Some(id))
            .await;
        Ok(())
    }

    /// The bearer check for a personal token: its claims carry the token's id as `sid`,
    /// so the revocation set refuses it as it refuses a signed-out session.
    pub(super) async fn authenticate_personal(&self, token: &str) -> Result<(Claims, Credential), AuthError> {
        let hash = parse(token).ok_or(AuthError::InvalidToken("not a valid personal access token"))?;
        let record = match self.personal_tokens.get(&hash) {
            Some((record, touch)) => {
                if touch {
                    let db = self.db.clone();
                    let id = record.id;
                    let now = self.clock.now();
                    tokio::spawn(async move {
                        if let Err(e) = db.touch_personal_token(id, now).await {
                            tracing::debug!(error = %e, "could not note a personal token's use");
                        }
                    });
                }
                record
            }
            None => {
                let record = self
                    .db
                    .personal_token_by_hash(hash.clone())
                    .await?
                    .ok_or(AuthError::InvalidToken("unknown personal access token"))?;
                if !record.revoked {
                    self.db.touch_personal_token(record.id, self.clock.now()).await?;
                    self.personal_tokens.insert(hash, record.clone());
                }
                record
            }
        };
        let now = self.clock.now();
        if record.revoked || self.revoked.contains(&record.id) {
            return Err(AuthError::InvalidToken("the personal access token was revoked"));
        }
        if record.expires_at.is_some_and(|at| at <= now) {
            return Err(AuthError::InvalidToken("the personal access token expired"));
        }
        let mut claims = self.policy.claims_for(record.user_id, record.id, "", now);
        // A stream opened with it ends at its expiry, or after a day (then reconnects).
        let day_later = (now + time::Duration::days(1)).unix_timestamp();
        claims.exp = record
            .expires_at
            .map_or(day_later, |at| at.unix_timestamp().min(day_later));
        Ok((
            claims,
            Credential::PersonalToken {
                scopes: record.scopes,
            },
        ))
    }

    /// `GET /api/auth/session` for either credential.
    pub async fn session(&self, claims: &Claims, credential: &Credential) -> Result<SessionInfo, AuthError> {
        let user = self
            .db
            .user_by_id(claims.sub)
            .await?
            .ok_or(AuthError::AccountGone)?;
        let (kind, scopes, expires_at) = match credential {
            Credential::Session => (
                CredentialKind::Session,
                None,
                Some(
                    OffsetDateTime::from_unix_timestamp(claims.exp)
                        .map_err(|_| AuthError::InvalidToken("malformed"))?,
                ),
            ),
            Credential::PersonalToken { scopes } => {
                let expires = self
                    .db
                    .personal_tokens(claims.sub)
                    .await?
                    .into_iter()
                    .find(|t| t.id == claims.sid)
                    .and_then(|t| t.expires_at);
                (CredentialKind::PersonalToken, Some(scopes.clone()), expires)
            }
            Credential::External { scopes, .. } => (
                CredentialKind::External,
                Some(scopes.clone()),
                OffsetDateTime::from_unix_timestamp(claims.exp).ok(),
            ),
        };
        let issuer = match credential {
            Credential::External { issuer, .. } => Some(issuer.clone()),
            _ => None,
        };
        Ok(SessionInfo {
            user,
            expires_at,
            credential: kind,
            scopes,
            issuer,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_prefixed_checksummed_and_differ() {
        let (a, hash_a) = new_token();
        let (b, _) = new_token();
        assert!(a.starts_with("todo_pat_"));
        assert_eq!(a.len(), "todo_pat_".len() + 49);
        assert_ne!(a, b);
        assert_eq!(parse(&a), Some(hash_a));
    }

    #[test]
    fn a_changed_character_fails_the_checksum() {
        let (token, _) = new_token();
        let mut bytes = token.into_bytes();
        let i = "todo_pat_".len() + 5;
        bytes[i] = if bytes[i] == b'a' { b'b' } else { b'a' };
        let changed = String::from_utf8(bytes).expect("ascii");
        assert_eq!(parse(&changed), None);
        assert_eq!(parse("todo_pat_short"), None);
        assert_eq!(parse("eyJhbGciOiJFZERTQSJ9.e30.sig"), None);
    }

    #[test]
    fn write_implies_read_but_not_the_reverse() {
        let read = Credential::PersonalToken {
            scopes: vec![TokenScope::TasksRead],
        };
        let write = Credential::PersonalToken {
            scopes: vec![TokenScope::TasksWrite],
        };
        assert!(read.allows(TokenScope::TasksRead));
        assert!(!read.allows(TokenScope::TasksWrite));
        assert!(write.allows(TokenScope::TasksRead));
        assert!(Credential::Session.allows(TokenScope::TasksWrite));
    }
}
