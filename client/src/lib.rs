//! The client side of todo, shared by the `todo` CLI and the `todo-tui` app:
//! a typed API client ([`api`]), a credential store in the OS keyring with a file
//! fallback ([`credentials`]), an authenticated [`Session`] that refreshes tokens
//! transparently, the change stream ([`events`]), and the due-date forms both clients
//! accept ([`due`]).

pub mod api;
pub mod config;
pub mod credentials;
pub mod due;
mod error;
pub mod events;
pub mod filter;
mod projects;
pub mod recur;
pub mod replica;
mod server_url;
mod session;
pub mod sync;

pub use api::{ApiClient, TaskPage};
pub use error::{ClientError, Unreachable};
pub use server_url::server_url;
pub use session::{Session, SignIn, TokenSource};
pub use todo_api as types;
pub use todo_api::ListQuery;

/// The server the clients talk to when none is given.
pub const DEFAULT_SERVER: &str = "http://127.0.0.1:8000";
