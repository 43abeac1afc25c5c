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
//!         .scope("email.send:{to:email}").destination_arg("to").build()?)
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

// The layers, lowest first (docs/architecture.md); a module imports only from layers below it.
// Ground: plain values and encodings.
mod canonical;
mod clock;
mod error;
mod ids;
mod kinds;
mod limits;
mod principal;
mod reason;
mod scope;
mod template;
// Model: what a call is about.
mod approval;
mod chain;
mod credential;
mod grant;
mod identity;
mod intent;
mod jwt;
mod redact;
mod token;
mod tool;
// Services: evaluation and evidence.
mod approval_store;
pub mod ledger;
mod policy;
// Engine: the shared state, the pipeline, the facade.
mod guard;
mod runtime;
mod task;
// Support: replaying a ledger, test suites and benchmarks.
#[cfg(feature = "bench")]
#[doc(hidden)]
pub mod bench;
pub mod replay;
#[cfg(feature = "testing")]
pub mod testing;

pub use approval::{
    Approval, ApprovalAnswer, ApprovalFuture, ApprovalRequest, Approver, ApproverError,
    ApproverErrorKind, AsyncApprover, CallDigest, DenyAll, Standing, ThreadApprover, Timeout,
};
pub use approval_store::{
    ApprovalQueue, ApprovalStore, ApprovalStoreError, ApprovalStoreErrorKind, Ticket, TicketState,
};
pub use clock::{Clock, ManualClock, SystemClock};
pub use credential::{BrokerError, Credential, CredentialBroker, CredentialRequest};
pub use error::{BuildError, Error, LedgerError, TaskError};
pub use grant::{Grant, GrantProblem};
pub use guard::{Guard, GuardBuilder};
pub use identity::{Identity, IdentityBuilder};
pub use ids::{CallId, GrantId, TaskId, TicketId};
pub use intent::{Intent, IntentBuilder};
pub use jwt::{
    verify_grant, CallClaims, ChainClaims, ChainLevel, GrantClaims, Jwks, JwtError, JwtKeys,
    JwtPublicKey, JwtSigningKey, JwtVerifier, MemoryRevocations, RevocationError, RevocationStore,
    CALL_TOKEN_TTL, CALL_TOKEN_TYPE, CHAIN_TOKEN_TTL, CHAIN_TOKEN_TYPE, GRANT_TOKEN_TYPE,
};
pub use kinds::{Impact, ParseImpactError, ParseRoleError, Role};
pub use ledger::{Durability, FileLedger, Ledger, MemoryLedger};
pub use limits::{Limits, TaskLimits};
pub use policy::{
    Backend, Decision, Obligations, Policy, PolicyDigest, PolicyEngine, DEFAULT_BUNDLE,
    INPUT_VERSION,
};
pub use principal::Principal;
pub use reason::{Effect, Reason, ReasonCode};
pub use redact::Redaction;
pub use scope::{Scope, ScopeError, ScopePattern, ScopeSet};
pub use task::{
    Authorization, Explanation, Outcome, Refusal, RefusalKind, RunError, Task, TaskRunner, Warrant,
};
pub use token::{Claims, SigningKey, TokenError, UnverifiedToken, VerifiedWarrant};
pub use tool::{propose_named_scopes, NamedScope, ToolCall, ToolSpec, ToolSpecBuilder};

/// The README's examples compile and run as doc tests.
#[doc = include_str!("../../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;

/// The Rust examples of `docs/ledger.md` compile and run as doc tests.
#[doc = include_str!("../../../docs/ledger.md")]
#[cfg(doctest)]
pub struct LedgerDoctests;

/// The Rust examples of `docs/tokens.md` compile and run as doc tests.
#[doc = include_str!("../../../docs/tokens.md")]
#[cfg(doctest)]
pub struct TokensDoctests;
