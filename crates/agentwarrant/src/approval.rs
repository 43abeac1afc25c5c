//! Human approval: requests bound to the exact call, answers checked by the engine.
//!
//! Whatever the policy says, the engine rejects an approval that is not from a human, that is
//! self-granted where four eyes are required, that is for another call, expired or reused.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use time::OffsetDateTime;

use crate::canonical::{canonical_json, sha256_hex};
use crate::ids::{CallId, TaskId};
use crate::kinds::{Impact, Role};
use crate::principal::Principal;
use crate::reason::Reason;
use crate::scope::ScopeSet;

/// The SHA-256 that binds an approval to one call (task, call, identity, tool, args).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CallDigest(pub(crate) String);

impl CallDigest {
    /// The digest of one call: task, call, parent call, identity, tool and args (by their
    /// digest). An approval carrying it approves that call and no other.
    pub(crate) fn of(
        task_id: TaskId,
        call_id: CallId,
        parent: Option<CallId>,
        identity: &str,
        tool: &str,
        args_digest: &str,
    ) -> Self {
        let bound = serde_json::json!({
            "task_id": task_id.to_string(),
            "call_id": call_id.to_string(),
            "parent_call_id": parent.map(|c| c.to_string()),
            "identity": identity,
            "tool": tool,
            "args_digest": args_digest,
        });
        CallDigest(sha256_hex(&canonical_json(&bound)))
    }

    /// The hex digest.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The people who may not approve a call (four eyes): for critical impact, RBAC changes and
/// any call under an escalation identity, the owner of every identity in the call's delegation
/// chain (`lineage`: the root task's identity down to the caller, each as role and owner), so
/// that no one approves work that runs under an identity they answer for.
pub(crate) fn excluded_approvers<'a>(
    impact: Impact,
    tags: &[String],
    lineage: impl Iterator<Item = (Role, &'a str)> + Clone,
) -> Vec<String> {
    let four_eyes = impact == Impact::Critical
        || tags.iter().any(|t| t == "rbac")
        || lineage.clone().any(|(role, _)| role == Role::Escalation);
    if !four_eyes {
        return Vec::new();
    }
    let mut excluded: Vec<String> = lineage.map(|(_, owner)| owner.to_owned()).collect();
    excluded.sort();
    excluded.dedup();
    excluded
}

/// What the approver is asked to approve.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ApprovalRequest {
    /// The call's id.
    pub call_id: CallId,
    /// The task's id.
    pub task_id: TaskId,
    /// The digest an approval must carry.
    pub digest: CallDigest,
    /// The identity asking.
    pub identity: String,
    /// The identity's accountable owner.
    pub owner: String,
    /// The task's goal.
    pub intent: String,
    /// The tool.
    pub tool: String,
    /// The args in full: the approver must see what it approves (the ledger keeps the
    /// sensitive ones redacted).
    pub args: Json,
    /// The names of the args the tool declares sensitive: show them to the approver, keep them
    /// out of logs.
    pub sensitive_args: Vec<String>,
    /// Why approval is needed.
    pub reasons: Vec<Reason>,
    /// How many distinct approvers must approve.
    pub approvers_needed: u8,
    /// When an approval for this request expires at the latest.
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// Principals who may not approve this call (four eyes).
    pub excluded: Vec<String>,
}

/// What a person reads before answering: who asks, for what task, which tool with which
/// args, why approval is needed, how many must approve and who may not, and until when.
impl fmt::Display for ApprovalRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "approval needed: `{}`", self.tool)?;
        writeln!(f, "  agent:   {} (owner {})", self.identity, self.owner)?;
        writeln!(f, "  task:    {}", self.intent)?;
        let args = serde_json::to_string_pretty(&self.args).unwrap_or_default();
        writeln!(f, "  args:    {}", args.replace('\n', "\n           "))?;
        if !self.sensitive_args.is_empty() {
            writeln!(
                f,
                "           (sensitive: {})",
                self.sensitive_args.join(", ")
            )?;
        }
        for reason in &self.reasons {
            let why = match &reason.detail {
                Some(detail) => format!("{} ({detail})", reason.code.describe()),
                None => reason.code.describe().to_owned(),
            };
            writeln!(f, "  why:     {}: {why}", reason.code)?;
        }
        write!(f, "  needs:   {} approver(s)", self.approvers_needed)?;
        if !self.excluded.is_empty() {
            write!(f, ", not {}", self.excluded.join(", "))?;
        }
        let expires = self
            .expires_at
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        write!(
            f,
            "\n  expires: {expires}\n  call:    {} (digest {})",
            self.call_id, self.digest.0
        )
    }
}

