//! The limits of a guard: sizes, counts and times, each finite, each with its own refusal. One
//! struct for the engine's own checks, the policy evaluator and the limits the policy reads.

use std::time::Duration;

use serde::Deserialize;

/// Every limit of a guard. Exceeding one refuses the call with its own reason; none is infinite.
///
/// ```
/// use agentwarrant::{Guard, Limits};
/// let guard = Guard::builder()
///     .limits(Limits { max_depth: Some(2), max_calls: Some(50), ..Limits::default() })
///     .build()?;
/// # Ok::<(), agentwarrant::BuildError>(())
/// ```
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
    /// Deepest call allowed, read by the policy as `data.limits.max_depth` (the default bundle
    /// denies deeper calls with `depth_exceeded`). `None`: the policy's own default (4 in the
    /// bundle, or what a policy directory's `data.json` says).
    pub max_depth: Option<u32>,
    /// Calls per task, read as `data.limits.max_calls` (the bundle denies the call after the
    /// last with `call_budget_exceeded`). `None`: the policy's default (200 in the bundle).
    pub max_calls: Option<u64>,
    /// Cumulative impact weight, read as `data.limits.max_impact_total` (past it the bundle
    /// asks for approval with `cumulative_impact`). `None`: the policy's default (6).
    pub max_impact_total: Option<u32>,
    /// Refusals of one task tree within `refusal_window` after which the tree is suspended
    /// (`task_suspended`) until a human resumes it: an agent that pivots when blocked
    /// (default 20; `None`: never).
    pub max_refusals: Option<u32>,
    /// Refusals of one tool within `refusal_window` after which the tree is suspended: the
    /// same refused call retried with small changes (default 5; `None`: never).
    pub max_tool_refusals: Option<u32>,
    /// The window the refusal counts look back over (default 10 minutes).
    pub refusal_window: Duration,
    /// Earlier calls of the same tool with the same args, among the task tree's last 16 calls, from
    /// which a call carries the `repeated_call` signal (default 2: the third identical call;
    /// 1 to 15). See `docs/signals.md`.
    pub repeated_calls: u32,
    /// Calls within `burst_window` from which the next one carries the `burst` signal
    /// (default 30: the 31st call within the window; 1 to 10,000).
    pub burst_calls: u32,
    /// The window `burst_calls` counts over (default 10 s).
    pub burst_window: Duration,
}

impl Limits {
    /// The longest a grant or an approval may live: a year.
    pub const MAX_TTL: Duration = Duration::from_secs(365 * 24 * 60 * 60);

    /// The longest one policy evaluation may be allowed to run: an hour.
    pub const MAX_POLICY_TIMEOUT: Duration = Duration::from_secs(60 * 60);

    /// The largest [`Limits::repeated_calls`]: one less than the calls `repeated_call` looks
    /// back over.
    pub const MAX_REPEATED_CALLS: u32 = 15;

    /// The largest [`Limits::burst_calls`]: the calls the chain remembers the time of.
    pub const MAX_BURST_CALLS: u32 = 10_000;

