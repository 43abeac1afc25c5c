//! The JSON Lines file ledger: group commit, signed checkpoints, crash recovery.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use serde_json::json;

use super::checkpoint::{self, CheckpointKey, Checkpoints};
use super::encode::{Encoded, Sealer};
use super::rotate::Family;
use super::verify::{verify_after, Head, Report};
use super::{Ledger, Record, RecordKind};
use crate::canonical::sha256_hex;
use crate::error::LedgerError;

/// How durable a record is when [`Ledger::append`] returns. In every mode the record has been
/// written before the call proceeds, so a crash of the process never loses an acknowledged
/// record; records appended at the same time share one write (group commit).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Durability {
    /// Written to the OS (one `write` for every record waiting): survives a crash of the
    /// process, not of the machine.
    #[default]
    Os,
    /// Each record also synced to disk (`fdatasync`) on its own: survives a crash of the
    /// machine.
    Sync,
    /// Written and synced to disk once for every group of records appended together: survives
    /// a crash of the machine, at a fraction of `Sync`'s cost when many calls run at once.
    Batch,
}

/// What appenders share: the records waiting for the next write and how far writes got.
struct State {
    /// Records with their `seq`, in order, waiting for a writer, each with its encoding when
    /// it was made ahead, outside every lock (checkpoints are encoded when signed).
    queued: Vec<(Record, Option<Encoded>)>,
    /// The `seq` the next record gets.
    next_seq: u64,
    /// Every record up to this `seq` is written (and synced, as the durability says).
    written: u64,
    /// An appender is writing the queue (the others wait for it).
    writing: bool,
    /// A write failed: every later append and flush is refused with this.
    failed: Option<LedgerError>,
}

/// The file and the length known good.
struct Output {
    file: File,
    /// Bytes known good; a failed write is cut back to here so no half record remains.
    len: u64,
    /// When the file was last checked to still be the one at the ledger's path.
    checked: Instant,
    /// When the active file got its first record (or was opened empty).
    began: SystemTime,
    /// The number of the last rotated file (0: none yet).
    number: u64,
}

/// When the active file is rotated: before a write that would take it past `bytes`, or once
/// it is `every` old; never while it is empty.
#[derive(Debug, Clone, Copy, Default)]
struct Rotation {
    bytes: Option<u64>,
    every: Option<Duration>,
}

impl Rotation {
    fn due(&self, output: &Output, adding: u64) -> bool {
        output.len > 0
            && (self
                .bytes
                .is_some_and(|bytes| output.len.saturating_add(adding) > bytes)
                || self
                    .every
                    .is_some_and(|every| output.began.elapsed().is_ok_and(|age| age >= every)))
    }
}

/// How often a writer checks that its file is still the one at the ledger's path.
const REPLACED_CHECK: Duration = Duration::from_millis(100);

impl Output {
    /// Writes `bytes` whole (and syncs them) or cuts the file back to where it was.
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

    /// SECURITY: a ledger file deleted or replaced under a running writer would take the
    /// writer's records where nobody verifies them; noticed within [`REPLACED_CHECK`].
    fn still_at(&mut self, path: &Path) -> Result<(), String> {
        if self.checked.elapsed() < REPLACED_CHECK {
            return Ok(());
        }
        self.checked = Instant::now();
        same_file(&self.file, path)
    }
}

#[cfg(unix)]
fn same_file(file: &File, path: &Path) -> Result<(), String> {
    use std::os::unix::fs::MetadataExt;
    let open = file.metadata().map_err(|e| e.to_string())?;
    if !open.is_file() {
        return Ok(());
    }
    let replaced = || {
        "the ledger file was deleted or replaced while open; reopen the ledger to continue a \
         verified chain"
            .to_owned()
    };
    let at_path = std::fs::metadata(path).map_err(|_| replaced())?;
    if open.nlink() == 0 || (open.dev(), open.ino()) != (at_path.dev(), at_path.ino()) {
        return Err(replaced());
    }
    Ok(())
}

