//! `agentwarrant._native`: the Rust core of the `agentwarrant` Python package.
//!
//! The glue is thin on purpose: Python values become JSON, Rust errors become the exceptions
//! of `agentwarrant.errors`, and every evaluation runs with the GIL released. Context
//! managers, decorators, contextvars and framework adapters live in the Python package.

mod convert;
mod credential;
mod errors;
mod guard;
mod jwt;
mod ledger;
mod scenario;
mod spec;

use pyo3::prelude::*;

/// Every reason code the library defines, with its short description.
#[pyfunction]
fn reason_codes() -> Vec<(String, String)> {
    agentwarrant::ReasonCode::BUILTIN
        .iter()
        .map(|c| (c.as_str().to_owned(), c.describe().to_owned()))
        .collect()
}

/// Runs the `agentwarrant` command (demo, verify, check, test) with ``argv``, the arguments
/// after the program name, and returns its exit status (0 ok, 1 a negative verdict, 2 an
/// error). It prints to the process's standard output and error, with the GIL released.
/// ``python -m agentwarrant`` and the ``agentwarrant`` console script call it.
#[pyfunction]
fn cli(py: Python<'_>, argv: Vec<std::ffi::OsString>) -> u8 {
    let args = std::iter::once(std::ffi::OsString::from("agentwarrant")).chain(argv);
    py.detach(move || agentwarrant_cli::run(args))
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    // The Python halves the native code calls into, resolved once here, never per call.
    errors::init(m.py())?;
    convert::init(m.py())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("DEFAULT_BUNDLE", agentwarrant::DEFAULT_BUNDLE)?;
    m.add_class::<spec::ToolSpec>()?;
    m.add_class::<spec::Identity>()?;
    m.add_class::<spec::Intent>()?;
    m.add_class::<guard::Reason>()?;
    m.add_class::<guard::Decision>()?;
    m.add_class::<guard::Approval>()?;
    m.add_class::<guard::ApprovalRequest>()?;
    m.add_class::<guard::Ticket>()?;
    m.add_class::<guard::Standing>()?;
    m.add_class::<guard::GuardCore>()?;
    m.add_class::<guard::TaskCore>()?;
    m.add_class::<guard::Warrant>()?;
    m.add_class::<credential::Credential>()?;
    m.add_class::<ledger::MemoryLedger>()?;
    m.add_class::<ledger::FileLedger>()?;
    m.add_class::<ledger::LedgerHead>()?;
    m.add_class::<ledger::ManualClock>()?;
    m.add_function(wrap_pyfunction!(ledger::verify, m)?)?;
    m.add_function(wrap_pyfunction!(ledger::verify_text, m)?)?;
    m.add_function(wrap_pyfunction!(reason_codes, m)?)?;
    m.add_function(wrap_pyfunction!(jwt::verify_grant, m)?)?;
    m.add_function(wrap_pyfunction!(spec::propose_named_scopes, m)?)?;
    m.add_function(wrap_pyfunction!(cli, m)?)?;
    m.add_function(wrap_pyfunction!(scenario::run_scenario_file, m)?)?;
    m.add_function(wrap_pyfunction!(scenario::run_scenario_text, m)?)?;
    Ok(())
}
