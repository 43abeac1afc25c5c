//! Ledger records of a task, and their mirror as `tracing` events.

use serde_json::Value as Json;

use super::validate::Examined;
use super::TaskInner;
use crate::clock::rfc3339;
use crate::error::LedgerError;
use crate::ids::CallId;
use crate::ledger::{DecisionRecord, OutcomeRecord, Record, RecordKind};
use crate::redact::Redaction;
use crate::tool::{ToolCall, ToolSpec};

/// The call-specific fields of a ledger record; the task fills in the rest.
#[derive(Default)]
pub(crate) struct CallFields {
    pub(crate) call_id: Option<CallId>,
    pub(crate) parent: Option<CallId>,
    pub(crate) tool: Option<String>,
    pub(crate) args: Option<Json>,
    pub(crate) args_digest: Option<String>,
    pub(crate) decision: Option<DecisionRecord>,
    pub(crate) approver: Option<Vec<String>>,
    pub(crate) outcome: Option<OutcomeRecord>,
    pub(crate) detail: Option<Json>,
}

impl CallFields {
    /// Fields of a record that is about the task, not a call: only a `detail`.
    pub(crate) fn detail(detail: Json) -> Self {
        Self {
            detail: Some(detail),
            ..Self::default()
        }
    }

    /// The fields naming `call`: its id, parent, tool, args (redacted) and their digest.
    ///
    /// SECURITY: the args of an unknown or malformed call (`examined` is `None`) are not
    /// recorded, only their digest.
    pub(crate) fn of_call(call_id: CallId, call: &ToolCall, examined: Option<&Examined>) -> Self {
        Self {
            call_id: Some(call_id),
            parent: call.parent,
            tool: Some(call.tool.clone()),
            args: examined.and_then(|e| call.args.as_object().map(|a| e.spec.redact(a))),
            args_digest: Some(examined.map_or_else(
                || crate::canonical::sha256_hex(&crate::canonical::canonical_json(&call.args)),
                |e| e.args_digest.clone(),
            )),
            ..Self::default()
        }
    }
}

/// An outcome with only a status.
pub(crate) fn status(status: &str) -> OutcomeRecord {
    OutcomeRecord {
        status: status.to_owned(),
        duration_us: None,
        labels: Vec::new(),
        error: None,
    }
}

/// `args` with every sensitive arg replaced by `"[redacted]"`, as [`ToolSpec::redact`] gives
/// them, reusing the map instead of copying it.
pub(crate) fn redacted(spec: &ToolSpec, mut args: Json) -> Json {
    if let Json::Object(map) = &mut args {
        for name in &spec.sensitive_args {
            if let Some(value) = map.get_mut(name) {
                *value = Json::String("[redacted]".into());
            }
        }
    }
    args
}

impl TaskInner {
    /// Appends a record and mirrors it as a `tracing` event (target `agentwarrant::ledger`).
    /// The ledger is written the same way whether or not anyone listens.
    pub(crate) fn record(&self, kind: RecordKind, fields: CallFields) -> Result<u64, LedgerError> {
        let detail = match (
            self.grant.escalated() && fields.call_id.is_some(),
            fields.detail,
        ) {
            // Every call made under an escalated grant says so.
            (true, Some(Json::Object(mut detail))) => {
                detail.insert("escalated".into(), Json::Bool(true));
                Some(Json::Object(detail))
            }
            (true, _) => Some(serde_json::json!({ "escalated": true })),
            (false, detail) => detail,
        };
        let mut record = Record {
            schema: 0,
            seq: 0,
            ts: rfc3339(self.runtime.clock.now()),
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
            detail,
            prev: String::new(),
            hash: String::new(),
        };
        redact(&self.runtime.redaction, &mut record);
        super::telemetry::observe(&record);
        if !tracing::enabled!(target: "agentwarrant::ledger", tracing::Level::INFO) {
            return self.runtime.ledger.append(record);
        }
        let event = Event::of(&record);
        let seq = self.runtime.ledger.append(record)?;
        tracing::event!(
            target: "agentwarrant::ledger",
            tracing::Level::INFO,
            agentwarrant.kind = event.kind.as_str(),
            agentwarrant.seq = seq,
            agentwarrant.task_id = %self.id,
            agentwarrant.call_id = event.call_id.as_deref(),
            agentwarrant.decision = event.decision.as_deref(),
            agentwarrant.reason = event.reasons.as_deref(),
            agentwarrant.outcome = event.outcome.as_deref(),
            gen_ai.agent.id = %self.identity.id,
            gen_ai.operation.name = "execute_tool",
            gen_ai.tool.name = event.tool.as_deref(),
            gen_ai.tool.call.id = event.call_id.as_deref(),
            "{}",
            event.kind.as_str()
        );
        Ok(seq)
    }
}

/// SECURITY: the secrets a record carries in its free text (args, detail, reasons, outcome
/// error, the goal) are redacted before the record is written or traced; `args_digest` was
/// computed over the args as given, so it still binds the call.
fn redact(redaction: &Redaction, record: &mut Record) {
    if !redaction.is_enabled() {
        return;
    }
    // The policy input holds the args again: when they are the record's own (as
    // `decision_record` puts them), they are scanned once and the redacted args copied back.
    let input_args = record
        .decision
        .as_mut()
        .and_then(|d| d.input.as_mut())
        .and_then(|input| input.get_mut("call"))
        .and_then(|call| call.get_mut("args"))
        .filter(|args| record.args.as_ref() == Some(&**args))
        .map(std::mem::take);
    for json in [&mut record.args, &mut record.detail].into_iter().flatten() {
        redaction.redact_json(json);
    }
    if let Some(decision) = &mut record.decision {
        decision
            .reasons
            .iter_mut()
            .for_each(|r| redaction.redact_string(r));
        // The policy input holds the goal again, and the args when they were not the record's.
        if let Some(input) = &mut decision.input {
            redaction.redact_json(input);
            if input_args.is_some() {
                if let Some(slot) = input.get_mut("call").and_then(|c| c.get_mut("args")) {
                    *slot = record.args.clone().unwrap_or(Json::Null);
                }
            }
        }
    }
    if let Some(error) = record.outcome.as_mut().and_then(|o| o.error.as_mut()) {
        redaction.redact_string(error);
    }
    redaction.redact_string(&mut record.intent);
}

/// What the `tracing` event of a record shows, taken before the record moves into the ledger.
struct Event {
    kind: RecordKind,
    call_id: Option<String>,
    tool: Option<String>,
    decision: Option<String>,
    reasons: Option<String>,
    outcome: Option<String>,
}

impl Event {
    fn of(record: &Record) -> Self {
        Self {
            kind: record.kind,
            call_id: record.call_id.clone(),
            tool: record.tool.clone(),
            decision: record.decision.as_ref().map(|d| d.effect.clone()),
            reasons: record.decision.as_ref().map(|d| d.reasons.join(",")),
            outcome: record.outcome.as_ref().map(|o| o.status.clone()),
        }
    }
}