    /// These limits with the ones the policy reads set from their JSON form,
    /// `{"max_depth": 2, "max_calls": 50, "max_impact_total": 6}` (as scenario files and the
    /// Python binding write them), and the signal thresholds `repeated_calls`, `burst_calls`
    /// and `burst_window_s`; `null` sets none. An unknown name, or a value that is not a
    /// count, is an error naming it.
    ///
    /// ```
    /// use agentwarrant::Limits;
    /// let limits = Limits::default().with_policy_json(&serde_json::json!({"max_depth": 2}))?;
    /// assert_eq!(limits.max_depth, Some(2));
    /// assert!(Limits::default().with_policy_json(&serde_json::json!({"max_dept": 2})).is_err());
    /// # Ok::<(), String>(())
    /// ```
    pub fn with_policy_json(mut self, json: &serde_json::Value) -> Result<Self, String> {
        #[derive(serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Read {
            #[serde(default)]
            max_depth: Option<u32>,
            #[serde(default)]
            max_calls: Option<u64>,
            #[serde(default)]
            max_impact_total: Option<u32>,
            #[serde(default)]
            repeated_calls: Option<u32>,
            #[serde(default)]
            burst_calls: Option<u32>,
            #[serde(default)]
            burst_window_s: Option<u64>,
        }
        if json.is_null() {
            return Ok(self);
        }
        let read = Read::deserialize(json).map_err(|e| e.to_string())?;
        self.max_depth = read.max_depth.or(self.max_depth);
        self.max_calls = read.max_calls.or(self.max_calls);
        self.max_impact_total = read.max_impact_total.or(self.max_impact_total);
        self.repeated_calls = read.repeated_calls.unwrap_or(self.repeated_calls);
        self.burst_calls = read.burst_calls.unwrap_or(self.burst_calls);
        if let Some(seconds) = read.burst_window_s {
            self.burst_window = Duration::from_secs(seconds);
        }
        Ok(self)
    }

    /// The limits the policy reads from `data.limits`, as `(name, value)` for those set.
    pub(crate) fn policy_data(&self) -> Vec<(&'static str, u64)> {
        [
            ("max_depth", self.max_depth.map(u64::from)),
            ("max_calls", self.max_calls),
            ("max_impact_total", self.max_impact_total.map(u64::from)),
        ]
        .into_iter()
        .filter_map(|(name, value)| value.map(|v| (name, v)))
        .collect()
    }
}

/// Limits of one task tree over the guard's, for a long-running agent that needs more (or
/// less) than the guard's defaults: its call budget and cumulative impact (read by the policy
/// as `input.task.limits`, before `data.limits`) and its grant's lifetime. Delegated and
/// escalated sub-tasks share them, as they share the chain.
///
/// ```
/// use std::time::Duration;
/// use agentwarrant::TaskLimits;
/// let nightly = TaskLimits::new()
///     .max_calls(5_000)
///     .max_impact_total(40)
///     .grant_ttl(Duration::from_secs(8 * 3600));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TaskLimits {
    pub(crate) max_calls: Option<u64>,
    pub(crate) max_impact_total: Option<u32>,
    pub(crate) grant_ttl: Option<Duration>,
}

impl TaskLimits {
    /// No limits of the task's own: the guard's apply.
    pub fn new() -> Self {
        Self::default()
    }

    /// Calls of the task tree (the bundle's `call_budget_exceeded` past it).
    pub fn max_calls(mut self, calls: u64) -> Self {
        self.max_calls = Some(calls);
        self
    }

    /// Cumulative impact weight of the task tree (past it the bundle asks, `cumulative_impact`).
    pub fn max_impact_total(mut self, total: u32) -> Self {
        self.max_impact_total = Some(total);
        self
    }

    /// How long the task's grant lives (more than 0, at most [`Limits::MAX_TTL`]).
    pub fn grant_ttl(mut self, ttl: Duration) -> Self {
        self.grant_ttl = Some(ttl);
        self
    }

    /// What is wrong with these limits, as `(limit, problem)`.
    pub(crate) fn problem(&self) -> Option<(&'static str, String)> {
        let ttl = self.grant_ttl?;
        (ttl.is_zero() || ttl > Limits::MAX_TTL).then(|| {
            (
                "grant_ttl",
                format!(
                    "a task's grant lives more than 0 s and at most a year, not {} s",
                    ttl.as_secs_f64()
                ),
            )
        })
    }

    /// The limits the policy reads from `input.task.limits`, as `(name, value)` for those set.
    pub(crate) fn policy_input(&self) -> Vec<(&'static str, u64)> {
        [
            ("max_calls", self.max_calls),
            ("max_impact_total", self.max_impact_total.map(u64::from)),
        ]
        .into_iter()
        .filter_map(|(name, value)| value.map(|v| (name, v)))
        .collect()
    }
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
            max_depth: None,
            max_calls: None,
            max_impact_total: None,
            max_refusals: Some(20),
            max_tool_refusals: Some(5),
            refusal_window: Duration::from_secs(10 * 60),
            repeated_calls: 2,
            burst_calls: 30,
            burst_window: Duration::from_secs(10),
        }
    }
}
