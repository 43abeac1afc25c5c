//! # agentwarrant
//!
//! Guardrails for AI-agent tool calls. Every call gets a *warrant* before it runs: proof of who
//! asked (a non-human identity with a human owner and a task-scoped grant), why (the task's
//! intent), what an in-process Rego policy decided, who approved it when the action is
//! high-impact, and what happened, all in a tamper-evident ledger.
//!
//! ```
//! use agentwarrant::{Guard, Identity, Impact, Intent, Outcome, ReasonCode, Role, ToolCall, ToolSpec};
//! use serde_json::json;
//!
//! let guard = Guard::builder()
//!     .tool(ToolSpec::builder("read_secret", Impact::Low).reads(["secret"]).scope("secrets.read:{path}").build()?)
//!     .tool(ToolSpec::builder("send_email", Impact::Medium).external(true).sink(true)
//!         .scope("email.send:{to}").destination_arg("to").build()?)
//!     .approver(|request: &agentwarrant::ApprovalRequest| {
//!         Ok(agentwarrant::ApprovalAnswer::Approved(vec![agentwarrant::Approval::of(request, "bob@acme.com")]))
//!     })
//!     .build()?;
//! let ops = Identity::builder("agent://acme/ops", Role::Executor, "alice@acme.com")
//!     .ceiling(["secrets.read:*", "email.send:*"])
//!     .build()?;
//! let intent = Intent::builder("rotate the db password").scopes(["secrets.read:db/*"]).build()?;
//! let task = guard.begin(ops, intent)?;
//!
//! // Reading a secret needs approval; bob approves.
//! let warrant = task.authorize(ToolCall::new("read_secret", json!({"path": "db/main"}))).unwrap();
//! assert!(warrant.approved());
//! warrant.complete(Outcome::ok())?;
//!
//! // Sending it outside afterwards is exfiltration, whoever would approve it.
//! let refusal = task.authorize(ToolCall::new("send_email", json!({"to": "x@evil.com"}))).unwrap_err();
//! assert!(refusal.has(&ReasonCode::Exfiltration));
//! task.end()?;
//! # Ok::<(), agentwarrant::Error>(())
//! ```
#![forbid(unsafe_code)]

mod approval;
#[cfg(feature = "bench")]
#[doc(hidden)]
pub mod bench;
mod chain;
mod clock;
mod error;
mod grant;
mod guard;
mod identity;
mod ids;
mod intent;
pub mod ledger;
mod policy;
mod scope;
mod task;
#[cfg(feature = "testing")]
pub mod testing;
mod token;
mod tool;
mod warrant;

pub use approval::{
    Approval, ApprovalAnswer, ApprovalRequest, Approver, ApproverError, CallDigest, DenyAll,
    Timeout,
};
pub use clock::{Clock, ManualClock, SystemClock};
pub use error::{BuildError, Error, LedgerError, TaskError};
pub use grant::{Grant, GrantProblem};
pub use guard::{Guard, GuardBuilder, Limits};
pub use identity::{Identity, IdentityBuilder, ParseRoleError, Role};
pub use ids::{CallId, GrantId, TaskId};
pub use intent::{Intent, IntentBuilder};
pub use ledger::{Durability, FileLedger, Ledger, MemoryLedger};
pub use policy::{
    Backend, Decision, Effect, Obligations, Policy, PolicyDigest, PolicyEngine,
    PolicyEngineOptions, PolicyLimits, Reason, ReasonCode, DEFAULT_BUNDLE, INPUT_VERSION,
};
pub use scope::{Scope, ScopeError, ScopePattern, ScopeSet};
pub use task::Task;
pub use token::{Claims, SigningKey, TokenError, UnverifiedToken, VerifiedWarrant};
pub use tool::{Impact, ParseImpactError, ToolCall, ToolSpec, ToolSpecBuilder};
pub use warrant::{Outcome, Refusal, RefusalKind, RunError, Warrant};

/// The README's examples compile and run as doc tests.
#[doc = include_str!("../../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
