//! Tasks: one unit of agent work under one identity and grant, and the pipeline that turns a
//! tool call into a [`Warrant`] or a [`Refusal`].

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde_json::{json, Map, Value as Json};
use time::OffsetDateTime;

use crate::approval::{ApprovalAnswer, ApprovalRequest, CallDigest, Checks};
use crate::chain::{Chain, ChainSnapshot, Contribution};
use crate::clock::rfc3339;
use crate::error::{Error, LedgerError, TaskError};
use crate::grant::Grant;
use crate::guard::GuardInner;
use crate::identity::{Identity, Role};
use crate::ids::{CallId, TaskId};
use crate::intent::Intent;
use crate::ledger::{
    canonical_json, sha256_hex, DecisionRecord, OutcomeRecord, Record, RecordKind,
};
use crate::policy::input::{self, Band, CallFacts};
use crate::policy::{Decision, Effect, Reason, ReasonCode};
use crate::scope::{Scope, ScopeSet};
use crate::tool::{Impact, ToolCall, ToolSpec};
use crate::warrant::{Outcome, Refusal, RefusalKind, RunError, Warrant};

/// One level of a delegation chain: every level's ceiling and intent bound the scopes below it.
#[derive(Debug, Clone)]
struct Level {
    id: String,
    ceiling: ScopeSet,
    intent: ScopeSet,
    role: Role,
    owner: String,
}

pub(crate) struct TaskInner {
    guard: Arc<GuardInner>,
    id: TaskId,
    parent_task: Option<TaskId>,
    identity: Identity,
    intent: Intent,
    /// Root first, this task's own level last.
    lineage: Vec<Level>,
    grant: Arc<Grant>,
    chain: Arc<Chain>,
    /// The parts of the policy input that stay the same for the task, built once.
    input: input::TaskInput,
    /// Declared tools this task has called, each resolved once into a private copy (tools are
    /// only ever added, so the answer never changes): the hot path then takes no lock and
    /// touches no reference count shared with other tasks.
    tools: Mutex<Vec<(String, Arc<ToolSpec>)>>,
    ended: AtomicBool,
}

/// One unit of agent work: an identity, an intent, a grant, and the chain of calls so far.
///
/// `Task` is `Send + Sync`: parallel tool calls of one task are tracked correctly. Ending the
/// task (or dropping it) revokes its grant and the grants of tasks delegated from it.
pub struct Task {
    inner: Arc<TaskInner>,
}

impl std::fmt::Debug for Task {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Task")
            .field("id", &self.inner.id)
            .field("identity", &self.inner.identity.id)
            .finish_non_exhaustive()
    }
}

/// What the pipeline knows about a call once it has been validated.
struct Examined {
    spec: Arc<ToolSpec>,
    required: Vec<Scope>,
    bands: Vec<(Scope, Band)>,
    destinations: Vec<String>,
    args_digest: String,
}

/// The call-specific fields of a ledger record.
#[derive(Default)]
struct CallFields {
    call_id: Option<CallId>,
    parent: Option<CallId>,
    tool: Option<String>,
    args: Option<Json>,
    args_digest: Option<String>,
    decision: Option<DecisionRecord>,
    approver: Option<Vec<String>>,
    outcome: Option<OutcomeRecord>,
    detail: Option<Json>,
}

fn status(status: &str) -> OutcomeRecord {
    OutcomeRecord {
        status: status.to_owned(),
        duration_us: None,
        labels: Vec::new(),
        error: None,
    }
}

/// `args` with every sensitive arg replaced by `"[redacted]"`, as [`ToolSpec::redact`] gives
/// them, reusing the map instead of copying it.
fn redacted(spec: &ToolSpec, mut args: Json) -> Json {
    if let Json::Object(map) = &mut args {
        for name in &spec.sensitive_args {
            if let Some(value) = map.get_mut(name) {
                *value = Json::String("[redacted]".into());
            }
        }
    }
    args
}

/// The depth of a JSON value's nesting (a scalar is 0), stopping early past `limit`.
fn nesting(value: &Json, limit: usize) -> usize {
    if limit == 0 {
        return 1;
    }
    match value {
        Json::Array(items) => {
            1 + items
                .iter()
                .map(|v| nesting(v, limit - 1))
                .max()
                .unwrap_or(0)
        }
        Json::Object(map) => {
            1 + map
                .values()
                .map(|v| nesting(v, limit - 1))
                .max()
                .unwrap_or(0)
        }
        _ => 0,
    }
}

