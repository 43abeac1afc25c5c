//! The guard, its tasks and warrants, decisions, and the bridge to Python approvers.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use agentwarrant::{
    ApprovalAnswer, ApproverError, CallId, Ledger, Limits, Outcome, Policy, PolicyLimits, ToolCall,
};
use pyo3::exceptions::{PyRuntimeError, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

use crate::convert::{serde_to_py, to_json, to_py};
use crate::errors::{build_error, error, ledger_error, raise_code, refusal};
use crate::ledger::{FileLedger, ManualClock, MemoryLedger};
use crate::spec::{Identity, Intent, ToolSpec};

/// One reason a rule fired: a stable code and an optional detail for operators.
#[pyclass(frozen, eq, module = "agentwarrant._native")]
#[derive(Clone, PartialEq)]
pub(crate) struct Reason(agentwarrant::Reason);

impl From<agentwarrant::Reason> for Reason {
    fn from(reason: agentwarrant::Reason) -> Self {
        Self(reason)
    }
}

#[pymethods]
impl Reason {
    #[getter]
    fn code(&self) -> &str {
        self.0.code.as_str()
    }
    #[getter]
    fn detail(&self) -> Option<&str> {
        self.0.detail.as_deref()
    }
    /// A short explanation of the code that an agent or a person can act on.
    #[getter]
    fn description(&self) -> &str {
        self.0.code.describe()
    }
    fn __str__(&self) -> String {
        self.0.to_string()
    }
    fn __repr__(&self) -> String {
        match &self.0.detail {
            Some(d) => format!("Reason({:?}, detail={d:?})", self.0.code.as_str()),
            None => format!("Reason({:?})", self.0.code.as_str()),
        }
    }
}

fn reasons(items: &[agentwarrant::Reason]) -> Vec<Reason> {
    items.iter().cloned().map(Reason).collect()
}

/// The policy's answer for one call.
#[pyclass(frozen, module = "agentwarrant._native")]
#[derive(Clone)]
pub(crate) struct Decision(agentwarrant::Decision);

impl From<agentwarrant::Decision> for Decision {
    fn from(decision: agentwarrant::Decision) -> Self {
        Self(decision)
    }
}

#[pymethods]
impl Decision {
    /// `allow`, `approval` or `deny`.
    #[getter]
    fn effect(&self) -> &'static str {
        self.0.effect.as_str()
    }
    #[getter]
    fn reasons(&self) -> Vec<Reason> {
        reasons(&self.0.reasons)
    }
    /// The reason codes, in order.
    #[getter]
    fn codes(&self) -> Vec<String> {
        self.0
            .reasons
            .iter()
            .map(|r| r.code.as_str().to_owned())
            .collect()
    }
    /// Approval reasons that also fired on a denied call.
    #[getter]
    fn also(&self) -> Vec<Reason> {
        reasons(&self.0.also)
    }
    #[getter]
    fn obligations<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        serde_to_py(py, &self.0.obligations)
    }
    #[getter]
    fn policy_digest(&self) -> &str {
        self.0.policy_digest.as_str()
    }
    #[getter]
    fn eval_us(&self) -> u64 {
        self.0.eval_us
    }
    /// The decision as plain data.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        serde_to_py(py, &self.0)
    }
    fn __repr__(&self) -> String {
        format!(
            "Decision({:?}, reasons={:?})",
            self.0.effect.as_str(),
            self.codes()
        )
    }
}

/// One person's approval of one request, bound to the call's digest.
#[pyclass(frozen, module = "agentwarrant._native")]
#[derive(Clone)]
pub(crate) struct Approval(agentwarrant::Approval);

#[pymethods]
impl Approval {
    #[getter]
    fn approver(&self) -> &str {
        &self.0.approver
    }
    #[getter]
    fn digest(&self) -> &str {
        self.0.digest.as_str()
    }
    fn __repr__(&self) -> String {
        format!("Approval(approver={:?})", self.0.approver)
    }
}

/// What an approver is asked to approve.
#[pyclass(frozen, module = "agentwarrant._native")]
pub(crate) struct ApprovalRequest(agentwarrant::ApprovalRequest);

