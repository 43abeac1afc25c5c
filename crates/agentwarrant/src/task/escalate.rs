//! Escalation: a separate, time-boxed grant under an escalation identity, for work beyond the
//! task's own grant. A human who owns no identity of the delegation chain, nor the escalation
//! identity, must approve it (four eyes); the escalated task's calls are marked `escalated` in
//! the ledger; its grant expires by itself, dies with the task that asked for it, and can be
//! revoked early by ending it.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use super::pipeline::{judge, Stop};
use super::record::{status, CallFields};
use super::warrant::{Refusal, RefusalKind};
use super::{Task, TaskInner};
use crate::approval::{ApprovalRequest, ApproverError, CallDigest};
use crate::canonical::{canonical_json, sha256_hex};
use crate::clock::rfc3339;
use crate::identity::Identity;
use crate::ids::CallId;
use crate::intent::Intent;
use crate::kinds::Role;
use crate::ledger::{DecisionRecord, RecordKind};
use crate::principal::Principal;
use crate::reason::{Effect, Reason, ReasonCode};
use crate::scope::Scope;
use crate::tool::ToolCall;

/// The name an escalation has in the ledger, as if it were a tool call.
const ESCALATE: &str = "escalate";

/// What a task asks for when it escalates.
struct Ask<'a> {
    identity: &'a Identity,
    scopes: Vec<String>,
    ttl: Duration,
    why: &'a str,
}

