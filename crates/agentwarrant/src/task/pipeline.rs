//! The pipeline of one call, read top to bottom: credential → validate → chain → policy →
//! approval → re-check → ledger → warrant. Each stage either passes what the next needs or
//! returns a [`Stop`] through `?`; [`TaskInner::finish`] records every stop the same way and
//! turns it into the [`Refusal`].
//!
//! The credential is checked before the call is looked at: a disabled identity's or a dead
//! grant's call is refused without its args being parsed. The call is counted in the chain
//! first of all, so refused calls count toward the budget (DESIGN "Counts").

use std::sync::Arc;
use std::time::Instant;

use serde_json::json;
use time::OffsetDateTime;
use tracing::Span;

use super::record::{redacted, status, CallFields};
use super::standing::{standing_of, Use};
use super::telemetry;
use super::validate::Examined;
use super::warrant::{Refusal, RefusalKind, Warrant};
use super::TaskInner;
use crate::approval::{
    excluded_approvers, ApprovalAnswer, ApprovalRequest, ApproverError, ApproverErrorKind,
    CallDigest, Checks,
};
use crate::chain::{ChainSnapshot, Contribution, Decisions, Pivoting};
use crate::clock::rfc3339;
use crate::ids::CallId;
use crate::ledger::{DecisionRecord, RecordKind};
use crate::policy::Decision;
use crate::reason::{Effect, Reason, ReasonCode};
use crate::runtime::Runtime;
use crate::tool::ToolCall;

/// Why a call stopped before its warrant: what [`TaskInner::finish`] records and refuses.
pub(super) struct Stop {
    kind: RefusalKind,
    reasons: Vec<Reason>,
    /// The policy's decision, when the call got that far.
    decision: Option<Box<Decision>>,
    /// The validated call, when it got that far (its args are then recorded, redacted).
    examined: Option<Box<Examined>>,
    /// Whether the refusal is still to be recorded (not when the ledger itself failed).
    record: bool,
}

impl Stop {
    /// Refused before the policy was asked.
    fn early(reason: Reason) -> Self {
        Self::engine(RefusalKind::Denied, reason)
    }

    /// Refused by the engine alone, the policy not asked (again).
    pub(super) fn engine(kind: RefusalKind, reason: Reason) -> Self {
        Self::engine_all(kind, vec![reason])
    }

    /// Refused by the engine alone, for all of `reasons`.
    pub(super) fn engine_all(kind: RefusalKind, reasons: Vec<Reason>) -> Self {
        Self {
            kind,
            reasons,
            decision: None,
            examined: None,
            record: true,
        }
    }

    /// Refused after the policy was asked: its reasons, and `extra` (why approval failed).
    pub(super) fn after_policy(
        kind: RefusalKind,
        decision: Decision,
        extra: Option<Reason>,
        examined: Examined,
    ) -> Self {
        let mut reasons = decision.reasons.clone();
        reasons.extend(extra);
        Self {
            kind,
            reasons,
            decision: Some(Box::new(decision)),
            examined: Some(Box::new(examined)),
            record: true,
        }
    }
}

/// One call on its way through the pipeline.
pub(super) struct Call<'a> {
    pub(super) id: CallId,
    pub(super) call: ToolCall,
    pub(super) now: OffsetDateTime,
    /// The call's depth in the chain (known once the chain stage counted it).
    pub(super) depth: u32,
    pub(super) task: &'a Arc<TaskInner>,
    /// The call's `execute_tool` span (see [`super::telemetry`]).
    pub(super) span: Span,
    /// When the call was asked for (an approval's latency counts from here).
    pub(super) asked: OffsetDateTime,
}

/// How the approval stage gets the human's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Asking {
    /// From the guard's [`Approver`](crate::Approver), while the call waits.
    Approver,
    /// Later: the call pauses with a ticket (see [`super::deferred`]).
    Later,
}

