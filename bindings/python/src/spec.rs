//! The configuration nouns: `ToolSpec`, `Identity`, `Intent`.

use agentwarrant::{Impact, Role};
use pyo3::prelude::*;
use serde_json::{Map, Value as Json};

use crate::convert::{map_to_py, to_json};
use crate::errors::{build_error, raise_code, Class};

/// `text` as an impact; a `ConfigError` (the error's code, `invalid_impact`) naming `what` and the accepted
/// names otherwise.
fn impact(py: Python<'_>, text: &str, what: &str) -> PyResult<Impact> {
    text.parse().map_err(|e: agentwarrant::ParseImpactError| {
        raise_code(py, Class::ConfigError, &format!("{what}: {e}"), e.code())
    })
}

/// `text` as a role; a `ConfigError` (the error's code, `invalid_role`) naming `what` and the accepted names
/// otherwise.
fn role(py: Python<'_>, text: &str, what: &str) -> PyResult<Role> {
    text.parse().map_err(|e: agentwarrant::ParseRoleError| {
        raise_code(py, Class::ConfigError, &format!("{what}: {e}"), e.code())
    })
}

fn attributes(value: Option<&Bound<'_, PyAny>>, what: &str) -> PyResult<Map<String, Json>> {
    match value {
        None => Ok(Map::new()),
        Some(value) => match to_json(value, what)? {
            Json::Object(map) => Ok(map),
            _ => Err(pyo3::exceptions::PyTypeError::new_err(format!(
                "`{what}` must be a dict"
            ))),
        },
    }
}

// The Rust spec itself, `result_labels` included, so the guard and Python read one set of facts.
/// What a tool is and how risky it is; the policy decides each call from it.
///
/// - ``name``: the tool's name, as the agent calls it.
/// - ``impact``: ``"low"``, ``"medium"``, ``"high"`` or ``"critical"`` (required).
/// - ``reversible``: whether the effect can be undone (default ``True``; ``False`` needs approval).
/// - ``external``: whether it crosses the organisation's boundary (default ``False``).
/// - ``sink``: whether it sends data out (default ``False``); an external sink after a secret
///   read is ``exfiltration``.
/// - ``reads``: labels of what it reads, e.g. ``"secret"``, ``"pii"``, ``"untrusted"`` (default none).
/// - ``tags``: free tags; the default bundle knows ``"rbac"`` and ``"financial"`` (default none).
/// - ``roles``: the identity roles that may call it (default ``None``: any role).
/// - ``scopes``: scope templates filled from the call's args, e.g. ``"email.send:{to:email}"``
///   (default none; see ``docs/templates.md``).
/// - ``destination_arg``: the arg naming the external destination (default ``None``).
/// - ``sensitive_args``: args redacted in the ledger; they may not fill a scope (default none).
/// - ``result_labels``: labels every result carries, e.g. ``"untrusted"`` for fetched web
///   pages (default none).
///
/// A malformed spec (a bad template, an unknown placeholder type) raises ``ConfigError``
/// (``invalid_tool``).
#[pyclass(frozen, module = "agentwarrant._native")]
#[derive(Clone)]
pub(crate) struct ToolSpec(pub(crate) agentwarrant::ToolSpec);

