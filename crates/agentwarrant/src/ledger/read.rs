//! Reading a ledger's records back as typed values, filtered by task, kind and time.

use std::io::BufRead;
use std::path::{Path, PathBuf};

use super::rotate::ledger_files;
use super::{Record, RecordKind};
use crate::error::LedgerError;

/// Which records to read: every condition set must hold (none set: every record).
///
/// ```
/// use agentwarrant::ledger::{RecordFilter, RecordKind};
/// let decisions = RecordFilter::new().kind(RecordKind::CallDecided).tool("send_email");
/// ```
#[derive(Debug, Clone, Default)]
pub struct RecordFilter {
    task: Option<String>,
    kinds: Vec<RecordKind>,
    tool: Option<String>,
    since: Option<time::OffsetDateTime>,
    until: Option<time::OffsetDateTime>,
}

impl RecordFilter {
    /// Every record.
    pub fn new() -> Self {
        Self::default()
    }

    /// Only the records of this task (its id as in `task_id`).
    pub fn task(mut self, task: impl Into<String>) -> Self {
        self.task = Some(task.into());
        self
    }

    /// Only records of this kind (several calls: any of them).
    pub fn kind(mut self, kind: RecordKind) -> Self {
        self.kinds.push(kind);
        self
    }

    /// Only records about calls of this tool.
    pub fn tool(mut self, tool: impl Into<String>) -> Self {
        self.tool = Some(tool.into());
        self
    }

    /// Only records written at or after `since`.
    pub fn since(mut self, since: time::OffsetDateTime) -> Self {
        self.since = Some(since);
        self
    }

    /// Only records written before `until`.
    pub fn until(mut self, until: time::OffsetDateTime) -> Self {
        self.until = Some(until);
        self
    }

    /// Whether `record` passes. A record whose time does not parse never passes a time bound.
    pub fn matches(&self, record: &Record) -> bool {
        let at = || {
            time::OffsetDateTime::parse(&record.ts, &time::format_description::well_known::Rfc3339)
                .ok()
        };
        self.task.as_ref().is_none_or(|t| *t == record.task_id)
            && (self.kinds.is_empty() || self.kinds.contains(&record.kind))
            && self
                .tool
                .as_ref()
                .is_none_or(|t| record.tool.as_deref() == Some(t.as_str()))
            && self.since.is_none_or(|s| at().is_some_and(|a| a >= s))
            && self.until.is_none_or(|u| at().is_some_and(|a| a < u))
    }
}

/// The records of a JSON Lines ledger that pass `filter`, in order, read one line at a
/// time. `path` is the ledger's file or a directory holding one ledger; a rotated ledger is
/// read across its files (as [`verify`](super::verify) takes them), and an error names the
/// file and its line. Reading does not verify the chain: run `verify` for that.
pub fn read(
    path: impl AsRef<Path>,
    filter: &RecordFilter,
) -> Result<impl Iterator<Item = Result<Record, LedgerError>> + '_, LedgerError> {
    let files = ledger_files(path.as_ref())?;
    for file in &files {
        std::fs::metadata(file).map_err(|e| LedgerError::io(file.clone(), &e))?;
    }
    Ok(files.into_iter().flat_map(move |file| {
        let records: Box<dyn Iterator<Item = Result<Record, LedgerError>> + '_> =
            match std::fs::File::open(&file) {
                Ok(opened) => Box::new(read_file(file, opened, filter)),
                Err(e) => Box::new(std::iter::once(Err(LedgerError::io(file, &e)))),
            };
        records
    }))
}

/// The records of one file of a ledger that pass `filter`.
fn read_file(
    path: PathBuf,
    file: std::fs::File,
    filter: &RecordFilter,
) -> impl Iterator<Item = Result<Record, LedgerError>> + '_ {
    let lines = std::io::BufReader::new(file).lines();
    lines.enumerate().filter_map(move |(index, line)| {
        let broken = |problem: String| LedgerError::Broken {
            path: path.clone(),
            line: index as u64 + 1,
            problem,
        };
        let record = line
            .map_err(|e| LedgerError::io(path.clone(), &e))
            .and_then(|line| {
                serde_json::from_str::<Record>(&line)
                    .map_err(|e| broken(format!("not a ledger record: {e}")))
            });
        match record {
            Ok(record) if !filter.matches(&record) => None,
            other => Some(other),
        }
    })
}
