//! The configuration nouns: `ToolSpec`, `Identity`, `Intent`.

use agentwarrant::{Impact, Role};
use pyo3::prelude::*;
use serde_json::{Map, Value as Json};

use crate::convert::{map_to_py, to_json};
use crate::errors::{build_error, raise_code};

pub(crate) fn parse_impact(py: Python<'_>, text: &str, what: &str) -> PyResult<Impact> {
    match text {
        "low" => Ok(Impact::Low),
        "medium" => Ok(Impact::Medium),
        "high" => Ok(Impact::High),
        "critical" => Ok(Impact::Critical),
        other => Err(raise_code(
            py,
            "ConfigError",
            &format!("{what}: impact must be `low`, `medium`, `high` or `critical`, got `{other}`"),
            "invalid_impact",
        )),
    }
}

fn parse_role(py: Python<'_>, text: &str, what: &str) -> PyResult<Role> {
    match text {
        "orchestrator" => Ok(Role::Orchestrator),
        "executor" => Ok(Role::Executor),
        "escalation" => Ok(Role::Escalation),
        other => Err(raise_code(
            py,
            "ConfigError",
            &format!(
                "{what}: role must be `orchestrator`, `executor` or `escalation`, got `{other}`"
            ),
            "invalid_role",
        )),
    }
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

/// What a tool is and how risky it is.
#[pyclass(frozen, module = "agentwarrant._native")]
#[derive(Clone)]
pub(crate) struct ToolSpec {
    pub(crate) spec: agentwarrant::ToolSpec,
    /// Labels every result of this tool adds (e.g. `untrusted` for fetched web content).
    pub(crate) result_labels: Vec<String>,
}

impl ToolSpec {
    /// Whether `other` declares the same tool: same name, same properties, same labels.
    pub(crate) fn same_as(&self, other: &ToolSpec) -> bool {
        let (a, b) = (&self.spec, &other.spec);
        a.name() == b.name()
            && a.impact() == b.impact()
            && a.reversible() == b.reversible()
            && a.external() == b.external()
            && a.sink() == b.sink()
            && a.reads() == b.reads()
            && a.tags() == b.tags()
            && a.roles() == b.roles()
            && a.scopes().eq(b.scopes())
            && a.destination_arg() == b.destination_arg()
            && a.sensitive_args().eq(b.sensitive_args())
            && self.result_labels == other.result_labels
    }
}

#[pymethods]
impl ToolSpec {
    #[new]
    #[pyo3(signature = (name, *, impact, reversible = true, external = false, sink = false,
        reads = Vec::new(), tags = Vec::new(), roles = None, scopes = Vec::new(),
        destination_arg = None, sensitive_args = Vec::new(), result_labels = Vec::new()))]
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
        let impact = parse_impact(py, impact, &what)?;
        let mut builder = agentwarrant::ToolSpec::builder(name, impact)
            .reversible(reversible)
            .external(external)
            .sink(sink)
            .reads(reads)
            .tags(tags)
            .scopes(scopes)
            .sensitive_args(sensitive_args);
        if let Some(roles) = roles {
            let roles = roles
                .iter()
                .map(|r| parse_role(py, r, &what))
                .collect::<PyResult<Vec<_>>>()?;
            builder = builder.roles(roles);
        }
        if let Some(arg) = destination_arg {
            builder = builder.destination_arg(arg);
        }
        let spec = builder.build().map_err(|e| build_error(py, &e))?;
        Ok(Self {
            spec,
            result_labels,
        })
    }

    /// The same spec under another name (for a default spec applied to a named tool).
    fn with_name(&self, py: Python<'_>, name: String) -> PyResult<Self> {
        Ok(Self {
            spec: self.spec.renamed(name).map_err(|e| build_error(py, &e))?,
            result_labels: self.result_labels.clone(),
        })
    }

    #[getter]
    fn name(&self) -> &str {
        self.spec.name()
    }
    #[getter]
    fn impact(&self) -> &'static str {
        self.spec.impact().as_str()
    }
    #[getter]
    fn reversible(&self) -> bool {
        self.spec.reversible()
    }
    #[getter]
    fn external(&self) -> bool {
        self.spec.external()
    }
    #[getter]
    fn sink(&self) -> bool {
        self.spec.sink()
    }
    #[getter]
    fn reads(&self) -> Vec<String> {
        self.spec.reads().to_vec()
    }
    #[getter]
    fn tags(&self) -> Vec<String> {
        self.spec.tags().to_vec()
    }
    #[getter]
    fn roles(&self) -> Option<Vec<&'static str>> {
        self.spec
            .roles()
            .map(|r| r.iter().map(|r| r.as_str()).collect())
    }
    #[getter]
    fn scopes(&self) -> Vec<&str> {
        self.spec.scopes().collect()
    }
    #[getter]
    fn destination_arg(&self) -> Option<&str> {
        self.spec.destination_arg()
    }
    #[getter]
    fn sensitive_args(&self) -> Vec<String> {
        self.spec.sensitive_args().map(str::to_owned).collect()
    }
    #[getter]
    fn result_labels(&self) -> Vec<String> {
        self.result_labels.clone()
    }

    fn __repr__(&self) -> String {
        format!(
            "ToolSpec({:?}, impact={:?})",
            self.spec.name(),
            self.spec.impact().as_str()
        )
    }
}

/// A non-human identity with its accountable human owner.
#[pyclass(frozen, module = "agentwarrant._native")]
#[derive(Clone)]
pub(crate) struct Identity(pub(crate) agentwarrant::Identity);

#[pymethods]
impl Identity {
    #[new]
    #[pyo3(signature = (id, *, owner, role = "executor", ceiling = Vec::new(), attributes = None))]
    fn new(
        py: Python<'_>,
        id: String,
        owner: String,
        role: &str,
        ceiling: Vec<String>,
        attributes: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let role = parse_role(py, role, &format!("identity `{id}`"))?;
        let attributes = self::attributes(attributes, "attributes")?;
        agentwarrant::Identity::builder(id, role, owner)
            .ceiling(ceiling)
            .attributes(attributes)
            .build()
            .map(Self)
            .map_err(|e| build_error(py, &e))
    }

    #[getter]
    fn id(&self) -> &str {
        self.0.id()
    }
    #[getter]
    fn owner(&self) -> &str {
        self.0.owner()
    }
    #[getter]
    fn role(&self) -> &'static str {
        self.0.role().as_str()
    }
    #[getter]
    fn ceiling(&self) -> Vec<String> {
        self.0.ceiling().to_strings()
    }
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

/// What a task was asked to do.
#[pyclass(frozen, module = "agentwarrant._native")]
#[derive(Clone)]
pub(crate) struct Intent(pub(crate) agentwarrant::Intent);

#[pymethods]
impl Intent {
    #[new]
    #[pyo3(signature = (goal, *, scopes = Vec::new(), max_impact = None, attributes = None))]
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
            builder = builder.max_impact(parse_impact(py, max, "intent")?);
        }
        builder.build().map(Self).map_err(|e| build_error(py, &e))
    }

    #[getter]
    fn goal(&self) -> &str {
        self.0.goal()
    }
    #[getter]
    fn scopes(&self) -> Vec<String> {
        self.0.scopes().to_strings()
    }
    #[getter]
    fn max_impact(&self) -> Option<&'static str> {
        self.0.max_impact().map(Impact::as_str)
    }
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
