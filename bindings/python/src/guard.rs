//! The guard, its tasks and warrants, decisions, and the bridge to Python approvers.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use agentwarrant::{
    ApprovalAnswer, ApproverError, CallId, Ledger, Limits, Outcome, Policy, ToolCall,
};
use pyo3::exceptions::{PyRuntimeError, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

use crate::convert::{args_to_json, serde_to_py, to_json, to_py};
use crate::errors::{build_error, error, jwt_error, ledger_error, raise_code, refusal, Class};
use crate::jwt::signing_key;
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

fn codes(items: &[agentwarrant::Reason]) -> Vec<&str> {
    items.iter().map(|r| r.code.as_str()).collect()
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
    fn codes(&self) -> Vec<&str> {
        codes(&self.0.reasons)
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

/// A standing approval of later calls like the approved one: at most `uses` calls, for `ttl`
/// seconds, whose required scopes match `within` (when given) and whose numeric args are
/// `at_most` their bounds.
#[pyclass(frozen, module = "agentwarrant._native")]
#[derive(Clone)]
pub(crate) struct Standing(agentwarrant::Standing);

#[pymethods]
impl Standing {
    #[new]
    #[pyo3(signature = (uses, ttl, *, within = Vec::new(), at_most = std::collections::BTreeMap::new()))]
    fn new(
        py: Python<'_>,
        uses: u32,
        ttl: f64,
        within: Vec<String>,
        at_most: std::collections::BTreeMap<String, f64>,
    ) -> PyResult<Self> {
        let ttl = seconds(py, Some(ttl), "ttl")?.unwrap_or_default();
        let standing = at_most.into_iter().fold(
            agentwarrant::Standing::new(uses, ttl).within(within),
            |standing, (name, max)| standing.at_most(name, max),
        );
        Ok(Self(standing))
    }
    fn __repr__(&self) -> String {
        format!("{:?}", self.0)
    }
}

/// What an approver is asked to approve.
#[pyclass(frozen, module = "agentwarrant._native")]
pub(crate) struct ApprovalRequest(agentwarrant::ApprovalRequest);

#[pymethods]
impl ApprovalRequest {
    /// An approval of this request by `approver` (a human principal such as `bob@acme.com`),
    /// also granting `standing` for later calls like this one when given.
    #[pyo3(signature = (approver, standing = None))]
    fn approve(&self, approver: String, standing: Option<Standing>) -> Approval {
        let approval = agentwarrant::Approval::of(&self.0, approver);
        Approval(match standing {
            Some(standing) => approval.with_standing(standing.0),
            None => approval,
        })
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
    /// The call's args in full: the approver sees what it approves (the ledger keeps the
    /// sensitive ones redacted).
    #[getter]
    fn args<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &self.0.args)
    }
    /// The names of the args the tool declares sensitive: show them, keep them out of logs.
    #[getter]
    fn sensitive_args(&self) -> Vec<String> {
        self.0.sensitive_args.clone()
    }
    #[getter]
    fn reasons(&self) -> Vec<Reason> {
        reasons(&self.0.reasons)
    }
    #[getter]
    fn codes(&self) -> Vec<&str> {
        codes(&self.0.reasons)
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
    /// The request as a person reads it: agent, owner, task, tool and args, each reason with
    /// its description, approvers needed and excluded, expiry, call and digest.
    fn __str__(&self) -> String {
        self.0.to_string()
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

/// A call paused until a human answers its approval request (`Task.submit`).
#[pyclass(frozen, module = "agentwarrant._native")]
pub(crate) struct Ticket(agentwarrant::Ticket);

#[pymethods]
impl Ticket {
    /// The ticket's id: file the answer under it, resume the run with it.
    #[getter]
    fn id(&self) -> String {
        self.0.id().to_string()
    }
    /// What the human is asked to approve.
    #[getter]
    fn request(&self) -> ApprovalRequest {
        ApprovalRequest(self.0.request().clone())
    }
    fn __str__(&self) -> String {
        self.0.to_string()
    }
    fn __repr__(&self) -> String {
        format!(
            "Ticket({:?}, tool={:?})",
            self.0.id().to_string(),
            self.0.request().tool
        )
    }
}

/// The warrant or ticket of a submitted call, as a Python object.
fn authorization(py: Python<'_>, outcome: agentwarrant::Authorization) -> PyResult<Py<PyAny>> {
    Ok(match outcome {
        agentwarrant::Authorization::Granted(warrant) => {
            Py::new(py, Warrant::new(warrant))?.into_any()
        }
        agentwarrant::Authorization::Pending(ticket) => Py::new(py, Ticket(ticket))?.into_any(),
    })
}

/// A ticket id from Python; one that does not parse is a ticket no store holds, refused by
/// the engine like any unknown ticket.
fn ticket_id(id: &str) -> agentwarrant::TicketId {
    id.parse().unwrap_or_default()
}

/// An approval store error as a `TaskError` with its code.
fn store_error(py: Python<'_>, error: &agentwarrant::ApprovalStoreError) -> PyErr {
    raise_code(py, Class::TaskError, &error.to_string(), error.code())
}

/// A Python callable answering approval requests, with the guard's approval timeout.
///
/// Protocol (the `agentwarrant` package adapts users' approvers to it): the callable returns
/// `("approved", [Approval, ...])`, `("denied", by | None, reason | None)`,
/// `("error", message)` or `("timeout", message)`. Anything else, or a raise, refuses the call
/// (fail closed).
///
/// The timeout is the library's [`agentwarrant::Timeout`], the one place it is enforced: the
/// callable runs on the timeout's thread, in a copy of the calling thread's `contextvars`
/// context (so an async caller's event loop is found), and a late answer refuses the call.
struct PyApprover {
    callable: Py<PyAny>,
}

impl PyApprover {
    /// The answer of the Python side's approver, which bounds it by the guard's approval
    /// timeout itself (on a daemon thread, which never outlives the interpreter's exit).
    fn decide(
        &self,
        request: &agentwarrant::ApprovalRequest,
    ) -> Result<ApprovalAnswer, ApproverError> {
        Python::attach(|py| ask(py, &self.callable, request))
    }
}

/// Calls `callable(request)` and reads its answer.
fn ask(
    py: Python<'_>,
    callable: &Py<PyAny>,
    request: &agentwarrant::ApprovalRequest,
) -> Result<ApprovalAnswer, ApproverError> {
    let request = ApprovalRequest(request.clone());
    let answer = callable
        .bind(py)
        .call1((request,))
        .map_err(|e| ApproverError::new(format!("the approver raised: {e}")))?;
    interpret(&answer)
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
        ("error", 2) | ("timeout", 2) => {
            let message: String = tuple
                .get_item(1)
                .and_then(|a| a.extract())
                .map_err(|_| garbage())?;
            Err(if tag == "timeout" {
                ApproverError::timeout(message)
            } else {
                ApproverError::new(message)
            })
        }
        _ => Err(garbage()),
    }
}

/// The native guard, built once. Tools may be declared later (decorators run at import time,
/// adapters at wrap time): tasks already running can call them at once. Every fact about a
/// tool is the Rust guard's: this class keeps no table of its own.
#[pyclass(frozen, module = "agentwarrant._native")]
pub(crate) struct GuardCore {
    guard: agentwarrant::Guard,
    default_tool: Option<ToolSpec>,
    ledger_object: Py<PyAny>,
}

fn seconds(py: Python<'_>, value: Option<f64>, what: &str) -> PyResult<Option<Duration>> {
    value.map(|s| duration(py, s, what)).transpose()
}

/// `s` seconds as a duration; `ConfigError` (`invalid_limits`) naming `what` otherwise.
fn duration(py: Python<'_>, s: f64, what: &str) -> PyResult<Duration> {
    Duration::try_from_secs_f64(s).map_err(|_| {
        raise_code(
            py,
            Class::ConfigError,
            &format!("`{what}` must be a positive number of seconds, got {s}"),
            "invalid_limits",
        )
    })
}

/// The Rust ledger of a `ledger=` argument, and the Python object that `Guard.ledger` returns.
///
/// A path is opened here, once: a `FileLedger` holds its file's lock for as long as it lives,
/// so a second writer on the same path (another `Guard(ledger=path)`) fails with `LedgerError`.
fn ledger(
    py: Python<'_>,
    ledger: Option<&Bound<'_, PyAny>>,
) -> PyResult<(Arc<dyn Ledger>, Py<PyAny>)> {
    let Some(object) = ledger else {
        let memory = MemoryLedger::new();
        let inner = memory.inner.clone();
        return Ok((inner, Py::new(py, memory)?.into_any()));
    };
    if let Ok(memory) = object.downcast::<MemoryLedger>() {
        Ok((memory.get().inner.clone(), object.clone().unbind()))
    } else if let Ok(file) = object.downcast::<FileLedger>() {
        Ok((file.get().inner.clone(), object.clone().unbind()))
    } else if let Ok(path) = object.extract::<PathBuf>() {
        let file = FileLedger::open(py, path, false)?;
        let inner = file.inner.clone();
        Ok((inner, Py::new(py, file)?.into_any()))
    } else {
        Err(PyTypeError::new_err(
            "`ledger` must be a MemoryLedger, a FileLedger or a path",
        ))
    }
}

/// The ticket and the call a paused call is taken up with: a `Ticket` with its own call (or
/// the call presented again through `tool`/`args`), or a ticket id with `tool` and `args`.
fn paused_call(
    py: Python<'_>,
    ticket: &Bound<'_, PyAny>,
    tool: Option<String>,
    args: Option<&Bound<'_, PyAny>>,
    parent: Option<PyRef<'_, Warrant>>,
) -> PyResult<(agentwarrant::TicketId, agentwarrant::ToolCall)> {
    let presented = |tool: String| match args {
        Some(args) => tool_call(tool, args, parent),
        None => tool_call(tool, &PyDict::new(py), parent),
    };
    match (ticket.downcast::<Ticket>(), tool) {
        (Ok(ticket), None) => Ok((ticket.get().0.id(), ticket.get().0.call().clone())),
        (Ok(ticket), Some(tool)) => Ok((ticket.get().0.id(), presented(tool)?)),
        (Err(_), Some(tool)) => Ok((ticket_id(&ticket.extract::<String>()?), presented(tool)?)),
        (Err(_), None) => Err(PyTypeError::new_err(
            "a ticket id needs the call it resumes: pass `tool` and `args`",
        )),
    }
}

#[pymethods]
impl GuardCore {
    #[new]
    #[pyo3(signature = (*, policy_dir = None, tools = Vec::new(), default_tool = None,
        approver = None, ledger = None, env = "dev".to_owned(),
        policy_limits = None, grant_ttl_s = None, approval_ttl_s = None, clock = None,
        jwt_key = None, jwt_kid = None, jwt_issuer = None, jwt_audience = None,
        record_policy_inputs = true, redact_secrets = true, credential_broker = None,
        trust_chain_keys = Vec::new(), policy_data = None))]
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
        jwt_key: Option<Vec<u8>>,
        jwt_kid: Option<String>,
        jwt_issuer: Option<String>,
        jwt_audience: Option<String>,
        record_policy_inputs: bool,
        redact_secrets: bool,
        credential_broker: Option<Py<PyAny>>,
        trust_chain_keys: Vec<Bound<'_, PyAny>>,
        policy_data: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let mut policy = match &policy_dir {
            Some(dir) => Policy::from_dir(dir).map_err(|e| build_error(py, &e))?,
            None => Policy::default_bundle(),
        };
        if let Some(data) = policy_data {
            policy = policy
                .with_data(to_json(data, "policy_data")?)
                .map_err(|e| build_error(py, &e))?;
        }
        let mut limits = Limits::default();
        if let Some(ttl) = seconds(py, grant_ttl_s, "grant_ttl_s")? {
            limits.grant_ttl = ttl;
        }
        if let Some(ttl) = seconds(py, approval_ttl_s, "approval_ttl_s")? {
            limits.approval_ttl = ttl;
        }
        if let Some(value) = policy_limits {
            limits = limits
                .with_policy_json(&to_json(value, "policy_limits")?)
                .map_err(|e| {
                    raise_code(
                        py,
                        Class::ConfigError,
                        &format!("policy_limits: {e}"),
                        "invalid_limits",
                    )
                })?;
        }
        let (ledger, ledger_object) = self::ledger(py, ledger)?;
        let mut builder = agentwarrant::Guard::builder()
            .policy(policy)
            .ledger(ledger)
            .limits(limits)
            .env(env)
            .record_policy_inputs(record_policy_inputs);
        if !redact_secrets {
            builder = builder.redaction(agentwarrant::Redaction::off());
        }
        if let Some(broker) = credential_broker {
            builder = builder.credential_broker(crate::credential::PyBroker::new(py, broker)?);
        }
        for jwks in &trust_chain_keys {
            builder = builder.trust_chain_keys(crate::jwt::jwks(py, jwks)?);
        }

        if let Some(approver) = approver {
            if !approver.bind(py).is_callable() {
                return Err(PyTypeError::new_err("`approver` must be callable"));
            }
            let approver = PyApprover { callable: approver };
            builder = builder
                .approver(move |request: &agentwarrant::ApprovalRequest| approver.decide(request));
        }
        if let Some(clock) = clock {
            builder = builder.clock(clock.inner.clone());
        }
        if let Some(default) = &default_tool {
            builder = builder.default_tool(default.0.clone());
        }
        if let Some(seed) = jwt_key {
            let key = signing_key(py, &seed, jwt_kid)?;
            builder = builder.jwt_keys(agentwarrant::JwtKeys::new(key));
        } else if jwt_kid.is_some() {
            return Err(raise_code(
                py,
                Class::ConfigError,
                "`jwt_kid` names the key given as `jwt_key`; give both",
                "invalid_jwt_key",
            ));
        }
        if let Some(issuer) = jwt_issuer {
            builder = builder.jwt_issuer(issuer);
        }
        if let Some(audience) = jwt_audience {
            builder = builder.jwt_audience(audience);
        }
        builder = builder.tools(tools.into_iter().map(|spec| spec.0));
        // A bad policy fails here, at start-up, never per call.
        let guard = py
            .detach(|| builder.build())
            .map_err(|e| build_error(py, &e))?;
        Ok(Self {
            guard,
            default_tool,
            ledger_object,
        })
    }

    /// Declares a tool; tasks already running can call it at once. Declaring an equal spec
    /// again is harmless; another spec under a declared name is a `ConfigError`
    /// (`duplicate_tool`), as in Rust.
    fn add_tool(&self, py: Python<'_>, spec: ToolSpec) -> PyResult<()> {
        self.guard
            .declare_tool(spec.0)
            .map_err(|e| build_error(py, &e))
    }

    /// The kill switch: every later call of identity `id`, and of tasks delegated from its
    /// tasks, is refused (`identity_disabled`), including in tasks already running.
    fn disable_identity(&self, id: &str) {
        self.guard.disable_identity(id);
    }

    /// Switches a disabled identity back on.
    fn enable_identity(&self, id: &str) {
        self.guard.enable_identity(id);
    }

    /// The ids of ended tasks' credentials the broker failed to revoke.
    #[getter]
    fn unrevoked_credentials(&self) -> Vec<String> {
        self.guard.unrevoked_credentials()
    }

    /// Tries again to revoke them; returns the ids still unrevoked.
    fn retry_revocations(&self, py: Python<'_>) -> Vec<String> {
        let guard = &self.guard;
        py.detach(|| guard.retry_revocations())
    }

    /// The spec of a declared tool.
    fn tool(&self, name: &str) -> Option<ToolSpec> {
        self.guard.tool(name).map(ToolSpec)
    }

    /// The declared tools, by name.
    #[getter]
    fn tools(&self) -> Vec<ToolSpec> {
        self.guard.tools().into_iter().map(ToolSpec).collect()
    }

    #[getter]
    fn default_tool(&self) -> Option<ToolSpec> {
        self.default_tool.clone()
    }

    #[getter]
    fn env(&self) -> &str {
        self.guard.env()
    }

    #[getter]
    fn policy_digest(&self) -> &str {
        self.guard.policy().digest().as_str()
    }

    /// `"rvm"` or `"interpreter"`: the regorus evaluator the policy runs on.
    #[getter]
    fn policy_evaluator(&self) -> &'static str {
        self.guard.policy().backend().as_str()
    }

    /// Why the policy runs on the interpreter, naming the module and line; `None` on the RVM.
    #[getter]
    fn interpreter_reason(&self) -> Option<&str> {
        self.guard.policy().interpreter_reason()
    }

    #[getter]
    fn ledger(&self, py: Python<'_>) -> Py<PyAny> {
        self.ledger_object.clone_ref(py)
    }

    /// The deferred approval requests waiting for an answer, oldest first.
    fn waiting(&self, py: Python<'_>) -> PyResult<Vec<Ticket>> {
        let tickets = self
            .guard
            .approvals()
            .waiting()
            .map_err(|e| store_error(py, &e))?;
        Ok(tickets.into_iter().map(Ticket).collect())
    }

    /// Approves a waiting request as each of `approvers`, granting `standing` when given.
    #[pyo3(signature = (ticket, approvers, standing = None))]
    fn approve(
        &self,
        py: Python<'_>,
        ticket: &str,
        approvers: Vec<String>,
        standing: Option<Standing>,
    ) -> PyResult<()> {
        let names: Vec<&str> = approvers.iter().map(String::as_str).collect();
        self.guard
            .approvals()
            .approve_with(ticket_id(ticket), &names, standing.map(|s| s.0))
            .map_err(|e| store_error(py, &e))
    }

    /// Refuses a waiting request, as `by` when known.
    #[pyo3(signature = (ticket, by = None, reason = None))]
    fn deny(
        &self,
        py: Python<'_>,
        ticket: &str,
        by: Option<String>,
        reason: Option<String>,
    ) -> PyResult<()> {
        let answer = ApprovalAnswer::Denied { by, reason };
        self.guard
            .approvals()
            .answer(ticket_id(ticket), answer)
            .map_err(|e| store_error(py, &e))
    }

    /// The public keys of the guard's JWTs, as a JWKS dict (RFC 7517).
    fn jwks<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &self.guard.jwks().to_json())
    }

    /// Verifies a grant token with the guard's keys, issuer, audience, clock and revocation
    /// store, and that it covers `required_scope`; returns its claims. Raises `JwtError`.
    fn verify_grant<'py>(
        &self,
        py: Python<'py>,
        token: &str,
        required_scope: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        let verifier = self.guard.jwt_verifier();
        let claims = py
            .detach(|| verifier.verify_grant(token, required_scope))
            .map_err(|e| jwt_error(py, &e))?;
        serde_to_py(py, &claims)
    }

    /// Verifies a call token with the guard's keys and revocation store, and that it was
    /// issued for `tool` with exactly `args`; returns its claims. Raises `JwtError`.
    fn verify_call<'py>(
        &self,
        py: Python<'py>,
        token: &str,
        tool: &str,
        args: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let args = args_to_json(tool, args)?;
        let verifier = self.guard.jwt_verifier();
        let claims = py
            .detach(|| verifier.verify_call(token, tool, &args))
            .map_err(|e| jwt_error(py, &e))?;
        serde_to_py(py, &claims)
    }

    /// Signs new tokens with the key of the 32-byte seed `key` (under `kid`); the old key
    /// stays in the JWKS until retired.
    #[pyo3(signature = (key, kid = None))]
    fn rotate_jwt_key(&self, py: Python<'_>, key: Vec<u8>, kid: Option<String>) -> PyResult<()> {
        self.guard.rotate_jwt_key(signing_key(py, &key, kid)?);
        Ok(())
    }

    /// Removes a rotated-out key from the JWKS; returns whether one was removed.
    fn retire_jwt_key(&self, kid: &str) -> bool {
        self.guard.retire_jwt_key(kid)
    }

    /// Begins a task: issues its grant and records `task.begun` and `grant.issued`; the
    /// task's own limits, when given, apply over the guard's.
    #[pyo3(signature = (identity, intent, *, max_calls = None, max_impact_total = None, grant_ttl_s = None))]
    fn begin(
        &self,
        py: Python<'_>,
        identity: &Identity,
        intent: &Intent,
        max_calls: Option<u64>,
        max_impact_total: Option<u32>,
        grant_ttl_s: Option<f64>,
    ) -> PyResult<TaskCore> {
        let mut limits = agentwarrant::TaskLimits::new();
        if let Some(calls) = max_calls {
            limits = limits.max_calls(calls);
        }
        if let Some(total) = max_impact_total {
            limits = limits.max_impact_total(total);
        }
        if let Some(ttl) = seconds(py, grant_ttl_s, "grant_ttl")? {
            limits = limits.grant_ttl(ttl);
        }
        let (identity, intent) = (identity.0.clone(), intent.0.clone());
        let guard = &self.guard;
        let task = py
            .detach(|| guard.begin_with(identity, intent, limits))
            .map_err(|e| error(py, &e))?;
        Ok(TaskCore::new(task))
    }

    /// Continues a chain handed on by another process's `chain_token()` as a task of
    /// `identity` under `intent` (default: the handed goal and scopes); raises `TaskError`
    /// (`chain_token_invalid`).
    #[pyo3(signature = (token, identity, intent = None))]
    fn resume_chain(
        &self,
        py: Python<'_>,
        token: &str,
        identity: &Identity,
        intent: Option<&Intent>,
    ) -> PyResult<TaskCore> {
        let (identity, intent) = (identity.0.clone(), intent.map(|i| i.0.clone()));
        let guard = &self.guard;
        let task = py
            .detach(|| guard.resume_chain(token, identity, intent))
            .map_err(|e| error(py, &e))?;
        Ok(TaskCore::new(task))
    }
}