impl Task {
    pub(crate) fn begin(
        guard: Arc<GuardInner>,
        identity: Identity,
        intent: Intent,
        parent: Option<&TaskInner>,
    ) -> Result<Task, Error> {
        let now = guard.clock.now();
        if let Ok(mut agents) = guard.agents.write() {
            agents.insert(identity.id.clone());
        }
        let mut lineage = parent.map(|p| p.lineage.clone()).unwrap_or_default();
        lineage.push(Level {
            id: identity.id.clone(),
            ceiling: identity.ceiling.clone(),
            intent: intent.scopes.clone(),
            role: identity.role,
            owner: identity.owner.clone(),
        });
        // The grant holds the intent's patterns that every ceiling above covers.
        let scopes = intent
            .scopes
            .patterns()
            .iter()
            .filter(|p| {
                Scope::parse(p.as_str())
                    .is_ok_and(|s| lineage.iter().all(|l| l.ceiling.contains(&s)))
            })
            .map(|p| p.as_str().to_owned())
            .collect();
        let ttl = time::Duration::try_from(guard.limits.grant_ttl).unwrap_or(time::Duration::MAX);
        let grant = Arc::new(Grant::issue(
            scopes,
            now,
            ttl,
            identity.role == Role::Escalation,
            parent.map(|p| p.grant.clone()),
        ));
        let chain = parent.map_or_else(
            || Arc::new(Chain::new(guard.limits.history_window)),
            |p| p.chain.clone(),
        );
        let id = TaskId::new();
        let input = input::TaskInput::new(&identity, &intent, id, &guard.env, &grant);
        let inner = Arc::new(TaskInner {
            guard,
            id,
            parent_task: parent.map(|p| p.id),
            identity,
            intent,
            lineage,
            grant,
            chain,
            input,
            tools: Mutex::new(Vec::new()),
            ended: AtomicBool::new(false),
        });
        let begun = json!({
            "intent": {
                "goal": inner.intent.goal,
                "scopes": inner.intent.scopes.to_strings(),
                "max_impact": inner.intent.max_impact.map(Impact::as_str),
            },
            "role": inner.identity.role.as_str(),
            "env": inner.guard.env,
            "parent_task_id": inner.parent_task.map(|t| t.to_string()),
        });
        let issued = json!({
            "grant_id": inner.grant.id().to_string(),
            "scopes": inner.grant.scopes(),
            "expires_at": rfc3339(inner.grant.expires_at()),
            "escalated": inner.grant.escalated(),
        });
        for (kind, detail) in [
            (RecordKind::TaskBegun, begun),
            (RecordKind::GrantIssued, issued),
        ] {
            inner
                .record(
                    kind,
                    CallFields {
                        detail: Some(detail),
                        ..CallFields::default()
                    },
                )
                .map_err(|source| TaskError::Ledger {
                    task: inner.id.to_string(),
                    source,
                })?;
        }
        Ok(Task { inner })
    }

    /// The task's id.
    pub fn id(&self) -> TaskId {
        self.inner.id
    }

    /// The identity the task runs as.
    pub fn identity(&self) -> &Identity {
        &self.inner.identity
    }

    /// The task's intent.
    pub fn intent(&self) -> &Intent {
        &self.inner.intent
    }

    /// Whether the task has ended (its grant is then revoked).
    pub fn is_ended(&self) -> bool {
        self.inner.ended.load(Ordering::SeqCst)
    }

    /// The task's grant.
    pub fn grant(&self) -> &Grant {
        &self.inner.grant
    }

    /// Delegates a sub-task to `identity`. Its grant is this task's, narrowed by the
    /// identity's ceiling and by `intent` (this task's intent when `None`); it never outlives
    /// this task's grant, and it shares this task's chain.
    pub fn delegate(&self, identity: Identity, intent: Option<Intent>) -> Result<Task, Error> {
        let inner = &self.inner;
        if inner.ended.load(Ordering::SeqCst) {
            return Err(TaskError::Ended {
                task: inner.id.to_string(),
            }
            .into());
        }
        let intent = intent.unwrap_or_else(|| inner.intent.clone());
        Task::begin(inner.guard.clone(), identity, intent, Some(inner))
    }

    /// Authorizes one call: validate, check the grant, track the chain, evaluate the policy,
    /// ask for approval where required, and record the decision before returning the warrant.
    ///
    /// Every failure refuses the call with machine-readable reasons; nothing is an error.
    pub fn authorize(&self, call: ToolCall) -> Result<Warrant, Refusal> {
        self.inner.authorize(call)
    }

