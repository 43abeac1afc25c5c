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

mod scenario;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use crate::approval::{Approval, ApprovalAnswer, ApprovalRequest, Approver, ApproverError};
use crate::ledger::Head;
use crate::policy::Backend;
use crate::task::Explanation;
use scenario::{play, ScenarioFile};

/// The scenario format this runner reads.
pub const SCENARIO_FORMAT: &str = "agentwarrant-scenario/v1";

/// What a [`ScriptedApprover`] answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Script {
    /// Approve as this principal.
    Approve(String),
    /// Refuse as this principal.
    Deny(String),
    /// Nobody to ask, as with no approver configured (the call is refused as `denied` with
    /// `approval_unavailable`).
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
            Script::Unavailable => Err(ApproverError::nobody(
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

/// One step's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
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
#[non_exhaustive]
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
    /// Policy directories whose modules (and `data.json`) are added to the policy (the
    /// default bundle, or `policy_dir`'s): rules of your own next to the bundle's, as in
    /// `examples/policies/`.
    pub add_policy_dirs: Vec<PathBuf>,
    /// The regorus evaluator.
    pub backend: Backend,
}

/// Runs the scenario file at `path`.
pub fn run_file(
    path: impl AsRef<Path>,
    options: &RunOptions,
) -> Result<ScenarioReport, ScenarioError> {
    let (text, file) = read(path.as_ref())?;
    run_str(&text, &file, options)
}

/// Runs a scenario given as JSON text; `file` names it in reports and errors.
pub fn run_str(
    text: &str,
    file: &str,
    options: &RunOptions,
) -> Result<ScenarioReport, ScenarioError> {
    let (scenario, (steps, _), head) = played(text, file, options, None)?;
    Ok(ScenarioReport {
        name: scenario.name().to_owned(),
        file: file.to_owned(),
        passed: steps.iter().all(|s| s.passed),
        steps,
        ledger_records: head.records,
    })
}

/// Plays the steps of the scenario at `path` before step `index` (0-based), then explains
/// that step instead of running it: what the guard would decide, with every reason, each
/// scope's band and the exact policy input ([`Explanation`]).
pub fn explain_step(
    path: impl AsRef<Path>,
    index: usize,
    options: &RunOptions,
) -> Result<Explanation, ScenarioError> {
    let (text, file) = read(path.as_ref())?;
    let (_, (_, explanation), _) = played(&text, &file, options, Some(index))?;
    explanation.ok_or_else(|| ScenarioError {
        file,
        path: "steps".into(),
        message: format!("there is no step {index} to explain"),
    })
}

fn read(path: &Path) -> Result<(String, String), ScenarioError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| ScenarioError {
        file: file.clone(),
        path: "$".into(),
        message: format!("cannot read the file: {e}"),
    })?;
    Ok((text, file))
}

type Played = (ScenarioFile, (Vec<StepReport>, Option<Explanation>), Head);

/// Parses, checks and plays a scenario against a ledger in a fresh temporary directory, and
/// verifies that ledger.
fn played(
    text: &str,
    file: &str,
    options: &RunOptions,
    explain_at: Option<usize>,
) -> Result<Played, ScenarioError> {
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
    scenario
        .check()
        .map_err(|(path, message)| fail(path, message))?;
    let dir = std::env::temp_dir().join(format!("agentwarrant-scenario-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir)
        .map_err(|e| fail("$", format!("cannot create a temporary directory: {e}")))?;
    let ledger_path = dir.join("ledger.jsonl");
    let result = play(&scenario, file, options, &ledger_path, explain_at);
    let verified = crate::ledger::verify(&ledger_path);
    let _ = std::fs::remove_dir_all(&dir);
    let played = result?;
    let head = verified.map_err(|e| fail("$", format!("the run's ledger does not verify: {e}")))?;
    Ok((scenario, played, head))
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