/// The native task. Its calls run concurrently; `end` revokes the grant. Whether it has
/// ended is the Rust task's state: a call after `end` goes to the engine, which refuses it
/// (`grant_invalid`) and records the attempt, as in Rust.
#[pyclass(frozen, module = "agentwarrant._native")]
pub(crate) struct TaskCore {
    task: agentwarrant::Task,
}

impl TaskCore {
    fn new(task: agentwarrant::Task) -> Self {
        Self { task }
    }
}

/// The Rust call for `tool(args)`, made while `parent` runs.
fn tool_call(
    tool: String,
    args: &Bound<'_, PyAny>,
    parent: Option<PyRef<'_, Warrant>>,
) -> PyResult<ToolCall> {
    let args = args_to_json(&tool, args)?;
    let call = ToolCall::new(tool, args);
    Ok(match parent {
        Some(parent) => call.child_of(parent.call_id),
        None => call,
    })
}

#[pymethods]
impl TaskCore {
    #[getter]
    fn id(&self) -> String {
        self.task.id().to_string()
    }
    #[getter]
    fn identity(&self) -> Identity {
        Identity(self.task.identity().clone())
    }
    #[getter]
    fn intent(&self) -> Intent {
        Intent(self.task.intent().clone())
    }
    /// The scopes of the task's grant (intent ∩ ceiling).
    #[getter]
    fn grant_scopes(&self) -> Vec<String> {
        self.task.grant().scopes().to_vec()
    }
    /// The task's just-in-time credential from the guard's broker (`None` without one, and
    /// once the task ended).
    #[getter]
    fn credential(&self) -> Option<crate::credential::Credential> {
        self.task.credential().map(crate::credential::Credential)
    }
    /// When the task's grant expires, as Unix seconds (later after a renewal).
    #[getter]
    fn grant_expires_at(&self) -> f64 {
        unix_seconds(self.task.grant().expires_at())
    }
    /// Whether `end` was called (the Rust task's own state).
    #[getter]
    fn ended(&self) -> bool {
        self.task.is_ended()
    }

