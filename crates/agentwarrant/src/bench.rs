//! Hooks for the benchmarks (`benches/`, `crates/agentwarrant-bench`): the pipeline's stages
//! one at a time, and what a bare regorus evaluation of the same policy needs. Hidden, behind
//! the `bench` feature, and free to change: not part of the API.

use serde_json::Value as Json;
use time::OffsetDateTime;

use crate::chain::{ChainSnapshot, Contribution};
use crate::ids::CallId;
use crate::ledger::{DecisionRecord, OutcomeRecord, RecordKind};
use crate::reason::Effect;
use crate::task::{status, BenchFields as CallFields, Examined, Task};
use crate::tool::ToolCall;

/// The Rego module the engine wraps the default bundle in.
pub const ENGINE_MODULE: &str = crate::policy::BUNDLE_ENGINE_MODULE;

/// The rule every evaluation runs.
pub const ENTRY_POINT: &str = crate::policy::ENTRY_POINT;

/// The `data` the guard evaluates the default bundle with under `limits`: the limits it sets,
/// the bundle's defaults for the others.
pub fn policy_data(limits: &crate::Limits) -> Json {
    crate::Policy::default_bundle()
        .with_limits(limits)
        .evaluated_data()
        .unwrap_or(Json::Null)
}

/// One call taken through the pipeline's stages one at a time.
pub struct BenchCall {
    call: ToolCall,
    call_id: CallId,
    now: OffsetDateTime,
    chain: ChainSnapshot,
    examined: Examined,
}

/// Each stage of [`Task::authorize`] on its own. Not an API.
impl Task {
    /// The credential and validation stages; whether the call passed.
    pub fn bench_validate(&self, call: &ToolCall) -> bool {
        let inner = &self.inner;
        let now = inner.runtime.clock.now();
        inner.credential(now).is_ok() && inner.validate(call, true).is_ok()
    }

    /// Chain tracking of one top-level allowed call as the pipeline does it: `begin_call`,
    /// the call's signals (remembered for later calls), and `commit` (history and counts
    /// included); how many signals it raised.
    pub fn bench_chain(&self, call: &BenchCall) -> usize {
        let inner = &self.inner;
        let mut decisions = inner.chain.decide();
        let (snapshot, _) = decisions.begin_call(None, inner.base_depth);
        // The pipeline reads the clock once per call, before this stage; the call's own time
        // stands in for it.
        let signals = inner.signals(&mut decisions, &call.call, &call.examined, call.now, true);
        let spec = &call.examined.spec;
        decisions.commit(
            CallId::new(),
            snapshot.depth,
            Contribution {
                tool: spec.name.clone(),
                called: call.call.tool.clone(),
                approved: false,
                labels: spec.reads.clone(),
                destinations: call.examined.destinations.clone(),
                weight: spec.impact.weight(),
            },
        );
        signals.len()
    }

    /// How many entries each structure of the task tree's chain tracker holds, by name: what
    /// its retained memory is made of.
    pub fn bench_chain_footprint(&self) -> Vec<(&'static str, usize)> {
        self.inner.chain.footprint()
    }

    /// Validates `call` and takes the chain's snapshot for it (not committed); `None` when
    /// the call is refused before policy.
    pub fn bench_prepare(&self, call: &ToolCall) -> Option<BenchCall> {
        let inner = &self.inner;
        let now = inner.runtime.clock.now();
        let mut decisions = inner.chain.decide();
        let (chain, _) = decisions.begin_call(None, inner.base_depth);
        inner.credential(now).ok()?;
        let mut examined = inner.validate(call, true).ok()?;
        examined.signals = inner.signals(&mut decisions, call, &examined, now, false);
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
        self.inner.runtime.engine.decide(input).effect == Effect::Allow
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
            args: Some(crate::task::redacted(&call.examined.spec, args).0),
            args_digest: Some(call.examined.args_digest.clone()),
            decision: Some(DecisionRecord {
                effect: Effect::Allow.as_str().into(),
                reasons: Vec::new(),
                policy_digest: Some(inner.runtime.engine.digest().to_string()),
                eval_us: 8,
                input: None,
            }),
            approver: None,
            outcome: Some(status("allowed")),
            detail: None,
            input: None,
            args_text: None,
        };
        let completed = CallFields {
            call_id: Some(call.call_id),
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
