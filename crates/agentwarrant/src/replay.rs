//! Replaying a ledger's decisions under another policy: what would have changed.
//!
//! Each `call.decided` record keeps the input document its decision was made on
//! (`decision.input`, see [`GuardBuilder::record_policy_inputs`](crate::GuardBuilder::record_policy_inputs)).
//! [`replay`] evaluates every such input again under a [`PolicyEngine`] and reports each call
//! whose effect or reasons would differ. A call that ran (allowed or approved) and would now
//! be denied [`fails the gate`](Replay::gate_failed): the check a policy change passes in CI
//! before it ships.
//!
//! The inputs are replayed as recorded: args redacted by the spec are seen redacted, and the
//! chain is the chain as it stood then (a call the new policy would refuse does not change
//! what later calls saw).

use serde::Serialize;

use crate::ledger::{Record, RecordKind};
use crate::policy::PolicyEngine;
use crate::reason::Effect;

/// A call whose decision would change under the replayed policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Change {
    /// The record's `seq`.
    pub seq: u64,
    /// When the call was decided.
    pub ts: String,
    /// The task.
    pub task_id: String,
    /// The call.
    pub call_id: String,
    /// The identity the call ran as.
    pub identity: String,
    /// The tool.
    pub tool: String,
    /// What happened to the call then (`allowed`, `approved`, `denied`, `approval_denied`).
    pub status: String,
    /// The policy's effect then (`allow`, `approval`, `deny`).
    pub was: String,
    /// The policy's reasons then.
    pub was_reasons: Vec<String>,
    /// The replayed policy's effect.
    pub now: String,
    /// The replayed policy's reasons.
    pub now_reasons: Vec<String>,
}

impl Change {
    /// Whether the call's tool ran (it was allowed or approved).
    pub fn ran(&self) -> bool {
        matches!(self.status.as_str(), "allowed" | "approved")
    }

    /// Whether the call ran then and would be denied now.
    pub fn ran_now_denied(&self) -> bool {
        self.ran() && self.now == Effect::Deny.as_str()
    }
}

/// What a replay found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Replay {
    /// `call.decided` records read.
    pub decisions: usize,
    /// Of those, the ones evaluated again (they kept their policy input).
    pub replayed: usize,
    /// Decisions with no input to replay: refused before the policy was asked, decided by
    /// the engine alone (escalations), or recorded by a guard that keeps no inputs.
    pub without_input: usize,
    /// Every replayed call whose effect or reasons differ, in ledger order.
    pub changes: Vec<Change>,
}

impl Replay {
    /// Whether any call that ran would now be denied: a policy change that fails this gate
    /// would have stopped work that was done.
    pub fn gate_failed(&self) -> bool {
        self.changes.iter().any(Change::ran_now_denied)
    }

    /// The changes counted by `(was, now)` effect, in a stable order (effect changes first,
    /// then calls whose reasons alone changed).
    pub fn by_effect(&self) -> Vec<((&str, &str), usize)> {
        let mut counts: Vec<((&str, &str), usize)> = Vec::new();
        for change in &self.changes {
            let key = (change.was.as_str(), change.now.as_str());
            match counts.iter_mut().find(|(k, _)| *k == key) {
                Some((_, n)) => *n += 1,
                None => counts.push((key, 1)),
            }
        }
        counts.sort_by_key(|((was, now), _)| (was == now, std::cmp::Reverse(rank(now)), rank(was)));
        counts
    }
}

/// Allow, approval, deny: the order effects are reported in.
fn rank(effect: &str) -> u8 {
    match effect {
        "allow" => 0,
        "approval" => 1,
        _ => 2,
    }
}

/// Evaluates every `call.decided` record's input again under `engine`.
///
/// ```
/// use agentwarrant::{replay, Guard, Identity, Impact, Intent, Outcome, Policy, Role, ToolCall, ToolSpec};
/// use agentwarrant::ledger::MemoryLedger;
/// let ledger = std::sync::Arc::new(MemoryLedger::new());
/// let guard = Guard::builder()
///     .tool(ToolSpec::builder("search", Impact::Low).scope("web.search:{q}").build()?)
///     .ledger(ledger.clone())
///     .build()?;
/// let research = Identity::builder("agent://acme/research", Role::Executor, "alice@acme.com")
///     .ceiling(["web.search:*"])
///     .build()?;
/// let task = guard.begin(research, Intent::builder("find the release notes").scopes(["web.search:*"]).build()?)?;
/// task.authorize(ToolCall::new("search", serde_json::json!({"q": "notes"}))).unwrap()
///     .complete(Outcome::ok())?;
/// task.end()?;
///
/// // The same bundle decides the same: nothing changes.
/// let same = replay::replay(ledger.records(), &Policy::default_bundle().compile()?);
/// assert_eq!((same.replayed, same.changes.len()), (1, 0));
///
/// // A policy that denies everything would have stopped a call that ran.
/// let strict = Policy::empty()
///     .with_module("strict.rego", "package agentwarrant\ndeny contains \"no_calls\" if true");
/// let report = replay::replay(ledger.records(), &strict.compile()?);
/// assert!(report.gate_failed());
/// assert_eq!(report.changes[0].now_reasons, ["no_calls"]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn replay(records: impl IntoIterator<Item = Record>, engine: &PolicyEngine) -> Replay {
    let mut report = Replay::default();
    for record in records {
        if record.kind != RecordKind::CallDecided {
            continue;
        }
        report.decisions += 1;
        let Some(decided) = record.decision else {
            report.without_input += 1;
            continue;
        };
        let Some(input) = &decided.input else {
            report.without_input += 1;
            continue;
        };
        report.replayed += 1;
        let decision = engine.decide_json(&input.to_json());
        let now_reasons: Vec<String> = decision.reasons.iter().map(|r| r.to_string()).collect();
        let now = decision.effect.as_str();
        let status = record.outcome.map(|o| o.status).unwrap_or_default();
        let policy_reasons = policy_reasons(&decided.effect, &status, &decided.reasons);
        if now == decided.effect && same_codes(policy_reasons, &now_reasons) {
            continue;
        }
        report.changes.push(Change {
            seq: record.seq,
            ts: record.ts,
            task_id: record.task_id,
            call_id: record.call_id.unwrap_or_default(),
            identity: record.identity,
            tool: record.tool.unwrap_or_default(),
            status,
            was: decided.effect,
            was_reasons: decided.reasons,
            now: now.to_owned(),
            now_reasons,
        });
    }
    report
}

/// The policy's own reasons among a record's: a call the policy sent for approval that did
/// not run carries the engine's reason for that (`approval_denied`, `approval_unavailable`,
/// `grant_invalid` after the wait, ...) after the policy's.
fn policy_reasons<'a>(effect: &str, status: &str, reasons: &'a [String]) -> &'a [String] {
    let refused = !matches!(status, "allowed" | "approved");
    match reasons.split_last() {
        Some((_, policy)) if effect == Effect::Approval.as_str() && refused => policy,
        _ => reasons,
    }
}

/// Whether two reason lists name the same codes (details, such as an evaluation error's
/// text, may differ between versions without the decision changing).
fn same_codes(was: &[String], now: &[String]) -> bool {
    let codes = |reasons: &[String]| {
        let mut codes: Vec<String> = reasons
            .iter()
            .map(|r| r.split(':').next().unwrap_or_default().trim().to_owned())
            .collect();
        codes.sort();
        codes.dedup();
        codes
    };
    codes(was) == codes(now)
}