    /// Authorizes one call; raises `Denied`, `ApprovalDenied` or `ApprovalRequired`.
    ///
    /// The args are converted with the GIL held; the GIL is released while the engine works
    /// (an approver reacquires it).
    #[pyo3(signature = (tool, args, parent = None))]
    fn authorize(
        &self,
        py: Python<'_>,
        tool: String,
        args: &Bound<'_, PyAny>,
        parent: Option<PyRef<'_, Warrant>>,
    ) -> PyResult<Warrant> {
        let call = tool_call(tool, args, parent)?;
        let task = &self.task;
        match py.detach(|| task.authorize(call)) {
            Ok(warrant) => Ok(Warrant::new(warrant)),
            Err(refused) => Err(refusal(py, refused)),
        }
    }

    /// Like `authorize`, but a call that needs approval returns a `Ticket` instead of asking
    /// the approver: the run pauses until someone answers (`GuardCore.approve` / `deny`).
    #[pyo3(signature = (tool, args, parent = None))]
    fn submit(
        &self,
        py: Python<'_>,
        tool: String,
        args: &Bound<'_, PyAny>,
        parent: Option<PyRef<'_, Warrant>>,
    ) -> PyResult<Py<PyAny>> {
        let call = tool_call(tool, args, parent)?;
        let task = &self.task;
        match py.detach(|| task.submit(call)) {
            Ok(outcome) => authorization(py, outcome),
            Err(refused) => Err(refusal(py, refused)),
        }
    }

