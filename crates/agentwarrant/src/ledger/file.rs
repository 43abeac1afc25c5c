//! The JSON Lines file ledger.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use super::{verify, Encoded, Ledger, Record, Seal, Sealer};
use crate::error::LedgerError;

/// How hard the file ledger tries to make each record durable before the tool runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Durability {
    /// Each record is handed to the OS (one `write`) before the call proceeds: survives a
    /// crash of the process, not of the machine.
    #[default]
    Os,
    /// Each record is also synced to disk (`fdatasync`): survives a crash of the machine.
    Sync,
    /// Records are sealed in order when appended and handed to the OS by a background writer
    /// in batches: when [`BATCH_RECORDS`](FileLedger::BATCH_RECORDS) are waiting, at the
    /// latest [`BATCH_INTERVAL`](FileLedger::BATCH_INTERVAL) after the first of them, on
    /// [`Ledger::flush`] (which also syncs them to disk) and when the ledger is dropped.
    ///
    /// What a crash can lose: a crash of the process loses the records not yet written, at
    /// most `BATCH_RECORDS` records, appended within the last `BATCH_INTERVAL` while the writer
    /// keeps up; a crash of the machine also loses what the OS had not written to disk, as
    /// with [`Durability::Os`]. What survives is always a prefix of the chain that verifies:
    /// records are written whole and in order. A write that fails cuts the file back to its
    /// last whole record, drops the batch, and refuses every later append and flush with the
    /// error, so no call proceeds without evidence once the ledger is known to be failing.
    Batch,
}

/// What the chain and the bytes waiting to be written need, under one lock.
struct State {
    sealer: Sealer,
    /// Sealed lines not yet written (batch mode), in order.
    pending: Vec<u8>,
    /// How many records `pending` holds.
    waiting: usize,
    /// A write failed (batch mode): every later append and flush is refused with this.
    failed: Option<String>,
    /// The ledger is being dropped: the writer writes what is left and stops.
    closing: bool,
}

/// The file and the length known good, under their own lock so that appends can seal while a
/// batch is being written. Lock order: `state`, then `file`.
struct Output {
    file: File,
    /// Bytes known good; a failed write is cut back to here so no half record remains.
    len: u64,
}

impl Output {
    /// Writes `bytes` whole or cuts the file back to where it was.
    fn write(&mut self, bytes: &[u8], sync: bool) -> std::io::Result<()> {
        let written =
            self.file
                .write_all(bytes)
                .and_then(|()| if sync { self.file.sync_data() } else { Ok(()) });
        match written {
            Ok(()) => {
                self.len += bytes.len() as u64;
                Ok(())
            }
            Err(e) => {
                // SECURITY: never leave a partial record behind; the chain stays verifiable.
                let _ = self.file.set_len(self.len);
                Err(e)
            }
        }
    }
}

struct Shared {
    path: PathBuf,
    state: Mutex<State>,
    output: Mutex<Output>,
    /// Wakes the batch writer: a batch is full, a flush is wanted, or the ledger closes.
    wake: Condvar,
}

impl Shared {
    fn io(&self, e: impl std::fmt::Display) -> LedgerError {
        LedgerError::Io {
            path: self.path.clone(),
            message: e.to_string(),
        }
    }

