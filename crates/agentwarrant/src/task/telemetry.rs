//! Tasks and calls as `tracing` spans, and the guard's metrics as `tracing` events, named
//! after the OpenTelemetry GenAI semantic conventions where they name the thing
//! (`gen_ai.operation.name`, `gen_ai.agent.id`, `gen_ai.tool.name`, `gen_ai.tool.call.id`)
//! and `agentwarrant.*` for the rest.
//!
//! - A task is an `invoke_agent {identity}` span (target `agentwarrant::task`), child of the
//!   span current when it began, or of its parent task's span when delegated.
//! - A call is an `execute_tool {tool}` span (target `agentwarrant::call`), child of its task's
//!   span, from the moment it is asked for until its warrant completes (or it is refused); the
//!   decision, reasons, approvers and outcome are recorded on it as they are known, with
//!   `otel.status_code` `error` and `error.type` (the first reason code, or `tool_error`) when
//!   it is refused or the tool fails.
//! - Metrics follow `tracing-opentelemetry`'s `MetricsLayer` field prefixes (target
//!   `agentwarrant::metrics`): `monotonic_counter.agentwarrant.decisions` (by `effect` and
//!   `outcome`), `monotonic_counter.agentwarrant.reasons` (by `reason` and `effect`),
//!   `histogram.agentwarrant.policy.eval_us`, `histogram.agentwarrant.approval.latency_ms`
//!   (by `answer`).
//!
//! Nothing here needs an OpenTelemetry dependency: a `tracing-opentelemetry` layer exports it
//! (see `examples/opentelemetry`), and with no subscriber interested every span and event is
//! a disabled callsite that costs a load and a branch.

use tracing::field::Empty;
use tracing::Span;

use super::TaskInner;
use crate::identity::Identity;
use crate::ids::{CallId, TaskId};
use crate::intent::Intent;
use crate::ledger::{Record, RecordKind};

/// The span of a task beginning as `identity` (a child of `parent`'s span when delegated).
pub(super) fn task_span(
    id: TaskId,
    identity: &Identity,
    intent: &Intent,
    env: &str,
    parent: Option<&Span>,
) -> Span {
    macro_rules! span {
        ($($parent:tt)*) => {
            tracing::info_span!(
                target: "agentwarrant::task",
                $($parent)*
                "invoke_agent",
                otel.name = %format_args!("invoke_agent {}", identity.id),
                gen_ai.operation.name = "invoke_agent",
                gen_ai.agent.id = %identity.id,
                gen_ai.agent.name = %identity.id,
                agentwarrant.task.id = %id,
                agentwarrant.role = identity.role.as_str(),
                agentwarrant.owner = %identity.owner,
                agentwarrant.intent = %intent.goal,
                agentwarrant.env = env,
            )
        };
    }
    match parent {
        Some(parent) => span!(parent: parent,),
        None => span!(),
    }
}

/// The span of one call of `task`, its decision and outcome recorded later (see [`observe`]).
pub(super) fn call_span(task: &TaskInner, id: CallId, tool: &str, parent: Option<CallId>) -> Span {
    tracing::info_span!(
        target: "agentwarrant::call",
        parent: &task.span,
        "execute_tool",
        otel.name = %format_args!("execute_tool {tool}"),
        otel.status_code = Empty,
        gen_ai.operation.name = "execute_tool",
        gen_ai.tool.name = tool,
        gen_ai.tool.call.id = %id,
        gen_ai.agent.id = %task.identity.id,
        agentwarrant.task.id = %task.id,
        agentwarrant.parent_call.id = parent.map(|p| p.to_string()),
        agentwarrant.decision = Empty,
        agentwarrant.reasons = Empty,
        agentwarrant.approvers = Empty,
        agentwarrant.policy.digest = Empty,
        agentwarrant.policy.eval_us = Empty,
        agentwarrant.outcome = Empty,
        agentwarrant.duration_us = Empty,
        error.type = Empty,
    )
}

/// Records what a call record says on the call's span (the current one: the pipeline enters
/// a call's span while it records), and counts decisions.
pub(super) fn observe(record: &Record) {
    match record.kind {
        RecordKind::CallDecided => decided(record),
        RecordKind::CallCompleted => completed(record),
        _ => {}
    }
}

fn decided(record: &Record) {
    let Some(decision) = &record.decision else {
        return;
    };
    let outcome = record.outcome.as_ref().map_or("", |o| o.status.as_str());
    let codes = decision
        .reasons
        .iter()
        .map(|r| r.split_once(": ").map_or(r.as_str(), |(code, _)| code));
    tracing::event!(
        target: "agentwarrant::metrics",
        tracing::Level::INFO,
        monotonic_counter.agentwarrant.decisions = 1_u64,
        effect = decision.effect.as_str(),
        outcome,
    );
    for reason in codes.clone() {
        tracing::event!(
            target: "agentwarrant::metrics",
            tracing::Level::INFO,
            monotonic_counter.agentwarrant.reasons = 1_u64,
            reason,
            effect = decision.effect.as_str(),
        );
    }
    if decision.policy_digest.is_some() {
        tracing::event!(
            target: "agentwarrant::metrics",
            tracing::Level::INFO,
            histogram.agentwarrant.policy.eval_us = decision.eval_us,
        );
    }
    let span = Span::current();
    if span.is_disabled() {
        return;
    }
    span.record("agentwarrant.decision", decision.effect.as_str());
    span.record("agentwarrant.reasons", decision.reasons.join(", "));
    span.record("agentwarrant.outcome", outcome);
    if let Some(approvers) = &record.approver {
        span.record("agentwarrant.approvers", approvers.join(", "));
    }
    if let Some(digest) = &decision.policy_digest {
        span.record("agentwarrant.policy.digest", digest.as_str());
        span.record("agentwarrant.policy.eval_us", decision.eval_us);
    }
    if !matches!(outcome, "allowed" | "approved") {
        // A refused approval's own reason comes after the policy's.
        let mut codes = codes;
        let code = if decision.effect == "approval" {
            codes.next_back()
        } else {
            codes.next()
        };
        span.record("otel.status_code", "error");
        span.record("error.type", code.unwrap_or(outcome));
    }
}

fn completed(record: &Record) {
    let span = Span::current();
    if span.is_disabled() {
        return;
    }
    let Some(outcome) = &record.outcome else {
        return;
    };
    span.record("agentwarrant.outcome", outcome.status.as_str());
    if let Some(duration) = outcome.duration_us {
        span.record("agentwarrant.duration_us", duration);
    }
    match outcome.status.as_str() {
        "ok" => {
            span.record("otel.status_code", "ok");
        }
        status => {
            span.record("otel.status_code", "error");
            span.record(
                "error.type",
                if status == "error" {
                    "tool_error"
                } else {
                    status
                },
            );
        }
    }
}

/// Counts an answered approval request and how long the human took.
pub(super) fn approval_answered(latency: time::Duration, approved: bool) {
    let ms = u64::try_from(latency.whole_milliseconds()).unwrap_or(0);
    tracing::event!(
        target: "agentwarrant::metrics",
        tracing::Level::INFO,
        histogram.agentwarrant.approval.latency_ms = ms,
        answer = if approved { "approved" } else { "refused" },
    );
}