    /// Takes up a call paused by `submit`: its `Warrant` once the answer is in and valid, the
    /// same `Ticket` while no one has answered; raises the refusal otherwise. `ticket` is a
    /// `Ticket` (its own call is resumed unless `tool`/`args` present the call again) or a
    /// ticket id (then `tool` and `args` are required).
    #[pyo3(signature = (ticket, tool = None, args = None, parent = None))]
    fn resume(
        &self,
        py: Python<'_>,
        ticket: &Bound<'_, PyAny>,
        tool: Option<String>,
        args: Option<&Bound<'_, PyAny>>,
        parent: Option<PyRef<'_, Warrant>>,
    ) -> PyResult<Py<PyAny>> {
        let (id, call) = paused_call(py, ticket, tool, args, parent)?;
        let task = &self.task;
        match py.detach(|| task.resume(id, call)) {
            Ok(outcome) => authorization(py, outcome),
            Err(refused) => Err(refusal(py, refused)),
        }
    }

    /// `resume`, after waiting up to `timeout_s` seconds (never past the request's expiry)
    /// for someone to answer; the GIL is released while it waits.
    #[pyo3(signature = (ticket, timeout_s, tool = None, args = None, parent = None))]
    fn wait_for(
        &self,
        py: Python<'_>,
        ticket: &Bound<'_, PyAny>,
        timeout_s: f64,
        tool: Option<String>,
        args: Option<&Bound<'_, PyAny>>,
        parent: Option<PyRef<'_, Warrant>>,
    ) -> PyResult<Py<PyAny>> {
        let timeout = duration(py, timeout_s, "timeout_s")?;
        let (id, call) = paused_call(py, ticket, tool, args, parent)?;
        let task = &self.task;
        match py.detach(|| task.wait_for(id, call, timeout)) {
            Ok(outcome) => authorization(py, outcome),
            Err(refused) => Err(refusal(py, refused)),
        }
    }

