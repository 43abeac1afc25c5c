//! An in-memory ledger, for tests and short-lived processes.

use std::sync::{Mutex, MutexGuard};

use super::checkpoint::{self, CheckpointKey, Checkpoints};
use super::encode::{Encoded, Seal, Sealer};
use super::{Ledger, Record};
use crate::canonical::Hex;
use crate::error::LedgerError;

#[derive(Debug, Default)]
struct State {
    sealer: Sealer,
    records: Vec<Record>,
    /// `records[..sealed]` carry their `prev` and `hash`; the rest only their `seq`.
    sealed: usize,
    checkpoints: Option<Checkpoints>,
}

impl State {
    /// Seals the records appended since the last read, in order.
    fn seal_pending(&mut self) {
        let State {
            sealer,
            records,
            sealed,
            ..
        } = self;
        for record in records.iter_mut().skip(*sealed) {
            sealer.seal_next(record, None);
        }
        *sealed = records.len();
    }
}

/// Keeps records in memory; [`MemoryLedger::to_jsonl`] gives the same lines a file ledger
/// would hold, so they verify the same way.
///
/// Nothing here outlives the process, so no durability is at stake: records get their `seq`
/// when appended and their `prev` and `hash` when first read (by [`MemoryLedger::records`],
/// or [`MemoryLedger::to_jsonl`]), in append order, with the same result
/// as sealing each at once and without hashing on the calls' critical path.
#[derive(Debug, Default)]
pub struct MemoryLedger {
    state: Mutex<State>,
}

impl MemoryLedger {
    /// An empty ledger.
    pub fn new() -> Self {
        Self::default()
    }

    /// Signs a checkpoint with `key` every `every` records, as a [`FileLedger`](super::FileLedger)
    /// does.
    pub fn with_checkpoints(self, key: CheckpointKey, every: u64) -> Self {
        let checkpoints = Checkpoints {
            key,
            every: every.max(1),
        };
        if let Ok(mut state) = self.state.lock() {
            state.sealer =
                std::mem::take(&mut state.sealer).with_checkpoints(Some(checkpoints.clone()));
            state.checkpoints = Some(checkpoints);
        }
        self
    }

    fn lock(&self) -> Result<MutexGuard<'_, State>, LedgerError> {
        self.state
            .lock()
            .map_err(|_| LedgerError::other("<memory>", "the ledger lock is poisoned"))
    }

    /// A copy of every record, in order.
    pub fn records(&self) -> Vec<Record> {
        self.lock()
            .map(|mut state| {
                state.seal_pending();
                state.records.clone()
            })
            .unwrap_or_default()
    }

    /// A copy of every record that passes `filter`, in order.
    pub fn records_where(&self, filter: &super::RecordFilter) -> Vec<Record> {
        let mut records = self.records();
        records.retain(|r| filter.matches(r));
        records
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
    fn append(&self, record: Record) -> Result<u64, LedgerError> {
        let mut state = self.lock()?;
        let State {
            records,
            checkpoints,
            ..
        } = &mut *state;
        let mut next = records.len() as u64 + 1;
        Ok(checkpoint::enqueue(
            checkpoints.as_ref(),
            &mut next,
            records,
            record,
            |r| r,
        ))
    }
}
