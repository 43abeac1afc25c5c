//! Just-in-time credentials from Python: a broker object whose `mint` and `revoke` the engine
//! calls when a task begins and ends, and the `Credential` a task's tools read.

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use time::OffsetDateTime;

use agentwarrant::{BrokerError, CredentialRequest};

use crate::convert::{to_json, to_py};

/// A task's just-in-time credential (`task.credential`): `id` (recorded in the ledger),
/// `secret` (never recorded or shown), `expires_at` (Unix seconds), `attributes`.
#[pyclass(frozen, module = "agentwarrant._native")]
pub(crate) struct Credential(pub(crate) agentwarrant::Credential);

#[pymethods]
impl Credential {
    /// The credential's id (a role or key name).
    #[getter]
    fn id(&self) -> &str {
        self.0.id()
    }
    /// The secret: for the tool, never for a log.
    #[getter]
    fn secret(&self) -> &str {
        self.0.secret()
    }
    /// When it expires, as Unix seconds.
    #[getter]
    fn expires_at(&self) -> f64 {
        crate::guard::unix_seconds(self.0.expires_at())
    }
    /// What a tool needs besides the secret (a host, a database).
    #[getter]
    fn attributes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, self.0.attributes())
    }
    fn __repr__(&self) -> String {
        format!("Credential(id={:?}, secret='[redacted]')", self.0.id())
    }
}

/// A Python object as the guard's `CredentialBroker`: `mint(request) -> dict` (`id`, `secret`,
/// optionally `expires_at` in Unix seconds and `attributes`), `revoke(credential)`, and
/// optionally `renew(credential, until) -> dict`. A raise is the broker's error.
pub(crate) struct PyBroker(Py<PyAny>);

impl PyBroker {
    /// Checks that `broker` has `mint` and `revoke`.
    pub(crate) fn new(py: Python<'_>, broker: Py<PyAny>) -> PyResult<Self> {
        for method in ["mint", "revoke"] {
            if !broker.bind(py).hasattr(method)? {
                return Err(PyTypeError::new_err(format!(
                    "`credential_broker` must have `mint(request)` and `revoke(credential)`; \
                     it has no `{method}`"
                )));
            }
        }
        Ok(Self(broker))
    }
}

fn broker_error(py: Python<'_>, method: &str, error: &PyErr) -> BrokerError {
    let kind = error
        .get_type(py)
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "Exception".into());
    BrokerError::new(format!(
        "the broker's {method} raised {kind}: {}",
        error.value(py)
    ))
}

/// The credential a broker's `mint` or `renew` answered, never outliving `until`.
fn credential_of(
    answer: &Bound<'_, PyAny>,
    until: OffsetDateTime,
) -> Result<agentwarrant::Credential, BrokerError> {
    let field = |name: &str| answer.get_item(name).ok().filter(|v| !v.is_none());
    let text = |name: &str| {
        field(name)
            .and_then(|v| v.extract::<String>().ok())
            .ok_or_else(|| {
                BrokerError::new(format!(
                    "the broker's answer must be a dict with a `{name}` string"
                ))
            })
    };
    let (id, secret) = (text("id")?, text("secret")?);
    let expires_at = match field("expires_at") {
        None => until,
        Some(at) => {
            let seconds = at
                .extract::<f64>()
                .map_err(|_| BrokerError::new("`expires_at` must be Unix seconds (a number)"))?;
            OffsetDateTime::from_unix_timestamp_nanos((seconds * 1e9) as i128)
                .map_err(|e| BrokerError::new(format!("`expires_at`: {e}")))?
                .min(until)
        }
    };
    let attributes = match field("attributes") {
        None => serde_json::Value::Null,
        Some(value) => {
            to_json(&value, "attributes").map_err(|e| BrokerError::new(e.to_string()))?
        }
    };
    Ok(agentwarrant::Credential::new(id, secret, expires_at).with_attributes(attributes))
}

impl agentwarrant::CredentialBroker for PyBroker {
    fn mint(&self, request: &CredentialRequest) -> Result<agentwarrant::Credential, BrokerError> {
        Python::attach(|py| {
            let asked = PyDict::new(py);
            let fill = || -> PyResult<()> {
                asked.set_item("task_id", request.task_id.to_string())?;
                asked.set_item("grant_id", request.grant_id.to_string())?;
                asked.set_item("identity", &request.identity)?;
                asked.set_item("owner", &request.owner)?;
                asked.set_item("scopes", &request.scopes)?;
                asked.set_item("expires_at", crate::guard::unix_seconds(request.expires_at))?;
                asked.set_item("escalated", request.escalated)
            };
            fill().map_err(|e| broker_error(py, "request", &e))?;
            let answer = self
                .0
                .call_method1(py, "mint", (asked,))
                .map_err(|e| broker_error(py, "mint", &e))?;
            credential_of(answer.bind(py), request.expires_at)
        })
    }

    fn renew(
        &self,
        credential: &agentwarrant::Credential,
        until: OffsetDateTime,
    ) -> Result<agentwarrant::Credential, BrokerError> {
        Python::attach(|py| {
            if !self.0.bind(py).hasattr("renew").unwrap_or(false) {
                return Ok(credential.clone());
            }
            let answer = self
                .0
                .call_method1(
                    py,
                    "renew",
                    (
                        Credential(credential.clone()),
                        crate::guard::unix_seconds(until),
                    ),
                )
                .map_err(|e| broker_error(py, "renew", &e))?;
            credential_of(answer.bind(py), until)
        })
    }

    fn revoke(&self, credential: &agentwarrant::Credential) -> Result<(), BrokerError> {
        Python::attach(|py| {
            self.0
                .call_method1(py, "revoke", (Credential(credential.clone()),))
                .map(|_| ())
                .map_err(|e| broker_error(py, "revoke", &e))
        })
    }
}
