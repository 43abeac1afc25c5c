//! The credential and validation stages: the identity is enabled and the grant valid; the tool
//! is declared, the args are an object within the size limits, the scope templates fill, and
//! each required scope falls in its band.

use std::sync::Arc;

use serde_json::Value as Json;
use time::OffsetDateTime;

use super::TaskInner;
use crate::canonical::{canonical_json, sha256_hex};
use crate::chain::Signal;
use crate::reason::{Reason, ReasonCode};
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
    /// `intent`, `drift` or `outside_ceiling`, as in the policy input.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Band::Intent => "intent",
            Band::Drift => "drift",
            Band::OutsideCeiling => "outside_ceiling",
        }
    }
}

/// What the pipeline knows about a call once it has been validated.
pub(crate) struct Examined {
    pub(crate) spec: Arc<ToolSpec>,
    pub(crate) required: Vec<Scope>,
    pub(crate) bands: Vec<(Scope, Band)>,
    /// The required scopes, filled from an argument and inside the intent, that the root
    /// task's intent names literally: targets the person who began the task named
    /// (`call.named_scopes`).
    pub(crate) named: Vec<Scope>,
    pub(crate) destinations: Vec<String>,
    pub(crate) args_digest: String,
    /// The args' canonical JSON, as hashed for `args_digest`: the ledger stage takes it for
    /// the recorded input when the record's args are the call's own.
    pub(crate) args_text: Vec<u8>,
    /// What the chain noticed about the call (filled in the chain stage; see
    /// [`TaskInner::signals`]).
    pub(crate) signals: Vec<Signal>,
}

/// The depth of a JSON value's nesting (a scalar is 0), stopping early past `limit`.
fn nesting(value: &Json, limit: usize) -> usize {
    if limit == 0 {
        return 1;
    }
    let deepest = |values: &mut dyn Iterator<Item = &Json>| {
        values.map(|v| nesting(v, limit - 1)).max().unwrap_or(0)
    };
    match value {
        Json::Array(items) => 1 + deepest(&mut items.iter()),
        Json::Object(map) => 1 + deepest(&mut map.values()),
        _ => 0,
    }
}

impl TaskInner {
    /// The credential stage: no identity of the delegation chain is disabled, in this process
    /// or in the revocation store the guard shares with others, and the grant is neither
    /// expired nor revoked.
    pub(crate) fn credential(&self, now: OffsetDateTime) -> Result<(), Reason> {
        let disabled = || Reason::with_detail(ReasonCode::GrantInvalid, "identity disabled");
        if self
            .runtime
            .any_disabled(self.lineage.iter().map(|l| &l.principal))
        {
            return Err(disabled());
        }
        // SECURITY: a kill switch thrown in another process; a store that cannot say refuses
        // the call (fail closed), with its own reason so operators see the outage.
        for link in &self.lineage {
            match self
                .runtime
                .revocations
                .is_identity_disabled(link.principal.as_str())
            {
                Ok(false) => {}
                Ok(true) => return Err(disabled()),
                Err(error) => {
                    return Err(Reason::with_detail(
                        ReasonCode::StoreUnavailable,
                        error.to_string(),
                    ))
                }
            }
        }
        self.grant
            .check(now)
            .map_err(|problem| Reason::with_detail(ReasonCode::GrantInvalid, problem.as_str()))
    }

    /// The validation stage; the first problem is the refusal's reason.
    pub(crate) fn validate(&self, call: &ToolCall, parent_known: bool) -> Result<Examined, Reason> {
        let limits = &self.runtime.limits;
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
        let bands: Vec<_> = required
            .iter()
            .map(|scope| (scope.clone(), self.band(scope)))
            .collect();
        let named = self.named(&bands, &spec);
        Ok(Examined {
            destinations: spec.destinations(args),
            required,
            bands,
            named,
            args_digest: sha256_hex(&encoded),
            args_text: encoded,
            spec,
            signals: Vec::new(),
        })
    }

    /// The scopes in the intent band, filled from an argument, that the root task's intent
    /// holds as wildcard-free patterns, when that root was begun by a guard (a chain token's
    /// scopes were chosen by an agent, and a fixed scope of the spec names no target, so
    /// neither counts).
    fn named(&self, bands: &[(Scope, Band)], spec: &ToolSpec) -> Vec<Scope> {
        let Some(root) = self
            .lineage
            .first()
            .filter(|root| root.names_targets && root.intent.names_any())
        else {
            return Vec::new();
        };
        bands
            .iter()
            .filter(|(scope, band)| {
                *band == Band::Intent && root.intent.names(scope) && !spec.is_fixed_scope(scope)
            })
            .map(|(scope, _)| scope.clone())
            .collect()
    }

    /// Outside any ceiling in the lineage → outside_ceiling; outside any intent → drift.
    fn band(&self, scope: &Scope) -> Band {
        if !self.bounding().all(|l| l.ceiling.contains(scope)) {
            Band::OutsideCeiling
        } else if !self.bounding().all(|l| l.intent.contains(scope)) {
            Band::Drift
        } else {
            Band::Intent
        }
    }
}