#[cfg(not(unix))]
fn same_file(_file: &File, _path: &Path) -> Result<(), String> {
    Ok(())
}

/// Lock order: `state`, then `sealer`, then `output`; only the appender whose turn it is to
/// write (`writing`) takes the last two, after letting go of `state`.
struct Shared {
    path: PathBuf,
    family: Family,
    rotation: Rotation,
    durability: Durability,
    checkpoints: Option<Checkpoints>,
    state: Mutex<State>,
    sealer: Mutex<Sealer>,
    output: Mutex<Output>,
    /// Wakes appenders waiting for a write.
    written: Condvar,
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

    /// Queues `record` and returns once it is written (group commit): the appender that finds
    /// no write under way writes every record waiting, the others wait for it.
    fn append(&self, record: Record) -> Result<u64, LedgerError> {
        // Encoding and most of the hashing happen before any lock (`seq` is not in them).
        let encoded = Encoded::new(&record);
        let mut state = self.state()?;
        if let Some(error) = &state.failed {
            return Err(error.clone());
        }
        let State {
            next_seq, queued, ..
        } = &mut *state;
        let mut encoded = Some(encoded);
        let seq = checkpoint::enqueue(self.checkpoints.as_ref(), next_seq, queued, record, |r| {
            let made = if r.kind == RecordKind::LedgerCheckpoint {
                None
            } else {
                encoded.take()
            };
            (r, made)
        });
        loop {
            if state.written >= seq {
                return Ok(seq);
            }
            if let Some(error) = &state.failed {
                return Err(error.clone());
            }
            if state.writing {
                state = self.written.wait(state).map_err(|e| self.io(e))?;
                continue;
            }
            state.writing = true;
            let batch = std::mem::take(&mut state.queued);
            drop(state);
            let result = self.write(batch);
            state = self.state()?;
            state.writing = false;
            match result {
                Ok(last) => state.written = last,
                // SECURITY: the group's records are lost and records queued behind it hold
                // `seq`s past them, so the chain cannot go on: every waiter of the group, and
                // every later append and flush, is refused (never acknowledged unwritten).
                Err(error) => {
                    let error = match error {
                        LedgerError::Io {
                            path,
                            message,
                            kind,
                        } => LedgerError::Io {
                            path,
                            message: format!(
                                "records could not be written: {message}; reopen the ledger to go on"
                            ),
                            kind,
                        },
                        other => other,
                    };
                    state.failed = Some(error.clone());
                    self.written.notify_all();
                    return Err(error);
                }
            }
            self.written.notify_all();
        }
    }

    /// Seals `batch` in order and writes it in one go; returns the last `seq` written.
    fn write(&self, batch: Vec<(Record, Option<Encoded>)>) -> Result<u64, LedgerError> {
        let mut sealer = self.sealer.lock().map_err(|e| self.io(e))?;
        let mut next = sealer.clone();
        let mut lines = Vec::with_capacity(batch.len() * 1536);
        let mut last = next.next_seq().saturating_sub(1);
        for (mut record, encoded) in batch {
            let (seal, encoded) = next.seal_next(&mut record, encoded);
            debug_assert_eq!(seal.seq, record.seq);
            encoded.line_into(&seal, &mut lines);
            lines.push(b'\n');
            last = seal.seq;
        }
        let mut output = self.output.lock().map_err(|e| self.io(e))?;
        output.still_at(&self.path).map_err(|e| self.io(e))?;
        if self.rotation.due(&output, lines.len() as u64) {
            self.rotate(&mut output)?;
        }
        let sync = self.durability != Durability::Os;
        output.write(&lines, sync).map_err(|e| self.os(&e))?;
        *sealer = next;
        Ok(last)
    }
}