/// How far a call got: its warrant, or paused until a human answers.
// The warrant is the hot path and stays inline; the rare pause is boxed.
#[allow(clippy::large_enum_variant)]
pub(super) enum Passed {
    Warrant(Warrant),
    Paused(Box<Paused>),
}

/// A call paused at the approval stage: everything the pipeline needs to take it up again.
pub(super) struct Paused {
    pub(super) id: CallId,
    pub(super) call: ToolCall,
    pub(super) depth: u32,
    pub(super) examined: Examined,
    pub(super) decision: Decision,
    /// The chain's version when the policy decided.
    pub(super) version: u64,
    pub(super) request: ApprovalRequest,
    pub(super) span: Span,
    pub(super) asked: OffsetDateTime,
}

/// Authorizes one call; see the module docs for the stages.
pub(crate) fn authorize(task: &Arc<TaskInner>, call: ToolCall) -> Result<Warrant, Refusal> {
    match pass(task, call, Asking::Approver)? {
        Passed::Warrant(warrant) => Ok(warrant),
        Passed::Paused(_) => unreachable!("an approver's answer never pauses a call"),
    }
}

/// Runs one call through the stages, pausing at the approval stage when `asking` is later.
pub(super) fn pass(
    task: &Arc<TaskInner>,
    call: ToolCall,
    asking: Asking,
) -> Result<Passed, Refusal> {
    let id = CallId::new();
    let now = task.runtime.clock.now();
    let span = telemetry::call_span(task, id, &call.tool, call.parent);
    let _entered = span.enter();
    let mut call = Call {
        id,
        call,
        now,
        depth: 0,
        task,
        span: span.clone(),
        asked: now,
    };
    match call.stages(asking) {
        Ok(passed) => Ok(passed),
        Err(stop) => Err(task.finish(call.id, &call.call, stop)),
    }
}

/// Why an approval did not lead to a warrant: the refusal's kind, the decision it stands on,
/// and the engine's reason when the policy's are not all.
type NotApproved = Box<(RefusalKind, Decision, Option<Reason>)>;

