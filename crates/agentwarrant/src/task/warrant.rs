//! Warrants (single-use permits for one call), outcomes, and refusals.

use std::fmt;
use std::sync::Arc;
use std::time::Instant;

use super::record::{status, CallFields};
use super::TaskInner;
use crate::error::LedgerError;
use crate::ids::CallId;
use crate::jwt::{CallClaims, CALL_TOKEN_TTL, CALL_TOKEN_TYPE};
use crate::ledger::{OutcomeRecord, RecordKind};
use crate::policy::Decision;
use crate::reason::{Reason, ReasonCode};
use crate::token::Claims;
use crate::tool::normalise_label;

/// How a tool call ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub(crate) error: Option<String>,
    pub(crate) labels: Vec<String>,
}

impl Outcome {
    /// The tool succeeded.
    pub fn ok() -> Self {
        Self {
            error: None,
            labels: Vec::new(),
        }
    }

    /// The tool failed with `message`.
    pub fn error(message: impl Into<String>) -> Self {
        Self {
            error: Some(message.into()),
            labels: Vec::new(),
        }
    }

    /// Labels the result adds to the task (e.g. `untrusted` for fetched web content); they
    /// count for every later call.
    pub fn with_labels<I: IntoIterator<Item = S>, S: Into<String>>(mut self, labels: I) -> Self {
        self.labels.extend(labels.into_iter().map(Into::into));
        self
    }
}

/// A single-use permit for one authorized call. Complete it with the call's outcome; a warrant
/// dropped without completion is recorded as abandoned.
#[must_use = "run the tool and complete the warrant; a dropped warrant is recorded as abandoned"]
pub struct Warrant {
    pub(crate) task: Arc<TaskInner>,
    pub(crate) call_id: CallId,
    pub(crate) parent: Option<CallId>,
    pub(crate) tool: String,
    pub(crate) depth: u32,
    pub(crate) decision: Decision,
    pub(crate) approvers: Vec<String>,
    pub(crate) args_digest: String,
    /// The call's `execute_tool` span, closed when the warrant completes or is dropped.
    pub(crate) span: tracing::Span,
    pub(crate) scopes: Vec<String>,
    pub(crate) started: Instant,
    pub(crate) completed: bool,
}

impl fmt::Debug for Warrant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Warrant")
            .field("call_id", &self.call_id)
            .field("tool", &self.tool)
            .field("depth", &self.depth)
            .field("approvers", &self.approvers)
            .finish_non_exhaustive()
    }
}

impl Warrant {
    /// The call's id; pass it to [`ToolCall::child_of`](crate::ToolCall::child_of) for calls
    /// made while this one runs.
    pub fn call_id(&self) -> CallId {
        self.call_id
    }

    /// The tool authorized.
    pub fn tool(&self) -> &str {
        &self.tool
    }

    /// The call's depth in the chain (1 at the top).
    pub fn depth(&self) -> u32 {
        self.depth
    }

    /// The policy's decision (allow, or approval when approved).
    pub fn decision(&self) -> &Decision {
        &self.decision
    }

    /// Whether a human approved the call.
    pub fn approved(&self) -> bool {
        !self.approvers.is_empty()
    }

    /// Who approved the call.
    pub fn approvers(&self) -> &[String] {
        &self.approvers
    }

    /// A signed token for this call, for a downstream tool or service to verify with the
    /// guard's [`SigningKey`](crate::SigningKey) without calling back. It names the task,
    /// identity, tool, args digest, scopes and approvers, and expires with the task's grant.
    pub fn token(&self) -> String {
        let task = &self.task;
        let claims = Claims {
            call_id: self.call_id.to_string(),
            task_id: task.id.to_string(),
            grant_id: task.grant.id().to_string(),
            identity: task.identity.id.clone(),
            owner: task.identity.owner.clone(),
            tool: self.tool.clone(),
            args_digest: self.args_digest.clone(),
            scopes: self.scopes.clone(),
            approvers: self.approvers.clone(),
            issued_at: task.runtime.clock.now().unix_timestamp(),
            expires_at: task.grant.expires_at().unix_timestamp(),
        };
        claims.sign(&task.runtime.signing_key)
    }