impl Shared {
    /// Moves the active file to the next rotated name and starts an empty one at the
    /// ledger's path; the chain goes on in it. SECURITY: the file is synced first and never
    /// replaces a rotated file, so nothing written is lost or overwritten.
    fn rotate(&self, output: &mut Output) -> Result<(), LedgerError> {
        output.file.sync_data().map_err(|e| self.os(&e))?;
        same_file(&output.file, &self.path).map_err(|e| self.io(e))?;
        let next = self.family.rotated_name(output.number + 1);
        if next.exists() {
            return Err(self.io(format!(
                "cannot rotate: `{}` already exists; move it away (or restore the files it \
                 follows) and reopen the ledger",
                next.display()
            )));
        }
        std::fs::rename(&self.path, &next).map_err(|e| LedgerError::io(next.clone(), &e))?;
        let file = OpenOptions::new()
            .create_new(true)
            .read(true)
            .append(true)
            .open(&self.path)
            .map_err(|e| self.os(&e))?;
        file.try_lock().map_err(|e| match e {
            std::fs::TryLockError::WouldBlock => LedgerError::Locked {
                path: self.path.clone(),
            },
            std::fs::TryLockError::Error(e) => self.os(&e),
        })?;
        if self.durability != Durability::Os {
            sync_dir(&self.path).map_err(|e| self.os(&e))?;
        }
        output.file = file;
        output.len = 0;
        output.number += 1;
        output.began = SystemTime::now();
        output.checked = Instant::now();
        Ok(())
    }
}

/// Syncs the directory of `path`, so that a rename in it survives a crash of the machine.
#[cfg(unix)]
fn sync_dir(path: &Path) -> std::io::Result<()> {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => File::open(dir)?.sync_all(),
        _ => File::open(".")?.sync_all(),
    }
}

#[cfg(not(unix))]
fn sync_dir(_path: &Path) -> std::io::Result<()> {
    Ok(())
}

/// The last record of a rotated file: where the chain of the file after it starts.
fn file_head(path: &Path) -> Result<Head, LedgerError> {
    let file = File::open(path).map_err(|e| LedgerError::io(path, &e))?;
    let mut reader = std::io::BufReader::new(file);
    let (mut line, mut last) = (Vec::new(), Vec::new());
    loop {
        line.clear();
        let read = std::io::BufRead::read_until(&mut reader, b'\n', &mut line)
            .map_err(|e| LedgerError::io(path, &e))?;
        if read == 0 {
            break;
        }
        if line.iter().any(|b| !b.is_ascii_whitespace()) {
            std::mem::swap(&mut line, &mut last);
        }
    }
    #[derive(serde::Deserialize)]
    struct Tail {
        seq: u64,
        hash: String,
    }
    let tail: Tail = serde_json::from_slice(&last).map_err(|e| LedgerError::Broken {
        path: path.to_owned(),
        line: 0,
        problem: format!("the last record of the rotated file does not read: {e}"),
    })?;
    Ok(Head {
        records: tail.seq,
        hash: tail.hash,
    })
}

/// When the first record of `file` was written, if it says.
fn first_record_time(file: &File) -> Option<SystemTime> {
    let mut first = Vec::new();
    std::io::BufRead::read_until(&mut std::io::BufReader::new(file), b'\n', &mut first).ok()?;
    #[derive(serde::Deserialize)]
    struct Stamp {
        ts: String,
    }
    let stamp: Stamp = serde_json::from_slice(&first).ok()?;
    let at = time::OffsetDateTime::parse(&stamp.ts, &time::format_description::well_known::Rfc3339)
        .ok()?;
    Some(at.into())
}