impl<'a> Call<'a> {
    fn stages(&mut self, asking: Asking) -> Result<Passed, Stop> {
        let task = self.task;
        // INVARIANT: the decision lock is held from counting the call to committing it,
        // except while a human decides (see `approved`): decisions are linearizable.
        let mut decisions = task.chain.decide();
        let (chain, parent) = decisions.begin_call(self.call.parent, task.base_depth);
        self.depth = chain.depth;
        if let Some(why) = decisions.suspended() {
            return Err(Stop::early(Reason::with_detail(
                ReasonCode::TaskSuspended,
                why,
            )));
        }
        task.credential(self.now).map_err(Stop::early)?;
        let mut examined = task
            .validate(&self.call, parent.is_ok())
            .map_err(Stop::early)?;
        examined.signals = task.signals(&mut decisions, &self.call, &examined, self.now, true);
        let decision = self.evaluate(&chain, &examined);
        match decision.effect {
            Effect::Deny => Err(Stop::after_policy(
                RefusalKind::Denied,
                decision,
                None,
                examined,
            )),
            Effect::Allow => {
                self.ledger(&mut examined, &decision, &[])?;
                Ok(Passed::Warrant(self.warrant(
                    &mut decisions,
                    examined,
                    decision,
                    Vec::new(),
                )))
            }
            Effect::Approval => {
                if let Some(used) = task.use_standing(&self.call, &examined, &decision, self.now) {
                    self.standing_used(&examined, &decision, &used)?;
                    self.ledger(&mut examined, &decision, &used.approvers)?;
                    return Ok(Passed::Warrant(self.warrant(
                        &mut decisions,
                        examined,
                        decision,
                        used.approvers,
                    )));
                }
                let version = decisions.version();
                drop(decisions);
                let approver = task.runtime.approver.clone();
                if asking == Asking::Approver && approver.is_none() {
                    let reason = Reason::with_detail(
                        ReasonCode::ApprovalUnavailable,
                        "no approver is configured",
                    );
                    return Err(Stop::after_policy(
                        RefusalKind::Denied,
                        decision,
                        Some(reason),
                        examined,
                    ));
                }
                let request = match self.request(&examined, &decision) {
                    Ok(request) => request,
                    Err(reason) => {
                        return Err(Stop::after_policy(
                            RefusalKind::Denied,
                            decision,
                            Some(reason),
                            examined,
                        ))
                    }
                };
                let Some(approver) = approver.filter(|_| asking == Asking::Approver) else {
                    return Ok(Passed::Paused(Box::new(Paused {
                        id: self.id,
                        call: self.call.clone(),
                        depth: self.depth,
                        examined,
                        decision,
                        version,
                        request,
                        span: self.span.clone(),
                        asked: self.asked,
                    })));
                };
                // A panicking approver is a failed approver: the call is refused, the caller
                // lives on.
                let answer = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    approver.decide(&request)
                }))
                .unwrap_or_else(|_| Err(ApproverError::new("the approver panicked")));
                self.answered(examined, decision, version, &request, answer)
                    .map(Passed::Warrant)
            }
        }
    }

    /// The stages after a human answered `request`: the answer is checked, the call re-checked
    /// (see [`Call::approved`]), recorded and given its warrant.
    pub(super) fn answered(
        &mut self,
        mut examined: Examined,
        decision: Decision,
        version: u64,
        request: &ApprovalRequest,
        answer: Result<ApprovalAnswer, ApproverError>,
    ) -> Result<Warrant, Stop> {
        let (decision, approvers, mut decisions) =
            match self.approved(&examined, decision, version, request, answer) {
                Ok(approved) => approved,
                Err(refused) => {
                    let (kind, decision, reason) = *refused;
                    return Err(Stop::after_policy(kind, decision, reason, examined));
                }
            };
        self.ledger(&mut examined, &decision, &approvers)?;
        Ok(self.warrant(&mut decisions, examined, decision, approvers))
    }

    /// One policy evaluation of the call over `chain`.
    fn evaluate(&self, chain: &ChainSnapshot, examined: &Examined) -> Decision {
        let task = self.task;
        let document = task.document(self.id, &self.call, self.now, chain, examined);
        task.runtime.engine.decide(document)
    }

    /// The approval stage and what follows the human's answer: the lock is taken again, the
    /// grant, kill switch and task re-checked, and when the chain changed meanwhile (parallel
    /// calls committed, labels arrived) the call is decided again on the chain as it is now. A
    /// fresh deny refuses; a fresh approval for a reason the human was not asked about refuses
    /// with `approval_invalid`.
    fn approved(
        &self,
        examined: &Examined,
        decision: Decision,
        version: u64,
        request: &ApprovalRequest,
        answer: Result<ApprovalAnswer, ApproverError>,
    ) -> Result<(Decision, Vec<String>, Decisions<'a>), NotApproved> {
        let task: &'a Arc<TaskInner> = self.task;
        let approvers = match self.check(examined, request, answer) {
            Ok(approvers) => approvers,
            Err((kind, reason)) => return Err(Box::new((kind, decision, Some(reason)))),
        };
        let decisions = task.chain.decide();
        if let Err((kind, reason)) = self.recheck() {
            return Err(Box::new((kind, decision, Some(reason))));
        }
        if let Some(why) = decisions.suspended() {
            let reason = Reason::with_detail(ReasonCode::TaskSuspended, why);
            return Err(Box::new((RefusalKind::Denied, decision, Some(reason))));
        }
        if decisions.version() == version {
            return Ok((decision, approvers, decisions));
        }
        let again = self.evaluate(&decisions.again(self.depth), examined);
        let unapproved: Vec<&str> = again
            .reasons
            .iter()
            .filter(|r| !decision.reasons.iter().any(|a| a.code == r.code))
            .map(|r| r.code.as_str())
            .collect();
        match again.effect {
            Effect::Deny => Err(Box::new((RefusalKind::Denied, again, None))),
            Effect::Approval if !unapproved.is_empty() => {
                let reason = Reason::with_detail(
                    ReasonCode::ApprovalInvalid,
                    format!(
                        "the call also needs approval for {} since the approver was asked",
                        unapproved.join(", ")
                    ),
                );
                Err(Box::new((RefusalKind::ApprovalDenied, again, Some(reason))))
            }
            Effect::Approval | Effect::Allow => Ok((again, approvers, decisions)),
        }
    }

    /// The re-check after a human answered: everything that can change while a human thinks
    /// (the kill switch, the grant's expiry and revocation, the task's end) is checked again,
    /// immediately before the warrant.
    fn recheck(&self) -> Result<(), (RefusalKind, Reason)> {
        let task = self.task;
        let changed = |reason: Reason| {
            // A shared store that cannot answer stays `store_unavailable`: an outage, not a
            // change of the grant.
            let code = match reason.code {
                ReasonCode::StoreUnavailable => ReasonCode::StoreUnavailable,
                _ => ReasonCode::GrantInvalid,
            };
            let detail = reason.detail.unwrap_or_default();
            Reason::with_detail(code, format!("{detail} while the approval was pending"))
        };
        if task.ended.load(std::sync::atomic::Ordering::SeqCst) {
            return Err((
                RefusalKind::Denied,
                changed(Reason::with_detail(
                    ReasonCode::GrantInvalid,
                    "the task ended",
                )),
            ));
        }
        task.credential(task.runtime.clock.now())
            .map_err(|reason| (RefusalKind::Denied, changed(reason)))
    }

    /// The approval request for this call, recorded as `approval.requested`; a ledger that
    /// fails refuses the call (`Err` is the reason).
    fn request(&self, examined: &Examined, decision: &Decision) -> Result<ApprovalRequest, Reason> {
        let task = self.task;
        let runtime = &task.runtime;
        let mut ttl =
            time::Duration::try_from(runtime.limits.approval_ttl).unwrap_or(time::Duration::MAX);
        if let Some(max) = decision.obligations.max_ttl_s {
            ttl = ttl.min(time::Duration::seconds(
                i64::try_from(max).unwrap_or(i64::MAX),
            ));
        }
        let spec = &examined.spec;
        let request = ApprovalRequest {
            call_id: self.id,
            task_id: task.id,
            digest: CallDigest::of(
                task.id,
                self.id,
                self.call.parent,
                &task.identity.id,
                &self.call.tool,
                &examined.args_digest,
            ),
            identity: task.identity.id.clone(),
            owner: task.identity.owner.clone(),
            intent: task.intent.goal.clone(),
            tool: self.call.tool.clone(),
            args: self.call.args.clone(),
            sensitive_args: spec.sensitive_args.iter().cloned().collect(),
            reasons: decision.reasons.clone(),
            approvers_needed: decision.obligations.approvers,
            expires_at: self.now.checked_add(ttl).unwrap_or(self.now),
            excluded: excluded_approvers(
                spec.impact,
                &spec.tags,
                task.lineage.iter().map(|l| (l.role, l.owner.as_str())),
            ),
        };
        let requested = json!({
            "reasons": request.reasons.iter().map(Reason::to_string).collect::<Vec<_>>(),
            "approvers_needed": request.approvers_needed,
            "expires_at": rfc3339(request.expires_at),
            "digest": request.digest.as_str(),
        });
        let fields = CallFields {
            outcome: Some(status("requested")),
            detail: Some(requested),
            ..CallFields::of_call(self.id, &self.call, Some(examined))
        };
        task.record(RecordKind::ApprovalRequested, fields)
            .map_err(|e| Reason::with_detail(ReasonCode::LedgerError, e.to_string()))?;
        Ok(request)
    }

    /// Checks the human's answer to `request` and records it (`approval.answered`). `Err` is
    /// how the call is refused and the reason added to the policy's: `denied` when nobody was
    /// asked, `approval_denied` when the call did not get a valid approval.
    fn check(
        &self,
        examined: &Examined,
        request: &ApprovalRequest,
        answer: Result<ApprovalAnswer, ApproverError>,
    ) -> Result<Vec<String>, (RefusalKind, Reason)> {
        let task = self.task;
        let asked = |reason: Reason| (RefusalKind::ApprovalDenied, reason);
        let standing = match &answer {
            Ok(ApprovalAnswer::Approved(approvals)) => {
                standing_of(approvals, task.runtime.limits.grant_ttl)
            }
            _ => Ok(None),
        };
        let (mut result, who) = judge(&task.runtime, request, answer);
        telemetry::approval_answered(task.runtime.clock.now() - self.asked, result.is_ok());
        let mut answered = json!({"answer": "approved"});
        match (&result, standing) {
            (Ok(_), Err(problem)) => {
                result = Err(asked(Reason::with_detail(
                    ReasonCode::ApprovalInvalid,
                    problem,
                )));
            }
            (Ok(approvers), Ok(Some(standing))) => {
                let held = task.hold(standing, request, approvers, task.runtime.clock.now());
                answered["standing"] = held;
            }
            _ => {}
        }
        if let Err((_, reason)) = &result {
            answered = json!({"answer": "refused", "reason": reason.to_string()});
        }
        let status_text = if result.is_ok() {
            "approved"
        } else {
            "approval_denied"
        };
        let fields = CallFields {
            approver: who,
            outcome: Some(status(status_text)),
            detail: Some(answered),
            ..CallFields::of_call(self.id, &self.call, Some(examined))
        };
        task.record(RecordKind::ApprovalAnswered, fields)
            .map_err(|e| asked(Reason::with_detail(ReasonCode::LedgerError, e.to_string())))?;
        result
    }

    /// Records the use of a standing approval for this call (`approval.answered`, with the
    /// standing approval's id and the uses left).
    fn standing_used(
        &self,
        examined: &Examined,
        decision: &Decision,
        used: &Use,
    ) -> Result<(), Stop> {
        let fields = CallFields {
            approver: Some(used.approvers.clone()),
            outcome: Some(status("approved")),
            detail: Some(used.detail()),
            ..CallFields::of_call(self.id, &self.call, Some(examined))
        };
        self.task
            .record(RecordKind::ApprovalAnswered, fields)
            .map(|_| ())
            .map_err(|error| Stop {
                kind: RefusalKind::Denied,
                reasons: vec![Reason::with_detail(
                    ReasonCode::LedgerError,
                    error.to_string(),
                )],
                decision: Some(Box::new(decision.clone())),
                examined: None,
                record: false,
            })
    }

    /// The ledger stage: the decision is recorded before the tool runs (synced when the policy
    /// asks). SECURITY: no action without evidence; a ledger that fails refuses the call.
    fn ledger(
        &mut self,
        examined: &mut Examined,
        decision: &Decision,
        approvers: &[String],
    ) -> Result<(), Stop> {
        let task = self.task;
        let status_text = if approvers.is_empty() {
            "allowed"
        } else {
            "approved"
        };
        // The args are recorded as given, sensitive ones redacted: moved, not copied, since
        // nothing reads them after this record; so is their canonical JSON.
        let (args, replaced) = redacted(&examined.spec, std::mem::take(&mut self.call.args));
        let args_text = std::mem::take(&mut examined.args_text);
        let mut fields = CallFields {
            call_id: Some(self.id),
            parent: self.call.parent,
            tool: Some(self.call.tool.clone()),
            decision: None,
            args: Some(args),
            args_digest: Some(examined.args_digest.clone()),
            approver: (!approvers.is_empty()).then(|| approvers.to_vec()),
            outcome: Some(status(status_text)),
            detail: None,
            input: None,
            args_text: (!replaced).then_some(args_text),
        };
        task.add_decision(&mut fields, Some(decision), &decision.reasons);
        let recorded = task.record(RecordKind::CallDecided, fields).and_then(|_| {
            if decision.obligations.ledger_sync {
                task.runtime.ledger.flush()
            } else {
                Ok(())
            }
        });
        recorded.map_err(|error| Stop {
            kind: RefusalKind::Denied,
            reasons: vec![Reason::with_detail(
                ReasonCode::LedgerError,
                error.to_string(),
            )],
            decision: Some(Box::new(decision.clone())),
            examined: None,
            record: false,
        })
    }

    /// The last stage: the call enters the chain (under the decision lock) and gets its
    /// warrant.
    fn warrant(
        &mut self,
        decisions: &mut Decisions<'_>,
        examined: Examined,
        decision: Decision,
        approvers: Vec<String>,
    ) -> Warrant {
        let task = self.task;
        let spec = &examined.spec;
        decisions.commit(
            self.id,
            self.depth,
            Contribution {
                tool: spec.name.clone(),
                called: self.call.tool.clone(),
                approved: !approvers.is_empty(),
                labels: spec.reads.clone(),
                destinations: examined.destinations.clone(),
                weight: spec.impact.weight(),
            },
        );
        Warrant {
            task: task.clone(),
            call_id: self.id,
            parent: self.call.parent,
            tool: std::mem::take(&mut self.call.tool),
            depth: self.depth,
            decision,
            approvers,
            scopes: examined.required.iter().map(|s| s.to_string()).collect(),
            args_digest: examined.args_digest,
            span: self.span.clone(),
            started: Instant::now(),
            completed: false,
        }
    }
}

