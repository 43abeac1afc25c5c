//! Rust errors and refusals raised as the Python exceptions of `agentwarrant.errors`.
//!
//! The exception classes are plain Python (so they subclass the builtins that fit and carry
//! attributes); [`init`] resolves them once, when the native module is imported.

use agentwarrant::{
    BuildError, Error, JwtError, LedgerError, ReasonCode, Refusal, RefusalKind, TaskError,
};
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyList};

use crate::guard::{Decision, Reason};

/// The exception classes of `agentwarrant.errors` that the native module raises.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Class {
    GuardError,
    ConfigError,
    PolicyError,
    LedgerError,
    TaskError,
    ScenarioError,
    JwtError,
    Denied,
    ApprovalDenied,
    ApprovalRequired,
}

impl Class {
    const ALL: [Class; 10] = [
        Class::GuardError,
        Class::ConfigError,
        Class::PolicyError,
        Class::LedgerError,
        Class::TaskError,
        Class::ScenarioError,
        Class::JwtError,
        Class::Denied,
        Class::ApprovalDenied,
        Class::ApprovalRequired,
    ];

    /// The class's name in `agentwarrant.errors`.
    fn name(self) -> &'static str {
        match self {
            Class::GuardError => "GuardError",
            Class::ConfigError => "ConfigError",
            Class::PolicyError => "PolicyError",
            Class::LedgerError => "LedgerError",
            Class::TaskError => "TaskError",
            Class::ScenarioError => "ScenarioError",
            Class::JwtError => "JwtError",
            Class::Denied => "Denied",
            Class::ApprovalDenied => "ApprovalDenied",
            Class::ApprovalRequired => "ApprovalRequired",
        }
    }
}

/// The classes of [`Class::ALL`], in that order, resolved once by [`init`].
static CLASSES: PyOnceLock<Vec<Py<PyAny>>> = PyOnceLock::new();

/// Imports `agentwarrant.errors` once and keeps its classes; called from the module's init.
pub(crate) fn init(py: Python<'_>) -> PyResult<()> {
    CLASSES
        .get_or_try_init(py, || {
            let module = py.import("agentwarrant.errors")?;
            Class::ALL
                .iter()
                .map(|class| module.getattr(class.name()).map(Bound::unbind))
                .collect::<PyResult<Vec<_>>>()
        })
        .map(|_| ())
}

/// Raises `agentwarrant.errors.<class>(message, **kwargs)`.
pub(crate) fn raise(
    py: Python<'_>,
    class: Class,
    message: &str,
    kwargs: &Bound<'_, PyDict>,
) -> PyErr {
    let Some(resolved) = CLASSES
        .get(py)
        .and_then(|classes| classes.get(class as usize))
    else {
        // INVARIANT: `init` ran when the module was imported; without it nothing is raised
        // as a success.
        return PyRuntimeError::new_err(format!(
            "agentwarrant.errors.{} is not loaded: {message}",
            class.name()
        ));
    };
    match resolved.bind(py).call((message,), Some(kwargs)) {
        Ok(instance) => PyErr::from_value(instance),
        Err(error) => error,
    }
}

/// Raises `class(message, code=code)`.
pub(crate) fn raise_code(py: Python<'_>, class: Class, message: &str, code: &str) -> PyErr {
    let kwargs = PyDict::new(py);
    if let Err(error) = kwargs.set_item("code", code) {
        return error;
    }
    raise(py, class, message, &kwargs)
}

pub(crate) fn build_error(py: Python<'_>, error: &BuildError) -> PyErr {
    let class = match error {
        BuildError::PolicyCompile { .. }
        | BuildError::PolicyNotVetted { .. }
        | BuildError::PolicyRead { .. }
        | BuildError::PolicyData { .. }
        | BuildError::PolicyPackageMissing => Class::PolicyError,
        _ => Class::ConfigError,
    };
    raise_code(py, class, &error.to_string(), error.code())
}

pub(crate) fn ledger_error(py: Python<'_>, error: &LedgerError) -> PyErr {
    let kwargs = PyDict::new(py);
    let set = || -> PyResult<()> {
        kwargs.set_item("code", error.code())?;
        match error {
            LedgerError::Io { path, .. } | LedgerError::Locked { path } => {
                kwargs.set_item("path", path)?
            }
            LedgerError::Broken { path, line, .. } => {
                kwargs.set_item("path", path)?;
                kwargs.set_item("line", line)?;
            }
            _ => {}
        }
        Ok(())
    };
    if let Err(e) = set() {
        return e;
    }
    raise(py, Class::LedgerError, &error.to_string(), &kwargs)
}

pub(crate) fn task_error(py: Python<'_>, error: &TaskError) -> PyErr {
    // Python shows one message: the error and, for a ledger failure, its source.
    let message = match error {
        TaskError::Ledger { source, .. } => format!("{error}: {source}"),
        other => other.to_string(),
    };
    raise_code(py, Class::TaskError, &message, error.code())
}

/// A refused token or an unreadable JWKS: `JwtError` with the library's code.
pub(crate) fn jwt_error(py: Python<'_>, error: &JwtError) -> PyErr {
    raise_code(py, Class::JwtError, &error.to_string(), error.code())
}

pub(crate) fn error(py: Python<'_>, error: &Error) -> PyErr {
    match error {
        Error::Build(e) => build_error(py, e),
        Error::Ledger(e) => ledger_error(py, e),
        Error::Task(e) => task_error(py, e),
        other => raise_code(py, Class::GuardError, &other.to_string(), other.code()),
    }
}

/// A refused call: `Denied`, `ApprovalDenied`, or `ApprovalRequired` when nobody could answer.
///
/// SECURITY: the message is the refusal's `Display`, the short agent-safe text; details stay
/// on the exception's attributes and in the ledger.
pub(crate) fn refusal(py: Python<'_>, refusal: Refusal) -> PyErr {
    // Approval was needed and nobody answered: no approver, nobody to ask (kind `denied`),
    // or an approver that failed or timed out (kind `approval_denied`).
    let unanswered =
        refusal.has(&ReasonCode::ApprovalUnavailable) || refusal.has(&ReasonCode::ApprovalTimeout);
    let class = match refusal.kind {
        _ if unanswered => Class::ApprovalRequired,
        RefusalKind::Denied => Class::Denied,
        RefusalKind::ApprovalDenied => Class::ApprovalDenied,
    };
    // The most telling code: for a denial the first reason, for an approval refusal the
    // engine's answer (appended last).
    let code = match refusal.kind {
        RefusalKind::Denied if !unanswered => refusal.reasons.first(),
        _ => refusal.reasons.last(),
    }
    .map_or_else(|| refusal.kind.as_str().to_owned(), |r| r.code.to_string());
    let message = refusal.to_string();
    let kwargs = PyDict::new(py);
    let set = || -> PyResult<()> {
        kwargs.set_item("code", code)?;
        kwargs.set_item("kind", refusal.kind.as_str())?;
        kwargs.set_item("reasons", refusal.codes())?;
        let details = PyList::empty(py);
        for reason in &refusal.reasons {
            details.append(Reason::from(reason.clone()))?;
        }
        kwargs.set_item("details", details)?;
        kwargs.set_item("call_id", refusal.call_id.to_string())?;
        kwargs.set_item("tool", &refusal.tool)?;
        kwargs.set_item(
            "decision",
            refusal.decision.clone().map(|d| Decision::from(*d)),
        )?;
        Ok(())
    };
    if let Err(e) = set() {
        return e;
    }
    raise(py, class, &message, &kwargs)
}
