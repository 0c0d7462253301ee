//! The end-to-end tests: the real `todo-server`, `todo` and `todo-tui` over loopback.
//! One test binary with a module per area (faster to build and link than one binary
//! each); the helpers live in the `todo_e2e` library.

mod abuse;
mod account_admin;
mod account_state_races;
mod accounts;
mod activity_log;
mod calendar;
mod changes;
mod cli;
mod cli_accounts;
mod cli_projects;
mod concurrency;
mod conditional_requests;
mod crash;
mod dependencies;
mod faults;
mod federation;
mod files_at_rest;
mod hostile;
mod idempotency;
mod keyring;
mod notes;
mod offline;
mod personal_tokens;
mod postgres;
mod project_races;
mod project_streams;
mod projects;
mod recurrence;
mod reminders;
mod replicas;
mod server_auth;
mod server_tasks;
mod shell;
mod slow_clients;
mod store_contract;
mod subtasks;
mod tui;
mod tui_binary;
mod two_factor;
mod wire_safety;