/// The approvers of a valid approval, or how the call is refused.
pub(super) type Verdict = Result<Vec<String>, (RefusalKind, Reason)>;

/// What the engine makes of an answer to `request`: the approvers, or how the call is refused
/// (`denied` when nobody was asked, `approval_denied` otherwise); and who answered, as the
/// ledger records it.
pub(super) fn judge(
    runtime: &Runtime,
    request: &ApprovalRequest,
    answer: Result<ApprovalAnswer, ApproverError>,
) -> (Verdict, Option<Vec<String>>) {
    let asked = |reason: Reason| (RefusalKind::ApprovalDenied, reason);
    match answer {
        Err(error) => {
            let (kind, code) = match error.kind {
                ApproverErrorKind::TimedOut => {
                    (RefusalKind::ApprovalDenied, ReasonCode::ApprovalTimeout)
                }
                ApproverErrorKind::NobodyToAsk => {
                    (RefusalKind::Denied, ReasonCode::ApprovalUnavailable)
                }
                _ => (RefusalKind::ApprovalDenied, ReasonCode::ApprovalUnavailable),
            };
            (Err((kind, Reason::with_detail(code, error.message))), None)
        }
        Ok(ApprovalAnswer::Denied { by, reason }) => (
            Err(asked(Reason::with_detail(
                ReasonCode::ApprovalDenied,
                reason.unwrap_or_else(|| "the approver refused".into()),
            ))),
            by.map(|b| vec![b]),
        ),
        Ok(ApprovalAnswer::Approved(approvals)) => {
            let agents = runtime.agents.read().map(|a| a.clone()).unwrap_or_default();
            let checks = Checks {
                request,
                now: runtime.clock.now(),
                agents: &agents,
            };
            let who = approvals.iter().map(|a| a.approver.clone()).collect();
            let verified = checks
                .verify(&approvals, &runtime.used_approvals)
                .map_err(|problem| {
                    asked(Reason::with_detail(ReasonCode::ApprovalInvalid, problem))
                });
            (verified, Some(who))
        }
    }
}

