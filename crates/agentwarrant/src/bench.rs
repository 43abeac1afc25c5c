//! Hooks for the benchmarks (`benches/`, `crates/agentwarrant-bench`): the pipeline's stages
//! one at a time, and what a bare regorus evaluation of the same policy needs. Hidden, behind
//! the `bench` feature, and free to change: not part of the API.

pub use crate::task::BenchCall;

/// The Rego module the engine wraps the user's `agentwarrant` package in.
pub const ENGINE_MODULE: &str = crate::policy::ENGINE_MODULE;

/// The rule every evaluation runs.
pub const ENTRY_POINT: &str = crate::policy::ENTRY_POINT;
