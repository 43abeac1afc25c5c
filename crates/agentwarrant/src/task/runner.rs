//! The calls of one task as async framework adapters run them: the task, and the approver its
//! calls ask.

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use super::{Outcome, Refusal, Task, Warrant};
use crate::approval::AsyncApprover;
use crate::tool::ToolCall;

/// A task's calls as an async framework adapter (`agentwarrant-rig`, `agentwarrant-rmcp`, one
/// of your own) runs them: every call through [`Task::run_async`] in one task, asking one
/// approver. Cheap to clone: clones share the task and the approver.
///
/// ```
/// # use agentwarrant::*;
/// # let guard = Guard::builder().tool(ToolSpec::builder("ping", Impact::Low).build()?).build()?;
/// # let me = Identity::builder("agent://acme/bot", Role::Executor, "alice@acme.com").build()?;
/// let runner = TaskRunner::new(guard.begin(me, Intent::builder("check").build()?)?);
/// # let _ = async {
/// let pong = runner
///     .run(ToolCall::new("ping", serde_json::json!({})), |_warrant| async { "pong" }, |_| Outcome::ok())
///     .await?;
/// # assert_eq!(pong, "pong");
/// # Ok::<(), Refusal>(()) };
/// # Ok::<(), agentwarrant::Error>(())
/// ```
#[derive(Clone)]
pub struct TaskRunner {
    task: Arc<Task>,
    approver: Arc<dyn AsyncApprover>,
}

impl fmt::Debug for TaskRunner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskRunner")
            .field("task", &self.task)
            .finish_non_exhaustive()
    }
}

impl TaskRunner {
    /// Runs calls in `task`; a call that needs approval asks the task's guard's approver, on
    /// a thread of its own ([`Task::guard_approver`]).
    pub fn new(task: impl Into<Arc<Task>>) -> Self {
        let task = task.into();
        let approver = Arc::new(task.guard_approver());
        Self { task, approver }
    }

    /// Asks `approver` instead of the guard's approver when a call needs approval (a chat
    /// message awaited, a web form); its answer is checked by the engine like any approval.
    #[must_use]
    pub fn approver(mut self, approver: impl AsyncApprover + 'static) -> Self {
        self.approver = Arc::new(approver);
        self
    }

    /// The task the calls run in.
    pub fn task(&self) -> &Arc<Task> {
        &self.task
    }

    /// One guarded call: [`Task::run_async`] in this runner's task, asking its approver.
    pub async fn run<T, F, Fut>(
        &self,
        call: ToolCall,
        tool: F,
        outcome: impl FnOnce(&T) -> Outcome,
    ) -> Result<T, Refusal>
    where
        F: FnOnce(&Warrant) -> Fut,
        Fut: Future<Output = T>,
    {
        self.task
            .run_async(call, &*self.approver, tool, outcome)
            .await
    }
}

impl From<Task> for TaskRunner {
    fn from(task: Task) -> Self {
        Self::new(task)
    }
}

impl From<Arc<Task>> for TaskRunner {
    fn from(task: Arc<Task>) -> Self {
        Self::new(task)
    }
}