#[pymethods]
impl ApprovalRequest {
    /// An approval of this request by `approver` (a human principal such as `bob@acme.com`).
    fn approve(&self, approver: String) -> Approval {
        Approval(agentwarrant::Approval::of(&self.0, approver))
    }
    #[getter]
    fn call_id(&self) -> String {
        self.0.call_id.to_string()
    }
    #[getter]
    fn task_id(&self) -> String {
        self.0.task_id.to_string()
    }
    #[getter]
    fn digest(&self) -> &str {
        self.0.digest.as_str()
    }
    #[getter]
    fn identity(&self) -> &str {
        &self.0.identity
    }
    #[getter]
    fn owner(&self) -> &str {
        &self.0.owner
    }
    #[getter]
    fn intent(&self) -> &str {
        &self.0.intent
    }
    #[getter]
    fn tool(&self) -> &str {
        &self.0.tool
    }
    /// The call's args, sensitive ones redacted.
    #[getter]
    fn args<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &self.0.args)
    }
    #[getter]
    fn reasons(&self) -> Vec<Reason> {
        reasons(&self.0.reasons)
    }
    #[getter]
    fn codes(&self) -> Vec<String> {
        self.0
            .reasons
            .iter()
            .map(|r| r.code.as_str().to_owned())
            .collect()
    }
    #[getter]
    fn approvers_needed(&self) -> u8 {
        self.0.approvers_needed
    }
    /// Unix time (seconds) after which an approval of this request is void.
    #[getter]
    fn expires_at(&self) -> f64 {
        self.0.expires_at.unix_timestamp_nanos() as f64 / 1e9
    }
    /// Principals who may not approve this call (four eyes).
    #[getter]
    fn excluded(&self) -> Vec<String> {
        self.0.excluded.clone()
    }
    fn __repr__(&self) -> String {
        format!(
            "ApprovalRequest(tool={:?}, identity={:?}, reasons={:?})",
            self.0.tool,
            self.0.identity,
            self.codes()
        )
    }
}

/// A Python callable answering approval requests.
///
/// Protocol (the `agentwarrant` package adapts users' approvers to it): the callable returns
/// `("approved", [Approval, ...])`, `("denied", by | None, reason | None)` or
/// `("error", message)`. Anything else, or a raise, refuses the call (fail closed).
struct PyApprover(Py<PyAny>);

impl PyApprover {
    fn decide(
        &self,
        request: &agentwarrant::ApprovalRequest,
    ) -> Result<ApprovalAnswer, ApproverError> {
        Python::attach(|py| {
            let answer = self
                .0
                .call1(py, (ApprovalRequest(request.clone()),))
                .map_err(|e| ApproverError::new(format!("the approver raised: {e}")))?;
            interpret(answer.bind(py))
        })
    }
}

fn interpret(answer: &Bound<'_, PyAny>) -> Result<ApprovalAnswer, ApproverError> {
    let garbage = || ApproverError::new("the approver returned an unusable answer");
    let tuple = answer.downcast::<PyTuple>().map_err(|_| garbage())?;
    let tag: String = tuple
        .get_item(0)
        .and_then(|t| t.extract())
        .map_err(|_| garbage())?;
    match (tag.as_str(), tuple.len()) {
        ("approved", 2) => {
            let approvals: Vec<Approval> = tuple
                .get_item(1)
                .and_then(|a| a.extract())
                .map_err(|_| garbage())?;
            Ok(ApprovalAnswer::Approved(
                approvals.into_iter().map(|a| a.0).collect(),
            ))
        }
        ("denied", 3) => {
            let by: Option<String> = tuple
                .get_item(1)
                .and_then(|a| a.extract())
                .map_err(|_| garbage())?;
            let reason: Option<String> = tuple
                .get_item(2)
                .and_then(|a| a.extract())
                .map_err(|_| garbage())?;
            Ok(ApprovalAnswer::Denied { by, reason })
        }
        ("error", 2) => {
            let message: String = tuple
                .get_item(1)
                .and_then(|a| a.extract())
                .map_err(|_| garbage())?;
            Err(ApproverError::new(message))
        }
        _ => Err(garbage()),
    }
}

/// What the guard is built from; kept so the guard can be rebuilt when tools are added.
struct Config {
    policy: Policy,
    policy_limits: Option<PolicyLimits>,
    approver: Option<Arc<PyApprover>>,
    ledger: Arc<dyn Ledger>,
    clock: Option<Arc<agentwarrant::ManualClock>>,
    limits: Limits,
    env: String,
    default_tool: Option<ToolSpec>,
}