#[pymethods]
impl ToolSpec {
    #[new]
    #[pyo3(signature = (name, *, impact, reversible = true, external = false, sink = false,
        reads = Vec::new(), tags = Vec::new(), roles = None, scopes = Vec::new(),
        destination_arg = None, sensitive_args = Vec::new(), result_labels = Vec::new()),
        text_signature = "(name, *, impact, reversible=True, external=False, sink=False, reads=(), tags=(), roles=None, scopes=(), destination_arg=None, sensitive_args=(), result_labels=())")]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        name: String,
        impact: &str,
        reversible: bool,
        external: bool,
        sink: bool,
        reads: Vec<String>,
        tags: Vec<String>,
        roles: Option<Vec<String>>,
        scopes: Vec<String>,
        destination_arg: Option<String>,
        sensitive_args: Vec<String>,
        result_labels: Vec<String>,
    ) -> PyResult<Self> {
        let what = format!("tool `{name}`");
        let impact = self::impact(py, impact, &what)?;
        let mut builder = agentwarrant::ToolSpec::builder(name, impact)
            .reversible(reversible)
            .external(external)
            .sink(sink)
            .reads(reads)
            .tags(tags)
            .scopes(scopes)
            .sensitive_args(sensitive_args)
            .result_labels(result_labels);
        if let Some(roles) = roles {
            let roles = roles
                .iter()
                .map(|r| role(py, r, &what))
                .collect::<PyResult<Vec<_>>>()?;
            builder = builder.roles(roles);
        }
        if let Some(arg) = destination_arg {
            builder = builder.destination_arg(arg);
        }
        builder.build().map(Self).map_err(|e| build_error(py, &e))
    }

    /// The same spec under another name (for a default spec applied to a named tool).
    fn with_name(&self, py: Python<'_>, name: String) -> PyResult<Self> {
        self.0
            .renamed(name)
            .map(Self)
            .map_err(|e| build_error(py, &e))
    }

    /// The tool's name.
    #[getter]
    fn name(&self) -> &str {
        self.0.name()
    }
    /// ``"low"``, ``"medium"``, ``"high"`` or ``"critical"``.
    #[getter]
    fn impact(&self) -> &'static str {
        self.0.impact().as_str()
    }
    /// Whether the effect can be undone.
    #[getter]
    fn reversible(&self) -> bool {
        self.0.reversible()
    }
    /// Whether the tool crosses the organisation's boundary.
    #[getter]
    fn external(&self) -> bool {
        self.0.external()
    }
    /// Whether the tool sends data out.
    #[getter]
    fn sink(&self) -> bool {
        self.0.sink()
    }
    /// Labels of what the tool reads (``secret``, ``pii``, ``untrusted``, ...).
    #[getter]
    fn reads(&self) -> Vec<String> {
        self.0.reads().to_vec()
    }
    /// Free tags (the default bundle knows ``rbac`` and ``financial``).
    #[getter]
    fn tags(&self) -> Vec<String> {
        self.0.tags().to_vec()
    }
    /// The identity roles that may call the tool; ``None``: any.
    #[getter]
    fn roles(&self) -> Option<Vec<&'static str>> {
        self.0
            .roles()
            .map(|r| r.iter().map(|r| r.as_str()).collect())
    }
    /// The scope templates, filled from each call's args.
    #[getter]
    fn scopes(&self) -> Vec<&str> {
        self.0.scopes().collect()
    }
    /// The arg naming the external destination, if any.
    #[getter]
    fn destination_arg(&self) -> Option<&str> {
        self.0.destination_arg()
    }
    /// Args redacted in the ledger.
    #[getter]
    fn sensitive_args(&self) -> Vec<String> {
        self.0.sensitive_args().map(str::to_owned).collect()
    }
    /// Labels every result of the tool carries.
    #[getter]
    fn result_labels(&self) -> Vec<String> {
        self.0.result_labels().to_vec()
    }

    fn __repr__(&self) -> String {
        format!(
            "ToolSpec({:?}, impact={:?})",
            self.0.name(),
            self.0.impact().as_str()
        )
    }
}

/// A non-human identity with its accountable human owner.
///
/// - ``id``: a URI-like id, e.g. ``"agent://acme/support-bot"``.
/// - ``owner``: the accountable human.
/// - ``role``: ``"orchestrator"``, ``"executor"`` (default) or ``"escalation"``.
/// - ``ceiling``: the scope patterns this identity may ever hold (default none: every scoped
///   call is ``outside_ceiling``).
/// - ``attributes``: free JSON attributes the policy sees (default none).
#[pyclass(frozen, module = "agentwarrant._native")]
#[derive(Clone)]
pub(crate) struct Identity(pub(crate) agentwarrant::Identity);

