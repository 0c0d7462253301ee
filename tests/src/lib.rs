//! Helpers that start the real binaries.