    /// Authorizes `call`, runs `tool` with its warrant, and records the outcome.
    ///
    /// ```
    /// # use agentwarrant::*;
    /// # let guard = Guard::builder().tool(ToolSpec::builder("ping", Impact::Low).build()?).build()?;
    /// # let me = Identity::builder("agent://acme/bot", Role::Executor, "alice@acme.com").build()?;
    /// # let task = guard.begin(me, Intent::builder("check").build()?)?;
    /// let pong = task.run(ToolCall::new("ping", serde_json::json!({})), |_warrant| {
    ///     Ok::<_, std::io::Error>("pong")
    /// });
    /// assert_eq!(pong.unwrap(), "pong");
    /// # Ok::<(), agentwarrant::Error>(())
    /// ```
    pub fn run<T, E, F>(&self, call: ToolCall, tool: F) -> Result<T, RunError<E>>
    where
        E: std::fmt::Display,
        F: FnOnce(&Warrant) -> Result<T, E>,
    {
        let warrant = self.authorize(call).map_err(RunError::Refused)?;
        let result = tool(&warrant);
        let outcome = match &result {
            Ok(_) => Outcome::ok(),
            Err(error) => Outcome::error(error.to_string()),
        };
        if let Err(error) = warrant.complete(outcome) {
            // The tool has already run: report the failure to record it, keep its result.
            tracing::error!(target: "agentwarrant::ledger", %error, "could not record a call's outcome");
        }
        result.map_err(RunError::Tool)
    }

    /// Ends the task: revokes its grant (and every grant delegated from it) and records
    /// `grant.revoked` and `task.ended`. Ending twice is harmless; calls authorized after the
    /// end are refused with `grant_invalid`, while warrants already issued can still complete.
    pub fn end(&self) -> Result<(), Error> {
        self.inner.end()
    }
}

impl Drop for Task {
    fn drop(&mut self) {
        if let Err(error) = self.inner.end() {
            tracing::error!(target: "agentwarrant::ledger", %error, "could not record the end of a task");
        }
    }
}

impl TaskInner {
    fn end(&self) -> Result<(), Error> {
        if self.ended.swap(true, Ordering::SeqCst) {
            return Ok(());
        }
        self.grant.revoke();
        for kind in [RecordKind::GrantRevoked, RecordKind::TaskEnded] {
            self.record(kind, CallFields::default())
                .map_err(|source| TaskError::Ledger {
                    task: self.id.to_string(),
                    source,
                })?;
        }
        Ok(())
    }

    /// Appends a record and mirrors it as a `tracing` event.
    fn record(&self, kind: RecordKind, fields: CallFields) -> Result<u64, LedgerError> {
        let record = Record {
            seq: 0,
            ts: rfc3339(self.guard.clock.now()),
            kind,
            task_id: self.id.to_string(),
            call_id: fields.call_id.map(|c| c.to_string()),
            parent_call_id: fields.parent.map(|c| c.to_string()),
            identity: self.identity.id.clone(),
            owner: self.identity.owner.clone(),
            intent: self.intent.goal.clone(),
            tool: fields.tool,
            args: fields.args,
            args_digest: fields.args_digest,
            decision: fields.decision,
            approver: fields.approver,
            outcome: fields.outcome,
            detail: fields.detail,
            prev: String::new(),
            hash: String::new(),
        };
        if !tracing::enabled!(target: "agentwarrant::ledger", tracing::Level::INFO) {
            // Nothing needs the sealed copy back: the ledger may keep the record as it is.
            return self.guard.ledger.append_seq(record);
        }
        let record = self.guard.ledger.append(record)?;
        tracing::event!(
            target: "agentwarrant::ledger",
            tracing::Level::INFO,
            agentwarrant.kind = record.kind.as_str(),
            agentwarrant.seq = record.seq,
            agentwarrant.task_id = %record.task_id,
            agentwarrant.call_id = record.call_id.as_deref(),
            agentwarrant.decision = record.decision.as_ref().map(|d| d.effect.as_str()),
            agentwarrant.reason = record.decision.as_ref().map(|d| d.reasons.join(",")),
            agentwarrant.outcome = record.outcome.as_ref().map(|o| o.status.as_str()),
            gen_ai.agent.id = %record.identity,
            gen_ai.operation.name = "execute_tool",
            gen_ai.tool.name = record.tool.as_deref(),
            gen_ai.tool.call.id = record.call_id.as_deref(),
            "{}",
            record.kind.as_str()
        );
        Ok(record.seq)
    }