#[pymethods]
impl Identity {
    #[new]
    #[pyo3(signature = (id, *, owner, role = "executor", ceiling = Vec::new(), attributes = None),
        text_signature = "(id, *, owner, role='executor', ceiling=(), attributes=None)")]
    fn new(
        py: Python<'_>,
        id: String,
        owner: String,
        role: &str,
        ceiling: Vec<String>,
        attributes: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let role = self::role(py, role, &format!("identity `{id}`"))?;
        let attributes = self::attributes(attributes, "attributes")?;
        agentwarrant::Identity::builder(id, role, owner)
            .ceiling(ceiling)
            .attributes(attributes)
            .build()
            .map(Self)
            .map_err(|e| build_error(py, &e))
    }

    /// The identity's id.
    #[getter]
    fn id(&self) -> &str {
        self.0.id()
    }
    /// The accountable human owner.
    #[getter]
    fn owner(&self) -> &str {
        self.0.owner()
    }
    /// ``"orchestrator"``, ``"executor"`` or ``"escalation"``.
    #[getter]
    fn role(&self) -> &'static str {
        self.0.role().as_str()
    }
    /// The scope patterns this identity may ever hold.
    #[getter]
    fn ceiling(&self) -> Vec<String> {
        self.0.ceiling().to_strings()
    }
    /// Free JSON attributes the policy sees.
    #[getter]
    fn attributes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        map_to_py(py, self.0.attributes())
    }

    fn __repr__(&self) -> String {
        format!(
            "Identity({:?}, owner={:?}, role={:?})",
            self.0.id(),
            self.0.owner(),
            self.0.role().as_str()
        )
    }
}

/// What a task was asked to do: drift is measured against it.
///
/// - ``goal``: the request, in words.
/// - ``scopes``: the scope patterns the task needs, e.g. ``["logs.read:*"]`` (default none:
///   every scoped call then drifts and needs approval).
/// - ``max_impact``: the highest impact the task expects (default ``None``: no limit); a call
///   above it is ``impact_drift``.
/// - ``attributes``: free JSON attributes the policy sees (default none).
#[pyclass(frozen, module = "agentwarrant._native")]
#[derive(Clone)]
pub(crate) struct Intent(pub(crate) agentwarrant::Intent);

#[pymethods]
impl Intent {
    #[new]
    #[pyo3(signature = (goal, *, scopes = Vec::new(), max_impact = None, attributes = None),
        text_signature = "(goal, *, scopes=(), max_impact=None, attributes=None)")]
    fn new(
        py: Python<'_>,
        goal: String,
        scopes: Vec<String>,
        max_impact: Option<&str>,
        attributes: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let attributes = self::attributes(attributes, "attributes")?;
        let mut builder = agentwarrant::Intent::builder(goal)
            .scopes(scopes)
            .attributes(attributes);
        if let Some(max) = max_impact {
            builder = builder.max_impact(impact(py, max, "intent")?);
        }
        builder.build().map(Self).map_err(|e| build_error(py, &e))
    }

    /// The request, in words.
    #[getter]
    fn goal(&self) -> &str {
        self.0.goal()
    }
    /// The scope patterns the task needs.
    #[getter]
    fn scopes(&self) -> Vec<String> {
        self.0.scopes().to_strings()
    }
    /// The highest impact the task expects, if limited.
    #[getter]
    fn max_impact(&self) -> Option<&'static str> {
        self.0.max_impact().map(Impact::as_str)
    }
    /// Free JSON attributes the policy sees.
    #[getter]
    fn attributes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        map_to_py(py, self.0.attributes())
    }

    fn __repr__(&self) -> String {
        format!(
            "Intent({:?}, scopes={:?})",
            self.0.goal(),
            self.0.scopes().to_strings()
        )
    }
}

/// Proposes the scopes a user's `request` names for `specs` (a sequence of ToolSpecs, or a
/// dict of them): each literal of the request (an email address, a URL, an IBAN or account
/// number, a quoted name) filled into every scope template whose one placeholder takes it.
/// Returns dicts `{"scope", "tool", "literal"}`, in the order the literals appear.
#[pyfunction]
pub(crate) fn propose_named_scopes<'py>(
    py: Python<'py>,
    request: &str,
    specs: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let specs = match specs.downcast::<pyo3::types::PyDict>() {
        Ok(dict) => dict.values().extract::<Vec<ToolSpec>>()?,
        Err(_) => specs.extract::<Vec<ToolSpec>>()?,
    };
    let specs: Vec<agentwarrant::ToolSpec> = specs.into_iter().map(|s| s.0).collect();
    let named: Vec<serde_json::Value> = agentwarrant::propose_named_scopes(request, &specs)
        .into_iter()
        .map(|n| serde_json::json!({"scope": n.scope, "tool": n.tool, "literal": n.literal}))
        .collect();
    crate::convert::to_py(py, &serde_json::Value::Array(named))
}
