//! The ground floor: value types and rules that the services and the storage ports
//! share, depending on neither (so `store` imports the domain, never a service).

pub mod dependencies;
pub mod notes;
pub mod projects;
pub mod recurrence;
pub mod subtasks;
pub mod tasks;
pub mod timers;