    fn state(&self) -> Result<MutexGuard<'_, State>, LedgerError> {
        self.state.lock().map_err(|e| self.io(e))
    }

    /// Writes the pending batch (taken under `state`, written under `output` only, so that
    /// appends go on meanwhile). Returns the state lock again.
    fn write_pending<'a>(
        &'a self,
        mut state: MutexGuard<'a, State>,
    ) -> Result<MutexGuard<'a, State>, LedgerError> {
        if let Some(message) = &state.failed {
            return Err(self.io(message));
        }
        if state.pending.is_empty() {
            return Ok(state);
        }
        let batch = std::mem::take(&mut state.pending);
        state.waiting = 0;
        // Taking `output` before releasing `state` keeps batches in chain order.
        let mut output = self.output.lock().map_err(|e| self.io(e))?;
        drop(state);
        let written = output.write(&batch, false);
        drop(output);
        let mut state = self.state()?;
        if let Err(e) = written {
            let message = format!("a batch of records could not be written: {e}");
            state.failed = Some(message.clone());
            return Err(self.io(message));
        }
        if state.pending.is_empty() {
            // Keep the allocation for the next batch.
            let mut batch = batch;
            batch.clear();
            state.pending = batch;
        }
        Ok(state)
    }

    /// The batch writer: writes whenever a batch fills, or `BATCH_INTERVAL` after records
    /// start waiting, until the ledger closes.
    fn writer(&self) {
        let Ok(mut state) = self.state() else {
            return;
        };
        loop {
            while state.waiting == 0 && !state.closing {
                state = match self.wake.wait(state) {
                    Ok(state) => state,
                    Err(_) => return,
                };
            }
            if !state.closing && state.waiting < FileLedger::BATCH_RECORDS {
                state = match self.wake.wait_timeout(state, FileLedger::BATCH_INTERVAL) {
                    Ok((state, _)) => state,
                    Err(_) => return,
                };
            }
            let closing = state.closing;
            state = match self.write_pending(state) {
                Ok(state) => state,
                Err(_) => match self.state() {
                    // The failure is kept in the state: appends and flushes report it.
                    Ok(state) if !closing => state,
                    _ => return,
                },
            };
            if closing && state.pending.is_empty() {
                return;
            }
        }
    }
}

/// An append-only, hash-chained JSON Lines file.
///
/// Opening an existing file verifies it and continues its chain; a broken file is refused so
/// that nothing is appended to (or hides) a tampered record.
pub struct FileLedger {
    durability: Durability,
    shared: Arc<Shared>,
    writer: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for FileLedger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileLedger")
            .field("path", &self.shared.path)
            .field("durability", &self.durability)
            .finish_non_exhaustive()
    }
}

impl FileLedger {
    /// In [`Durability::Batch`], the writer writes as soon as this many records wait.
    pub const BATCH_RECORDS: usize = 256;

    /// In [`Durability::Batch`], the longest a record waits for the writer while it keeps up.
    pub const BATCH_INTERVAL: Duration = Duration::from_millis(10);

    /// Opens (or creates) the ledger at `path` with [`Durability::Os`].
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// let ledger = agentwarrant::FileLedger::open(dir.path().join("audit.jsonl"))?;
    /// # Ok::<(), agentwarrant::LedgerError>(())
    /// ```
    pub fn open(path: impl AsRef<Path>) -> Result<Self, LedgerError> {
        Self::open_with(path, Durability::default())
    }

    /// Opens (or creates) the ledger at `path` with the given durability.
    pub fn open_with(path: impl AsRef<Path>, durability: Durability) -> Result<Self, LedgerError> {
        let path = path.as_ref().to_owned();
        let io = |e: std::io::Error| LedgerError::Io {
            path: path.clone(),
            message: e.to_string(),
        };
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(io)?;
        let metadata = file.metadata().map_err(io)?;
        // SECURITY: two writers on one file would interleave two chains and break both; the
        // lock (released when the ledger is dropped) refuses the second, in or across processes.
        if metadata.is_file() {
            file.try_lock().map_err(|e| LedgerError::Io {
                path: path.clone(),
                message: match e {
                    std::fs::TryLockError::WouldBlock => {
                        "the ledger is open in another writer (this or another process); use one FileLedger per file".into()
                    }
                    std::fs::TryLockError::Error(e) => e.to_string(),
                },
            })?;
        }
        let mut sealer = Sealer::default();
        let mut len = 0;
        // Only regular files hold a chain to continue (not /dev/null or a pipe).
        if metadata.is_file() && metadata.len() > 0 {
            let head = verify(&path)?;
            sealer = Sealer::resume(head.records, head.hash);
            len = metadata.len();
        }
        let shared = Arc::new(Shared {
            path: path.clone(),
            state: Mutex::new(State {
                sealer,
                pending: Vec::new(),
                waiting: 0,
                failed: None,
                closing: false,
            }),
            output: Mutex::new(Output { file, len }),
            wake: Condvar::new(),
        });
        let writer = match durability {
            Durability::Batch => {
                let shared = shared.clone();
                let spawned = std::thread::Builder::new()
                    .name("agentwarrant-ledger".into())
                    .spawn(move || shared.writer());
                Some(spawned.map_err(io)?)
            }
            Durability::Os | Durability::Sync => None,
        };
        Ok(Self {
            durability,
            shared,
            writer,
        })
    }

    /// The ledger's path.
    pub fn path(&self) -> &Path {
        &self.shared.path
    }

