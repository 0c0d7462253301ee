//! A typed client for every route of the todo API. Stateless: tokens are passed in;
//! [`Session`](crate::Session) adds the stored credentials and refresh.

use std::time::Duration;

use reqwest::{Method, RequestBuilder, Response};
use serde::de::DeserializeOwned;
use todo_api::{
    CompleteRequest, HistoryEntry, Jwks, ListQuery, Problem, RefreshRequest, Secret, SessionInfo,
    SignInRequest, SignOutRequest, SignUpRequest, Task, TaskInput, TaskPatch, TokenResponse, UndoResult,
};
use uuid::Uuid;

use crate::ClientError;

/// One page of tasks and how many match in all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskPage {
    pub tasks: Vec<Task>,
    pub total: u64,
}

/// How long a request may take to connect, and to be answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    pub connect: Duration,
    pub request: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(5),
            request: Duration::from_secs(30),
        }
    }
}

/// The I/O error under a request error, if one caused it.
fn io_kind(e: &reqwest::Error) -> Option<std::io::ErrorKind> {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(c) = cause {
        if let Some(io) = c.downcast_ref::<std::io::Error>() {
            return Some(io.kind());
        }
        cause = c.source();
    }
    None
}

/// The deepest cause's message: the one that says what happened ("dns error: ...").
fn innermost(e: &reqwest::Error) -> String {
    let mut last = String::from("the request failed");
    let mut cause: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(c) = cause {
        last = c.to_string();
        cause = c.source();
    }
    last
}

#[derive(Clone)]
pub struct ApiClient {
    timeouts: Timeouts,
    http: reqwest::Client,
    /// For the event stream: no overall timeout (it stays open), but a connect timeout
    /// and a read timeout longer than the server's heartbeat, so a dead peer is noticed.
    streaming: reqwest::Client,
    base: String,
}

/// Makes ring the process's TLS provider (for https servers), once; one already set
/// stays.
pub fn install_tls() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

impl ApiClient {
    pub fn new(base_url: &str) -> Result<ApiClient, ClientError> {
        Self::with_timeouts(base_url, Timeouts::default())
    }