    fn authorize(self: &Arc<Self>, mut call: ToolCall) -> Result<Warrant, Refusal> {
        let call_id = CallId::new();
        let now = self.guard.clock.now();
        let (chain, parent_known) = self.chain.begin_call(call.parent);
        let examined = match self.examine(&call, parent_known.is_ok(), now) {
            Ok(examined) => examined,
            Err(reason) => {
                let decision = DecisionRecord {
                    effect: Effect::Deny.as_str().into(),
                    reasons: vec![reason.to_string()],
                    policy_digest: None,
                    eval_us: 0,
                };
                return Err(self.refuse(
                    call_id,
                    &call,
                    None,
                    RefusalKind::Denied,
                    vec![reason],
                    None,
                    decision,
                ));
            }
        };
        let spec = &examined.spec;
        let document = self.document(call_id, &call, now, &chain, &examined);
        let decision = self.guard.engine.decide(document);
        let record_of = |decision: &Decision, extra: &[Reason]| DecisionRecord {
            effect: decision.effect.as_str().into(),
            reasons: decision
                .reasons
                .iter()
                .chain(extra)
                .map(Reason::to_string)
                .collect(),
            policy_digest: Some(decision.policy_digest.to_string()),
            eval_us: decision.eval_us,
        };
        let approvers = match decision.effect {
            Effect::Deny => {
                let reasons = decision.reasons.clone();
                let record = record_of(&decision, &[]);
                return Err(self.refuse(
                    call_id,
                    &call,
                    Some(&examined),
                    RefusalKind::Denied,
                    reasons,
                    Some(decision),
                    record,
                ));
            }
            Effect::Allow => Vec::new(),
            Effect::Approval => match self.approve(call_id, &call, &examined, &decision, now) {
                Ok(approvers) => approvers,
                Err(extra) => {
                    let record = record_of(&decision, std::slice::from_ref(&extra));
                    let mut reasons = decision.reasons.clone();
                    reasons.push(extra);
                    return Err(self.refuse(
                        call_id,
                        &call,
                        Some(&examined),
                        RefusalKind::ApprovalDenied,
                        reasons,
                        Some(decision),
                        record,
                    ));
                }
            },
        };
        let status_text = if approvers.is_empty() {
            "allowed"
        } else {
            "approved"
        };
        // The args are recorded as given, sensitive ones redacted: moved, not copied, since
        // nothing reads them after this record.
        let fields = CallFields {
            call_id: Some(call_id),
            parent: call.parent,
            tool: Some(call.tool.clone()),
            args: Some(redacted(&examined.spec, std::mem::take(&mut call.args))),
            args_digest: Some(examined.args_digest.clone()),
            decision: Some(record_of(&decision, &[])),
            approver: (!approvers.is_empty()).then(|| approvers.clone()),
            outcome: Some(status(status_text)),
            detail: None,
        };
        let recorded = self.record(RecordKind::CallDecided, fields).and_then(|_| {
            if decision.obligations.ledger_sync {
                self.guard.ledger.flush()
            } else {
                Ok(())
            }
        });
        if let Err(error) = recorded {
            // SECURITY: no action without evidence.
            let reasons = vec![Reason::with_detail(
                ReasonCode::LedgerError,
                error.to_string(),
            )];
            return Err(Refusal {
                kind: RefusalKind::Denied,
                call_id,
                tool: call.tool,
                reasons,
                decision: Some(Box::new(decision)),
            });
        }
        self.chain.commit(
            call_id,
            chain.depth,
            Contribution {
                tool: spec.name.clone(),
                labels: spec.reads.clone(),
                destinations: examined.destinations,
                weight: spec.impact.weight(),
            },
        );
        Ok(Warrant {
            task: self.clone(),
            call_id,
            parent: call.parent,
            tool: call.tool,
            depth: chain.depth,
            decision,
            approvers,
            scopes: examined.required.iter().map(|s| s.to_string()).collect(),
            args_digest: examined.args_digest,
            started: Instant::now(),
            completed: false,
        })
    }

