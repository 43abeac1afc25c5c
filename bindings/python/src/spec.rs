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

/// What a tool is and how risky it is: the Rust spec itself, `result_labels` included, so
/// the guard and Python read one set of facts.
#[pyclass(frozen, module = "agentwarrant._native")]
#[derive(Clone)]
pub(crate) struct ToolSpec(pub(crate) agentwarrant::ToolSpec);

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

    #[getter]
    fn name(&self) -> &str {
        self.0.name()
    }
    #[getter]
    fn impact(&self) -> &'static str {
        self.0.impact().as_str()
    }
    #[getter]
    fn reversible(&self) -> bool {
        self.0.reversible()
    }
    #[getter]
    fn external(&self) -> bool {
        self.0.external()
    }
    #[getter]
    fn sink(&self) -> bool {
        self.0.sink()
    }
    #[getter]
    fn reads(&self) -> Vec<String> {
        self.0.reads().to_vec()
    }
    #[getter]
    fn tags(&self) -> Vec<String> {
        self.0.tags().to_vec()
    }
    #[getter]
    fn roles(&self) -> Option<Vec<&'static str>> {
        self.0
            .roles()
            .map(|r| r.iter().map(|r| r.as_str()).collect())
    }
    #[getter]
    fn scopes(&self) -> Vec<&str> {
        self.0.scopes().collect()
    }
    #[getter]
    fn destination_arg(&self) -> Option<&str> {
        self.0.destination_arg()
    }
    #[getter]
    fn sensitive_args(&self) -> Vec<String> {
        self.0.sensitive_args().map(str::to_owned).collect()
    }
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
        let role = self::role(py, role, &format!("identity `{id}`"))?;
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
            builder = builder.max_impact(impact(py, max, "intent")?);
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