    /// The ledger's durability.
    pub fn durability(&self) -> Durability {
        self.durability
    }

    /// Seals `record` and stores it as the durability says; returns its seal.
    fn store(&self, record: &Record) -> Result<Seal, LedgerError> {
        let shared = &*self.shared;
        // Encoding and most of the hashing happen before the lock.
        let encoded = Encoded::new(record);
        let mut state = shared.state()?;
        if let Some(message) = &state.failed {
            return Err(shared.io(message));
        }
        let seal = state.sealer.seal_encoded(&encoded);
        match self.durability {
            Durability::Batch => {
                encoded.line_into(&seal, &mut state.pending);
                state.pending.push(b'\n');
                state.waiting += 1;
                if state.waiting == 1 || state.waiting == Self::BATCH_RECORDS {
                    shared.wake.notify_one();
                }
            }
            Durability::Os | Durability::Sync => {
                let mut line = Vec::new();
                encoded.line_into(&seal, &mut line);
                line.push(b'\n');
                let mut output = shared.output.lock().map_err(|e| shared.io(e))?;
                output
                    .write(&line, self.durability == Durability::Sync)
                    .map_err(|e| shared.io(e))?;
            }
        }
        state.sealer.advance(&seal);
        Ok(seal)
    }
}

impl Ledger for FileLedger {
    fn append(&self, mut record: Record) -> Result<Record, LedgerError> {
        let seal = self.store(&record)?;
        seal.apply(&mut record);
        Ok(record)
    }

    fn append_seq(&self, record: Record) -> Result<u64, LedgerError> {
        self.store(&record).map(|seal| seal.seq)
    }

    /// Writes what waits (batch mode) and syncs the file to disk.
    fn flush(&self) -> Result<(), LedgerError> {
        let shared = &*self.shared;
        let state = shared.write_pending(shared.state()?)?;
        let output = shared.output.lock().map_err(|e| shared.io(e))?;
        drop(state);
        output.file.sync_data().map_err(|e| shared.io(e))
    }
}

impl Drop for FileLedger {
    fn drop(&mut self) {
        if let Some(writer) = self.writer.take() {
            if let Ok(mut state) = self.shared.state.lock() {
                state.closing = true;
            }
            self.shared.wake.notify_one();
            let _ = writer.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::{verify_str, RecordKind, GENESIS};

    fn record(n: usize) -> Record {
        Record {
            seq: 0,
            ts: "2026-01-01T00:00:00Z".into(),
            kind: RecordKind::TaskBegun,
            task_id: format!("task-{n}"),
            call_id: None,
            parent_call_id: None,
            identity: "agent://acme/ops".into(),
            owner: "alice@acme.com".into(),
            intent: "test".into(),
            tool: None,
            args: None,
            args_digest: None,
            decision: None,
            approver: None,
            outcome: None,
            detail: None,
            prev: String::new(),
            hash: String::new(),
        }
    }

    #[test]
    fn batch_records_reach_the_file_in_order_on_flush_and_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.jsonl");
        let ledger = FileLedger::open_with(&path, Durability::Batch).unwrap();
        let mut last = String::new();
        for n in 0..600 {
            let sealed = ledger.append(record(n)).unwrap();
            assert_eq!(sealed.seq, n as u64 + 1);
            last = sealed.hash;
        }
        ledger.flush().unwrap();
        let head = verify_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!((head.records, head.hash), (600, last));

        for n in 600..610 {
            ledger.append_seq(record(n)).unwrap();
        }
        drop(ledger);
        let head = verify_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(head.records, 610);

        // Reopened, the chain continues.
        let ledger = FileLedger::open_with(&path, Durability::Batch).unwrap();
        assert_eq!(ledger.append(record(610)).unwrap().seq, 611);
    }

    #[test]
    fn batch_records_are_written_without_a_flush_within_the_interval() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.jsonl");
        let ledger = FileLedger::open_with(&path, Durability::Batch).unwrap();
        ledger.append(record(0)).unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while std::fs::read_to_string(&path).unwrap().is_empty() {
            assert!(
                std::time::Instant::now() < deadline,
                "the writer never wrote"
            );
            std::thread::sleep(FileLedger::BATCH_INTERVAL);
        }
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(verify_str(&text).unwrap().records, 1);
        assert!(text.contains(GENESIS));
    }
}