    /// The policy input document for an examined call.
    fn document(
        &self,
        call_id: CallId,
        call: &ToolCall,
        now: OffsetDateTime,
        chain: &ChainSnapshot,
        examined: &Examined,
    ) -> regorus::Value {
        let spec = &examined.spec;
        let drift = examined
            .bands
            .iter()
            .filter(|(_, band)| *band == Band::Drift)
            .map(|(scope, _)| ("scope_outside_intent", scope.to_string()))
            .chain(
                self.intent
                    .max_impact
                    .filter(|max| spec.impact > *max)
                    .map(|max| ("impact_above_intent", format!("{} > {max}", spec.impact))),
            )
            .collect();
        self.input.document(CallFacts {
            grant: &self.grant,
            now,
            call_id,
            call,
            spec,
            required: &examined.required,
            bands: &examined.bands,
            destinations: &examined.destinations,
            chain,
            drift,
        })
    }

    /// The spec of the tool `name`; see [`TaskInner::tools`].
    fn tool(&self, name: &str) -> Option<Arc<ToolSpec>> {
        let mut tools = self.tools.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, spec)) = tools.iter().find(|(n, _)| n == name) {
            return Some(spec.clone());
        }
        let spec = self.guard.tool(name)?;
        // A name that fell to the default tool may be declared later: not cached.
        let default = self.guard.default_tool.as_ref();
        if default.is_some_and(|d| Arc::ptr_eq(d, &spec)) {
            return Some(spec);
        }
        let private = Arc::new(ToolSpec::clone(&spec));
        tools.push((name.to_owned(), private.clone()));
        Some(private)
    }

    /// Validates the call and the grant; the first problem is the refusal's reason.
    fn examine(
        &self,
        call: &ToolCall,
        parent_known: bool,
        now: OffsetDateTime,
    ) -> Result<Examined, Reason> {
        let limits = &self.guard.limits;
        if self
            .guard
            .any_disabled(self.lineage.iter().map(|l| l.id.as_str()))
        {
            return Err(Reason::with_detail(
                ReasonCode::GrantInvalid,
                "identity disabled",
            ));
        }
        if let Err(problem) = self.grant.check(now) {
            return Err(Reason::with_detail(
                ReasonCode::GrantInvalid,
                problem.as_str(),
            ));
        }
        let spec = self.tool(&call.tool).ok_or_else(|| {
            Reason::with_detail(
                ReasonCode::UnknownTool,
                format!("`{}` is not declared", call.tool),
            )
        })?;
        let invalid = |detail: String| Reason::with_detail(ReasonCode::InvalidCall, detail);
        let Json::Object(args) = &call.args else {
            return Err(invalid("args must be a JSON object".into()));
        };
        if nesting(&call.args, limits.max_args_depth.saturating_add(1)) > limits.max_args_depth {
            return Err(invalid(format!(
                "args nest deeper than {}",
                limits.max_args_depth
            )));
        }
        let encoded = canonical_json(&call.args);
        if encoded.len() > limits.max_args_bytes {
            return Err(invalid(format!(
                "args are larger than {} bytes",
                limits.max_args_bytes
            )));
        }
        if !parent_known {
            return Err(invalid(
                "the parent call is not an authorized call of this task".into(),
            ));
        }
        let required = spec
            .required_scopes(args, limits.max_scopes_per_call)
            .map_err(invalid)?;
        let bands = required
            .iter()
            .map(|scope| (scope.clone(), self.band(scope)))
            .collect();
        Ok(Examined {
            destinations: spec.destinations(args),
            required,
            bands,
            args_digest: sha256_hex(&encoded),
            spec,
        })
    }

    /// Outside any ceiling in the lineage → outside_ceiling; outside any intent → drift.
    fn band(&self, scope: &Scope) -> Band {
        if !self.lineage.iter().all(|l| l.ceiling.contains(scope)) {
            Band::OutsideCeiling
        } else if !self.lineage.iter().all(|l| l.intent.contains(scope)) {
            Band::Drift
        } else {
            Band::Intent
        }
    }

    /// Asks the approver and checks the answer; `Err` is the extra reason for the refusal.
    fn approve(
        &self,
        call_id: CallId,
        call: &ToolCall,
        examined: &Examined,
        decision: &Decision,
        now: OffsetDateTime,
    ) -> Result<Vec<String>, Reason> {
        let Some(approver) = &self.guard.approver else {
            return Err(Reason::with_detail(
                ReasonCode::ApprovalUnavailable,
                "no approver is configured",
            ));
        };
        let mut ttl =
            time::Duration::try_from(self.guard.limits.approval_ttl).unwrap_or(time::Duration::MAX);
        if let Some(max) = decision.obligations.max_ttl_s {
            ttl = ttl.min(time::Duration::seconds(
                i64::try_from(max).unwrap_or(i64::MAX),
            ));
        }
        let request = ApprovalRequest {
            call_id,
            task_id: self.id,
            digest: self.digest(call_id, call, examined),
            identity: self.identity.id.clone(),
            owner: self.identity.owner.clone(),
            intent: self.intent.goal.clone(),
            tool: call.tool.clone(),
            args: call
                .args
                .as_object()
                .map_or_else(|| Json::Object(Map::new()), |a| examined.spec.redact(a)),
            reasons: decision.reasons.clone(),
            approvers_needed: decision.obligations.approvers,
            expires_at: now + ttl,
            excluded: self.excluded_approvers(&examined.spec),
        };
        let fields = |status_text: &str, approver: Option<Vec<String>>, detail: Json| CallFields {
            approver,
            outcome: Some(status(status_text)),
            detail: Some(detail),
            ..self.call_fields(call_id, call, Some(examined))
        };
        let requested = json!({
            "reasons": request.reasons.iter().map(Reason::to_string).collect::<Vec<_>>(),
            "approvers_needed": request.approvers_needed,
            "expires_at": rfc3339(request.expires_at),
            "digest": request.digest.as_str(),
        });
        self.record(
            RecordKind::ApprovalRequested,
            fields("requested", None, requested),
        )
        .map_err(|e| Reason::with_detail(ReasonCode::LedgerError, e.to_string()))?;
        // A panicking approver is a failed approver: the call is refused, the caller lives on.
        let answer =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| approver.decide(&request)))
                .unwrap_or_else(|_| {
                    Err(crate::approval::ApproverError::new("the approver panicked"))
                });
        let now = self.guard.clock.now();
        let (result, who) = match answer {
            Err(error) => (
                Err(Reason::with_detail(
                    ReasonCode::ApprovalUnavailable,
                    error.message,
                )),
                None,
            ),
            Ok(ApprovalAnswer::Denied { by, reason }) => (
                Err(Reason::with_detail(
                    ReasonCode::ApprovalDenied,
                    reason.unwrap_or_else(|| "the approver refused".into()),
                )),
                by.map(|b| vec![b]),
            ),
            Ok(ApprovalAnswer::Approved(approvals)) => {
                let agents = self
                    .guard
                    .agents
                    .read()
                    .map(|a| a.clone())
                    .unwrap_or_default();
                let checks = Checks {
                    request: &request,
                    now,
                    agents: &agents,
                };
                let who = approvals.iter().map(|a| a.approver.clone()).collect();
                let verified = checks
                    .verify(&approvals, &self.guard.used_approvals)
                    .map_err(|problem| Reason::with_detail(ReasonCode::ApprovalInvalid, problem));
                (verified, Some(who))
            }
        };
        let answered = match &result {
            Ok(_) => json!({"answer": "approved"}),
            Err(reason) => json!({"answer": "refused", "reason": reason.to_string()}),
        };
        let status_text = if result.is_ok() {
            "approved"
        } else {
            "approval_denied"
        };
        self.record(
            RecordKind::ApprovalAnswered,
            fields(status_text, who, answered),
        )
        .map_err(|e| Reason::with_detail(ReasonCode::LedgerError, e.to_string()))?;
        result
    }

    /// The people who may not approve this call: for critical impact, RBAC changes and calls
    /// under an escalation identity, the owner of the task's identity and of every escalation
    /// identity in the delegation chain.
    fn excluded_approvers(&self, spec: &ToolSpec) -> Vec<String> {
        let escalated = self.lineage.iter().any(|l| l.role == Role::Escalation);
        let four_eyes =
            spec.impact == Impact::Critical || spec.tags.iter().any(|t| t == "rbac") || escalated;
        if !four_eyes {
            return Vec::new();
        }
        let mut excluded = vec![self.identity.owner.clone()];
        excluded.extend(
            self.lineage
                .iter()
                .filter(|l| l.role == Role::Escalation)
                .map(|l| l.owner.clone()),
        );
        excluded.sort();
        excluded.dedup();
        excluded
    }

    /// The digest an approval must carry: task, call, identity, tool and args.
    fn digest(&self, call_id: CallId, call: &ToolCall, examined: &Examined) -> CallDigest {
        let bound = json!({
            "task_id": self.id.to_string(),
            "call_id": call_id.to_string(),
            "parent_call_id": call.parent.map(|c| c.to_string()),
            "identity": self.identity.id,
            "tool": call.tool,
            "args_digest": examined.args_digest,
        });
        CallDigest(sha256_hex(&canonical_json(&bound)))
    }

    fn call_fields(
        &self,
        call_id: CallId,
        call: &ToolCall,
        examined: Option<&Examined>,
    ) -> CallFields {
        CallFields {
            call_id: Some(call_id),
            parent: call.parent,
            tool: Some(call.tool.clone()),
            // SECURITY: args of an unknown or malformed call are not recorded; only the digest.
            args: examined.and_then(|e| call.args.as_object().map(|a| e.spec.redact(a))),
            args_digest: Some(examined.map_or_else(
                || sha256_hex(&canonical_json(&call.args)),
                |e| e.args_digest.clone(),
            )),
            ..CallFields::default()
        }
    }

    /// Records a refusal and returns it; a ledger failure adds `ledger_error` to the reasons.
    #[allow(clippy::too_many_arguments)]
    fn refuse(
        &self,
        call_id: CallId,
        call: &ToolCall,
        examined: Option<&Examined>,
        kind: RefusalKind,
        mut reasons: Vec<Reason>,
        decision: Option<Decision>,
        record: DecisionRecord,
    ) -> Refusal {
        let fields = CallFields {
            decision: Some(record),
            outcome: Some(status(kind.as_str())),
            ..self.call_fields(call_id, call, examined)
        };
        if let Err(error) = self.record(RecordKind::CallDecided, fields) {
            reasons.push(Reason::with_detail(
                ReasonCode::LedgerError,
                error.to_string(),
            ));
        }
        Refusal {
            kind,
            call_id,
            tool: call.tool.clone(),
            reasons,
            decision: decision.map(Box::new),
        }
    }

    /// Signs `warrant` as a token (see [`crate::token`]).
    pub(crate) fn token(&self, warrant: &Warrant) -> String {
        let claims = crate::token::Claims {
            call_id: warrant.call_id.to_string(),
            task_id: self.id.to_string(),
            grant_id: self.grant.id().to_string(),
            identity: self.identity.id.clone(),
            owner: self.identity.owner.clone(),
            tool: warrant.tool.clone(),
            args_digest: warrant.args_digest.clone(),
            scopes: warrant.scopes.clone(),
            approvers: warrant.approvers.clone(),
            issued_at: self.guard.clock.now().unix_timestamp(),
            expires_at: self.grant.expires_at().unix_timestamp(),
        };
        crate::token::sign(&claims, &self.guard.signing_key)
    }

    /// Records a warrant's outcome (`None`: abandoned) and adds its result labels.
    pub(crate) fn complete(
        &self,
        warrant: &Warrant,
        outcome: Option<Outcome>,
    ) -> Result<(), LedgerError> {
        let duration_us = u64::try_from(warrant.started.elapsed().as_micros()).unwrap_or(u64::MAX);
        let record = match outcome {
            None => OutcomeRecord {
                duration_us: Some(duration_us),
                ..status("abandoned")
            },
            Some(mut outcome) => {
                // The spec's `result_labels` join the outcome's own (a union, in order).
                let spec = self.tool(&warrant.tool);
                for label in spec.iter().flat_map(|spec| &spec.result_labels) {
                    if !outcome.labels.contains(label) {
                        outcome.labels.push(label.clone());
                    }
                }
                self.chain.add_labels(outcome.labels.iter().cloned());
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
            call_id: Some(warrant.call_id),
            parent: warrant.parent,
            tool: Some(warrant.tool.clone()),
            approver: (!warrant.approvers.is_empty()).then(|| warrant.approvers.clone()),
            outcome: Some(record),
            ..CallFields::default()
        };
        self.record(RecordKind::CallCompleted, fields).map(|_| ())
    }
}