/// Opens a [`FileLedger`]: durability, signed checkpoints and rotation.
///
/// ```
/// use agentwarrant::ledger::{CheckpointKey, FileLedger};
/// use agentwarrant::Durability;
/// # let dir = tempfile::tempdir().unwrap();
/// let key = CheckpointKey::generate();
/// let ledger = FileLedger::options()
///     .durability(Durability::Batch)
///     .checkpoints(key.clone(), 1000)
///     .open(dir.path().join("audit.jsonl"))?;
/// # Ok::<(), agentwarrant::LedgerError>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct FileLedgerOptions {
    durability: Durability,
    checkpoints: Option<Checkpoints>,
    rotation: Rotation,
}

impl FileLedgerOptions {
    /// How durable a record is when `append` returns (default [`Durability::Os`]).
    pub fn durability(mut self, durability: Durability) -> Self {
        self.durability = durability;
        self
    }

    /// Signs a checkpoint with `key` every `every` records and when the ledger closes.
    pub fn checkpoints(mut self, key: CheckpointKey, every: u64) -> Self {
        self.checkpoints = Some(Checkpoints {
            key,
            every: every.max(1),
        });
        self
    }

    /// Rotates the active file before a write that would take it past `bytes` (a file holds
    /// at least one group of records, so only a group larger than `bytes` exceeds it).
    ///
    /// The active file keeps the ledger's path; the files it is rotated into are numbered
    /// next to it, oldest first: `audit.jsonl` → `audit.000001.jsonl`, `audit.000002.jsonl`,
    /// … The chain and the checkpoints go on across them: the first record of a file has
    /// the `seq` after, and the `prev` of, the last record of the file before.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// use std::time::Duration;
    /// let ledger = agentwarrant::FileLedger::options()
    ///     .rotate_bytes(64 << 20)
    ///     .rotate_every(Duration::from_secs(24 * 3600))
    ///     .open(dir.path().join("audit.jsonl"))?;
    /// # Ok::<(), agentwarrant::LedgerError>(())
    /// ```
    pub fn rotate_bytes(mut self, bytes: u64) -> Self {
        self.rotation.bytes = Some(bytes.max(1));
        self
    }

    /// Rotates the active file before the first write once its first record is `every` old
    /// (see [`FileLedgerOptions::rotate_bytes`] for the names and the chain).
    pub fn rotate_every(mut self, every: Duration) -> Self {
        self.rotation.every = Some(every);
        self
    }

    /// Opens (or creates) the ledger at `path`.
    ///
    /// An existing file is verified and its chain continued; a broken file is refused so
    /// that nothing is appended to (or hides) a tampered record. A last line cut short by a
    /// crash is moved aside to `PATH.torn-<unix seconds>` and recorded as `ledger.recovered`,
    /// so a restart is never blocked and nothing is lost silently.
    ///
    /// With rotated files next to it, the active file must continue the chain of the last of
    /// them (an empty active file continues it); the rotated files themselves are checked by
    /// [`verify`](super::verify).
    pub fn open(self, path: impl AsRef<Path>) -> Result<FileLedger, LedgerError> {
        let path = path.as_ref().to_owned();
        let io = |e: std::io::Error| LedgerError::io(path.clone(), &e);
        let mut file = OpenOptions::new()
            .create(true)
            .read(true)
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
        let family = Family::of(&path);
        let mut number = 0;
        let mut start = Report::genesis();
        let mut previous = None;
        // Only regular files hold a chain to continue (not /dev/null or a pipe).
        if metadata.is_file() {
            if let Some((last, rotated)) = family.rotated()?.pop() {
                number = last;
                start = Report::at(file_head(&rotated)?);
                previous = Some(rotated);
            }
        }
        let mut sealer = Sealer::resume(start.head.records, start.head.hash.clone());
        let mut len = 0;
        let mut recovered = None;
        let mut began = SystemTime::now();
        if metadata.is_file() && metadata.len() > 0 {
            recovered = recover_torn_tail(&mut file, &path)?;
            file.seek(SeekFrom::Start(0)).map_err(io)?;
            began = first_record_time(&file).unwrap_or(began);
            file.seek(SeekFrom::Start(0)).map_err(io)?;
            let reader = std::io::BufReader::new(&file);
            let report = verify_after(reader, None, start, &path, previous.as_deref())?;
            len = file.metadata().map_err(io)?.len();
            sealer = Sealer::resume(report.head.records, report.head.hash);
        }
        let next_seq = sealer.next_seq();
        let shared = Arc::new(Shared {
            path: path.clone(),
            family,
            rotation: self.rotation,
            durability: self.durability,
            state: Mutex::new(State {
                queued: Vec::new(),
                next_seq,
                written: next_seq - 1,
                writing: false,
                failed: None,
            }),
            sealer: Mutex::new(sealer.with_checkpoints(self.checkpoints.clone())),
            output: Mutex::new(Output {
                file,
                len,
                checked: Instant::now(),
                began,
                number,
            }),
            written: Condvar::new(),
            checkpoints: self.checkpoints,
        });
        let ledger = FileLedger { shared };
        if let Some(detail) = recovered {
            ledger.append(recovered_record(detail))?;
        }
        Ok(ledger)
    }
}

