//! Builds the policy input document (contract `agentwarrant/v1`).

use serde_json::{json, Value as Json};
use time::OffsetDateTime;

use crate::chain::ChainSnapshot;
use crate::clock::rfc3339;
use crate::grant::Grant;
use crate::identity::Identity;
use crate::ids::{CallId, TaskId};
use crate::intent::Intent;
use crate::scope::Scope;
use crate::tool::{ToolCall, ToolSpec};

/// Where a required scope falls relative to the identity's ceiling and the task's intent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Band {
    /// Inside the intent: normal rules.
    Intent,
    /// Outside the intent, inside the ceiling: the policy decides (usually approval).
    Drift,
    /// Outside the ceiling: denied.
    OutsideCeiling,
}

impl Band {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Band::Intent => "intent",
            Band::Drift => "drift",
            Band::OutsideCeiling => "outside_ceiling",
        }
    }
}

/// Everything the input document is built from.
pub(crate) struct CallFacts<'a> {
    pub(crate) identity: &'a Identity,
    pub(crate) grant: &'a Grant,
    pub(crate) now: OffsetDateTime,
    pub(crate) task_id: TaskId,
    pub(crate) intent: &'a Intent,
    pub(crate) env: &'a str,
    pub(crate) call_id: CallId,
    pub(crate) call: &'a ToolCall,
    pub(crate) spec: &'a ToolSpec,
    pub(crate) required: &'a [Scope],
    pub(crate) bands: &'a [(Scope, Band)],
    pub(crate) destinations: &'a [String],
    pub(crate) chain: &'a ChainSnapshot,
    pub(crate) drift: Vec<(&'static str, String)>,
}

/// The input document for one evaluation.
pub(crate) fn document(facts: &CallFacts<'_>) -> regorus::Value {
    let CallFacts {
        identity,
        grant,
        intent,
        spec,
        chain,
        ..
    } = facts;
    let bands: serde_json::Map<String, Json> = facts
        .bands
        .iter()
        .map(|(scope, band)| (scope.to_string(), Json::from(band.as_str())))
        .collect();
    let document = json!({
        "version": super::INPUT_VERSION,
        "identity": {
            "id": identity.id,
            "role": identity.role.as_str(),
            "owner": identity.owner,
            "attributes": identity.attributes,
        },
        "grant": {
            "id": grant.id().to_string(),
            "scopes": grant.scopes(),
            "expires_in_s": grant.expires_in_s(facts.now),
            "escalated": grant.escalated(),
            "revoked": grant.is_revoked(),
        },
        "task": {
            "id": facts.task_id.to_string(),
            "intent": {
                "goal": intent.goal,
                "scopes": intent.scopes.to_strings(),
                "max_impact": intent.max_impact.map(|i| i.as_str()),
                "attributes": intent.attributes,
            },
            "env": facts.env,
            "attributes": {},
        },
        "call": {
            "id": facts.call_id.to_string(),
            "tool": facts.call.tool,
            "parent_id": facts.call.parent.map(|p| p.to_string()),
            "args": facts.call.args,
            "required_scopes": facts.required.iter().map(Scope::as_str).collect::<Vec<_>>(),
            "scope_bands": bands,
            "destinations": facts.destinations,
            "spec": {
                "impact": spec.impact.as_str(),
                "reversible": spec.reversible,
                "external": spec.external,
                "reads": spec.reads,
                "sink": spec.sink,
                "tags": spec.tags,
                "roles": spec.roles.as_ref().map(|r| r.iter().map(|r| r.as_str()).collect::<Vec<_>>()),
            },
        },
        "chain": {
            "depth": chain.depth,
            "calls": chain.calls,
            "tools_used": chain.tools_used,
            "labels": chain.labels,
            "destinations": chain.destinations,
            "impact_total": chain.impact_total,
            "drift": facts.drift.iter().map(|(kind, detail)| json!({"kind": kind, "detail": detail})).collect::<Vec<_>>(),
        },
        "context": {"time": rfc3339(facts.now)},
    });
    regorus::Value::from(document)
}