/// One call taken through the pipeline's stages one at a time, for the benchmarks.
#[cfg(feature = "bench")]
pub struct BenchCall {
    call: ToolCall,
    call_id: CallId,
    now: OffsetDateTime,
    chain: ChainSnapshot,
    examined: Examined,
}

/// Hooks for the benchmarks: each stage of [`Task::authorize`] on its own. Not an API.
#[cfg(feature = "bench")]
impl Task {
    /// Validation and credential check (`examine`); whether the call passed.
    pub fn bench_validate(&self, call: &ToolCall) -> bool {
        let now = self.inner.guard.clock.now();
        self.inner.examine(call, true, now).is_ok()
    }

    /// Chain tracking of one top-level allowed call: `begin_call` and `commit`.
    pub fn bench_chain(&self, call: &BenchCall) {
        let (snapshot, _) = self.inner.chain.begin_call(None);
        let spec = &call.examined.spec;
        self.inner.chain.commit(
            CallId::new(),
            snapshot.depth,
            Contribution {
                tool: spec.name.clone(),
                labels: spec.reads.clone(),
                destinations: call.examined.destinations.clone(),
                weight: spec.impact.weight(),
            },
        );
    }

    /// Validates `call` and takes the chain's snapshot for it (not committed); `None` when
    /// the call is refused before policy.
    pub fn bench_prepare(&self, call: &ToolCall) -> Option<BenchCall> {
        let now = self.inner.guard.clock.now();
        let (chain, _) = self.inner.chain.begin_call(None);
        let examined = self.inner.examine(call, true, now).ok()?;
        Some(BenchCall {
            call: call.clone(),
            call_id: CallId::new(),
            now,
            chain,
            examined,
        })
    }

