//! The JSON Lines file ledger.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::{verify, Ledger, Record, Sealer};
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
}

struct State {
    file: File,
    sealer: Sealer,
    /// Bytes known good; a failed write is cut back to here so no half record remains.
    len: u64,
}

/// An append-only, hash-chained JSON Lines file.
///
/// Opening an existing file verifies it and continues its chain; a broken file is refused so
/// that nothing is appended to (or hides) a tampered record.
pub struct FileLedger {
    path: PathBuf,
    durability: Durability,
    state: Mutex<State>,
}

impl std::fmt::Debug for FileLedger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileLedger")
            .field("path", &self.path)
            .field("durability", &self.durability)
            .finish_non_exhaustive()
    }
}

impl FileLedger {
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
        let mut sealer = Sealer::default();
        let mut len = 0;
        // Only regular files hold a chain to continue (not /dev/null or a pipe).
        if metadata.is_file() && metadata.len() > 0 {
            let head = verify(&path)?;
            sealer = Sealer::resume(head.records, head.hash);
            len = metadata.len();
        }
        Ok(Self {
            path,
            durability,
            state: Mutex::new(State { file, sealer, len }),
        })
    }

    /// The ledger's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn io(&self, e: impl std::fmt::Display) -> LedgerError {
        LedgerError::Io {
            path: self.path.clone(),
            message: e.to_string(),
        }
    }
}

impl Ledger for FileLedger {
    fn append(&self, mut record: Record) -> Result<Record, LedgerError> {
        let mut state = self.state.lock().map_err(|e| self.io(e))?;
        let mut line = state.sealer.seal(&mut record)?;
        line.push('\n');
        let written = state.file.write_all(line.as_bytes()).and_then(|()| {
            if self.durability == Durability::Sync {
                state.file.sync_data()
            } else {
                Ok(())
            }
        });
        if let Err(e) = written {
            // SECURITY: never leave a partial record behind; the chain stays verifiable.
            let len = state.len;
            let _ = state.file.set_len(len);
            return Err(self.io(e));
        }
        state.len += line.len() as u64;
        state.sealer.advance(&record);
        Ok(record)
    }

    fn flush(&self) -> Result<(), LedgerError> {
        let state = self.state.lock().map_err(|e| self.io(e))?;
        state.file.sync_data().map_err(|e| self.io(e))
    }
}