impl TaskInner {
    /// See [`Task::escalate`].
    pub(super) fn escalate(
        self: &Arc<Self>,
        identity: Identity,
        scopes: Vec<String>,
        ttl: Duration,
        why: &str,
    ) -> Result<Task, Refusal> {
        let call_id = CallId::new();
        let ask = Ask {
            identity: &identity,
            scopes,
            ttl,
            why,
        };
        let call = ToolCall::new(
            ESCALATE,
            json!({
                "identity": identity.id,
                "scopes": ask.scopes,
                "ttl_s": ttl.as_secs(),
                "reason": why,
            }),
        );
        let refuse = |kind: RefusalKind, reason: Reason| {
            self.finish(call_id, &call, Stop::engine(kind, reason))
        };
        let now = self.runtime.clock.now();
        if self.ended.load(std::sync::atomic::Ordering::SeqCst) {
            let reason = Reason::with_detail(ReasonCode::GrantInvalid, "the task ended");
            return Err(refuse(RefusalKind::Denied, reason));
        }
        self.credential(now)
            .map_err(|reason| refuse(RefusalKind::Denied, reason))?;
        self.check_ask(&ask)
            .map_err(|reason| refuse(RefusalKind::Denied, reason))?;
        let Some(approver) = self.runtime.approver.clone() else {
            let reason =
                Reason::with_detail(ReasonCode::ApprovalUnavailable, "no approver is configured");
            return Err(refuse(RefusalKind::Denied, reason));
        };
        let request = self.escalation_request(call_id, &call, &ask);
        let fields = |status_text: &str, approver, detail| CallFields {
            approver,
            outcome: Some(status(status_text)),
            detail: Some(detail),
            args: Some(call.args.clone()),
            ..CallFields::of_call(call_id, &call, None)
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
        .map_err(|e| {
            let reason = Reason::with_detail(ReasonCode::LedgerError, e.to_string());
            refuse(RefusalKind::Denied, reason)
        })?;
        let answer =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| approver.decide(&request)))
                .unwrap_or_else(|_| Err(ApproverError::new("the approver panicked")));
        let (verdict, who) = judge(&self.runtime, &request, answer);
        let answered = match &verdict {
            Ok(_) => json!({"answer": "approved"}),
            Err((_, reason)) => json!({"answer": "refused", "reason": reason.to_string()}),
        };
        let status_text = if verdict.is_ok() {
            "approved"
        } else {
            "approval_denied"
        };
        let recorded = self.record(
            RecordKind::ApprovalAnswered,
            fields(status_text, who, answered),
        );
        let approvers = match (verdict, recorded) {
            (Err((kind, reason)), _) => {
                return Err(self.refuse_escalation(call_id, &call, &request, kind, reason))
            }
            (Ok(_), Err(e)) => {
                let reason = Reason::with_detail(ReasonCode::LedgerError, e.to_string());
                return Err(refuse(RefusalKind::Denied, reason));
            }
            (Ok(approvers), Ok(_)) => approvers,
        };
        // Everything that may have changed while the human thought.
        if let Err(reason) = self.credential(self.runtime.clock.now()) {
            return Err(self.refuse_escalation(
                call_id,
                &call,
                &request,
                RefusalKind::Denied,
                reason,
            ));
        }
        let decided = CallFields {
            decision: Some(escalation_decision(&request.reasons)),
            approver: Some(approvers.clone()),
            outcome: Some(status("approved")),
            args: Some(call.args.clone()),
            ..CallFields::of_call(call_id, &call, None)
        };
        self.record(RecordKind::CallDecided, decided).map_err(|e| {
            let reason = Reason::with_detail(ReasonCode::LedgerError, e.to_string());
            refuse(RefusalKind::Denied, reason)
        })?;
        let intent = Intent::builder(why)
            .scopes(ask.scopes.iter().map(String::as_str))
            .build()
            .map_err(|e| {
                let reason = Reason::with_detail(ReasonCode::InvalidCall, e.to_string());
                refuse(RefusalKind::Denied, reason)
            })?;
        let ttl = time::Duration::try_from(ttl).unwrap_or(time::Duration::ZERO);
        Task::begin(
            self.runtime.clone(),
            identity,
            intent,
            super::Parent::Local(self),
            Some(ttl),
            crate::limits::TaskLimits::default(),
        )
        .map_err(|e| {
            let reason = Reason::with_detail(ReasonCode::LedgerError, e.to_string());
            refuse(RefusalKind::Denied, reason)
        })
    }

    /// What an escalation may ask for: an escalation identity that is not already in the
    /// chain, scopes that parse and lie inside its ceiling, a lifetime within the grant TTL.
    fn check_ask(&self, ask: &Ask<'_>) -> Result<(), Reason> {
        let invalid = |detail: String| Reason::with_detail(ReasonCode::InvalidCall, detail);
        if ask.identity.role != Role::Escalation {
            return Err(invalid(format!(
                "`{}` has role {}; an escalation runs under an identity of role escalation",
                ask.identity.id,
                ask.identity.role.as_str()
            )));
        }
        if self
            .lineage
            .iter()
            .any(|l| l.principal == ask.identity.principal)
        {
            return Err(invalid(format!(
                "`{}` is already in the delegation chain",
                ask.identity.id
            )));
        }
        if ask.ttl.is_zero() || ask.ttl > self.runtime.limits.grant_ttl {
            return Err(invalid(format!(
                "an escalation lasts more than 0 s and at most the grant TTL ({} s), not {} s",
                self.runtime.limits.grant_ttl.as_secs(),
                ask.ttl.as_secs_f64()
            )));
        }
        if ask.scopes.is_empty() {
            return Err(invalid("an escalation names the scopes it needs".into()));
        }
        for scope in &ask.scopes {
            // A pattern is inside the ceiling when a ceiling pattern matches its text (a `*`
            // of the ceiling covers a `*` of the pattern), as for a task's grant.
            let parsed =
                Scope::parse(scope).map_err(|e| invalid(format!("scope `{scope}`: {e}")))?;
            if !ask.identity.ceiling.contains(&parsed) {
                return Err(Reason::with_detail(
                    ReasonCode::OutsideCeiling,
                    format!("`{scope}` is outside the ceiling of `{}`", ask.identity.id),
                ));
            }
        }
        Ok(())
    }

    /// The request a human answers: four eyes over the whole chain and the escalation
    /// identity itself.
    fn escalation_request(
        &self,
        call_id: CallId,
        call: &ToolCall,
        ask: &Ask<'_>,
    ) -> ApprovalRequest {
        let runtime = &self.runtime;
        let now = runtime.clock.now();
        let ttl =
            time::Duration::try_from(runtime.limits.approval_ttl).unwrap_or(time::Duration::MAX);
        let mut excluded: Vec<String> = self
            .lineage
            .iter()
            .map(|l| l.owner.clone())
            .chain([ask.identity.owner.clone(), ask.identity.id.clone()])
            .collect();
        excluded.sort_by_key(|p| Principal::new(p));
        excluded.dedup_by_key(|p| Principal::new(p));
        ApprovalRequest {
            call_id,
            task_id: self.id,
            digest: CallDigest::of(
                self.id,
                call_id,
                None,
                &self.identity.id,
                ESCALATE,
                &sha256_hex(&canonical_json(&call.args)),
            ),
            identity: self.identity.id.clone(),
            owner: self.identity.owner.clone(),
            intent: self.intent.goal.clone(),
            tool: ESCALATE.into(),
            args: call.args.clone(),
            sensitive_args: Vec::new(),
            reasons: vec![Reason::with_detail(ReasonCode::Escalation, ask.why)],
            approvers_needed: 1,
            expires_at: now.checked_add(ttl).unwrap_or(now),
            excluded,
        }
    }

    /// Records a refused escalation (`call.decided`, tool `escalate`) and returns the refusal.
    fn refuse_escalation(
        &self,
        call_id: CallId,
        call: &ToolCall,
        request: &ApprovalRequest,
        kind: RefusalKind,
        reason: Reason,
    ) -> Refusal {
        let mut reasons = request.reasons.clone();
        reasons.push(reason);
        self.finish(call_id, call, Stop::engine_all(kind, reasons))
    }
}

/// The decision of an approved escalation, as `call.decided` records it.
fn escalation_decision(reasons: &[Reason]) -> DecisionRecord {
    DecisionRecord {
        effect: Effect::Approval.as_str().into(),
        reasons: reasons.iter().map(Reason::to_string).collect(),
        policy_digest: None,
        eval_us: 0,
        input: None,
    }
}