/// Moves a last line cut short (no end of line: a crash during a write) to a file of its own
/// and cuts the ledger back to its last whole line; returns what the record of it says.
fn recover_torn_tail(
    file: &mut File,
    path: &Path,
) -> Result<Option<serde_json::Value>, LedgerError> {
    let io = |e: std::io::Error| LedgerError::io(path.to_owned(), &e);
    let len = file.metadata().map_err(io)?.len();
    // Find the last newline, reading backwards in blocks.
    let mut end = len;
    let mut block = vec![0u8; 64 * 1024];
    let mut last_newline = None;
    while end > 0 && last_newline.is_none() {
        let start = end.saturating_sub(block.len() as u64);
        let size = usize::try_from(end - start).unwrap_or(block.len());
        file.seek(SeekFrom::Start(start)).map_err(io)?;
        file.read_exact(&mut block[..size]).map_err(io)?;
        last_newline = block[..size]
            .iter()
            .rposition(|b| *b == b'\n')
            .map(|at| start + at as u64);
        end = start;
    }
    let good = last_newline.map_or(0, |at| at + 1);
    if good == len {
        return Ok(None);
    }
    let mut torn = Vec::new();
    file.seek(SeekFrom::Start(good)).map_err(io)?;
    file.read_to_end(&mut torn).map_err(io)?;
    let stamp = time::OffsetDateTime::now_utc().unix_timestamp();
    let aside = PathBuf::from(format!("{}.torn-{stamp}", path.display()));
    std::fs::write(&aside, &torn).map_err(|e| LedgerError::io(aside.clone(), &e))?;
    file.set_len(good).map_err(io)?;
    file.sync_all().map_err(io)?;
    Ok(Some(json!({
        "moved_to": aside.display().to_string(),
        "bytes": torn.len(),
        "sha256": sha256_hex(&torn),
    })))
}

/// The record of a recovery.
fn recovered_record(detail: serde_json::Value) -> Record {
    let mut record = checkpoint::placeholder(false);
    record.kind = RecordKind::LedgerRecovered;
    record.detail = Some(detail);
    record
}

/// An append-only, hash-chained JSON Lines file.
///
/// Opening an existing file verifies it and continues its chain; a broken file is refused so
/// that nothing is appended to (or hides) a tampered record. One writer per file: a second
/// `FileLedger` on the same path, in this or another process, is [`LedgerError::Locked`].
pub struct FileLedger {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for FileLedger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileLedger")
            .field("path", &self.shared.path)
            .field("durability", &self.shared.durability)
            .finish_non_exhaustive()
    }
}

impl FileLedger {
    /// Options for opening a ledger: durability, signed checkpoints.
    pub fn options() -> FileLedgerOptions {
        FileLedgerOptions::default()
    }

