//! An authenticated session on one server: the stored credentials (or `TODO_TOKEN`),
//! refreshed before they expire and once more after a 401, with refreshes serialised
//! across processes by a lock file.

use std::future::Future;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use time::OffsetDateTime;
use todo_api::{
    ProblemCode, Secret, SessionInfo, SignInRequest, SignOutRequest, SignUpRequest, Task, TaskInput,
    TaskPatch, User,
};
use tokio::sync::Mutex;
use uuid::Uuid;

use crate::credentials::{Account, CredentialStore, Credentials};
use crate::{ApiClient, ClientError, ListQuery, TaskPage};

/// An access token given in the environment beats the store, for scripts and CI.
pub const TOKEN_ENV: &str = "TODO_TOKEN";

/// Refresh this long before the access token expires.
const REFRESH_MARGIN: time::Duration = time::Duration::seconds(5);

/// Where the access token of a session comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenSource {
    /// `TODO_TOKEN`: used as is, never refreshed or stored.
    Environment,
    /// The credential store; the string says where it is.
    Store(String),
}

struct EnvToken {
    token: Secret,
    /// Read from a JWT's `sub` at once; for a personal access token, asked of
    /// `/api/auth/session` the first time it is needed.
    user_id: tokio::sync::OnceCell<Uuid>,
}

/// How a sign-in went.
#[derive(Debug)]
pub enum SignIn {
    Done(User),
    /// The account has two-factor sign-in on: finish with a code.
    NeedsCode(todo_api::MfaChallenge),
}

#[derive(Clone)]
pub struct Session {
    api: ApiClient,
    store: Arc<CredentialStore>,
    env_token: Option<Arc<EnvToken>>,
    current: Arc<Mutex<Option<Credentials>>>,
}

/// Reads `sub` from a JWT without verifying it: the server verifies; the client only
/// needs the user id for the task paths.
fn subject_of(token: &str) -> Option<Uuid> {
    let payload = token.split('.').nth(1)?;
    let claims: serde_json::Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()?;
    claims.get("sub")?.as_str()?.parse().ok()
}

fn blocking_error(_: tokio::task::JoinError) -> ClientError {
    ClientError::Credentials("the credential store worker failed".into())
}

impl Session {
    /// Opens the session for `server` with the default store and `TODO_TOKEN`.
    pub async fn open(server: &str) -> Result<Session, ClientError> {
        let store = tokio::task::spawn_blocking(CredentialStore::open)
            .await
            .map_err(blocking_error)??;
        let env_token = std::env::var(TOKEN_ENV).ok().filter(|t| !t.trim().is_empty());
        Session::with_store(server, store, env_token).await
    }

    pub async fn with_store(
        server: &str,
        store: CredentialStore,
        env_token: Option<String>,
    ) -> Result<Session, ClientError> {
        let api = ApiClient::new(server)?;
        let env_token = match env_token {
            Some(token) => {
                let token = token.trim().to_string();
                let user_id = tokio::sync::OnceCell::new();
                if !token.starts_with(todo_api::PERSONAL_TOKEN_PREFIX) {
                    let sub = subject_of(&token).ok_or_else(|| {
                        ClientError::Credentials(format!(
                            "{TOKEN_ENV} holds neither a todo access token nor a personal access token (todo_pat_...)"
                        ))
                    })?;
                    let _ = user_id.set(sub);
                }
                Some(Arc::new(EnvToken {
                    token: Secret::new(token),
                    user_id,
                }))
            }
            None => None,
        };
        let store = Arc::new(store);
        let session = Session {
            api,
            store,
            env_token,
            current: Arc::new(Mutex::new(None)),
        };
        let loaded = session.load_active().await?;
        *session.current.lock().await = loaded;
        Ok(session)
    }

    /// The credentials of the account this server uses now.
    async fn load_active(&self) -> Result<Option<Credentials>, ClientError> {
        let store = self.store.clone();
        let server = self.server().to_string();
        tokio::task::spawn_blocking(move || store.load_active(&server))
            .await
            .map_err(blocking_error)?
    }

