//! `todo-tui`: state (`app`), a pure `update`, drawing (`view`), and network effects
//! run on tokio tasks (`effects`), in the style of ratatui's own templates.

pub mod account;
pub mod app;
pub mod driver;
pub mod effects;
pub mod keymap;
pub mod offline;
pub mod projects;
pub mod saved_view;
pub mod text_field;
pub mod tree;
pub mod update;
pub mod view;