    /// Opens (or creates) the ledger at `path` with [`Durability::Os`]; see
    /// [`FileLedgerOptions::open`].
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// let ledger = agentwarrant::FileLedger::open(dir.path().join("audit.jsonl"))?;
    /// # Ok::<(), agentwarrant::LedgerError>(())
    /// ```
    pub fn open(path: impl AsRef<Path>) -> Result<Self, LedgerError> {
        Self::options().open(path)
    }

    /// Opens (or creates) the ledger at `path` with the given durability.
    pub fn open_with(path: impl AsRef<Path>, durability: Durability) -> Result<Self, LedgerError> {
        Self::options().durability(durability).open(path)
    }

    /// The ledger's path.
    pub fn path(&self) -> &Path {
        &self.shared.path
    }

    /// The ledger's durability.
    pub fn durability(&self) -> Durability {
        self.shared.durability
    }
}

impl Ledger for FileLedger {
    fn append(&self, record: Record) -> Result<u64, LedgerError> {
        self.shared.append(record)
    }

    /// Syncs the file to disk.
    fn flush(&self) -> Result<(), LedgerError> {
        let shared = &*self.shared;
        if let Some(error) = &shared.state()?.failed {
            return Err(error.clone());
        }
        let output = shared.output.lock().map_err(|e| shared.io(e))?;
        output.file.sync_data().map_err(|e| shared.os(&e))
    }
}

impl Drop for FileLedger {
    /// A ledger with checkpoints closes on a signed closing checkpoint: a ledger that does
    /// not end on one was cut short, or is still being written.
    fn drop(&mut self) {
        if self.shared.checkpoints.is_some() {
            if let Err(error) = self.shared.append(checkpoint::placeholder(true)) {
                tracing::error!(target: "agentwarrant::ledger", %error, "could not write the closing checkpoint");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::verify_str;

    fn record(n: usize) -> Record {
        let mut record = checkpoint::placeholder(false);
        record.kind = RecordKind::TaskBegun;
        record.task_id = format!("task-{n}");
        record.identity = "agent://acme/ops".into();
        record.detail = None;
        record
    }

    #[test]
    fn parallel_appends_share_writes_and_every_acknowledged_record_is_in_the_file() {
        for durability in [Durability::Os, Durability::Batch] {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("ledger.jsonl");
            let ledger = FileLedger::open_with(&path, durability).unwrap();
            std::thread::scope(|scope| {
                for t in 0..4 {
                    let ledger = &ledger;
                    scope.spawn(move || {
                        for n in 0..50 {
                            let seq = ledger.append(record(t * 100 + n)).unwrap();
                            // Acknowledged means written: the file already holds it.
                            let text = std::fs::read_to_string(ledger.path()).unwrap();
                            assert!(text.lines().count() as u64 >= seq);
                        }
                    });
                }
            });
            let text = std::fs::read_to_string(&path).unwrap();
            assert_eq!(verify_str(&text).unwrap().records, 200);
        }
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_failed_write_refuses_every_waiter_of_its_group_and_every_later_append() {
        let ledger = FileLedger::open("/dev/full").unwrap();
        std::thread::scope(|scope| {
            for t in 0..4 {
                let ledger = &ledger;
                scope.spawn(move || {
                    for n in 0..10 {
                        assert!(ledger.append(record(t * 10 + n)).is_err());
                    }
                });
            }
        });
        let error = ledger.append(record(99)).unwrap_err();
        assert!(error.to_string().contains("reopen the ledger"), "{error}");
        assert!(ledger.flush().is_err());
    }

    #[test]
    fn a_reopened_ledger_continues_its_chain() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.jsonl");
        let ledger = FileLedger::open(&path).unwrap();
        for n in 0..3 {
            ledger.append(record(n)).unwrap();
        }
        drop(ledger);
        let ledger = FileLedger::open_with(&path, Durability::Sync).unwrap();
        assert_eq!(ledger.append(record(3)).unwrap(), 4);
    }
}
