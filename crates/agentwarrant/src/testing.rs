//! Test support (feature `testing`): a scripted approver and the scenario runner.
//!
//! A scenario file (format `agentwarrant-scenario/v1`) specifies guarded behaviour as data; the
//! runner plays it through a real [`Guard`] (real policy, a real file ledger in a temporary
//! directory, a scripted approver, no-op tools) and reports every step that differs.
//!
//! ```
//! use agentwarrant::testing::{run_str, RunOptions};
//! let report = run_str(r#"{
//!   "format": "agentwarrant-scenario/v1",
//!   "name": "reads flow",
//!   "tools": [{"name": "read_logs", "impact": "low", "scopes": ["logs.read:{svc}"]}],
//!   "identity": {"id": "agent://acme/ops", "role": "executor", "owner": "alice@acme.com",
//!                "ceiling": ["logs.read:*"]},
//!   "intent": {"goal": "triage", "scopes": ["logs.read:*"], "max_impact": "low"},
//!   "steps": [{"call": {"tool": "read_logs", "args": {"svc": "api"}}, "expect": "allowed"}]
//! }"#, "inline.json", &RunOptions::default())?;
//! assert!(report.passed);
//! # Ok::<(), agentwarrant::testing::ScenarioError>(())
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json};

use crate::approval::{Approval, ApprovalAnswer, ApprovalRequest, Approver, ApproverError};
use crate::guard::Guard;
use crate::identity::Identity;
use crate::ids::CallId;
use crate::intent::Intent;
use crate::kinds::{Impact, Role};
use crate::ledger::FileLedger;
use crate::policy::{Backend, Policy, PolicyLimits};
use crate::task::{Outcome, RefusalKind, Task};
use crate::tool::{ToolCall, ToolSpec};

/// The scenario format this runner reads.
pub const SCENARIO_FORMAT: &str = "agentwarrant-scenario/v1";

/// What a [`ScriptedApprover`] answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Script {
    /// Approve as this principal.
    Approve(String),
    /// Refuse as this principal.
    Deny(String),
    /// Fail to answer (the call is refused with `approval_unavailable`).
    Unavailable,
}

/// An approver that answers from a script; clones share the script and the request log.
#[derive(Debug, Clone)]
pub struct ScriptedApprover {
    script: Arc<Mutex<Script>>,
    requests: Arc<Mutex<Vec<ApprovalRequest>>>,
}

impl ScriptedApprover {
    /// An approver that answers `script` until told otherwise.
    pub fn new(script: Script) -> Self {
        Self {
            script: Arc::new(Mutex::new(script)),
            requests: Arc::default(),
        }
    }

    /// Changes the answer for later requests.
    pub fn set(&self, script: Script) {
        if let Ok(mut current) = self.script.lock() {
            *current = script;
        }
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<ApprovalRequest> {
        self.requests.lock().map(|r| r.clone()).unwrap_or_default()
    }
}

impl Approver for ScriptedApprover {
    fn decide(&self, request: &ApprovalRequest) -> Result<ApprovalAnswer, ApproverError> {
        if let Ok(mut log) = self.requests.lock() {
            log.push(request.clone());
        }
        let script = self
            .script
            .lock()
            .map_err(|_| ApproverError::new("the script is poisoned"))?
            .clone();
        match script {
            Script::Approve(who) => Ok(ApprovalAnswer::Approved(
                (0..request.approvers_needed.max(1))
                    .map(|n| {
                        Approval::of(
                            request,
                            if n == 0 {
                                who.clone()
                            } else {
                                format!("{who}#{n}")
                            },
                        )
                    })
                    .collect(),
            )),
            Script::Deny(who) => Ok(ApprovalAnswer::Denied {
                by: Some(who),
                reason: None,
            }),
            Script::Unavailable => Err(ApproverError::new(
                "no approver is available in this scenario",
            )),
        }
    }
}

/// A malformed scenario file, or a step that cannot be played.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("scenario `{file}`: at `{path}`: {message}")]
pub struct ScenarioError {
    /// The file (or name) of the scenario.
    pub file: String,
    /// The JSON path of the problem, e.g. `steps[2].expect`.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

// --- The file format. Unknown fields are errors: a typo must not silently pass a test. ---

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScenarioFile {
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
    limits: PolicyLimits,
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

/// A step's expected (or actual) result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Expect {
    /// Ran, no approval asked.
    Allowed,
    /// Approval asked and given; ran.
    Approved,
    /// Approval asked and not obtained.
    ApprovalDenied,
    /// Refused by the policy or the engine; no approval asked.
    Denied,
}

impl Expect {
    fn as_str(self) -> &'static str {
        match self {
            Expect::Allowed => "allowed",
            Expect::Approved => "approved",
            Expect::ApprovalDenied => "approval_denied",
            Expect::Denied => "denied",
        }
    }
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

/// One step's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StepReport {
    /// 0-based index of the step.
    pub index: usize,
    /// The tool called.
    pub tool: String,
    /// What the file expected.
    pub expected: Expect,
    /// What happened.
    pub actual: Expect,
    /// Codes the file requires.
    pub expected_reasons: Vec<String>,
    /// Codes the guard gave.
    pub actual_reasons: Vec<String>,
    /// Required codes the guard did not give.
    pub missing_reasons: Vec<String>,
    /// Whether the step matched.
    pub passed: bool,
}

/// One scenario's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScenarioReport {
    /// The scenario's name.
    pub name: String,
    /// The file it came from.
    pub file: String,
    /// Whether every step matched.
    pub passed: bool,
    /// Every step, in order.
    pub steps: Vec<StepReport>,
    /// How many ledger records the run wrote (all verified).
    pub ledger_records: u64,
}

