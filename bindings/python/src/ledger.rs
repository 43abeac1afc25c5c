//! Ledgers, their verification, and the manual clock for tests.

use std::path::PathBuf;
use std::sync::Arc;

use agentwarrant::ledger::{verify as verify_file, verify_str, Head};
use agentwarrant::{Clock, Durability, LedgerError};
use pyo3::prelude::*;
use pyo3::types::PyList;

use crate::convert::serde_to_py;
use crate::errors::{ledger_error, raise_code, Class};

/// The last record of a verified ledger: anchor its hash elsewhere to detect truncation.
#[pyclass(frozen, get_all, module = "agentwarrant._native")]
pub(crate) struct LedgerHead {
    /// How many records the ledger holds.
    records: u64,
    /// The last record's hash (64 zeros for an empty ledger).
    hash: String,
}

impl From<Head> for LedgerHead {
    fn from(head: Head) -> Self {
        Self {
            records: head.records,
            hash: head.hash,
        }
    }
}

#[pymethods]
impl LedgerHead {
    fn __repr__(&self) -> String {
        format!("LedgerHead(records={}, hash={:?})", self.records, self.hash)
    }
}

fn verify_text_as(py: Python<'_>, text: &str, path: &str) -> PyResult<LedgerHead> {
    verify_str(text)
        .map(LedgerHead::from)
        .map_err(|(line, problem)| {
            ledger_error(
                py,
                &LedgerError::Broken {
                    path: path.into(),
                    line,
                    problem,
                },
            )
        })
}

/// Keeps records in memory; `to_jsonl()` gives the lines a file ledger would hold.
#[pyclass(frozen, module = "agentwarrant._native")]
pub(crate) struct MemoryLedger {
    pub(crate) inner: Arc<agentwarrant::MemoryLedger>,
}

impl MemoryLedger {
    pub(crate) fn new() -> Self {
        Self {
            inner: Arc::new(agentwarrant::MemoryLedger::new()),
        }
    }
}

#[pymethods]
impl MemoryLedger {
    #[new]
    fn py_new() -> Self {
        Self::new()
    }

    /// The records, in order, as dicts; `task`, `kind` (e.g. `"call.decided"`) and `tool`
    /// keep only the records that match.
    #[pyo3(signature = (*, task = None, kind = None, tool = None))]
    fn records<'py>(
        &self,
        py: Python<'py>,
        task: Option<String>,
        kind: Option<String>,
        tool: Option<String>,
    ) -> PyResult<Bound<'py, PyList>> {
        let filter = record_filter(py, task, kind, tool)?;
        record_list(py, &self.inner.records_where(&filter))
    }

    /// The records as JSON Lines.
    fn to_jsonl(&self) -> String {
        self.inner.to_jsonl()
    }

    /// Checks the hash chain; raises `LedgerError` naming the first broken record.
    fn verify(&self, py: Python<'_>) -> PyResult<LedgerHead> {
        verify_text_as(py, &self.inner.to_jsonl(), "<memory>")
    }

    fn __len__(&self) -> usize {
        self.inner.records().len()
    }

    fn __repr__(&self) -> String {
        format!("MemoryLedger(records={})", self.inner.records().len())
    }
}

/// Records as a Python list of dicts.
fn record_list<'py>(
    py: Python<'py>,
    records: &[agentwarrant::ledger::Record],
) -> PyResult<Bound<'py, PyList>> {
    let list = PyList::empty(py);
    for record in records {
        list.append(serde_to_py(py, record)?)?;
    }
    Ok(list)
}

/// The filter of a `records(...)` call; an unknown kind is a `ConfigError`.
fn record_filter(
    py: Python<'_>,
    task: Option<String>,
    kind: Option<String>,
    tool: Option<String>,
) -> PyResult<agentwarrant::ledger::RecordFilter> {
    let mut filter = agentwarrant::ledger::RecordFilter::new();
    if let Some(task) = task {
        filter = filter.task(task);
    }
    if let Some(kind) = kind {
        let parsed: agentwarrant::ledger::RecordKind =
            serde_json::from_value(serde_json::Value::String(kind.clone())).map_err(|_| {
                raise_code(
                    py,
                    Class::ConfigError,
                    &format!(
                        "`{kind}` is not a record kind (e.g. `call.decided`, `approval.answered`)"
                    ),
                    "invalid_kind",
                )
            })?;
        filter = filter.kind(parsed);
    }
    if let Some(tool) = tool {
        filter = filter.tool(tool);
    }
    Ok(filter)
}

/// An append-only, hash-chained JSON Lines file; opening an existing file verifies it.
#[pyclass(frozen, module = "agentwarrant._native")]
pub(crate) struct FileLedger {
    pub(crate) inner: Arc<agentwarrant::FileLedger>,
}

impl FileLedger {
    pub(crate) fn open(py: Python<'_>, path: PathBuf, sync: bool) -> PyResult<Self> {
        Self::open_with(py, path, sync, agentwarrant::FileLedger::options())
    }

    fn open_with(
        py: Python<'_>,
        path: PathBuf,
        sync: bool,
        options: agentwarrant::ledger::FileLedgerOptions,
    ) -> PyResult<Self> {
        let durability = if sync {
            Durability::Sync
        } else {
            Durability::Os
        };
        let options = options.durability(durability);
        py.detach(|| options.open(&path))
            .map(|ledger| Self {
                inner: Arc::new(ledger),
            })
            .map_err(|e| ledger_error(py, &e))
    }
}