    /// Builds the policy input document of a prepared call.
    pub fn bench_input(&self, call: &BenchCall) -> regorus::Value {
        self.inner.document(
            call.call_id,
            &call.call,
            call.now,
            &call.chain,
            &call.examined,
        )
    }

    /// Evaluates the policy on an input document; whether it allowed the call.
    pub fn bench_policy(&self, input: regorus::Value) -> bool {
        self.inner.guard.engine.decide(input).effect == Effect::Allow
    }

    /// The call's args, for [`Task::bench_ledger`] (which takes them, as the pipeline does).
    pub fn bench_args(call: &BenchCall) -> Json {
        call.call.args.clone()
    }

    /// Appends the two records of an allowed call (`call.decided`, `call.completed`), taking
    /// the args as the pipeline does.
    pub fn bench_ledger(&self, call: &BenchCall, args: Json) -> bool {
        let inner = &self.inner;
        let decided = CallFields {
            call_id: Some(call.call_id),
            parent: call.call.parent,
            tool: Some(call.call.tool.clone()),
            args: Some(redacted(&call.examined.spec, args)),
            args_digest: Some(call.examined.args_digest.clone()),
            decision: Some(DecisionRecord {
                effect: Effect::Allow.as_str().into(),
                reasons: Vec::new(),
                policy_digest: Some(inner.guard.engine.digest().to_string()),
                eval_us: 8,
            }),
            approver: None,
            outcome: Some(status("allowed")),
            detail: None,
        };
        let completed = CallFields {
            call_id: Some(call.call_id),
            parent: None,
            tool: Some(call.call.tool.clone()),
            outcome: Some(OutcomeRecord {
                duration_us: Some(3),
                ..status("ok")
            }),
            ..CallFields::default()
        };
        inner.record(RecordKind::CallDecided, decided).is_ok()
            && inner.record(RecordKind::CallCompleted, completed).is_ok()
    }
}

