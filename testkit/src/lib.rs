//! Helpers for the workspace's tests (a dev-dependency only).

pub mod browser;