    pub fn with_timeouts(base_url: &str, timeouts: Timeouts) -> Result<ApiClient, ClientError> {
        install_tls();
        let http = reqwest::Client::builder()
            .connect_timeout(timeouts.connect)
            .timeout(timeouts.request)
            .user_agent(concat!("todo-client/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ClientError::Protocol(format!("cannot build an HTTP client: {e}")))?;
        let streaming = reqwest::Client::builder()
            .connect_timeout(timeouts.connect)
            .read_timeout(Duration::from_secs(45))
            .user_agent(concat!("todo-client/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ClientError::Protocol(format!("cannot build an HTTP client: {e}")))?;
        Ok(ApiClient {
            timeouts,
            http,
            streaming,
            base: base_url.trim_end_matches('/').to_string(),
        })
    }

    pub fn base_url(&self) -> &str {
        &self.base
    }

    pub(crate) fn request(&self, method: Method, path: &str, token: Option<&str>) -> RequestBuilder {
        let builder = self.http.request(method, format!("{}{path}", self.base));
        match token {
            Some(token) => builder.bearer_auth(token),
            None => builder,
        }
    }

    pub(crate) async fn send(&self, builder: RequestBuilder) -> Result<Response, ClientError> {
        let response = builder.send().await.map_err(|e| self.failure(e))?;
        if response.status().is_success() {
            return Ok(response);
        }
        Err(problem_of(response).await)
    }

    /// A request that got no answer, as the error that says why.
    fn failure(&self, e: reqwest::Error) -> ClientError {
        use crate::error::Unreachable as Why;
        let why = if e.is_connect() && e.is_timeout() {
            Why::ConnectTimedOut(self.timeouts.connect)
        } else if e.is_timeout() {
            Why::NoAnswer(self.timeouts.request)
        } else if e.is_connect() && io_kind(&e) == Some(std::io::ErrorKind::ConnectionRefused) {
            Why::Refused
        } else if e.is_connect() || e.is_request() {
            Why::Other(innermost(&e))
        } else {
            return ClientError::Protocol(e.without_url().to_string());
        };
        ClientError::Unreachable {
            url: self.base.clone(),
            why,
        }
    }

    pub(crate) async fn json<T: DeserializeOwned>(&self, builder: RequestBuilder) -> Result<T, ClientError> {
        self.send(builder)
            .await?
            .json()
            .await
            .map_err(|e| ClientError::Protocol(e.without_url().to_string()))
    }

    pub async fn sign_up(&self, request: &SignUpRequest) -> Result<TokenResponse, ClientError> {
        self.json(
            self.request(Method::POST, "/api/auth/sign-up", None)
                .json(request),
        )
        .await
    }

    /// Tokens, or (with two-factor sign-in on) a challenge for [`Self::sign_in_2fa`].
    pub async fn sign_in(&self, request: &SignInRequest) -> Result<todo_api::SignInAnswer, ClientError> {
        self.json(
            self.request(Method::POST, "/api/auth/sign-in", None)
                .json(request),
        )
        .await
    }

    pub async fn sign_in_2fa(&self, request: &todo_api::MfaSignIn) -> Result<TokenResponse, ClientError> {
        self.json(
            self.request(Method::POST, "/api/auth/sign-in/2fa", None)
                .json(request),
        )
        .await
    }

    pub async fn setup_2fa(&self, token: &str) -> Result<todo_api::TwoFactorSetup, ClientError> {
        self.json(self.request(Method::POST, "/api/auth/2fa/setup", Some(token)))
            .await
    }

    pub async fn enable_2fa(&self, token: &str, body: &todo_api::TwoFactorEnable) -> Result<(), ClientError> {
        self.send(
            self.request(Method::POST, "/api/auth/2fa/enable", Some(token))
                .json(body),
        )
        .await
        .map(drop)
    }

    pub async fn disable_2fa(
        &self,
        token: &str,
        body: &todo_api::TwoFactorDisable,
    ) -> Result<(), ClientError> {
        self.send(
            self.request(Method::POST, "/api/auth/2fa/disable", Some(token))
                .json(body),
        )
        .await
        .map(drop)
    }

    /// `POST /api/auth/token-exchange`: a trusted issuer's JWT for our token pair.
    pub async fn token_exchange(&self, subject_token: &str) -> Result<TokenResponse, ClientError> {
        let body = todo_api::TokenExchangeRequest {
            subject_token: Secret::new(subject_token.to_string()),
            subject_token_type: todo_api::EXCHANGED_TOKEN_TYPES[0].to_string(),
        };
        self.json(
            self.request(Method::POST, "/api/auth/token-exchange", None)
                .json(&body),
        )
        .await
    }

    pub async fn refresh(&self, refresh_token: &str) -> Result<TokenResponse, ClientError> {
        let body = RefreshRequest {
            refresh_token: Secret::new(refresh_token),
        };
        self.json(self.request(Method::POST, "/api/auth/refresh", None).json(&body))
            .await
    }

    pub async fn sign_out(&self, token: &str, request: &SignOutRequest) -> Result<(), ClientError> {
        self.send(
            self.request(Method::POST, "/api/auth/sign-out", Some(token))
                .json(request),
        )
        .await
        .map(drop)
    }

    pub async fn session(&self, token: &str) -> Result<SessionInfo, ClientError> {
        self.json(self.request(Method::GET, "/api/auth/session", Some(token)))
            .await
    }

    pub async fn jwks(&self) -> Result<Jwks, ClientError> {
        self.json(self.request(Method::GET, "/api/auth/jwks", None)).await
    }

    pub async fn list_tasks(
        &self,
        token: &str,
        user: Uuid,
        query: &ListQuery,
    ) -> Result<TaskPage, ClientError> {
        let path = format!("/api/{user}/tasks");
        let response = self
            .send(
                self.request(Method::GET, &path, Some(token))
                    .query(query)
                    .query(&query.tag_pairs()),
            )
            .await?;
        let total = response
            .headers()
            .get("x-total-count")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| ClientError::Protocol("the list has no X-Total-Count".into()))?;
        let tasks = response
            .json()
            .await
            .map_err(|e| ClientError::Protocol(e.without_url().to_string()))?;
        Ok(TaskPage { tasks, total })
    }

    pub async fn create_task(&self, token: &str, user: Uuid, input: &TaskInput) -> Result<Task, ClientError> {
        let path = format!("/api/{user}/tasks");
        self.json(self.request(Method::POST, &path, Some(token)).json(input))
            .await
    }

    pub async fn get_task(&self, token: &str, user: Uuid, id: i64) -> Result<Task, ClientError> {
        let path = format!("/api/{user}/tasks/{id}");
        self.json(self.request(Method::GET, &path, Some(token))).await
    }

    /// A full replace; with `base_version`, only of that version (412 otherwise).
    pub async fn replace_task(
        &self,
        token: &str,
        user: Uuid,
        id: i64,
        input: &TaskInput,
        base_version: Option<i64>,
    ) -> Result<Task, ClientError> {
        let path = format!("/api/{user}/tasks/{id}");
        let request = if_match(self.request(Method::PUT, &path, Some(token)), base_version);
        self.json(request.json(input)).await
    }

    /// A JSON Merge Patch: only the fields given change, merged by the server.
    pub async fn patch_task(
        &self,
        token: &str,
        user: Uuid,
        id: i64,
        patch: &TaskPatch,
        base_version: Option<i64>,
    ) -> Result<Task, ClientError> {
        let path = format!("/api/{user}/tasks/{id}");
        let request = if_match(self.request(Method::PATCH, &path, Some(token)), base_version)
            .header(reqwest::header::CONTENT_TYPE, "application/merge-patch+json")
            .body(serde_json::to_vec(patch).map_err(|e| ClientError::Protocol(e.to_string()))?);
        self.json(request).await
    }

    pub async fn delete_task(
        &self,
        token: &str,
        user: Uuid,
        id: i64,
        base_version: Option<i64>,
    ) -> Result<(), ClientError> {
        let path = format!("/api/{user}/tasks/{id}");
        let request = if_match(self.request(Method::DELETE, &path, Some(token)), base_version);
        self.send(request).await.map(drop)
    }

    pub async fn add_note(
        &self,
        token: &str,
        user: Uuid,
        id: i64,
        text: &str,
    ) -> Result<todo_api::Note, ClientError> {
        let path = format!("/api/{user}/tasks/{id}/notes");
        let body = todo_api::NoteInput {
            text: text.to_string(),
        };
        self.json(self.request(Method::POST, &path, Some(token)).json(&body))
            .await
    }

    pub async fn delete_note(&self, token: &str, user: Uuid, id: i64, note: Uuid) -> Result<(), ClientError> {
        let path = format!("/api/{user}/tasks/{id}/notes/{note}");
        self.send(self.request(Method::DELETE, &path, Some(token)))
            .await
            .map(drop)
    }

    pub async fn toggle_task(
        &self,
        token: &str,
        user: Uuid,
        id: i64,
        base_version: Option<i64>,
    ) -> Result<Task, ClientError> {
        let path = format!("/api/{user}/tasks/{id}/complete");
        self.json(if_match(
            self.request(Method::PATCH, &path, Some(token)),
            base_version,
        ))
        .await
    }
}

impl ApiClient {
    /// Changes the password; every other session ends.
    pub async fn change_password(
        &self,
        token: &str,
        change: &todo_api::PasswordChange,
    ) -> Result<(), ClientError> {
        self.send(
            self.request(Method::POST, "/api/auth/password", Some(token))
                .json(change),
        )
        .await
        .map(drop)
    }

    /// Deletes the account (and everything of it).
    pub async fn delete_account(&self, token: &str, password: &str) -> Result<(), ClientError> {
        let body = todo_api::AccountDeletion {
            password: Secret::new(password),
        };
        self.send(
            self.request(Method::DELETE, "/api/auth/account", Some(token))
                .json(&body),
        )
        .await
        .map(drop)
    }

    /// Changes the account's email; answers the account as it is now.
    pub async fn change_email(
        &self,
        token: &str,
        change: &todo_api::EmailChange,
    ) -> Result<todo_api::User, ClientError> {
        self.json(
            self.request(Method::POST, "/api/auth/email", Some(token))
                .json(change),
        )
        .await
    }

    /// One page of the account's activity log, newest first.
    pub async fn activity(
        &self,
        token: &str,
        query: &todo_api::ActivityQuery,
    ) -> Result<Vec<todo_api::ActivityEntry>, ClientError> {
        self.json(
            self.request(Method::GET, "/api/auth/activity", Some(token))
                .query(query),
        )
        .await
    }

    /// Sets a new password with a reset token from the server's administrator.
    pub async fn reset_password(&self, reset: &todo_api::PasswordReset) -> Result<(), ClientError> {
        self.send(
            self.request(Method::POST, "/api/auth/password/reset", None)
                .json(reset),
        )
        .await
        .map(drop)
    }

    /// Makes a calendar feed (its address is in this answer only).
    pub async fn create_feed(&self, token: &str, name: &str) -> Result<todo_api::CreatedFeed, ClientError> {
        let body = todo_api::FeedRequest {
            name: name.to_string(),
        };
        self.json(
            self.request(Method::POST, "/api/auth/feeds", Some(token))
                .json(&body),
        )
        .await
    }

    pub async fn feeds(&self, token: &str) -> Result<Vec<todo_api::Feed>, ClientError> {
        self.json(self.request(Method::GET, "/api/auth/feeds", Some(token)))
            .await
    }

    pub async fn revoke_feed(&self, token: &str, id: Uuid) -> Result<(), ClientError> {
        let path = format!("/api/auth/feeds/{id}");
        self.send(self.request(Method::DELETE, &path, Some(token)))
            .await
            .map(drop)
    }

    /// Makes a personal access token (its secret is in this answer only).
    pub async fn create_token(
        &self,
        token: &str,
        request: &todo_api::TokenRequest,
    ) -> Result<todo_api::CreatedToken, ClientError> {
        self.json(
            self.request(Method::POST, "/api/auth/tokens", Some(token))
                .json(request),
        )
        .await
    }

    /// The user's personal access tokens, without secrets.
    pub async fn tokens(&self, token: &str) -> Result<Vec<todo_api::PersonalToken>, ClientError> {
        self.json(self.request(Method::GET, "/api/auth/tokens", Some(token)))
            .await
    }

    /// Revokes one personal access token.
    pub async fn revoke_token(&self, token: &str, id: Uuid) -> Result<(), ClientError> {
        let path = format!("/api/auth/tokens/{id}");
        self.send(self.request(Method::DELETE, &path, Some(token)))
            .await
            .map(drop)
    }

    /// The user's active sessions.
    pub async fn sessions(&self, token: &str) -> Result<Vec<todo_api::SessionSummary>, ClientError> {
        self.json(self.request(Method::GET, "/api/auth/sessions", Some(token)))
            .await
    }

    /// Ends one of the user's sessions.
    pub async fn end_session(&self, token: &str, id: Uuid) -> Result<(), ClientError> {
        let path = format!("/api/auth/sessions/{id}");
        self.send(self.request(Method::DELETE, &path, Some(token)))
            .await
            .map(drop)
    }

    /// Reverts the user's latest change not yet undone.
    pub async fn undo(&self, token: &str, user: Uuid) -> Result<UndoResult, ClientError> {
        let path = format!("/api/{user}/undo");
        self.json(self.request(Method::POST, &path, Some(token))).await
    }

    /// A task's kept changes, oldest first.
    pub async fn history(&self, token: &str, user: Uuid, id: i64) -> Result<Vec<HistoryEntry>, ClientError> {
        let path = format!("/api/{user}/tasks/{id}/history");
        self.json(self.request(Method::GET, &path, Some(token))).await
    }

    /// Opens the event stream after `last_event_id`; read it with
    /// [`SseParser`](crate::events::SseParser) or use [`ChangeStream`](crate::events::ChangeStream).
    pub async fn open_events(
        &self,
        token: &str,
        user: Uuid,
        last_event_id: Option<i64>,
    ) -> Result<Response, ClientError> {
        let url = format!("{}/api/{user}/events", self.base);
        let mut request = self
            .streaming
            .get(url)
            .bearer_auth(token)
            .header("Accept", "text/event-stream");
        if let Some(id) = last_event_id {
            request = request.header("Last-Event-ID", id.to_string());
        }
        self.send(request).await
    }

    /// Sets completion to `completed`; repeating it changes nothing.
    pub async fn set_completed(
        &self,
        token: &str,
        user: Uuid,
        id: i64,
        completed: bool,
    ) -> Result<Task, ClientError> {
        let path = format!("/api/{user}/tasks/{id}/complete");
        self.json(
            self.request(Method::PATCH, &path, Some(token))
                .json(&CompleteRequest { completed }),
        )
        .await
    }
}

impl ApiClient {
    /// Sends a write queued while offline, with its `Idempotency-Key` (a retry of one
    /// the server applied gets the first answer again) and `If-Match` (refused if the
    /// task moved on). The task as the server has it after, or `None` for a delete.
    pub async fn send_queued(
        &self,
        token: &str,
        user: Uuid,
        queued: &crate::replica::QueuedWrite,
    ) -> Result<Option<Task>, ClientError> {
        use crate::replica::Write;
        let tasks = format!("/api/{user}/tasks");
        let request = match &queued.write {
            Write::Create { input } => self.request(Method::POST, &tasks, Some(token)).json(input),
            Write::Patch { id, patch } => self
                .request(Method::PATCH, &format!("{tasks}/{id}"), Some(token))
                .header(reqwest::header::CONTENT_TYPE, "application/merge-patch+json")
                .body(serde_json::to_vec(patch).map_err(|e| ClientError::Protocol(e.to_string()))?),
            Write::Complete { id, completed } => self
                .request(Method::PATCH, &format!("{tasks}/{id}/complete"), Some(token))
                .json(&CompleteRequest {
                    completed: *completed,
                }),
            Write::Delete { id } => self.request(Method::DELETE, &format!("{tasks}/{id}"), Some(token)),
        };
        let request =
            if_match(request, queued.base_version).header("Idempotency-Key", &queued.idempotency_key);
        match &queued.write {
            Write::Delete { .. } => self.send(request).await.map(|_| None),
            _ => self.json(request).await.map(Some),
        }
    }
}

/// `If-Match: "<version>"`: the write applies only to the version the caller read.
fn if_match(request: RequestBuilder, base_version: Option<i64>) -> RequestBuilder {
    match base_version {
        Some(version) => request.header("If-Match", format!("\"{version}\"")),
        None => request,
    }
}

/// Reads a problem document; an error answer without one keeps just its status.
async fn problem_of(response: Response) -> ClientError {
    let status = response.status().as_u16();
    match response.json::<Problem>().await {
        Ok(problem) => ClientError::Api {
            problem: Box::new(problem),
        },
        Err(_) => ClientError::Http { status },
    }
}
