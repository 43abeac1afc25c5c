//! An in-memory ledger, for tests and short-lived processes.

use std::sync::Mutex;

use super::{Ledger, Record, Sealer};
use crate::error::LedgerError;

/// Keeps sealed records in memory; [`MemoryLedger::to_jsonl`] gives the same lines a file
/// ledger would hold, so they verify the same way.
#[derive(Debug, Default)]
pub struct MemoryLedger {
    state: Mutex<(Sealer, Vec<Record>, String)>,
}

impl MemoryLedger {
    /// An empty ledger.
    pub fn new() -> Self {
        Self::default()
    }

    /// A copy of every record, in order.
    pub fn records(&self) -> Vec<Record> {
        self.state
            .lock()
            .map(|state| state.1.clone())
            .unwrap_or_default()
    }

    /// The records as JSON Lines, exactly as a [`FileLedger`](super::FileLedger) writes them.
    pub fn to_jsonl(&self) -> String {
        self.state
            .lock()
            .map(|state| state.2.clone())
            .unwrap_or_default()
    }
}

impl Ledger for MemoryLedger {
    fn append(&self, mut record: Record) -> Result<Record, LedgerError> {
        let mut state = self.state.lock().map_err(|_| LedgerError::Io {
            path: "<memory>".into(),
            message: "the ledger lock is poisoned".into(),
        })?;
        let line = state.0.seal(&mut record)?;
        state.0.advance(&record);
        state.2.push_str(&line);
        state.2.push('\n');
        state.1.push(record.clone());
        Ok(record)
    }
}