    /// This call as a JWT signed with the guard's active Ed25519 key (`typ` `aw-call+jwt`), for
    /// a downstream service to verify with the guard's JWKS and
    /// [`JwtVerifier::verify_call`](crate::JwtVerifier::verify_call): the grant token's
    /// identity claims plus `grant`, `call`, `tool`, `args_digest`, the call's required
    /// `scope`, `approvers` and `depth`; `jti` is the call's id. It expires
    /// [`CALL_TOKEN_TTL`] after issue, or with the grant if that is sooner, and dies with the
    /// task like the grant token. See `docs/tokens.md`.
    pub fn jwt(&self) -> String {
        let task = &self.task;
        let runtime = &task.runtime;
        let now = runtime.clock.now();
        let exp = now
            .checked_add(CALL_TOKEN_TTL)
            .map_or(task.grant.expires_at(), |t| t.min(task.grant.expires_at()));
        let iat = now.unix_timestamp();
        let claims = CallClaims {
            iss: runtime.jwt_issuer.clone(),
            sub: task.identity.id.clone(),
            aud: vec![runtime.jwt_audience.clone()],
            owner: task.identity.owner.clone(),
            task: task.id.to_string(),
            grant: task.grant.id().to_string(),
            lineage: task
                .grant
                .lineage()
                .iter()
                .map(ToString::to_string)
                .collect(),
            call: self.call_id.to_string(),
            tool: self.tool.clone(),
            args_digest: self.args_digest.clone(),
            scope: self.scopes.join(" "),
            approvers: self.approvers.clone(),
            depth: self.depth,
            iat,
            nbf: iat,
            exp: exp.unix_timestamp(),
            jti: self.call_id.to_string(),
        };
        runtime.sign_jwt(CALL_TOKEN_TYPE, &claims)
    }

    /// Records the outcome (`call.completed`) and adds the result's labels to the chain.
    pub fn complete(self, outcome: Outcome) -> Result<(), LedgerError> {
        self.complete_with(outcome, None)
    }

    /// [`Warrant::complete`] with the record's `detail` (what the engine's own tools did).
    pub(crate) fn complete_with(
        mut self,
        outcome: Outcome,
        detail: Option<serde_json::Value>,
    ) -> Result<(), LedgerError> {
        self.completed = true;
        self.record_outcome(Some(outcome), detail)
    }

    /// Records the outcome (`None`: abandoned) and adds its result labels to the chain.
    fn record_outcome(
        &self,
        outcome: Option<Outcome>,
        detail: Option<serde_json::Value>,
    ) -> Result<(), LedgerError> {
        let _entered = self.span.enter();
        let duration_us = u64::try_from(self.started.elapsed().as_micros()).unwrap_or(u64::MAX);
        let record = match outcome {
            None => OutcomeRecord {
                duration_us: Some(duration_us),
                ..status("abandoned")
            },
            Some(mut outcome) => {
                // SECURITY: the rules compare labels exactly; an outcome's labels come from
                // the caller's code at run time, after every build-time check, so they are
                // normalised here (`Secret` is `secret`), never dropped.
                let mut labels: Vec<String> = Vec::with_capacity(outcome.labels.len());
                for label in outcome.labels.iter().map(|l| normalise_label(l)) {
                    if !label.is_empty() && !labels.contains(&label) {
                        labels.push(label);
                    }
                }
                outcome.labels = labels;
                // The spec's `result_labels` join the outcome's own (a union, in order).
                let spec = self.task.tool(&self.tool);
                for label in spec.iter().flat_map(|spec| &spec.result_labels) {
                    if !outcome.labels.contains(label) {
                        outcome.labels.push(label.clone());
                    }
                }
                self.task.chain.add_labels(self.call_id, &outcome.labels);
                OutcomeRecord {
                    status: if outcome.error.is_some() {
                        "error"
                    } else {
                        "ok"
                    }
                    .into(),
                    duration_us: Some(duration_us),
                    labels: outcome.labels,
                    error: outcome.error,
                }
            }
        };
        let fields = CallFields {
            call_id: Some(self.call_id),
            parent: self.parent,
            tool: Some(self.tool.clone()),
            approver: (!self.approvers.is_empty()).then(|| self.approvers.clone()),
            outcome: Some(record),
            detail,
            ..CallFields::default()
        };
        self.task
            .record(RecordKind::CallCompleted, fields)
            .map(|_| ())
    }
}

