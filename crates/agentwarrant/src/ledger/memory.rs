//! An in-memory ledger, for tests and short-lived processes.

use std::sync::{Mutex, MutexGuard};

use super::{Encoded, Hex, Ledger, Record, Seal, Sealer};
use crate::error::LedgerError;

#[derive(Debug, Default)]
struct State {
    sealer: Sealer,
    records: Vec<Record>,
}

/// Keeps sealed records in memory; [`MemoryLedger::to_jsonl`] gives the same lines a file
/// ledger would hold, so they verify the same way.
#[derive(Debug, Default)]
pub struct MemoryLedger {
    state: Mutex<State>,
}

impl MemoryLedger {
    /// An empty ledger.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> Result<MutexGuard<'_, State>, LedgerError> {
        self.state.lock().map_err(|_| LedgerError::Io {
            path: "<memory>".into(),
            message: "the ledger lock is poisoned".into(),
        })
    }

    /// A copy of every record, in order.
    pub fn records(&self) -> Vec<Record> {
        self.lock()
            .map(|state| state.records.clone())
            .unwrap_or_default()
    }

    /// The records as JSON Lines, exactly as a [`FileLedger`](super::FileLedger) writes them.
    pub fn to_jsonl(&self) -> String {
        let records = self.records();
        let mut out = Vec::with_capacity(records.len() * 1024);
        for record in &records {
            let seal = Seal {
                seq: record.seq,
                prev: Hex::parse(&record.prev).unwrap_or(Hex::ZERO),
                hash: Hex::parse(&record.hash).unwrap_or(Hex::ZERO),
            };
            Encoded::new(record).line_into(&seal, &mut out);
            out.push(b'\n');
        }
        String::from_utf8(out).unwrap_or_default()
    }
}

impl Ledger for MemoryLedger {
    fn append(&self, record: Record) -> Result<Record, LedgerError> {
        let encoded = Encoded::new(&record);
        let mut record = record;
        let mut state = self.lock()?;
        let seal = state.sealer.seal_encoded(&encoded);
        state.sealer.advance(&seal);
        seal.apply(&mut record);
        state.records.push(record.clone());
        Ok(record)
    }

    fn append_seq(&self, record: Record) -> Result<u64, LedgerError> {
        let encoded = Encoded::new(&record);
        let mut record = record;
        let mut state = self.lock()?;
        let seal = state.sealer.seal_encoded(&encoded);
        state.sealer.advance(&seal);
        seal.apply(&mut record);
        state.records.push(record);
        Ok(seal.seq)
    }
}
