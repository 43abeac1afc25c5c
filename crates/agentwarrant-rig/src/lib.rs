//! # agentwarrant-rig
//!
//! [agentwarrant](agentwarrant) for agents built with [rig](rig_core): [`Guarded`] wraps any
//! rig [`Tool`] (or [`PortableTool`](rig_core::tool::PortableTool)) so that every call the
//! model makes is authorized in an agentwarrant [`Task`] before the tool runs. Register the
//! wrapped tool where the tool itself would go (`AgentBuilder::tool`, a `ToolServer`):
//!
//! - **Allowed** (or approved): the tool runs under the call's
//!   [`Warrant`](agentwarrant::Warrant); its success or error is recorded as the call's
//!   outcome, and its result reaches the model as it would unguarded.
//! - **Refused**: the tool never runs. The model gets a tool error (a rig
//!   [`ToolExecutionError::refused`], kind `permission_denied`) whose text is
//!   [`Refusal::agent_message`](agentwarrant::Refusal::agent_message): the tool, the reason
//!   codes and their descriptions, then "Do not retry this call unchanged.", as the Python
//!   adapters word it; never the args, the reasons' details or the policy.
//! - **Needs approval**: the guard's own approver is asked, on a thread of its own
//!   ([`Task::guard_approver`]), or the [`AsyncApprover`] of the [`TaskRunner`] the tool was
//!   given (`TaskRunner::new(task).approver(..)`); the tool runs only once a person approved.
//!   Dropping the run while it waits refuses and records the call.
//!
//! The call's args as the policy sees them are the model's JSON arguments (a `null` is an
//! empty object, as rig reads it). Arguments that do not deserialize into the tool's `Args`
//! are an `invalid_args` error to the model; nothing is authorized, asked or run.
//!
//! ```
//! use agentwarrant::{Guard, Identity, Impact, Intent, Role, TaskRunner, ToolSpec};
//! use agentwarrant_rig::{Guarded, GuardedTool};
//! use rig_core::tool::PortableTool;
//!
//! /// A rig tool, as written for any rig agent.
//! struct Refund;
//!
//! #[derive(serde::Deserialize)]
//! struct RefundArgs { order: String, amount: u32 }
//!
//! impl PortableTool for Refund {
//!     const NAME: &'static str = "refund";
//!     type Args = RefundArgs;
//!     type Output = String;
//!     type Error = std::convert::Infallible;
//!     fn description(&self) -> String { "Refund an order".into() }
//!     fn parameters(&self) -> serde_json::Value { serde_json::json!({"type": "object"}) }
//!     async fn call(&self, args: RefundArgs) -> Result<String, Self::Error> {
//!         Ok(format!("refunded {} on {}", args.amount, args.order))
//!     }
//! }
//!
//! let guard = Guard::builder()
//!     .tool(ToolSpec::builder("refund", Impact::Medium).scope("payments.refund:{order}").build()?)
//!     .build()?;
//! let bot = Identity::builder("agent://acme/support", Role::Executor, "alice@acme.com")
//!     .ceiling(["payments.refund:*"])
//!     .build()?;
//! let task = guard.begin(bot, Intent::builder("refund order A-17").scopes(["payments.refund:A-17"]).build()?)?;
//!
//! // One runner for the task's tools: its task, and who approves (here the guard's approver).
//! let runner = TaskRunner::new(task);
//! let refund: Guarded<Refund> = Refund.guarded(runner.clone());
//! // rig_agent::AgentBuilder::new(model).tool(refund).build() ...
//! # let _ = refund;
//! # Ok::<(), agentwarrant::Error>(())
//! ```
#![forbid(unsafe_code)]

#[cfg(doc)]
use agentwarrant::{AsyncApprover, Task};
use agentwarrant::{Outcome, Refusal, TaskRunner, ToolCall};
use rig_core::tool::{Tool, ToolContext, ToolExecutionError};
use std::fmt;

/// A rig tool whose every call is authorized by an agentwarrant [`Task`] before it runs.
/// See the [crate docs](crate).
///
/// It is the tool to rig: same name, description and parameter schema; its `Args` are the
/// model's JSON arguments, deserialized into the tool's own `Args` after the call is
/// authorized.
#[derive(Clone)]
pub struct Guarded<T> {
    tool: T,
    runner: TaskRunner,
}