impl TaskInner {
    /// Adds the decision part of a `call.decided` record to `fields`: the policy's effect (deny
    /// when the engine refused before asking it), every reason of the refusal or the decision,
    /// and (unless the guard records no inputs) the input document the policy saw, redacted,
    /// with the record's own args (redacted) in place of the call's.
    pub(super) fn add_decision(
        &self,
        fields: &mut CallFields,
        decision: Option<&Decision>,
        reasons: &[Reason],
    ) {
        fields.input = decision
            .and_then(|d| d.input.as_ref())
            .filter(|_| self.runtime.record_inputs)
            .and_then(|input| {
                let mut memo = self.recorded.lock().unwrap_or_else(|p| p.into_inner());
                memo.recorded(input, &self.runtime.redaction)
            });
        fields.decision = Some(DecisionRecord {
            effect: decision.map_or(Effect::Deny, |d| d.effect).as_str().into(),
            reasons: reasons.iter().map(Reason::to_string).collect(),
            policy_digest: decision.map(|d| d.policy_digest.to_string()),
            eval_us: decision.map_or(0, |d| d.eval_us),
            input: None,
        });
    }

    /// Counts a refusal toward the tree's pivot limits (DESIGN issue "an agent that pivots
    /// when blocked"); the guard's own faults (ledger, policy errors) do not count. One too
    /// many suspends the tree, records `task.suspended`, and keeps every identity of the
    /// delegation chain from beginning a fresh task until a human resumes it.
    fn count_refusal(&self, tool: &str, reasons: &[Reason]) {
        let own_fault = |r: &Reason| {
            matches!(
                r.code,
                ReasonCode::LedgerError
                    | ReasonCode::PolicyError
                    | ReasonCode::TaskSuspended
                    | ReasonCode::StoreUnavailable
            )
        };
        if reasons.iter().any(own_fault) {
            return;
        }
        let limits = &self.runtime.limits;
        let pivoting = Pivoting {
            max_refusals: limits.max_refusals,
            max_tool_refusals: limits.max_tool_refusals,
            window: time::Duration::try_from(limits.refusal_window).unwrap_or(time::Duration::MAX),
        };
        let now = self.runtime.clock.now();
        let Some(why) = self.chain.decide().refused(now, tool, pivoting) else {
            return;
        };
        if let Ok(mut suspended) = self.runtime.suspended.write() {
            suspended.extend(self.lineage.iter().map(|l| l.principal.clone()));
        }
        if let Err(error) = self.record(
            RecordKind::TaskSuspended,
            CallFields::detail(json!({ "why": why })),
        ) {
            tracing::error!(target: "agentwarrant::ledger", %error, "could not record a suspension");
        }
    }