/// One person's approval of one request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Approval {
    /// Who approved: a human principal such as `bob@acme.com`.
    pub approver: String,
    /// The digest of the call approved.
    pub digest: CallDigest,
    /// When this approval stops being valid.
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// Identifies the approval; each is usable once.
    pub id: uuid::Uuid,
    /// A standing approval of later calls like this one, when the approver grants one.
    pub standing: Option<Standing>,
}

impl Approval {
    /// An approval of `request` by `approver`, bound to its digest and expiring with it.
    pub fn of(request: &ApprovalRequest, approver: impl Into<String>) -> Self {
        Self {
            approver: approver.into(),
            digest: request.digest.clone(),
            expires_at: request.expires_at,
            id: uuid::Uuid::new_v4(),
            standing: None,
        }
    }

    /// This approval, also granting `standing` for later calls like this one.
    pub fn with_standing(mut self, standing: Standing) -> Self {
        self.standing = Some(standing);
        self
    }
}

/// A standing approval ("refunds under 50 EUR, for this task, for 10 minutes"): granted with
/// an approval, it approves later calls of the same task and tool that need approval for no
/// reason beyond those the person saw, whose required scopes fall `within` the given patterns
/// (when any are given) and whose numeric args are `at_most` their bounds; at most `uses`
/// calls, until `ttl` has passed, void when the task ends. Each use is recorded.
///
/// ```
/// use std::time::Duration;
/// use agentwarrant::Standing;
/// let refunds = Standing::new(5, Duration::from_secs(600))
///     .within(["payments.refund:order/*"])
///     .at_most("amount", 50.0);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Standing {
    pub(crate) uses: u32,
    pub(crate) ttl: std::time::Duration,
    pub(crate) within: Vec<String>,
    pub(crate) at_most: BTreeMap<String, Option<serde_json::Number>>,
}

impl Standing {
    /// The most calls one standing approval may cover.
    pub const MAX_USES: u32 = 1000;

    /// A standing approval of at most `uses` later calls, for `ttl`.
    pub fn new(uses: u32, ttl: std::time::Duration) -> Self {
        Self {
            uses,
            ttl,
            within: Vec::new(),
            at_most: BTreeMap::new(),
        }
    }

    /// Covers only calls whose every required scope matches one of `patterns`.
    pub fn within<I, S>(mut self, patterns: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.within.extend(patterns.into_iter().map(Into::into));
        self
    }

    /// Covers only calls whose arg `name` is a number no greater than `max` (a call without
    /// it, or with a non-number, is not covered). A bound that is not finite voids the
    /// standing approval.
    pub fn at_most(mut self, name: impl Into<String>, max: f64) -> Self {
        self.at_most
            .insert(name.into(), serde_json::Number::from_f64(max));
        self
    }

    /// What is wrong with this standing approval under `limits`, if anything.
    pub(crate) fn problem(&self, grant_ttl: std::time::Duration) -> Option<String> {
        if self.uses == 0 || self.uses > Self::MAX_USES {
            return Some(format!(
                "a standing approval covers 1 to {} calls, not {}",
                Self::MAX_USES,
                self.uses
            ));
        }
        if self.ttl.is_zero() || self.ttl > grant_ttl {
            return Some(format!(
                "a standing approval lasts more than 0 s and at most the grant TTL ({} s)",
                grant_ttl.as_secs()
            ));
        }
        if let Some(bad) = self
            .within
            .iter()
            .find(|p| ScopeSet::parse([p.as_str()]).is_err())
        {
            return Some(format!("`{bad}` is not a scope pattern"));
        }
        if let Some((name, _)) = self.at_most.iter().find(|(_, max)| max.is_none()) {
            return Some(format!("the bound of `{name}` is not a finite number"));
        }
        None
    }
}

/// The approver's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalAnswer {
    /// One approval per approver (as many as the request needs).
    Approved(Vec<Approval>),
    /// Refused.
    Denied {
        /// Who refused, when known.
        by: Option<String>,
        /// Why, when given.
        reason: Option<String>,
    },
}