    /// This session's account as stored now (another process may have refreshed it).
    async fn load_own(&self, user: Uuid) -> Result<Option<Credentials>, ClientError> {
        let store = self.store.clone();
        let server = self.server().to_string();
        tokio::task::spawn_blocking(move || store.load(&server, user))
            .await
            .map_err(blocking_error)?
    }

    /// Stores credentials; `activate` makes their account the one this server uses.
    async fn save(&self, credentials: Credentials, activate: bool) -> Result<(), ClientError> {
        let store = self.store.clone();
        let to_store = credentials.clone();
        tokio::task::spawn_blocking(move || {
            if activate {
                store.save_active(&to_store)
            } else {
                store.save(&to_store)
            }
        })
        .await
        .map_err(blocking_error)??;
        *self.current.lock().await = Some(credentials);
        Ok(())
    }

    /// Forgets this session's account; returns the account the server uses next.
    async fn forget(&self) -> Result<Option<Account>, ClientError> {
        let Some(gone) = self.current.lock().await.take() else {
            return Ok(None);
        };
        let store = self.store.clone();
        let server = self.server().to_string();
        tokio::task::spawn_blocking(move || store.remove(&server, gone.user.id))
            .await
            .map_err(blocking_error)?
    }

    /// Makes another account signed in on this server the one it uses (see
    /// [`CredentialStore::switch`]), for this session too.
    pub async fn switch_account(&self, wanted: Option<String>) -> Result<Account, ClientError> {
        let store = self.store.clone();
        let server = self.server().to_string();
        let account = tokio::task::spawn_blocking(move || store.switch(&server, wanted.as_deref()))
            .await
            .map_err(blocking_error)??;
        *self.current.lock().await = self.load_active().await?;
        Ok(account)
    }