struct State {
    tools: Vec<ToolSpec>,
    /// `None` after a tool was added: rebuilt by the next `begin`.
    built: Option<agentwarrant::Guard>,
    /// Every guard built so far (tasks of earlier ones may still run): the kill switch
    /// reaches them all.
    generations: Vec<agentwarrant::Guard>,
    /// Identities switched off with `disable_identity`.
    disabled: Vec<String>,
}

/// The native guard. Tools may be declared after construction (decorators run at import
/// time); the Rust guard is rebuilt, once, by the next task that begins.
#[pyclass(frozen, module = "agentwarrant._native")]
pub(crate) struct GuardCore {
    config: Config,
    state: Arc<Mutex<State>>,
    ledger_object: Py<PyAny>,
    policy_digest: String,
}

fn seconds(py: Python<'_>, value: Option<f64>, what: &str) -> PyResult<Option<Duration>> {
    value
        .map(|s| {
            Duration::try_from_secs_f64(s).map_err(|_| {
                raise_code(
                    py,
                    "ConfigError",
                    &format!("`{what}` must be a positive number of seconds, got {s}"),
                    "invalid_limit",
                )
            })
        })
        .transpose()
}

impl GuardCore {
    fn build(&self, py: Python<'_>, tools: &[ToolSpec]) -> PyResult<agentwarrant::Guard> {
        let config = &self.config;
        let mut builder = agentwarrant::Guard::builder()
            .policy(config.policy.clone())
            .tools(tools.iter().map(|t| t.spec.clone()))
            .ledger(config.ledger.clone())
            .limits(config.limits)
            .env(config.env.clone());
        if let Some(limits) = config.policy_limits {
            builder = builder.policy_limits(limits);
        }
        if let Some(approver) = &config.approver {
            let approver = approver.clone();
            builder = builder
                .approver(move |request: &agentwarrant::ApprovalRequest| approver.decide(request));
        }
        if let Some(clock) = &config.clock {
            builder = builder.clock(clock.clone());
        }
        if let Some(default) = &config.default_tool {
            builder = builder.default_tool(default.spec.clone());
        }
        py.detach(|| builder.build())
            .map_err(|e| build_error(py, &e))
    }

    fn guard(&self, py: Python<'_>) -> PyResult<agentwarrant::Guard> {
        let (tools, built) = {
            let state = self.lock()?;
            (state.tools.clone(), state.built.clone())
        };
        if let Some(guard) = built {
            return Ok(guard);
        }
        let guard = self.build(py, &tools)?;
        let mut state = self.lock()?;
        for id in &state.disabled {
            guard.disable_identity(id);
        }
        state.generations.push(guard.clone());
        // Keep it unless tools changed meanwhile (then the next call rebuilds).
        if state.tools.len() == tools.len() {
            state.built = Some(guard.clone());
        }
        Ok(guard)
    }

    fn lock(&self) -> PyResult<std::sync::MutexGuard<'_, State>> {
        self.state
            .lock()
            .map_err(|_| PyRuntimeError::new_err("guard state is poisoned"))
    }
}