/// The approver could not answer (timeout, transport error, interrupted prompt, garbage).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("approver failed: {message}")]
pub struct ApproverError {
    /// What went wrong.
    pub message: String,
    /// How it went wrong, which decides the refusal's reason and kind.
    pub kind: ApproverErrorKind,
}

/// How an approver failed to answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ApproverErrorKind {
    /// A person was asked and no valid answer came back (an error, a garbage answer, an
    /// interrupted prompt): `approval_denied` with `approval_unavailable`.
    Failed,
    /// A person was asked and did not answer in time: `approval_denied` with
    /// `approval_timeout`.
    TimedOut,
    /// There was nobody to ask (no one on call, no approver in this scenario): `denied` with
    /// `approval_unavailable`, as when no approver is configured.
    NobodyToAsk,
}

impl ApproverError {
    /// The approver failed: the call is refused with `approval_unavailable`.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            kind: ApproverErrorKind::Failed,
        }
    }

    /// The approver did not answer in time: the call is refused with `approval_timeout`.
    pub fn timeout(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            kind: ApproverErrorKind::TimedOut,
        }
    }

    /// There was nobody to ask: the call is refused as `denied` (no one was asked) with
    /// `approval_unavailable`.
    pub fn nobody(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            kind: ApproverErrorKind::NobodyToAsk,
        }
    }
}

/// Who answers approval requests: a chat prompt, a ticket system, an on-call page.
pub trait Approver: Send + Sync {
    /// Answers `request`. An error refuses the call (fail closed).
    fn decide(&self, request: &ApprovalRequest) -> Result<ApprovalAnswer, ApproverError>;
}

impl<F> Approver for F
where
    F: Fn(&ApprovalRequest) -> Result<ApprovalAnswer, ApproverError> + Send + Sync,
{
    fn decide(&self, request: &ApprovalRequest) -> Result<ApprovalAnswer, ApproverError> {
        self(request)
    }
}

/// The future an [`AsyncApprover`] returns.
pub type ApprovalFuture<'a> = std::pin::Pin<
    Box<dyn std::future::Future<Output = Result<ApprovalAnswer, ApproverError>> + Send + 'a>,
>;

/// Who answers approval requests without holding a thread while a person thinks: a chat
/// message awaited, a web form, a queue. Used by
/// [`Task::authorize_async`](crate::Task::authorize_async) on any async runtime.
pub trait AsyncApprover: Send + Sync {
    /// Answers `request`. An error refuses the call (fail closed).
    fn decide<'a>(&'a self, request: &'a ApprovalRequest) -> ApprovalFuture<'a>;
}

impl<F, Fut> AsyncApprover for F
where
    F: Fn(&ApprovalRequest) -> Fut + Send + Sync,
    Fut: std::future::Future<Output = Result<ApprovalAnswer, ApproverError>> + Send + 'static,
{
    fn decide<'a>(&'a self, request: &'a ApprovalRequest) -> ApprovalFuture<'a> {
        Box::pin(self(request))
    }
}

/// A blocking [`Approver`] used as an [`AsyncApprover`]: each request is answered on a thread
/// of its own and awaited, so no executor thread waits while a person thinks. Works on any
/// async runtime. An approver that panics fails the request (`approval_unavailable`); one
/// that never answers keeps the call waiting (bound it with [`Timeout`]).
///
/// [`Task::guard_approver`](crate::Task::guard_approver) gives the guard's own approver in
/// this form, for [`Task::authorize_async`](crate::Task::authorize_async).
#[derive(Clone)]
pub struct ThreadApprover {
    /// `None`: nobody to ask (a guard built without an approver).
    approver: Option<std::sync::Arc<dyn Approver>>,
}

impl fmt::Debug for ThreadApprover {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ThreadApprover")
            .field("configured", &self.approver.is_some())
            .finish()
    }
}

impl ThreadApprover {
    /// Answers requests with `approver`, on a thread per request.
    pub fn new(approver: impl Approver + 'static) -> Self {
        Self {
            approver: Some(std::sync::Arc::new(approver)),
        }
    }

    /// `approver`, or nobody to ask: every request then fails as
    /// [`ApproverError::nobody`] (the call is refused as `denied` with
    /// `approval_unavailable`, exactly as by a guard without an approver).
    pub(crate) fn of(approver: Option<std::sync::Arc<dyn Approver>>) -> Self {
        Self { approver }
    }
}

/// Where an approver's thread leaves its answer for the awaiting future.
#[derive(Default)]
struct Slot {
    answer: Option<Result<ApprovalAnswer, ApproverError>>,
    waker: Option<std::task::Waker>,
}