impl<T> fmt::Debug for Guarded<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Guarded")
            .field("tool", &std::any::type_name::<T>())
            .field("runner", &self.runner)
            .finish()
    }
}

impl<T: Tool> Guarded<T> {
    /// Guards `tool`: its calls run in the runner's task (a [`Task`], an `Arc<Task>`, or a
    /// [`TaskRunner`] with an approver of its own, shared by every tool it is given to).
    pub fn new(tool: T, runner: impl Into<TaskRunner>) -> Self {
        Self {
            tool,
            runner: runner.into(),
        }
    }

    /// The task and approver the tool's calls run with.
    pub fn runner(&self) -> &TaskRunner {
        &self.runner
    }

    /// The wrapped tool.
    pub fn inner(&self) -> &T {
        &self.tool
    }
}

/// `tool.guarded(task)`: [`Guarded::new`] as a method of every rig tool.
pub trait GuardedTool: Tool {
    /// This tool, its calls run by `runner` (a [`Task`], an `Arc<Task>` or a [`TaskRunner`]).
    fn guarded(self, runner: impl Into<TaskRunner>) -> Guarded<Self> {
        Guarded::new(self, runner)
    }
}

impl<T: Tool> GuardedTool for T {}

/// Why a guarded tool call did not return the tool's output. The model sees it through
/// [`Tool::map_error`]: a refusal as rig's refused error with the agent-safe text, the
/// tool's own error as the tool presents it.
#[derive(Debug)]
#[non_exhaustive]
pub enum GuardedError<E> {
    /// The call was refused; the tool did not run.
    Refused(Refusal),
    /// The model's arguments do not fit the tool's `Args`; nothing was authorized or run.
    InvalidArgs(String),
    /// The tool ran and failed; the failure is recorded as the call's outcome.
    Tool(E),
}

impl<E: fmt::Display> fmt::Display for GuardedError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GuardedError::Refused(refusal) => fmt::Display::fmt(refusal, f),
            GuardedError::InvalidArgs(message) => f.write_str(message),
            GuardedError::Tool(error) => fmt::Display::fmt(error, f),
        }
    }
}

impl<E: std::error::Error + 'static> std::error::Error for GuardedError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            GuardedError::Refused(refusal) => Some(refusal),
            GuardedError::InvalidArgs(_) => None,
            GuardedError::Tool(error) => Some(error),
        }
    }
}

impl<T: Tool> Tool for Guarded<T> {
    const NAME: &'static str = T::NAME;
    type Args = serde_json::Value;
    type Output = T::Output;
    type Error = GuardedError<T::Error>;

    fn description(&self) -> String {
        self.tool.description()
    }

    fn parameters(&self) -> serde_json::Value {
        self.tool.parameters()
    }

    fn map_error(&self, error: Self::Error) -> ToolExecutionError {
        match error {
            GuardedError::Refused(refusal) => ToolExecutionError::refused(refusal.agent_message()),
            GuardedError::InvalidArgs(message) => ToolExecutionError::invalid_args(message),
            GuardedError::Tool(error) => self.tool.map_error(error),
        }
    }

    async fn call(
        &self,
        context: &mut ToolContext,
        args: serde_json::Value,
    ) -> Result<T::Output, GuardedError<T::Error>> {
        // rig reads a `null` as no arguments; the policy sees the same empty object.
        let args = match args {
            serde_json::Value::Null => serde_json::Value::Object(serde_json::Map::new()),
            args => args,
        };
        let typed: T::Args = serde_json::from_value(args.clone()).map_err(|error| {
            GuardedError::InvalidArgs(format!("failed to parse tool arguments: {error}"))
        })?;
        // SECURITY: the tool is called only once the warrant is issued.
        let tool = &self.tool;
        let result = self
            .runner
            .run(
                ToolCall::new(T::NAME, args),
                |_warrant| tool.call(context, typed),
                |result| match result {
                    Ok(_) => Outcome::ok(),
                    Err(error) => Outcome::error(error.to_string()),
                },
            )
            .await
            .map_err(GuardedError::Refused)?;
        result.map_err(GuardedError::Tool)
    }
}