#[pymethods]
impl GuardCore {
    #[new]
    #[pyo3(signature = (*, policy_dir = None, tools = Vec::new(), default_tool = None,
        approver = None, ledger = None, env = "dev".to_owned(), policy_limits = None,
        grant_ttl_s = None, approval_ttl_s = None, clock = None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        policy_dir: Option<PathBuf>,
        tools: Vec<ToolSpec>,
        default_tool: Option<ToolSpec>,
        approver: Option<Py<PyAny>>,
        ledger: Option<&Bound<'_, PyAny>>,
        env: String,
        policy_limits: Option<&Bound<'_, PyAny>>,
        grant_ttl_s: Option<f64>,
        approval_ttl_s: Option<f64>,
        clock: Option<PyRef<'_, ManualClock>>,
    ) -> PyResult<Self> {
        let policy = match &policy_dir {
            Some(dir) => Policy::from_dir(dir).map_err(|e| build_error(py, &e))?,
            None => Policy::default_bundle(),
        };
        let policy_limits = match policy_limits {
            None => None,
            Some(value) => {
                let json = to_json(value, "policy_limits")?;
                Some(serde_json::from_value(json).map_err(|e| {
                    raise_code(
                        py,
                        "ConfigError",
                        &format!("policy_limits: {e}"),
                        "invalid_limit",
                    )
                })?)
            }
        };
        if let Some(approver) = &approver {
            if !approver.bind(py).is_callable() {
                return Err(PyTypeError::new_err("`approver` must be callable"));
            }
        }
        let (ledger, ledger_object): (Arc<dyn Ledger>, Py<PyAny>) = match ledger {
            None => {
                let memory = MemoryLedger::new();
                let inner = memory.inner.clone();
                (inner, Py::new(py, memory)?.into_any())
            }
            Some(object) => {
                if let Ok(memory) = object.downcast::<MemoryLedger>() {
                    (memory.get().inner.clone(), object.clone().unbind())
                } else if let Ok(file) = object.downcast::<FileLedger>() {
                    (file.get().inner.clone(), object.clone().unbind())
                } else if let Ok(path) = object.extract::<PathBuf>() {
                    let file = FileLedger::open(py, path, false)?;
                    let inner = file.inner.clone();
                    (inner, Py::new(py, file)?.into_any())
                } else {
                    return Err(PyTypeError::new_err(
                        "`ledger` must be a MemoryLedger, a FileLedger or a path",
                    ));
                }
            }
        };
        let mut limits = Limits::default();
        if let Some(ttl) = seconds(py, grant_ttl_s, "grant_ttl_s")? {
            limits.grant_ttl = ttl;
        }
        if let Some(ttl) = seconds(py, approval_ttl_s, "approval_ttl_s")? {
            limits.approval_ttl = ttl;
        }
        let core = Self {
            policy_digest: policy.digest().to_string(),
            config: Config {
                policy,
                policy_limits,
                approver: approver.map(|a| Arc::new(PyApprover(a))),
                ledger,
                clock: clock.map(|c| c.inner.clone()),
                limits,
                env,
                default_tool,
            },
            state: Arc::new(Mutex::new(State {
                tools: Vec::new(),
                built: None,
                generations: Vec::new(),
                disabled: Vec::new(),
            })),
            ledger_object,
        };
        for spec in tools {
            core.add_tool(py, spec)?;
        }
        // A bad policy or tool set fails here, at start-up, never per call.
        core.guard(py)?;
        Ok(core)
    }

    /// Declares a tool; a name declared twice is a `ConfigError`.
    fn add_tool(&self, py: Python<'_>, spec: ToolSpec) -> PyResult<()> {
        let mut state = self.lock()?;
        if state
            .tools
            .iter()
            .any(|t| t.spec.name() == spec.spec.name())
        {
            return Err(raise_code(
                py,
                "ConfigError",
                &format!("tool `{}` is declared twice", spec.spec.name()),
                "duplicate_tool",
            ));
        }
        state.tools.push(spec);
        state.built = None;
        Ok(())
    }

    /// The kill switch: every later call of identity `id`, and of tasks delegated from its
    /// tasks, is refused (`identity_disabled`), including in tasks already running.
    fn disable_identity(&self, id: &str) -> PyResult<()> {
        let mut state = self.lock()?;
        for guard in &state.generations {
            guard.disable_identity(id);
        }
        if !state.disabled.iter().any(|d| d == id) {
            state.disabled.push(id.to_owned());
        }
        Ok(())
    }

    /// Switches a disabled identity back on.
    fn enable_identity(&self, id: &str) -> PyResult<()> {
        let mut state = self.lock()?;
        for guard in &state.generations {
            guard.enable_identity(id);
        }
        state.disabled.retain(|d| d != id);
        Ok(())
    }

    /// The spec of a declared tool.
    fn tool(&self, name: &str) -> PyResult<Option<ToolSpec>> {
        Ok(self
            .lock()?
            .tools
            .iter()
            .find(|t| t.spec.name() == name)
            .cloned())
    }

    #[getter]
    fn tools(&self) -> PyResult<Vec<ToolSpec>> {
        Ok(self.lock()?.tools.clone())
    }

    #[getter]
    fn default_tool(&self) -> Option<ToolSpec> {
        self.config.default_tool.clone()
    }

    #[getter]
    fn env(&self) -> &str {
        &self.config.env
    }

    #[getter]
    fn policy_digest(&self) -> &str {
        &self.policy_digest
    }

    #[getter]
    fn ledger(&self, py: Python<'_>) -> Py<PyAny> {
        self.ledger_object.clone_ref(py)
    }

    /// Begins a task: issues its grant and records `task.begun` and `grant.issued`.
    fn begin(&self, py: Python<'_>, identity: &Identity, intent: &Intent) -> PyResult<TaskCore> {
        let guard = self.guard(py)?;
        let (identity, intent) = (identity.0.clone(), intent.0.clone());
        let task = py
            .detach(|| guard.begin(identity, intent))
            .map_err(|e| error(py, &e))?;
        Ok(TaskCore::new(task, self.state.clone()))
    }
}

