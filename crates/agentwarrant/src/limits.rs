//! The engine's limits: sizes, counts and times, each finite, each with its own refusal.

use std::time::Duration;

/// Engine limits. Exceeding one refuses the call with its own reason; none is infinite.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest args accepted, as serialized JSON bytes (default 1 MiB).
    pub max_args_bytes: usize,
    /// Deepest nesting of arrays and objects in args (default 32).
    pub max_args_depth: usize,
    /// Most scopes one call may require after template expansion (default 256).
    pub max_scopes_per_call: usize,
    /// Recent calls whose depth is remembered so that children can name them (default 1024).
    pub history_window: usize,
    /// Wall-clock limit of one policy evaluation (default 250 ms).
    pub policy_timeout: Duration,
    /// Instruction limit of one policy evaluation on the RVM (default 2,000,000).
    pub policy_max_instructions: usize,
    /// How long a task's grant lives (default 15 minutes).
    pub grant_ttl: Duration,
    /// How long an approval stays valid (default 15 minutes).
    pub approval_ttl: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_args_bytes: 1 << 20,
            max_args_depth: 32,
            max_scopes_per_call: 256,
            history_window: 1024,
            policy_timeout: Duration::from_millis(250),
            policy_max_instructions: 2_000_000,
            grant_ttl: Duration::from_secs(15 * 60),
            approval_ttl: Duration::from_secs(15 * 60),
        }
    }
}
