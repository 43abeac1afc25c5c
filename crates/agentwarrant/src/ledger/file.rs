//! The JSON Lines file ledger.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use super::encode::{Encoded, Sealer};
use super::{verify, Ledger, Record};
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
    /// Records take their place in the chain (`seq`) when appended; a background writer seals
    /// them in that order (encoding and hashing off the calls' critical path) and hands them
    /// to the OS in batches: when [`BATCH_RECORDS`](FileLedger::BATCH_RECORDS) are waiting, at
    /// the latest [`BATCH_INTERVAL`](FileLedger::BATCH_INTERVAL) after the first of them, on
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

/// What appends and the batch writer share, under one short lock.
struct State {
    /// Records appended in batch mode, `seq` assigned, not yet sealed nor written, in order.
    queued: Vec<Record>,
    /// The `seq` the next record gets.
    next_seq: u64,
    /// A write failed: every later append and flush is refused with this.
    failed: Option<LedgerError>,
    /// The ledger is being dropped: the writer writes what is left and stops.
    closing: bool,
}

/// The file and the length known good.
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

/// Lock order: `sealer`, then `state`, then `output`. Whoever seals holds `sealer` until the
/// sealed lines are written, so records reach the file in chain order.
struct Shared {
    path: PathBuf,
    sealer: Mutex<Sealer>,
    state: Mutex<State>,
    output: Mutex<Output>,
    /// Wakes the batch writer: records wait, or the ledger closes.
    wake: Condvar,
}

impl Shared {
    /// A failure that is not the OS's (a poisoned lock, a broken invariant).
    fn io(&self, e: impl std::fmt::Display) -> LedgerError {
        LedgerError::other(self.path.clone(), e.to_string())
    }

    /// An OS error, keeping its kind.
    fn os(&self, e: &std::io::Error) -> LedgerError {
        LedgerError::io(self.path.clone(), e)
    }

