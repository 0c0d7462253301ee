//! Wire types of the todo HTTP API: one definition for the server (which derives its
//! OpenAPI schemas from them with the `openapi` feature) and for every client.

mod account;
mod auth;
mod events;
mod feeds;
pub mod limits;
#[cfg(feature = "openapi")]
mod openapi_string;
#[cfg(feature = "strength")]
pub mod password;
mod patch;
mod personal_tokens;
mod problem;
mod projects;
#[cfg(feature = "recurrence")]
pub mod recurrence;
mod secret;
pub mod tags;
mod tasks;
pub mod text;
mod two_factor;

pub use account::*;
pub use auth::*;
pub use events::*;
pub use feeds::*;
pub use patch::Patch;
pub use personal_tokens::*;
pub use problem::*;
pub use projects::*;
pub use secret::Secret;
pub use tasks::*;
pub use two_factor::*;