#[pymethods]
impl FileLedger {
    /// Opens (or creates) the ledger at `path`; `sync=True` syncs every record to disk.
    /// `rotate_bytes` and `rotate_every` (seconds) rotate the file into `NAME.000001.jsonl`,
    /// … next to it, the chain going on across the files.
    #[new]
    #[pyo3(signature = (path, *, sync = false, rotate_bytes = None, rotate_every = None))]
    fn py_new(
        py: Python<'_>,
        path: PathBuf,
        sync: bool,
        rotate_bytes: Option<u64>,
        rotate_every: Option<f64>,
    ) -> PyResult<Self> {
        let mut options = agentwarrant::FileLedger::options();
        if let Some(bytes) = rotate_bytes {
            options = options.rotate_bytes(bytes);
        }
        if let Some(every) = rotate_every {
            let every = std::time::Duration::try_from_secs_f64(every)
                .ok()
                .filter(|every| !every.is_zero())
                .ok_or_else(|| {
                    raise_code(
                        py,
                        Class::ConfigError,
                        &format!(
                            "`rotate_every` must be a positive number of seconds, got {every}"
                        ),
                        "invalid_limits",
                    )
                })?;
            options = options.rotate_every(every);
        }
        Self::open_with(py, path, sync, options)
    }

    #[getter]
    fn path(&self) -> PathBuf {
        self.inner.path().to_owned()
    }

    /// Checks the file's hash chain.
    fn verify(&self, py: Python<'_>) -> PyResult<LedgerHead> {
        verify(py, self.inner.path().to_owned())
    }

    /// The records written so far, in order, as dicts (read back from the file); `task`,
    /// `kind` (e.g. `"call.decided"`) and `tool` keep only the records that match.
    #[pyo3(signature = (*, task = None, kind = None, tool = None))]
    fn records<'py>(
        &self,
        py: Python<'py>,
        task: Option<String>,
        kind: Option<String>,
        tool: Option<String>,
    ) -> PyResult<Bound<'py, PyList>> {
        let filter = record_filter(py, task, kind, tool)?;
        let path = self.inner.path().to_owned();
        let records: Vec<agentwarrant::ledger::Record> = py
            .detach(|| {
                agentwarrant::ledger::read(&path, &filter)?
                    .collect::<Result<Vec<_>, agentwarrant::LedgerError>>()
            })
            .map_err(|e| ledger_error(py, &e))?;
        record_list(py, &records)
    }

    fn __repr__(&self) -> String {
        format!("FileLedger({:?})", self.inner.path())
    }
}

/// Checks a JSON Lines ledger file; raises `LedgerError` (code `ledger_broken`, with `.line`)
/// naming the first broken record.
#[pyfunction]
pub(crate) fn verify(py: Python<'_>, path: PathBuf) -> PyResult<LedgerHead> {
    py.detach(|| verify_file(&path))
        .map(LedgerHead::from)
        .map_err(|e| ledger_error(py, &e))
}

/// Checks JSON Lines ledger text; see `verify`.
#[pyfunction]
pub(crate) fn verify_text(py: Python<'_>, text: &str) -> PyResult<LedgerHead> {
    verify_text_as(py, text, "<text>")
}

/// A clock that moves only when told to (grant and approval expiry in tests).
#[pyclass(frozen, module = "agentwarrant._native")]
pub(crate) struct ManualClock {
    pub(crate) inner: Arc<agentwarrant::ManualClock>,
}

#[pymethods]
impl ManualClock {
    /// A clock stopped at `start` (Unix seconds; default 2026-01-01T00:00:00Z).
    #[new]
    #[pyo3(signature = (start = 1_767_225_600.0))]
    fn new(py: Python<'_>, start: f64) -> PyResult<Self> {
        let start = time::OffsetDateTime::from_unix_timestamp_nanos((start * 1e9) as i128)
            .map_err(|e| {
                raise_code(
                    py,
                    Class::ConfigError,
                    &format!("start: {e}"),
                    "invalid_time",
                )
            })?;
        Ok(Self {
            inner: Arc::new(agentwarrant::ManualClock::new(start)),
        })
    }

    /// Moves the clock forward (or back, with a negative number) by `seconds`; a move past
    /// the calendar's end stops there. A non-finite number raises `ConfigError`
    /// (`invalid_time`).
    fn advance(&self, py: Python<'_>, seconds: f64) -> PyResult<()> {
        let by = if seconds.is_finite() {
            time::Duration::checked_seconds_f64(seconds).unwrap_or(if seconds < 0.0 {
                time::Duration::MIN
            } else {
                time::Duration::MAX
            })
        } else {
            return Err(raise_code(
                py,
                Class::ConfigError,
                &format!("`seconds` must be a finite number, got {seconds}"),
                "invalid_time",
            ));
        };
        self.inner.advance(by);
        Ok(())
    }

    /// The clock's time, in Unix seconds.
    fn now(&self) -> f64 {
        self.inner.now().unix_timestamp_nanos() as f64 / 1e9
    }

    fn __repr__(&self) -> String {
        format!("ManualClock({})", self.now())
    }
}