    /// Every account signed in on this machine, on every server.
    pub async fn accounts(&self) -> Result<Vec<Account>, ClientError> {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || store.accounts())
            .await
            .map_err(blocking_error)?
    }

    /// Uses these connect and request timeouts from now on.
    pub fn set_timeouts(&mut self, timeouts: crate::api::Timeouts) -> Result<(), ClientError> {
        self.api = ApiClient::with_timeouts(self.api.base_url(), timeouts)?;
        Ok(())
    }

    pub fn api(&self) -> &ApiClient {
        &self.api
    }

    pub fn server(&self) -> &str {
        self.api.base_url()
    }

    pub fn store(&self) -> &CredentialStore {
        &self.store
    }

    pub fn token_source(&self) -> TokenSource {
        if self.env_token.is_some() {
            TokenSource::Environment
        } else {
            TokenSource::Store(self.store.location())
        }
    }

    /// The stored credentials, if any (never those of `TODO_TOKEN`).
    pub async fn credentials(&self) -> Option<Credentials> {
        self.current.lock().await.clone()
    }

    /// The signed-in user's id, from `TODO_TOKEN` or the store.
    pub async fn user_id(&self) -> Result<Uuid, ClientError> {
        if let Some(env) = &self.env_token {
            let id = env
                .user_id
                .get_or_try_init(|| async {
                    self.api
                        .session(env.token.expose())
                        .await
                        .map(|info| info.user.id)
                })
                .await?;
            return Ok(*id);
        }
        self.current
            .lock()
            .await
            .as_ref()
            .map(|c| c.user.id)
            .ok_or_else(|| self.not_signed_in())
    }

    fn not_signed_in(&self) -> ClientError {
        ClientError::NotSignedIn {
            server: self.server().to_string(),
        }
    }

    pub async fn sign_up(&self, request: &SignUpRequest) -> Result<User, ClientError> {
        let tokens = self.api.sign_up(request).await?;
        let credentials = Credentials::from_tokens(self.server(), tokens, OffsetDateTime::now_utc());
        let user = credentials.user.clone();
        self.save(credentials, true).await?;
        Ok(user)
    }

    /// Signs in and stores the tokens, or, when the account has two-factor sign-in on,
    /// answers the challenge to finish with [`Self::sign_in_with_code`].
    pub async fn sign_in(&self, request: &SignInRequest) -> Result<SignIn, ClientError> {
        match self.api.sign_in(request).await? {
            todo_api::SignInAnswer::Tokens(tokens) => self.keep(tokens).await.map(SignIn::Done),
            todo_api::SignInAnswer::MfaRequired(challenge) => Ok(SignIn::NeedsCode(challenge)),
        }
    }

    /// Trades a JWT from an issuer the server trusts for a session of the server's own,
    /// and stores it.
    pub async fn exchange_token(&self, subject_token: &str) -> Result<User, ClientError> {
        let tokens = self.api.token_exchange(subject_token).await?;
        self.keep(tokens).await
    }

    /// The second step of a sign-in: a TOTP or recovery code for the challenge.
    pub async fn sign_in_with_code(&self, mfa_token: &Secret, code: String) -> Result<User, ClientError> {
        let request = todo_api::MfaSignIn {
            mfa_token: mfa_token.clone(),
            code: Secret::new(code),
        };
        let tokens = self.api.sign_in_2fa(&request).await?;
        self.keep(tokens).await
    }

    async fn keep(&self, tokens: todo_api::TokenResponse) -> Result<User, ClientError> {
        let credentials = Credentials::from_tokens(self.server(), tokens, OffsetDateTime::now_utc());
        let user = credentials.user.clone();
        self.save(credentials, true).await?;
        Ok(user)
    }

    /// Makes a TOTP secret and recovery codes (not on until [`Self::enable_2fa`]).
    pub async fn setup_2fa(&self) -> Result<todo_api::TwoFactorSetup, ClientError> {
        self.with_token(|api, t| async move { api.setup_2fa(t.expose()).await })
            .await
    }

    pub async fn enable_2fa(&self, password: String, code: String) -> Result<(), ClientError> {
        let body = todo_api::TwoFactorEnable {
            password: Secret::new(password),
            code: Secret::new(code),
        };
        let body = &body;
        self.with_token(|api, t| async move { api.enable_2fa(t.expose(), body).await })
            .await
    }

    pub async fn disable_2fa(&self, password: String, code: String) -> Result<(), ClientError> {
        let body = todo_api::TwoFactorDisable {
            password: Secret::new(password),
            code: Secret::new(code),
        };
        let body = &body;
        self.with_token(|api, t| async move { api.disable_2fa(t.expose(), body).await })
            .await
    }

    /// Signs out on the server (this session, or every session with `all`) and forgets
    /// the local credentials, even when the server already considers them dead. Returns
    /// the account this server uses from now on, when another is signed in here.
    pub async fn sign_out(&self, all: bool) -> Result<Option<Account>, ClientError> {
        if self.env_token.is_none() && self.current.lock().await.is_none() {
            return Err(self.not_signed_in());
        }
        let request = SignOutRequest {
            refresh_token: self
                .current
                .lock()
                .await
                .as_ref()
                .map(|c| c.refresh_token.clone()),
            all: all.then_some(true),
        };
        let request = &request;
        let outcome =
            self.with_token(|api, token| async move { api.sign_out(token.expose(), request).await });
        let result = match outcome.await {
            Err(e) if e.needs_sign_in() => Ok(()),
            other => other,
        };
        let next = match self.env_token {
            None => self.forget().await?,
            Some(_) => None,
        };
        result.map(|()| next)
    }

    /// A valid access token, refreshed first if it is expired or about to be.
    pub async fn access_token(&self) -> Result<Secret, ClientError> {
        if let Some(env) = &self.env_token {
            return Ok(env.token.clone());
        }
        let stale = {
            let current = self.current.lock().await;
            let credentials = current.as_ref().ok_or_else(|| self.not_signed_in())?;
            if credentials.expires_at - REFRESH_MARGIN > OffsetDateTime::now_utc() {
                return Ok(credentials.access_token.clone());
            }
            credentials.access_token.clone()
        };
        self.refresh(&stale).await
    }

    /// Refreshes unless another process already did: holds the lock file, re-reads the
    /// store, and spends the refresh token only if it is still the one we saw.
    async fn refresh(&self, stale_access: &Secret) -> Result<Secret, ClientError> {
        let lock_path = self.store.lock_path();
        let lock = tokio::task::spawn_blocking(move || crate::credentials::lock_file(&lock_path))
            .await
            .map_err(blocking_error)??;

        let result = async {
            let user = self
                .current
                .lock()
                .await
                .as_ref()
                .map(|c| c.user.id)
                .ok_or_else(|| self.not_signed_in())?;
            let stored = self.load_own(user).await?.ok_or_else(|| self.not_signed_in())?;
            if stored.access_token != *stale_access
                && stored.expires_at - REFRESH_MARGIN > OffsetDateTime::now_utc()
            {
                let token = stored.access_token.clone();
                *self.current.lock().await = Some(stored);
                return Ok(token);
            }
            match self.api.refresh(stored.refresh_token.expose()).await {
                Ok(tokens) => {
                    let fresh = Credentials::from_tokens(self.server(), tokens, OffsetDateTime::now_utc());
                    let token = fresh.access_token.clone();
                    self.save(fresh, false).await?;
                    Ok(token)
                }
                Err(e) if e.code() == Some(ProblemCode::InvalidRefreshToken) => {
                    self.forget().await?;
                    Err(ClientError::SessionEnded {
                        server: self.server().to_string(),
                    })
                }
                Err(e) => Err(e),
            }
        }
        .await;
        drop(lock);
        result
    }

    /// The one authenticated path of every call: `call` gets the API client and a fresh
    /// access token; after a 401 the token is refreshed once and the call tried again.
    pub(crate) async fn with_token<'a, T, F, Fut>(&'a self, call: F) -> Result<T, ClientError>
    where
        F: Fn(&'a ApiClient, Secret) -> Fut,
        Fut: Future<Output = Result<T, ClientError>> + 'a,
    {
        let token = self.access_token().await?;
        match call(&self.api, token.clone()).await {
            Err(e) if e.code() == Some(ProblemCode::InvalidToken) && self.env_token.is_none() => {
                let token = self.refresh(&token).await?;
                call(&self.api, token).await
            }
            other => other,
        }
    }

    pub async fn session_info(&self) -> Result<SessionInfo, ClientError> {
        self.with_token(|api, t| async move { api.session(t.expose()).await })
            .await
    }

    pub async fn list_tasks(&self, query: &ListQuery) -> Result<TaskPage, ClientError> {
        let user = self.user_id().await?;
        self.with_token(|api, t| async move { api.list_tasks(t.expose(), user, query).await })
            .await
    }

    pub async fn create_task(&self, input: &TaskInput) -> Result<Task, ClientError> {
        let user = self.user_id().await?;
        self.with_token(|api, t| async move { api.create_task(t.expose(), user, input).await })
            .await
    }

    pub async fn get_task(&self, id: i64) -> Result<Task, ClientError> {
        let user = self.user_id().await?;
        self.with_token(|api, t| async move { api.get_task(t.expose(), user, id).await })
            .await
    }

    /// Replaces a task's fields. `base_version`: the version the caller's copy is of;
    /// the server refuses (`version_conflict`, with the current task) if it moved on.
    pub async fn replace_task(
        &self,
        id: i64,
        input: &TaskInput,
        base_version: Option<i64>,
    ) -> Result<Task, ClientError> {
        let user = self.user_id().await?;
        self.with_token(
            |api, t| async move { api.replace_task(t.expose(), user, id, input, base_version).await },
        )
        .await
    }

    /// Changes only the fields in `patch`; the server merges them into the task as it is,
    /// so a change made elsewhere to another field is kept.
    pub async fn patch_task(
        &self,
        id: i64,
        patch: &TaskPatch,
        base_version: Option<i64>,
    ) -> Result<Task, ClientError> {
        let user = self.user_id().await?;
        self.with_token(
            |api, t| async move { api.patch_task(t.expose(), user, id, patch, base_version).await },
        )
        .await
    }

    pub async fn delete_task(&self, id: i64, base_version: Option<i64>) -> Result<(), ClientError> {
        let user = self.user_id().await?;
        self.with_token(|api, t| async move { api.delete_task(t.expose(), user, id, base_version).await })
            .await
    }

    /// Sends one write queued while offline (see [`ApiClient::send_queued`]).
    pub async fn send_queued(
        &self,
        queued: &crate::replica::QueuedWrite,
    ) -> Result<Option<Task>, ClientError> {
        let user = self.user_id().await?;
        self.with_token(|api, t| async move { api.send_queued(t.expose(), user, queued).await })
            .await
    }

    /// Adds a note to a task.
    pub async fn add_note(&self, id: i64, text: &str) -> Result<todo_api::Note, ClientError> {
        let user = self.user_id().await?;
        self.with_token(|api, t| async move { api.add_note(t.expose(), user, id, text).await })
            .await
    }

    /// Deletes one of the caller's notes.
    pub async fn delete_note(&self, id: i64, note: Uuid) -> Result<(), ClientError> {
        let user = self.user_id().await?;
        self.with_token(|api, t| async move { api.delete_note(t.expose(), user, id, note).await })
            .await
    }

    pub async fn toggle_task(&self, id: i64, base_version: Option<i64>) -> Result<Task, ClientError> {
        let user = self.user_id().await?;
        self.with_token(|api, t| async move { api.toggle_task(t.expose(), user, id, base_version).await })
            .await
    }

    /// Sets a task's completion to `completed` in one request (no read-then-toggle), so
    /// `todo done` and `todo undone` can run twice, and beside other clients, safely.
    pub async fn set_completed(&self, id: i64, completed: bool) -> Result<Task, ClientError> {
        let user = self.user_id().await?;
        self.with_token(|api, t| async move { api.set_completed(t.expose(), user, id, completed).await })
            .await
    }

    /// Changes the password (this session goes on; every other one ends).
    pub async fn change_password(&self, current: String, new: String) -> Result<(), ClientError> {
        let change = todo_api::PasswordChange {
            current_password: Secret::new(current),
            new_password: Secret::new(new),
        };
        let change = &change;
        self.with_token(|api, t| async move { api.change_password(t.expose(), change).await })
            .await
    }

    /// Deletes the account for good, then forgets the stored credentials.
    pub async fn delete_account(&self, password: String) -> Result<(), ClientError> {
        let password = &password;
        self.with_token(|api, t| async move { api.delete_account(t.expose(), password).await })
            .await?;
        if self.env_token.is_none() {
            self.forget().await?;
        }
        Ok(())
    }

    /// Where this account is signed in.
    pub async fn sessions(&self) -> Result<Vec<todo_api::SessionSummary>, ClientError> {
        self.with_token(|api, t| async move { api.sessions(t.expose()).await })
            .await
    }

    /// Changes the account's email (after the password check); returns the account.
    pub async fn change_email(
        &self,
        password: String,
        new_email: String,
    ) -> Result<todo_api::User, ClientError> {
        let change = todo_api::EmailChange {
            password: Secret::new(password),
            new_email,
        };
        let change = &change;
        let user = self
            .with_token(|api, t| async move { api.change_email(t.expose(), change).await })
            .await?;
        // The stored account (and `auth status`) should name the new email at once.
        let stored = self.current.lock().await.clone();
        if let Some(mut credentials) = stored.filter(|c| c.user.id == user.id) {
            credentials.user = user.clone();
            self.save(credentials, false).await?;
        }
        Ok(user)
    }

    /// The account's activity log, newest first: up to `limit` entries (every kept one
    /// when `None`, a page at a time).
    pub async fn activity(&self, limit: Option<usize>) -> Result<Vec<todo_api::ActivityEntry>, ClientError> {
        let page = todo_api::limits::ACTIVITY_PAGE_MAX;
        let mut entries: Vec<todo_api::ActivityEntry> = Vec::new();
        loop {
            let want = limit.map_or(page as usize, |l| {
                l.saturating_sub(entries.len()).min(page as usize)
            });
            if want == 0 {
                return Ok(entries);
            }
            let query = todo_api::ActivityQuery {
                limit: Some(want as u32),
                before: entries.last().map(|e| e.id),
            };
            let query = &query;
            let got = self
                .with_token(|api, t| async move { api.activity(t.expose(), query).await })
                .await?;
            let done = got.len() < want;
            entries.extend(got);
            if done {
                return Ok(entries);
            }
        }
    }

    /// Sets a new password with an administrator's reset token (no sign-in needed).
    pub async fn reset_password(&self, token: String, new_password: String) -> Result<(), ClientError> {
        let reset = todo_api::PasswordReset {
            token: Secret::new(token),
            new_password: Secret::new(new_password),
        };
        self.api.reset_password(&reset).await
    }

    /// Makes a personal access token for scripts.
    pub async fn create_token(
        &self,
        request: todo_api::TokenRequest,
    ) -> Result<todo_api::CreatedToken, ClientError> {
        let request = &request;
        self.with_token(|api, t| async move { api.create_token(t.expose(), request).await })
            .await
    }

    pub async fn tokens(&self) -> Result<Vec<todo_api::PersonalToken>, ClientError> {
        self.with_token(|api, t| async move { api.tokens(t.expose()).await })
            .await
    }

    pub async fn revoke_token(&self, id: Uuid) -> Result<(), ClientError> {
        self.with_token(|api, t| async move { api.revoke_token(t.expose(), id).await })
            .await
    }

    /// Makes a calendar feed; its address (`path` after the server's) is shown this once.
    pub async fn create_feed(&self, name: &str) -> Result<todo_api::CreatedFeed, ClientError> {
        self.with_token(|api, t| async move { api.create_feed(t.expose(), name).await })
            .await
    }

    pub async fn feeds(&self) -> Result<Vec<todo_api::Feed>, ClientError> {
        self.with_token(|api, t| async move { api.feeds(t.expose()).await })
            .await
    }

    pub async fn revoke_feed(&self, id: Uuid) -> Result<(), ClientError> {
        self.with_token(|api, t| async move { api.revoke_feed(t.expose(), id).await })
            .await
    }

    /// Ends one of this account's sessions.
    pub async fn end_session(&self, id: Uuid) -> Result<(), ClientError> {
        self.with_token(|api, t| async move { api.end_session(t.expose(), id).await })
            .await
    }

    /// Reverts the latest change not yet undone (by any client of this user).
    pub async fn undo(&self) -> Result<todo_api::UndoResult, ClientError> {
        let user = self.user_id().await?;
        self.with_token(|api, t| async move { api.undo(t.expose(), user).await })
            .await
    }

    /// A task's kept changes, oldest first.
    pub async fn history(&self, id: i64) -> Result<Vec<todo_api::HistoryEntry>, ClientError> {
        let user = self.user_id().await?;
        self.with_token(|api, t| async move { api.history(t.expose(), user, id).await })
            .await
    }

    /// Opens the event stream after `last_event_id`, refreshing the token first when
    /// `refresh_first` (the last one was refused).
    pub async fn open_events(
        &self,
        last_event_id: Option<i64>,
        refresh_first: bool,
    ) -> Result<reqwest::Response, ClientError> {
        let user = self.user_id().await?;
        let mut token = self.access_token().await?;
        if refresh_first && self.env_token.is_none() {
            token = self.refresh(&token).await?;
        }
        self.api.open_events(token.expose(), user, last_event_id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subject_is_read_from_a_jwt_payload() {
        let id = Uuid::new_v4();
        let payload = URL_SAFE_NO_PAD.encode(format!(r#"{{"sub":"{id}"}}"#));
        assert_eq!(subject_of(&format!("h.{payload}.s")), Some(id));
        assert_eq!(subject_of("not-a-jwt"), None);
    }
}
