//! The scenario file format (`agentwarrant-scenario/v1`) and the player that runs one through
//! a real guard.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use serde_json::{Map, Value as Json};

use super::{Expect, RunOptions, ScenarioError, Script, ScriptedApprover, StepReport};
use crate::guard::Guard;
use crate::identity::Identity;
use crate::ids::CallId;
use crate::intent::Intent;
use crate::kinds::{Impact, Role};
use crate::ledger::FileLedger;
use crate::limits::Limits;
use crate::policy::Policy;
use crate::task::{Explanation, Outcome, RefusalKind, Task};
use crate::tool::{ToolCall, ToolSpec};

// --- The file format. Unknown fields are errors: a typo must not silently pass a test. ---

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ScenarioFile {
    format: String,
    name: String,
    tools: Vec<ToolDef>,
    identity: IdentityDef,
    #[serde(default)]
    identities: BTreeMap<String, IdentityDef>,
    intent: IntentDef,
    #[serde(default = "dev")]
    env: String,
    #[serde(default)]
    approver: ApproverDef,
    #[serde(default)]
    limits: Json,
    steps: Vec<StepDef>,
}

fn dev() -> String {
    "dev".into()
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ToolDef {
    name: String,
    impact: Impact,
    #[serde(default = "yes")]
    reversible: bool,
    #[serde(default)]
    external: bool,
    #[serde(default)]
    sink: bool,
    #[serde(default)]
    reads: Vec<String>,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    roles: Option<Vec<Role>>,
    #[serde(default)]
    scopes: Vec<String>,
    #[serde(default)]
    destination_arg: Option<String>,
    #[serde(default)]
    sensitive_args: Vec<String>,
}

/// An identity; `intent` is allowed only for sub-agents (entries of `identities`): the root
/// identity's intent is the file's top-level `intent`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct IdentityDef {
    id: String,
    role: Role,
    owner: String,
    #[serde(default)]
    ceiling: Vec<String>,
    #[serde(default)]
    attributes: Map<String, Json>,
    #[serde(default)]
    intent: Option<IntentDef>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct IntentDef {
    #[serde(default)]
    goal: String,
    #[serde(default)]
    scopes: Vec<String>,
    #[serde(default)]
    max_impact: Option<Impact>,
    #[serde(default)]
    attributes: Map<String, Json>,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum NoApprover {
    None,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum Decide {
    Approve,
    Deny,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScriptDef {
    decide: Decide,
    #[serde(rename = "as")]
    principal: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(
    untagged,
    expecting = "`\"none\"` or `{\"decide\": \"approve\"|\"deny\", \"as\": PRINCIPAL}`"
)]
enum ApproverDef {
    None(NoApprover),
    Script(ScriptDef),
}

impl Default for ApproverDef {
    fn default() -> Self {
        ApproverDef::None(NoApprover::None)
    }
}

impl ApproverDef {
    fn script(&self) -> Script {
        match self {
            ApproverDef::None(_) => Script::Unavailable,
            ApproverDef::Script(ScriptDef {
                decide: Decide::Approve,
                principal,
            }) => Script::Approve(principal.clone()),
            ApproverDef::Script(ScriptDef {
                decide: Decide::Deny,
                principal,
            }) => Script::Deny(principal.clone()),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CallDef {
    tool: String,
    #[serde(default = "empty_object")]
    args: Json,
}

fn empty_object() -> Json {
    Json::Object(Map::new())
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum OutcomeDef {
    #[default]
    Ok,
    Error,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StepDef {
    call: CallDef,
    expect: Expect,
    #[serde(default)]
    reasons: Vec<String>,
    #[serde(default)]
    parent: Option<usize>,
    #[serde(default)]
    result_labels: Vec<String>,
    #[serde(default)]
    outcome: OutcomeDef,
    #[serde(default, rename = "as")]
    sub_agent: Option<String>,
    #[serde(default)]
    approver: Option<ApproverDef>,
}

// --- Reports ---

fn identity(path: &str, def: &IdentityDef) -> Result<Identity, (String, String)> {
    Identity::builder(def.id.clone(), def.role, def.owner.clone())
        .ceiling(def.ceiling.iter().cloned())
        .attributes(def.attributes.clone())
        .build()
        .map_err(|e| (path.to_owned(), e.to_string()))
}

fn intent(path: &str, def: &IntentDef) -> Result<Intent, (String, String)> {
    let mut builder = Intent::builder(def.goal.clone())
        .scopes(def.scopes.iter().cloned())
        .attributes(def.attributes.clone());
    if let Some(max) = def.max_impact {
        builder = builder.max_impact(max);
    }
    builder
        .build()
        .map_err(|e| (path.to_owned(), e.to_string()))
}

fn tool(index: usize, def: &ToolDef) -> Result<ToolSpec, (String, String)> {
    let mut builder = ToolSpec::builder(def.name.clone(), def.impact)
        .reversible(def.reversible)
        .external(def.external)
        .sink(def.sink)
        .reads(def.reads.iter().cloned())
        .tags(def.tags.iter().cloned())
        .scopes(def.scopes.iter().cloned())
        .sensitive_args(def.sensitive_args.iter().cloned());
    if let Some(roles) = &def.roles {
        builder = builder.roles(roles.iter().copied());
    }
    if let Some(arg) = &def.destination_arg {
        builder = builder.destination_arg(arg.clone());
    }
    builder
        .build()
        .map_err(|e| (format!("tools[{index}]"), e.to_string()))
}

impl ScenarioFile {
    /// What serde cannot check: the format's version, and that the root identity's intent is
    /// the file's top-level `intent`.
    pub(super) fn check(&self) -> Result<(), (&'static str, String)> {
        if self.format != super::SCENARIO_FORMAT {
            return Err((
                "format",
                format!(
                    "expected `{}`, found `{}`",
                    super::SCENARIO_FORMAT,
                    self.format
                ),
            ));
        }
        if self.identity.intent.is_some() {
            return Err((
                "identity.intent",
                "the root identity's intent is the top-level `intent`; only entries of `identities` take one".into(),
            ));
        }
        if self.steps.is_empty() {
            return Err((
                "steps",
                "a scenario needs at least one step: one that plays nothing asserts nothing".into(),
            ));
        }
        Ok(())
    }

    /// The scenario's name.
    pub(super) fn name(&self) -> &str {
        &self.name
    }
}

/// Plays the scenario; with `explain_at`, plays the steps before it and explains that step
/// instead of running it (and the rest).
pub(super) fn play(
    scenario: &ScenarioFile,
    file: &str,
    options: &RunOptions,
    ledger_path: &Path,
    explain_at: Option<usize>,
) -> Result<(Vec<StepReport>, Option<Explanation>), ScenarioError> {
    let fail = |(path, message): (String, String)| ScenarioError {
        file: file.to_owned(),
        path,
        message,
    };
    let mut policy = match &options.policy_dir {
        Some(dir) => Policy::from_dir(dir).map_err(|e| fail(("$".into(), e.to_string())))?,
        None => Policy::default_bundle(),
    };
    for dir in &options.add_policy_dirs {
        policy = policy
            .with_dir(dir)
            .map_err(|e| fail(("$".into(), e.to_string())))?;
    }
    let approver = ScriptedApprover::new(scenario.approver.script());
    let ledger = FileLedger::open(ledger_path).map_err(|e| fail(("$".into(), e.to_string())))?;
    let tools = scenario
        .tools
        .iter()
        .enumerate()
        .map(|(i, def)| tool(i, def))
        .collect::<Result<Vec<_>, _>>()
        .map_err(fail)?;
    let guard = Guard::builder()
        .policy(policy)
        .limits(
            Limits::default()
                .with_policy_json(&scenario.limits)
                .map_err(|e| fail(("limits".into(), e)))?,
        )
        .backend(options.backend)
        .tools(tools)
        .approver(approver.clone())
        .ledger(ledger)
        .env(scenario.env.clone())
        .build()
        .map_err(|e| fail(("$".into(), e.to_string())))?;
    let root = guard
        .begin(
            identity("identity", &scenario.identity).map_err(fail)?,
            intent("intent", &scenario.intent).map_err(fail)?,
        )
        .map_err(|e| fail(("$".into(), e.to_string())))?;
    let mut sub_tasks: BTreeMap<&str, Task> = BTreeMap::new();
    let mut call_ids: Vec<Option<CallId>> = Vec::new();
    let mut reports = Vec::new();
    for (index, step) in scenario.steps.iter().enumerate() {
        let at = |field: &str| format!("steps[{index}].{field}");
        let task = match step.sub_agent.as_deref() {
            None => &root,
            Some(name) => {
                if !sub_tasks.contains_key(name) {
                    let def = scenario.identities.get(name).ok_or_else(|| {
                        fail((
                            at("as"),
                            format!("no identity named `{name}` in `identities`"),
                        ))
                    })?;
                    let base = format!("identities.{name}");
                    let sub_identity = identity(&base, def).map_err(fail)?;
                    let sub_intent = def
                        .intent
                        .as_ref()
                        .map(|i| intent(&format!("{base}.intent"), i))
                        .transpose()
                        .map_err(fail)?;
                    let sub_task = root
                        .delegate(sub_identity, sub_intent)
                        .map_err(|e| fail((at("as"), e.to_string())))?;
                    sub_tasks.insert(name, sub_task);
                }
                sub_tasks
                    .get(name)
                    .ok_or_else(|| fail((at("as"), "sub-agent could not be created".into())))?
            }
        };
        let mut call = ToolCall::new(step.call.tool.clone(), step.call.args.clone());
        if let Some(parent) = step.parent {
            if parent >= index {
                return Err(fail((
                    at("parent"),
                    format!("step {parent} is not an earlier step"),
                )));
            }
            let parent_id = call_ids.get(parent).copied().flatten().ok_or_else(|| {
                fail((
                    at("parent"),
                    format!("step {parent} was refused, so no call can run inside it"),
                ))
            })?;
            call = call.child_of(parent_id);
        }
        approver.set(
            step.approver
                .as_ref()
                .unwrap_or(&scenario.approver)
                .script(),
        );
        if explain_at == Some(index) {
            let explanation = task.explain(&call);
            drop(sub_tasks);
            root.end().map_err(|e| fail(("$".into(), e.to_string())))?;
            return Ok((reports, Some(explanation)));
        }
        let (actual, reasons, call_id) = match task.authorize(call) {
            Ok(warrant) => {
                let actual = if warrant.approved() {
                    Expect::Approved
                } else {
                    Expect::Allowed
                };
                let reasons: Vec<String> = warrant
                    .decision()
                    .reasons
                    .iter()
                    .map(|r| r.code.to_string())
                    .collect();
                let call_id = warrant.call_id();
                let outcome = match step.outcome {
                    OutcomeDef::Ok => Outcome::ok(),
                    OutcomeDef::Error => Outcome::error("the scenario's tool failed"),
                }
                .with_labels(step.result_labels.iter().cloned());
                warrant
                    .complete(outcome)
                    .map_err(|e| fail((format!("steps[{index}]"), e.to_string())))?;
                (actual, reasons, Some(call_id))
            }
            Err(refusal) => {
                let actual = match refusal.kind {
                    RefusalKind::Denied => Expect::Denied,
                    RefusalKind::ApprovalDenied => Expect::ApprovalDenied,
                };
                (
                    actual,
                    refusal.codes().into_iter().map(str::to_owned).collect(),
                    None,
                )
            }
        };
        call_ids.push(call_id);
        let missing: Vec<String> = step
            .reasons
            .iter()
            .filter(|r| !reasons.contains(r))
            .cloned()
            .collect();
        reports.push(StepReport {
            index,
            tool: step.call.tool.clone(),
            expected: step.expect,
            actual,
            passed: actual == step.expect && missing.is_empty(),
            expected_reasons: step.reasons.clone(),
            actual_reasons: reasons,
            missing_reasons: missing,
        });
    }
    if let Some(index) = explain_at {
        return Err(fail((
            "steps".into(),
            format!("there is no step {index} to explain"),
        )));
    }
    drop(sub_tasks);
    root.end().map_err(|e| fail(("$".into(), e.to_string())))?;
    Ok((reports, None))
}
