//! Dynamic shell completion (`source <(COMPLETE=bash todo)`): task ids with their titles
//! and the tags in use, asked of the server with short timeouts. Nothing is offered when
//! the server cannot be asked; completion never waits long or prints an error.

use std::time::Duration;

use clap_complete::engine::{ArgValueCandidates, CompletionCandidate};
use todo_api::{SortField, StatusFilter, Task};
use todo_client::{ListQuery, Session};

/// The tasks the completions are made from: pending first, most urgent first.
fn tasks() -> Vec<Task> {
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
        return Vec::new();
    };
    runtime.block_on(async {
        let config = todo_client::config::load().config;
        let server = std::env::var("TODO_SERVER")
            .ok()
            .filter(|s| !s.trim().is_empty())
            .or(config.server)
            .unwrap_or_else(|| todo_client::DEFAULT_SERVER.to_string());
        let (server, _) = todo_client::server_url(&server);
        let Ok(mut session) = Session::open(&server).await else {
            return Vec::new();
        };
        let quick = todo_client::api::Timeouts {
            connect: Duration::from_millis(500),
            request: Duration::from_secs(2),
        };
        if session.set_timeouts(quick).is_err() {
            return Vec::new();
        }
        let query = ListQuery {
            status: Some(StatusFilter::Pending),
            sort: Some(SortField::Urgency),
            limit: Some(todo_api::limits::LIST_LIMIT_MAX),
            ..ListQuery::default()
        };
        session
            .list_tasks(&query)
            .await
            .map(|p| p.tasks)
            .unwrap_or_default()
    })
}

pub fn task_ids() -> ArgValueCandidates {
    ArgValueCandidates::new(|| {
        tasks()
            .into_iter()
            .map(|t| {
                let title = todo_api::text::printable(&t.title, false).into_owned();
                CompletionCandidate::new(t.id.to_string()).help(Some(title.into()))
            })
            .collect::<Vec<_>>()
    })
}

pub fn tags() -> ArgValueCandidates {
    ArgValueCandidates::new(|| {
        let all: Vec<String> = tasks().into_iter().flat_map(|t| t.tags).collect();
        todo_api::limits::unique_tags(all)
            .into_iter()
            .map(CompletionCandidate::new)
            .collect::<Vec<_>>()
    })
}

/// The emails of the accounts signed in on this machine (read from the local index: no
/// keyring or server is asked).
pub fn accounts() -> ArgValueCandidates {
    ArgValueCandidates::new(|| {
        todo_client::credentials::signed_in_accounts()
            .unwrap_or_default()
            .into_iter()
            .map(|a| CompletionCandidate::new(a.email).help(Some(a.server.into())))
            .collect::<Vec<_>>()
    })
}