    /// Takes up the call of `ticket` with an answer the caller obtained itself, in the
    /// approver protocol (`("approved", [...])`, `("denied", by, reason)`, `("error", message)`
    /// or `("timeout", message)`): its `Warrant`, or raises the refusal.
    fn resume_with(
        &self,
        py: Python<'_>,
        ticket: PyRef<'_, Ticket>,
        answer: &Bound<'_, PyAny>,
    ) -> PyResult<Py<PyAny>> {
        let answer = interpret(answer);
        let (id, call) = (ticket.0.id(), ticket.0.call().clone());
        let task = &self.task;
        match py.detach(|| task.resume_with(id, call, answer)) {
            Ok(outcome) => authorization(py, outcome),
            Err(refused) => Err(refusal(py, refused)),
        }
    }

    /// This task's calls waiting for an answer, oldest first.
    fn pending(&self) -> Vec<Ticket> {
        self.task.pending().into_iter().map(Ticket).collect()
    }

    /// What the guard would decide for this call, without deciding it (nothing counted, no
    /// approver asked, nothing recorded), as a dict: `tool`, `effect`, `reasons` and `also`
    /// (each `code`, `description`, `detail`), `refused` (the engine's reason before the
    /// policy, or None), `scopes` (scope → band), `input` (the policy input) and `text`.
    #[pyo3(signature = (tool, args, parent = None))]
    fn explain<'py>(
        &self,
        py: Python<'py>,
        tool: String,
        args: &Bound<'py, PyAny>,
        parent: Option<PyRef<'_, Warrant>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let call = tool_call(tool, args, parent)?;
        let task = &self.task;
        let why = py.detach(|| task.explain(&call));
        let reason = |r: &agentwarrant::Reason| serde_json::json!({"code": r.code.as_str(), "description": r.code.describe(), "detail": r.detail});
        let decided = why.decision.as_ref();
        let value = serde_json::json!({
            "tool": why.tool,
            "effect": why.effect().as_str(),
            "reasons": decided.map_or_else(Vec::new, |d| d.reasons.iter().map(reason).collect()),
            "also": decided.map_or_else(Vec::new, |d| d.also.iter().map(reason).collect()),
            "refused": why.refused.as_ref().map(reason),
            "scopes": why.scopes.iter().map(|(scope, band)| (scope.clone(), serde_json::Value::from(*band))).collect::<serde_json::Map<_, _>>(),
            "input": why.input,
            "text": why.to_string(),
        });
        to_py(py, &value)
    }

    /// Delegates a sub-task to `identity`, narrowed by its ceiling and by `intent`.
    #[pyo3(signature = (identity, intent = None))]
    fn delegate(
        &self,
        py: Python<'_>,
        identity: &Identity,
        intent: Option<&Intent>,
    ) -> PyResult<TaskCore> {
        let (identity, intent) = (identity.0.clone(), intent.map(|i| i.0.clone()));
        let task = &self.task;
        let sub = py
            .detach(|| task.delegate(identity, intent))
            .map_err(|e| error(py, &e))?;
        Ok(TaskCore::new(sub))
    }

    /// The task's grant as a JWT (EdDSA); raises `TaskError` (`task_ended`) once it ended.
    fn grant_token(&self, py: Python<'_>) -> PyResult<String> {
        self.task.grant_token().map_err(|e| error(py, &e))
    }

    /// The task's chain as a token (`aw-chain+jwt`) for another process, handing on the
    /// grant's scopes or only `scopes`; raises `TaskError` (`chain_token_invalid`,
    /// `task_ended`).
    #[pyo3(signature = (scopes = None))]
    fn chain_token(&self, py: Python<'_>, scopes: Option<Vec<String>>) -> PyResult<String> {
        match scopes {
            None => self.task.chain_token(),
            Some(scopes) => self.task.chain_token_for(scopes),
        }
        .map_err(|e| error(py, &e))
    }

    /// The labels the task's chain holds now, sorted.
    #[getter]
    fn chain_labels(&self) -> Vec<String> {
        self.task.chain_labels()
    }

    /// Clears `label` from the task tree, stating `reason`, through the policy (and its
    /// approver where the policy asks); raises the refusal.
    fn declassify(&self, py: Python<'_>, label: &str, reason: &str) -> PyResult<()> {
        let task = &self.task;
        py.detach(|| task.declassify(label, reason))
            .map_err(|refused| refusal(py, refused))
    }

    /// Renews the task's grant for `ttl_s` seconds from now, through the policy (and its
    /// approver where the policy asks); returns the new expiry as Unix seconds, raises the
    /// refusal.
    fn renew_grant(&self, py: Python<'_>, ttl_s: f64) -> PyResult<f64> {
        let ttl = duration(py, ttl_s, "ttl")?;
        let task = &self.task;
        match py.detach(|| task.renew_grant(ttl)) {
            Ok(until) => Ok(unix_seconds(until)),
            Err(refused) => Err(refusal(py, refused)),
        }
    }

    /// Asks for an escalation under `identity` (role escalation): `scopes` for `ttl_s`
    /// seconds, approved under four eyes. Returns the escalated task; raises the refusal.
    fn escalate(
        &self,
        py: Python<'_>,
        identity: &Identity,
        scopes: Vec<String>,
        ttl_s: f64,
        reason: &str,
    ) -> PyResult<TaskCore> {
        let ttl = duration(py, ttl_s, "ttl")?;
        let (task, identity) = (&self.task, identity.0.clone());
        match py.detach(|| task.escalate(identity, scopes, ttl, reason)) {
            Ok(escalated) => Ok(TaskCore::new(escalated)),
            Err(refused) => Err(refusal(py, refused)),
        }
    }

    /// Ends the task: revokes its grant (and delegated ones). Ending twice is harmless;
    /// warrants already issued can still complete.
    fn end(&self, py: Python<'_>) -> PyResult<()> {
        let task = &self.task;
        py.detach(|| task.end()).map_err(|e| error(py, &e))
    }

    fn __repr__(&self) -> String {
        format!(
            "TaskCore({:?}, identity={:?})",
            self.task.id().to_string(),
            self.task.identity().id()
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

    /// Runs `f` on the warrant while it is not completed; `TaskError` (`warrant_used`) after.
    fn with_live<T>(
        &self,
        py: Python<'_>,
        what: &str,
        f: impl FnOnce(&agentwarrant::Warrant) -> PyResult<T>,
    ) -> PyResult<T> {
        let warrant = self
            .warrant
            .lock()
            .map_err(|_| PyRuntimeError::new_err("warrant state is poisoned"))?;
        match warrant.as_ref() {
            Some(warrant) => f(warrant),
            None => Err(raise_code(
                py,
                Class::TaskError,
                &format!(
                    "the warrant of call `{}` was already completed: {what} before",
                    self.call_id
                ),
                "warrant_used",
            )),
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

    /// This call as a JWT (EdDSA, `typ` `aw-call+jwt`) bound to its tool and exact args, for
    /// a downstream service; raises `TaskError` (`warrant_used`) once the warrant completed.
    fn jwt(&self, py: Python<'_>) -> PyResult<String> {
        self.with_live(py, "take its JWT", |w| Ok(w.jwt()))
    }

    /// The chain as a token (`aw-chain+jwt`) for the tool this warrant authorizes when it
    /// runs in another process, whose guard continues it with `guard.resume_chain`; raises
    /// `TaskError` (`warrant_used`) once the warrant completed.
    fn chain_token(&self, py: Python<'_>) -> PyResult<String> {
        self.with_live(py, "take its chain token", |w| {
            w.chain_token().map_err(|e| error(py, &e))
        })
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
                Class::TaskError,
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

/// `at` as Unix seconds (with the fraction), as Python's `datetime.fromtimestamp` takes it.
pub(crate) fn unix_seconds(at: time::OffsetDateTime) -> f64 {
    // Nanoseconds since 1970 fit an f64 to well under a microsecond for any grant's lifetime.
    at.unix_timestamp_nanos() as f64 / 1e9
}