#[cfg(test)]
mod tests {
    fn shared_across_threads<T: Send + Sync>() {}

    #[test]
    fn a_disabled_identity_and_its_sub_agents_are_refused_until_enabled() {
        use crate::*;
        let guard = Guard::builder()
            .tool(ToolSpec::builder("ping", Impact::Low).build().unwrap())
            .build()
            .unwrap();
        let lead = Identity::builder("agent://acme/lead", Role::Orchestrator, "alice@acme.com")
            .build()
            .unwrap();
        let helper = Identity::builder("agent://acme/helper", Role::Executor, "alice@acme.com")
            .build()
            .unwrap();
        let task = guard
            .begin(lead, Intent::builder("work").build().unwrap())
            .unwrap();
        let sub = task.delegate(helper, None).unwrap();
        let ping = || ToolCall::new("ping", serde_json::json!({}));
        guard.disable_identity("agent://acme/lead");
        for t in [&task, &sub] {
            let refusal = t.authorize(ping()).unwrap_err();
            assert!(refusal.has(&ReasonCode::GrantInvalid), "{refusal}");
        }
        guard.enable_identity("agent://acme/lead");
        assert!(sub.authorize(ping()).is_ok());
    }

    #[test]
    fn guards_tasks_and_warrants_can_cross_threads() {
        shared_across_threads::<crate::Guard>();
        shared_across_threads::<super::Task>();
        shared_across_threads::<crate::Warrant>();
    }
}