/// The answer of an approver running on its own thread.
struct Answered(std::sync::Arc<Mutex<Slot>>);

impl std::future::Future for Answered {
    type Output = Result<ApprovalAnswer, ApproverError>;

    fn poll(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        let mut slot = self.0.lock().unwrap_or_else(|p| p.into_inner());
        match slot.answer.take() {
            Some(answer) => std::task::Poll::Ready(answer),
            None => {
                slot.waker = Some(cx.waker().clone());
                std::task::Poll::Pending
            }
        }
    }
}

impl AsyncApprover for ThreadApprover {
    fn decide<'a>(&'a self, request: &'a ApprovalRequest) -> ApprovalFuture<'a> {
        let Some(approver) = self.approver.clone() else {
            return Box::pin(std::future::ready(Err(ApproverError::nobody(
                "no approver is configured",
            ))));
        };
        let slot = std::sync::Arc::new(Mutex::new(Slot::default()));
        let filled = slot.clone();
        let request = request.clone();
        let spawned = std::thread::Builder::new()
            .name("agentwarrant-approver".into())
            .spawn(move || {
                // A panicking approver is a failed approver: the call is refused.
                let answer = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    approver.decide(&request)
                }))
                .unwrap_or_else(|_| Err(ApproverError::new("the approver panicked")));
                let mut slot = filled.lock().unwrap_or_else(|p| p.into_inner());
                slot.answer = Some(answer);
                if let Some(waker) = slot.waker.take() {
                    waker.wake();
                }
            });
        match spawned {
            Ok(_) => Box::pin(Answered(slot)),
            Err(e) => Box::pin(std::future::ready(Err(ApproverError::new(format!(
                "cannot start the approver: {e}"
            ))))),
        }
    }
}

/// Refuses every request.
#[derive(Debug, Clone, Copy, Default)]
pub struct DenyAll;

impl Approver for DenyAll {
    fn decide(&self, _request: &ApprovalRequest) -> Result<ApprovalAnswer, ApproverError> {
        Ok(ApprovalAnswer::Denied {
            by: None,
            reason: Some("every approval is refused by configuration".into()),
        })
    }
}

/// Bounds how long an approver may take: no answer in time refuses the call with
/// `approval_timeout` (an approver that panics, with `approval_unavailable`). The inner
/// approver runs on its own thread.
///
/// ```
/// use std::time::Duration;
/// use agentwarrant::{ApprovalAnswer, ApprovalRequest, ApproverError, Timeout};
/// let on_call = |_: &ApprovalRequest| -> Result<ApprovalAnswer, ApproverError> {
///     Ok(ApprovalAnswer::Denied { by: None, reason: None })
/// };
/// let approver = Timeout::new(on_call, Duration::from_secs(300));
/// ```
#[derive(Debug)]
pub struct Timeout<A> {
    inner: std::sync::Arc<A>,
    timeout: std::time::Duration,
}

impl<A: Approver + 'static> Timeout<A> {
    /// Wraps `approver` with a limit.
    pub fn new(approver: A, timeout: std::time::Duration) -> Self {
        Self {
            inner: std::sync::Arc::new(approver),
            timeout,
        }
    }
}

impl<A: Approver + 'static> Approver for Timeout<A> {
    fn decide(&self, request: &ApprovalRequest) -> Result<ApprovalAnswer, ApproverError> {
        let (answer, answered) = std::sync::mpsc::channel();
        let inner = self.inner.clone();
        let request = request.clone();
        std::thread::Builder::new()
            .name("agentwarrant-approver".into())
            .spawn(move || {
                let _ = answer.send(inner.decide(&request));
            })
            .map_err(|e| ApproverError::new(format!("cannot start the approver: {e}")))?;
        match answered.recv_timeout(self.timeout) {
            Ok(answer) => answer,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => Err(ApproverError::timeout(
                format!("no answer within {} s", self.timeout.as_secs_f64()),
            )),
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                Err(ApproverError::new("the approver failed without answering"))
            }
        }
    }
}

/// What the engine checks every approval against.
pub(crate) struct Checks<'a> {
    pub(crate) request: &'a ApprovalRequest,
    pub(crate) now: OffsetDateTime,
    /// Every identity known to the guard, declared or seen (never approvers).
    pub(crate) agents: &'a BTreeSet<Principal>,
}