impl ScenarioReport {
    /// The steps that did not match.
    pub fn failures(&self) -> impl Iterator<Item = &StepReport> {
        self.steps.iter().filter(|s| !s.passed)
    }
}

/// How scenarios are run.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// A policy directory replacing the default bundle.
    pub policy_dir: Option<PathBuf>,
    /// The regorus evaluator.
    pub backend: Backend,
}

/// Runs the scenario file at `path`.
pub fn run_file(
    path: impl AsRef<Path>,
    options: &RunOptions,
) -> Result<ScenarioReport, ScenarioError> {
    let path = path.as_ref();
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| ScenarioError {
        file: file.clone(),
        path: "$".into(),
        message: format!("cannot read the file: {e}"),
    })?;
    run_str(&text, &file, options)
}

/// Runs a scenario given as JSON text; `file` names it in reports and errors.
pub fn run_str(
    text: &str,
    file: &str,
    options: &RunOptions,
) -> Result<ScenarioReport, ScenarioError> {
    let fail = |path: &str, message: String| ScenarioError {
        file: file.to_owned(),
        path: path.to_owned(),
        message,
    };
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let scenario: ScenarioFile =
        serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
            let path = e.path().to_string();
            let path = if path == "." { "$".to_owned() } else { path };
            fail(&path, e.into_inner().to_string())
        })?;
    if scenario.format != SCENARIO_FORMAT {
        return Err(fail(
            "format",
            format!("expected `{SCENARIO_FORMAT}`, found `{}`", scenario.format),
        ));
    }
    if scenario.identity.intent.is_some() {
        return Err(fail(
            "identity.intent",
            "the root identity's intent is the top-level `intent`; only entries of `identities` take one".into(),
        ));
    }
    let dir = std::env::temp_dir().join(format!("agentwarrant-scenario-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir)
        .map_err(|e| fail("$", format!("cannot create a temporary directory: {e}")))?;
    let ledger_path = dir.join("ledger.jsonl");
    let result = play(&scenario, file, options, &ledger_path);
    let verified = crate::ledger::verify(&ledger_path);
    let _ = std::fs::remove_dir_all(&dir);
    let steps = result?;
    let head = verified.map_err(|e| fail("$", format!("the run's ledger does not verify: {e}")))?;
    Ok(ScenarioReport {
        name: scenario.name.clone(),
        file: file.to_owned(),
        passed: steps.iter().all(|s| s.passed),
        steps,
        ledger_records: head.records,
    })
}

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

fn play(
    scenario: &ScenarioFile,
    file: &str,
    options: &RunOptions,
    ledger_path: &Path,
) -> Result<Vec<StepReport>, ScenarioError> {
    let fail = |(path, message): (String, String)| ScenarioError {
        file: file.to_owned(),
        path,
        message,
    };
    let policy = match &options.policy_dir {
        Some(dir) => Policy::from_dir(dir).map_err(|e| fail(("$".into(), e.to_string())))?,
        None => Policy::default_bundle(),
    };
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
        .policy_limits(scenario.limits)
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
    drop(sub_tasks);
    root.end().map_err(|e| fail(("$".into(), e.to_string())))?;
    Ok(reports)
}

impl std::fmt::Display for StepReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "step {} `{}`: expected {} [{}], got {} [{}]",
            self.index,
            self.tool,
            self.expected.as_str(),
            self.expected_reasons.join(", "),
            self.actual.as_str(),
            self.actual_reasons.join(", ")
        )?;
        if !self.missing_reasons.is_empty() {
            write!(f, "; missing [{}]", self.missing_reasons.join(", "))?;
        }
        Ok(())
    }
}