/// The native task. Its calls run concurrently; `end` revokes the grant.
#[pyclass(frozen, module = "agentwarrant._native")]
pub(crate) struct TaskCore {
    task: Mutex<Option<Arc<agentwarrant::Task>>>,
    id: String,
    identity: Identity,
    intent: Intent,
    grant_scopes: Vec<String>,
    /// The guard's tool list, to explain an `unknown_tool` refusal of a tool declared late.
    declared: Arc<Mutex<State>>,
}

impl TaskCore {
    fn new(task: agentwarrant::Task, declared: Arc<Mutex<State>>) -> Self {
        Self {
            declared,
            id: task.id().to_string(),
            identity: Identity(task.identity().clone()),
            intent: Intent(task.intent().clone()),
            grant_scopes: task.grant().scopes().to_vec(),
            task: Mutex::new(Some(Arc::new(task))),
        }
    }

    /// Whether `refused` is an `unknown_tool` refusal of a tool the guard knows by now.
    fn declared_late(&self, refused: &agentwarrant::Refusal) -> bool {
        refused.has(&agentwarrant::ReasonCode::UnknownTool)
            && self
                .declared
                .lock()
                .is_ok_and(|state| state.tools.iter().any(|t| t.spec.name() == refused.tool))
    }

    fn current(&self, py: Python<'_>) -> PyResult<Arc<agentwarrant::Task>> {
        let task = self
            .task
            .lock()
            .map_err(|_| PyRuntimeError::new_err("task state is poisoned"))?
            .clone();
        task.ok_or_else(|| {
            raise_code(
                py,
                "TaskError",
                &format!("task `{}` has ended; begin a new task", self.id),
                "task_ended",
            )
        })
    }
}

#[pymethods]
impl TaskCore {
    #[getter]
    fn id(&self) -> &str {
        &self.id
    }
    #[getter]
    fn identity(&self) -> Identity {
        self.identity.clone()
    }
    #[getter]
    fn intent(&self) -> Intent {
        self.intent.clone()
    }
    /// The scopes of the task's grant (intent ∩ ceiling).
    #[getter]
    fn grant_scopes(&self) -> Vec<String> {
        self.grant_scopes.clone()
    }
    #[getter]
    fn ended(&self) -> bool {
        self.task.lock().map(|t| t.is_none()).unwrap_or(true)
    }

    /// Authorizes one call; raises `Denied`, `ApprovalDenied` or `ApprovalRequired`.
    ///
    /// The GIL is released while the engine works; an approver reacquires it.
    #[pyo3(signature = (tool, args, parent = None))]
    fn authorize(
        &self,
        py: Python<'_>,
        tool: String,
        args: &Bound<'_, PyAny>,
        parent: Option<PyRef<'_, Warrant>>,
    ) -> PyResult<Warrant> {
        if !args.is_instance_of::<PyDict>() {
            return Err(PyTypeError::new_err(format!(
                "the args of tool `{tool}` must be a dict, got {}",
                args.get_type().name()?
            )));
        }
        let args = to_json(args, "args")?;
        let task = self.current(py)?;
        let mut call = ToolCall::new(tool, args);
        if let Some(parent) = parent {
            call = call.child_of(parent.call_id);
        }
        match py.detach(|| task.authorize(call)) {
            Ok(warrant) => Ok(Warrant::new(warrant)),
            Err(refused) if self.declared_late(&refused) => Err(raise_code(
                py,
                "ConfigError",
                &format!(
                    "tool `{}` was declared after task `{}` began; declare tools (decorators, \
                     adapters) before beginning tasks",
                    refused.tool, self.id
                ),
                "tool_declared_late",
            )),
            Err(refused) => Err(refusal(py, refused)),
        }
    }