impl Checks<'_> {
    /// The approvers, or what is wrong with the approvals.
    pub(crate) fn verify(
        &self,
        approvals: &[Approval],
        used: &UsedApprovals,
    ) -> Result<Vec<String>, String> {
        let request = self.request;
        // SECURITY: keyed by the canonical principal: one person is one approver however it
        // is spelled, and a look-alike of an agent or an excluded owner is that agent or owner.
        let mut approvers = BTreeMap::new();
        for approval in approvals {
            let who = approval.approver.trim();
            let principal = Principal::new(who);
            if principal.is_empty()
                || principal.is_agent()
                || principal == Principal::new(&request.identity)
                || self.agents.contains(&principal)
            {
                return Err(format!("`{who}` is not a human approver"));
            }
            if request
                .excluded
                .iter()
                .any(|p| Principal::new(p) == principal)
            {
                return Err(format!("four eyes: `{who}` may not approve this call"));
            }
            if approval.digest != request.digest {
                return Err("the approval is for a different call".into());
            }
            if approval.expires_at <= self.now {
                return Err("the approval has expired".into());
            }
            if approval.expires_at > request.expires_at {
                return Err("the approval outlives its request".into());
            }
            approvers.entry(principal).or_insert_with(|| who.to_owned());
        }
        if approvers.len() < usize::from(request.approvers_needed) {
            return Err(format!(
                "{} distinct approver(s) needed, {} given",
                request.approvers_needed,
                approvers.len()
            ));
        }
        used.consume(approvals, self.now)?;
        Ok(approvers.into_values().collect())
    }
}

/// Approval ids already used, until they expire: each approval is single-use.
#[derive(Debug, Default)]
pub(crate) struct UsedApprovals {
    used: Mutex<HashMap<uuid::Uuid, OffsetDateTime>>,
}

impl UsedApprovals {
    fn consume(&self, approvals: &[Approval], now: OffsetDateTime) -> Result<(), String> {
        let mut used = self
            .used
            .lock()
            .map_err(|_| "approval state is poisoned".to_owned())?;
        used.retain(|_, expires| *expires > now);
        if approvals.iter().any(|a| used.contains_key(&a.id)) {
            return Err("the approval was already used".into());
        }
        used.extend(approvals.iter().map(|a| (a.id, a.expires_at)));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::json;

    use crate::*;

    fn refusal_with(approver: impl Approver + 'static) -> Refusal {
        let guard = Guard::builder()
            .tool(ToolSpec::builder("wipe", Impact::High).build().unwrap())
            .approver(approver)
            .build()
            .unwrap();
        let me = Identity::builder("agent://acme/bot", Role::Executor, "alice@acme.com")
            .build()
            .unwrap();
        let task = guard
            .begin(me, Intent::builder("clean up").build().unwrap())
            .unwrap();
        task.authorize(ToolCall::new("wipe", json!({})))
            .unwrap_err()
    }

    #[test]
    fn an_approver_that_does_not_answer_in_time_refuses_the_call() {
        let slow = |_: &ApprovalRequest| -> Result<ApprovalAnswer, ApproverError> {
            std::thread::sleep(Duration::from_secs(5));
            Ok(ApprovalAnswer::Approved(Vec::new()))
        };
        let refusal = refusal_with(Timeout::new(slow, Duration::from_millis(50)));
        assert_eq!(refusal.kind, RefusalKind::ApprovalDenied);
        assert!(refusal.has(&ReasonCode::ApprovalTimeout) && refusal.has(&ReasonCode::HighImpact));
        assert!(!refusal.has(&ReasonCode::ApprovalUnavailable));
        let text = refusal.to_string();
        assert!(!text.contains("no approver is configured"), "{text}");
    }

    #[test]
    fn an_approver_that_panics_refuses_the_call_with_or_without_a_timeout() {
        let broken = |_: &ApprovalRequest| -> Result<ApprovalAnswer, ApproverError> {
            panic!("approver bug")
        };
        assert!(refusal_with(broken).has(&ReasonCode::ApprovalUnavailable));
        let broken = |_: &ApprovalRequest| -> Result<ApprovalAnswer, ApproverError> {
            panic!("approver bug")
        };
        let refusal = refusal_with(Timeout::new(broken, Duration::from_secs(5)));
        assert!(refusal.has(&ReasonCode::ApprovalUnavailable));
    }
}