    fn state(&self) -> Result<MutexGuard<'_, State>, LedgerError> {
        self.state.lock().map_err(|e| self.io(e))
    }

    fn sealer(&self) -> Result<MutexGuard<'_, Sealer>, LedgerError> {
        self.sealer.lock().map_err(|e| self.io(e))
    }

    /// Seals the queued records (and `last`, sealed after them) in order and writes them in
    /// one go. Returns `last` sealed.
    fn seal_and_write(
        &self,
        sealer: &mut Sealer,
        last: Option<(Record, Encoded)>,
        sync: bool,
    ) -> Result<Option<Record>, LedgerError> {
        let (mut last, last_encoded) = match last {
            Some((record, encoded)) => (Some(record), Some(encoded)),
            None => (None, None),
        };
        let queued = {
            let mut state = self.state()?;
            if let Some(error) = &state.failed {
                return Err(error.clone());
            }
            if let Some(record) = &mut last {
                record.seq = state.next_seq;
                state.next_seq += 1;
            }
            std::mem::take(&mut state.queued)
        };
        if queued.is_empty() && last.is_none() {
            return Ok(None);
        }
        let mut next = sealer.clone();
        let mut lines = Vec::with_capacity((queued.len() + 1) * 1536);
        let mut last_seal = None;
        let encoded = queued
            .iter()
            .map(|record| (record.seq, Encoded::new(record)))
            .chain(last.as_ref().map(|r| r.seq).zip(last_encoded));
        for (seq, encoded) in encoded {
            let seal = next.seal_encoded(&encoded);
            debug_assert_eq!(seal.seq, seq);
            next.advance(&seal);
            encoded.line_into(&seal, &mut lines);
            lines.push(b'\n');
            last_seal = Some(seal);
        }
        let written = self
            .output
            .lock()
            .map_err(|e| self.io(e))
            .and_then(|mut output| output.write(&lines, sync).map_err(|e| self.os(&e)));
        if let Err(error) = written {
            let mut state = self.state()?;
            match &last {
                // Only this record was lost and nothing was appended after it: it was not
                // acknowledged, so the chain goes on from where it was (as `Os` always did).
                Some(record) if queued.is_empty() && state.next_seq == record.seq + 1 => {
                    state.next_seq = record.seq;
                    return Err(error);
                }
                // Queued records were acknowledged: the chain cannot continue past them.
                _ => {
                    let failed = match error {
                        LedgerError::Io {
                            path,
                            message,
                            kind,
                        } => LedgerError::Io {
                            path,
                            message: format!("records could not be written: {message}"),
                            kind,
                        },
                        other => other,
                    };
                    state.failed = Some(failed.clone());
                    return Err(failed);
                }
            }
        }
        if let (Some(record), Some(seal)) = (last.as_mut(), last_seal) {
            seal.apply(record);
        }
        *sealer = next;
        Ok(last)
    }

    /// The batch writer: seals and writes whenever `BATCH_RECORDS` wait, or `BATCH_INTERVAL`
    /// after records start waiting, until the ledger closes.
    fn writer(&self) {
        loop {
            let closing = {
                let Ok(mut state) = self.state() else {
                    return;
                };
                while state.queued.is_empty() && !state.closing {
                    state = match self.wake.wait(state) {
                        Ok(state) => state,
                        Err(_) => return,
                    };
                }
                if !state.closing && state.queued.len() < FileLedger::BATCH_RECORDS {
                    state = match self.wake.wait_timeout(state, FileLedger::BATCH_INTERVAL) {
                        Ok((state, _)) => state,
                        Err(_) => return,
                    };
                }
                state.closing
            };
            let Ok(mut sealer) = self.sealer() else {
                return;
            };
            // A failure is kept in the state: appends and flushes report it.
            let _ = self.seal_and_write(&mut sealer, None, false);
            if closing {
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
        let io = |e: std::io::Error| LedgerError::io(path.clone(), &e);
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(io)?;
        let metadata = file.metadata().map_err(io)?;
        // SECURITY: two writers on one file would interleave two chains and break both; the
        // lock (released when the ledger is dropped) refuses the second, in or across processes.
        if metadata.is_file() {
            file.try_lock().map_err(|e| match e {
                std::fs::TryLockError::WouldBlock => LedgerError::Locked { path: path.clone() },
                std::fs::TryLockError::Error(e) => io(e),
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
                queued: Vec::new(),
                next_seq: sealer.next_seq(),
                failed: None,
                closing: false,
            }),
            sealer: Mutex::new(sealer),
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

    /// Seals `record` and writes it before returning (`Os`, `Sync`).
    fn store(&self, record: Record) -> Result<Record, LedgerError> {
        let shared = &*self.shared;
        // Encoding and most of the hashing happen before the lock.
        let encoded = Encoded::new(&record);
        let mut sealer = shared.sealer()?;
        let sealed = shared.seal_and_write(
            &mut sealer,
            Some((record, encoded)),
            self.durability == Durability::Sync,
        )?;
        sealed.ok_or_else(|| shared.io("the record was not sealed"))
    }
}

impl Ledger for FileLedger {
    fn append(&self, record: Record) -> Result<u64, LedgerError> {
        if self.durability != Durability::Batch {
            return self.store(record).map(|sealed| sealed.seq);
        }
        // Batch: the record gets its place in the chain now; the writer seals and writes it.
        let shared = &*self.shared;
        let mut record = record;
        let mut state = shared.state()?;
        if let Some(error) = &state.failed {
            return Err(error.clone());
        }
        let seq = state.next_seq;
        state.next_seq += 1;
        record.seq = seq;
        state.queued.push(record);
        let waiting = state.queued.len();
        drop(state);
        if waiting == 1 || waiting == Self::BATCH_RECORDS {
            shared.wake.notify_one();
        }
        Ok(seq)
    }

    /// Seals and writes what waits (batch mode) and syncs the file to disk.
    fn flush(&self) -> Result<(), LedgerError> {
        let shared = &*self.shared;
        let mut sealer = shared.sealer()?;
        shared.seal_and_write(&mut sealer, None, false)?;
        let output = shared.output.lock().map_err(|e| shared.io(e))?;
        output.file.sync_data().map_err(|e| shared.os(&e))
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
            schema: 0,
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
        for n in 0..600 {
            assert_eq!(ledger.append(record(n)).unwrap(), n as u64 + 1);
        }
        ledger.flush().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(verify_str(&text).unwrap().records, 600);
        assert!(text
            .lines()
            .nth(599)
            .unwrap()
            .contains("\"task_id\":\"task-599\""));

        for n in 600..610 {
            ledger.append(record(n)).unwrap();
        }
        drop(ledger);
        let head = verify_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(head.records, 610);

        // Reopened, the chain continues.
        let ledger = FileLedger::open_with(&path, Durability::Batch).unwrap();
        assert_eq!(ledger.append(record(610)).unwrap(), 611);
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