    /// Delegates a sub-task to `identity`, narrowed by its ceiling and by `intent`.
    #[pyo3(signature = (identity, intent = None))]
    fn delegate(
        &self,
        py: Python<'_>,
        identity: &Identity,
        intent: Option<&Intent>,
    ) -> PyResult<TaskCore> {
        let task = self.current(py)?;
        let (identity, intent) = (identity.0.clone(), intent.map(|i| i.0.clone()));
        let sub = py
            .detach(|| task.delegate(identity, intent))
            .map_err(|e| error(py, &e))?;
        Ok(TaskCore::new(sub, self.declared.clone()))
    }

    /// Ends the task: revokes its grant (and delegated ones). Ending twice is harmless.
    ///
    /// Calls still being authorized keep the task alive until they return; it ends then.
    fn end(&self, py: Python<'_>) -> PyResult<()> {
        let taken = self
            .task
            .lock()
            .map_err(|_| PyRuntimeError::new_err("task state is poisoned"))?
            .take();
        if let Some(task) = taken {
            if let Ok(task) = Arc::try_unwrap(task) {
                py.detach(|| task.end()).map_err(|e| error(py, &e))?;
            }
        }
        Ok(())
    }

    fn __repr__(&self) -> String {
        format!(
            "TaskCore({:?}, identity={:?})",
            self.id,
            self.identity.0.id()
        )
    }
}

/// A single-use permit for one authorized call.
#[pyclass(frozen, module = "agentwarrant._native")]
pub(crate) struct Warrant {
    warrant: Mutex<Option<agentwarrant::Warrant>>,
    call_id: CallId,
    tool: String,
    depth: u32,
    approvers: Vec<String>,
    decision: Decision,
}

impl Warrant {
    fn new(warrant: agentwarrant::Warrant) -> Self {
        Self {
            call_id: warrant.call_id(),
            tool: warrant.tool().to_owned(),
            depth: warrant.depth(),
            approvers: warrant.approvers().to_vec(),
            decision: Decision(warrant.decision().clone()),
            warrant: Mutex::new(Some(warrant)),
        }
    }
}

#[pymethods]
impl Warrant {
    #[getter]
    fn call_id(&self) -> String {
        self.call_id.to_string()
    }
    #[getter]
    fn tool(&self) -> &str {
        &self.tool
    }
    #[getter]
    fn depth(&self) -> u32 {
        self.depth
    }
    #[getter]
    fn approved(&self) -> bool {
        !self.approvers.is_empty()
    }
    #[getter]
    fn approvers(&self) -> Vec<String> {
        self.approvers.clone()
    }
    #[getter]
    fn decision(&self) -> Decision {
        self.decision.clone()
    }
    #[getter]
    fn completed(&self) -> bool {
        self.warrant.lock().map(|w| w.is_none()).unwrap_or(true)
    }

    /// Records the outcome (`call.completed`): ok, or `error`; `labels` are the result's
    /// labels (e.g. `untrusted`), counted for every later call of the task.
    #[pyo3(signature = (*, error = None, labels = Vec::new()))]
    fn complete(&self, py: Python<'_>, error: Option<String>, labels: Vec<String>) -> PyResult<()> {
        let taken = self
            .warrant
            .lock()
            .map_err(|_| PyRuntimeError::new_err("warrant state is poisoned"))?
            .take();
        let Some(warrant) = taken else {
            return Err(raise_code(
                py,
                "TaskError",
                &format!(
                    "the warrant of call `{}` was already completed",
                    self.call_id
                ),
                "warrant_used",
            ));
        };
        let outcome = match error {
            Some(message) => Outcome::error(message),
            None => Outcome::ok(),
        }
        .with_labels(labels);
        py.detach(|| warrant.complete(outcome))
            .map_err(|e| ledger_error(py, &e))
    }

    fn __repr__(&self) -> String {
        format!(
            "Warrant(tool={:?}, call_id={:?}, depth={})",
            self.tool,
            self.call_id.to_string(),
            self.depth
        )
    }
}