impl Drop for Warrant {
    fn drop(&mut self) {
        if !self.completed {
            if let Err(error) = self.record_outcome(None, None) {
                tracing::error!(target: "agentwarrant::ledger", %error, "could not record an abandoned call");
            }
        }
    }
}

/// Whether a refused call was refused outright or refused approval. Exhaustive on purpose,
/// like [`Effect`](crate::Effect): a new kind of refusal must break the code that matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RefusalKind {
    /// Refused by the policy or by the engine; no approval was asked.
    Denied,
    /// Approval was needed and not obtained (refused, invalid, or no approver).
    ApprovalDenied,
}

impl RefusalKind {
    /// `denied` or `approval_denied`.
    pub fn as_str(self) -> &'static str {
        match self {
            RefusalKind::Denied => "denied",
            RefusalKind::ApprovalDenied => "approval_denied",
        }
    }
}

/// A refused call: every reason, machine-readable. Its `Display` is the short message for the
/// agent; the full record is in the ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use = "a refusal says why the call must not run; report it to the agent"]
#[non_exhaustive]
pub struct Refusal {
    /// Denied, or approval denied.
    pub kind: RefusalKind,
    /// The call's id (as in the ledger).
    pub call_id: CallId,
    /// The tool.
    pub tool: String,
    /// Every reason, policy and engine alike.
    pub reasons: Vec<Reason>,
    /// The policy's decision, when the policy was evaluated.
    pub decision: Option<Box<Decision>>,
}

impl Refusal {
    /// Whether any reason has this code.
    pub fn has(&self, code: &ReasonCode) -> bool {
        self.reasons.iter().any(|r| &r.code == code)
    }

    /// The reason codes, in order.
    pub fn codes(&self) -> Vec<&str> {
        self.reasons.iter().map(|r| r.code.as_str()).collect()
    }

    /// The tool-error text a model sees for this refused call, as every framework adapter
    /// words it: the short message (`Display`) followed by "Do not retry this call
    /// unchanged."
    ///
    /// SECURITY: only the tool name, the reason codes and their fixed descriptions; never the
    /// args, the reasons' details or the policy. Operators find those in the ledger under
    /// [`Refusal::call_id`].
    pub fn agent_message(&self) -> String {
        format!("{self} Do not retry this call unchanged.")
    }
}

impl fmt::Display for Refusal {
    // SECURITY: only codes and fixed texts reach the agent, never details, args or policy text.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut seen = Vec::new();
        for reason in &self.reasons {
            if !seen.contains(&&reason.code) {
                seen.push(&reason.code);
            }
        }
        let text: Vec<String> = seen
            .iter()
            .map(|code| match code {
                ReasonCode::Custom(code) => code.clone(),
                known => format!("{known} ({})", known.describe()),
            })
            .collect();
        let what = match self.kind {
            RefusalKind::Denied => "refused",
            RefusalKind::ApprovalDenied => "refused: approval not granted",
        };
        write!(f, "{what}: `{}`: {}", self.tool, text.join("; "))
    }
}

impl std::error::Error for Refusal {}

/// Why [`Task::run`](crate::Task::run) did not return the tool's value.
#[derive(Debug)]
#[non_exhaustive]
pub enum RunError<E> {
    /// The call was refused; the tool did not run.
    Refused(Refusal),
    /// The tool ran and failed; the failure is recorded as the outcome.
    Tool(E),
}

impl<E: fmt::Display> fmt::Display for RunError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunError::Refused(refusal) => refusal.fmt(f),
            RunError::Tool(error) => error.fmt(f),
        }
    }
}

impl<E: fmt::Debug + fmt::Display> std::error::Error for RunError<E> {}
