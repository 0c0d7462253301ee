//! Wire types of the todo HTTP API: one definition for the server (which derives its
//! OpenAPI schemas from them with the `openapi` feature) and for every client.

mod auth;
pub mod limits;
mod problem;
mod tasks;
pub mod text;

pub use auth::*;
pub use problem::*;
pub use tasks::*;