    /// Refuses (and records) a call of one of the engine's own tools before the policy is
    /// asked: `invalid_call` with `problem`.
    pub(super) fn refuse_invalid(&self, call: &ToolCall, problem: String) -> Refusal {
        let reason = Reason::with_detail(ReasonCode::InvalidCall, problem);
        self.finish(
            CallId::new(),
            call,
            Stop::engine(RefusalKind::Denied, reason),
        )
    }

    /// Records a stopped call (`call.decided`) and returns its refusal; a ledger that fails
    /// here adds `ledger_error` to the reasons.
    pub(super) fn finish(&self, id: CallId, call: &ToolCall, stop: Stop) -> Refusal {
        let Stop {
            kind,
            mut reasons,
            decision,
            examined,
            record,
        } = stop;
        if record {
            let mut fields = CallFields {
                outcome: Some(status(kind.as_str())),
                ..CallFields::of_call(id, call, examined.as_deref())
            };
            self.add_decision(&mut fields, decision.as_deref(), &reasons);
            if let Err(error) = self.record(RecordKind::CallDecided, fields) {
                reasons.push(Reason::with_detail(
                    ReasonCode::LedgerError,
                    error.to_string(),
                ));
            }
        }
        self.count_refusal(&call.tool, &reasons);
        Refusal {
            kind,
            call_id: id,
            tool: call.tool.clone(),
            reasons,
            decision,
        }
    }
}
