//! The scenario runner (`agentwarrant-scenario/v1` files), as in `agentwarrant test`.

use std::path::PathBuf;

use agentwarrant::testing::{run_file, run_str, RunOptions, ScenarioError};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::convert::serde_to_py;
use crate::errors::{raise, Class};

fn scenario_error(py: Python<'_>, error: &ScenarioError) -> PyErr {
    let kwargs = PyDict::new(py);
    let set = || -> PyResult<()> {
        kwargs.set_item("code", "scenario_invalid")?;
        kwargs.set_item("file", &error.file)?;
        kwargs.set_item("path", &error.path)?;
        Ok(())
    };
    if let Err(e) = set() {
        return e;
    }
    raise(py, Class::ScenarioError, &error.to_string(), &kwargs)
}

fn options(policy_dir: Option<PathBuf>) -> RunOptions {
    RunOptions {
        policy_dir,
        ..RunOptions::default()
    }
}

/// Runs a scenario file through a real guard; returns the report as a dict.
#[pyfunction]
#[pyo3(signature = (path, *, policy_dir = None))]
pub(crate) fn run_scenario_file<'py>(
    py: Python<'py>,
    path: PathBuf,
    policy_dir: Option<PathBuf>,
) -> PyResult<Bound<'py, PyAny>> {
    let options = options(policy_dir);
    let report = py
        .detach(|| run_file(&path, &options))
        .map_err(|e| scenario_error(py, &e))?;
    serde_to_py(py, &report)
}

/// Runs a scenario given as JSON text; `name` names it in the report and errors.
#[pyfunction]
#[pyo3(signature = (text, *, name = "<scenario>", policy_dir = None))]
pub(crate) fn run_scenario_text<'py>(
    py: Python<'py>,
    text: &str,
    name: &str,
    policy_dir: Option<PathBuf>,
) -> PyResult<Bound<'py, PyAny>> {
    let options = options(policy_dir);
    let report = py
        .detach(|| run_str(text, name, &options))
        .map_err(|e| scenario_error(py, &e))?;
    serde_to_py(py, &report)
}
