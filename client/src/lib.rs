//! Shared client code (placeholder until the CLI issue).
